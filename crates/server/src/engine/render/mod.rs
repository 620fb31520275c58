//! Rendering of the bodies that are the same for every request, once per snapshot.
//!
//! Every route body is a pure function of a few documents (its declared inputs) and the
//! presentation settings. [`render`] runs each renderer whose inputs include at least one available
//! document; the body then expires with the earliest of those documents. A route whose inputs are
//! all missing has no body in the snapshot and answers [`no_data`]: the same renderer run over an
//! empty document set, so "no data" forms are never written by hand.

mod battery;
mod convenience;
mod device;
mod power;
mod summary;
mod value;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use bytes::Bytes;
use powerwall_gateway::DataKind;
use powerwall_model::Vitals;
use serde_json::Value;

use super::snapshot::{Body, Document, Rendered};
use crate::json::{to_python_bytes, to_python_pretty_bytes};
use crate::settings::Presentation;

pub use power::aggregates;

/// A rendered body before it becomes bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendition {
    /// Python's compact JSON (`", "`, `": "`).
    Compact(Value),
    /// Python's `indent=4, sort_keys=True` JSON.
    Pretty(Value),
    /// Plain text (CSV).
    Text(String),
}

impl Rendition {
    /// The bytes sent to clients.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Rendition::Compact(value) => to_python_bytes(value),
            Rendition::Pretty(value) => to_python_pretty_bytes(value),
            Rendition::Text(text) => Bytes::from(text.clone()),
        }
    }
}

/// The documents one renderer may read, plus the presentation knobs.
///
/// A renderer sees only the kinds it declared, so its body's freshness always covers what it read.
pub struct Inputs<'a> {
    documents: &'a BTreeMap<DataKind, Document>,
    presentation: &'a Presentation,
    declared: &'static [DataKind],
}

impl<'a> Inputs<'a> {
    /// The JSON of a declared document, if available.
    pub fn json(&self, kind: DataKind) -> Option<&'a Value> {
        debug_assert!(
            self.declared.contains(&kind),
            "{kind:?} read but not declared"
        );
        if !self.declared.contains(&kind) {
            return None;
        }
        self.documents.get(&kind).map(|document| &*document.json)
    }

    /// The vitals dictionary, if the vitals document is available and an object.
    pub fn vitals(&self) -> Option<&'a Vitals> {
        self.json(DataKind::Vitals).and_then(Value::as_object)
    }

    /// The presentation knobs.
    pub fn presentation(&self) -> &'a Presentation {
        self.presentation
    }
}

/// One route's renderer: the documents it reads and how it builds its body.
pub struct RouteRenderer {
    /// The key in [`Rendered`] (a route path, `?headers` for the CSV header variants).
    pub route: &'static str,
    /// The documents it reads.
    pub inputs: &'static [DataKind],
    /// Builds the body.
    pub render: fn(&Inputs) -> Rendition,
}

/// Every renderer, grouped by concern.
fn renderers() -> impl Iterator<Item = &'static RouteRenderer> {
    power::RENDERERS
        .iter()
        .chain(summary::RENDERERS)
        .chain(device::RENDERERS)
        .chain(battery::RENDERERS)
        .chain(convenience::RENDERERS)
}

/// Renders every shared body from the documents of a snapshot.
pub fn render(documents: &BTreeMap<DataKind, Document>, presentation: &Presentation) -> Rendered {
    let mut rendered = Rendered::default();
    for renderer in renderers() {
        let available: Vec<&Document> = renderer
            .inputs
            .iter()
            .filter_map(|kind| documents.get(kind))
            .collect();
        // With no input at all the body is the no-data form, served without an expiry.
        let (Some(fetched_at), Some(expires_at)) = (
            available.iter().map(|document| document.fetched_at).min(),
            available.iter().map(|document| document.expires_at).min(),
        ) else {
            continue;
        };
        let inputs = Inputs {
            documents,
            presentation,
            declared: renderer.inputs,
        };
        rendered.insert(
            renderer.route,
            Body {
                bytes: (renderer.render)(&inputs).to_bytes(),
                fetched_at,
                expires_at,
            },
        );
    }
    rendered
}

/// The JSON that `route`'s renderer builds from `documents`, so other views (per-gateway status,
/// aggregates) show exactly the legacy routes' numbers; `None` for an unknown or text route, or
/// when none of its inputs is in `documents` (the route would answer its no-data form).
pub(crate) fn route_json(
    route: &str,
    documents: &BTreeMap<DataKind, Document>,
    presentation: &Presentation,
) -> Option<Value> {
    let renderer = renderers().find(|renderer| renderer.route == route)?;
    if !renderer
        .inputs
        .iter()
        .any(|kind| documents.contains_key(kind))
    {
        return None;
    }
    let inputs = Inputs {
        documents,
        presentation,
        declared: renderer.inputs,
    };
    match (renderer.render)(&inputs) {
        Rendition::Compact(value) | Rendition::Pretty(value) => Some(value),
        Rendition::Text(_) => None,
    }
}

/// The body of every route when no document is available, rendered once per process.
static NO_DATA: LazyLock<BTreeMap<&'static str, Bytes>> = LazyLock::new(|| {
    let documents = BTreeMap::new();
    let presentation = Presentation {
        neg_solar: true,
        site_zero_threshold_w: 0,
    };
    renderers()
        .map(|renderer| {
            let inputs = Inputs {
                documents: &documents,
                presentation: &presentation,
                declared: renderer.inputs,
            };
            (renderer.route, (renderer.render)(&inputs).to_bytes())
        })
        .collect()
});

/// A route's body when none of its documents is available; `None` for a route without a renderer.
pub fn no_data(route: &str) -> Option<Bytes> {
    NO_DATA.get(route).cloned()
}

/// Whether `route` has a renderer (used to accept `/pw/<name>` names).
pub fn is_rendered_route(route: &str) -> bool {
    NO_DATA.contains_key(route)
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Building document sets for renderer tests.

    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use tokio::time::Instant;

    use super::*;

    /// A document set from `(kind, json)` pairs, all fetched now and fresh for a minute.
    pub fn documents(pairs: &[(DataKind, Value)]) -> BTreeMap<DataKind, Document> {
        let now = Instant::now();
        pairs
            .iter()
            .map(|(kind, json)| {
                (
                    *kind,
                    Document {
                        json: Arc::new(json.clone()),
                        fetched_at: now,
                        fetched_wall: SystemTime::now(),
                        expires_at: now + Duration::from_secs(60),
                    },
                )
            })
            .collect()
    }

    /// Presentation with the given knobs.
    pub fn presentation(neg_solar: bool, threshold: i64) -> Presentation {
        Presentation {
            neg_solar,
            site_zero_threshold_w: threshold,
        }
    }

    /// Renders `route` from `pairs` with default presentation (negative solar kept, no threshold).
    pub fn render_route(route: &str, pairs: &[(DataKind, Value)]) -> String {
        render_route_with(route, pairs, &presentation(true, 0))
    }

    /// Renders `route` from `pairs` with `presentation`; the no-data form when nothing applies.
    pub fn render_route_with(
        route: &str,
        pairs: &[(DataKind, Value)],
        presentation: &Presentation,
    ) -> String {
        let rendered = render(&documents(pairs), presentation);
        let bytes = rendered
            .get(route)
            .map(|body| body.bytes.clone())
            .or_else(|| no_data(route))
            .unwrap_or_else(|| panic!("no renderer for {route}"));
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// Renders `route` and parses it as JSON.
    pub fn render_json(route: &str, pairs: &[(DataKind, Value)]) -> Value {
        let text = render_route(route, pairs);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{route}: {e}: {text}"))
    }

    /// A fixture from the repository's `testdata/` folder.
    pub fn fixture(path: &str) -> Value {
        let full = format!("{}/../../testdata/{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
        serde_json::from_str(&text).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::test_support::*;
    use super::*;

    #[test]
    fn every_route_has_one_renderer() {
        let mut seen = std::collections::BTreeSet::new();
        for renderer in renderers() {
            assert!(seen.insert(renderer.route), "{} twice", renderer.route);
        }
        let pw = seen
            .iter()
            .filter(|route| route.starts_with("/pw/"))
            .count();
        assert_eq!(pw, 25);
    }

    #[test]
    fn combined_body_expires_with_its_oldest_input() {
        let mut docs = documents(&[
            (DataKind::Aggregates, serde_json::json!({})),
            (DataKind::Soe, serde_json::json!({"percentage": 50})),
        ]);
        let early = docs[&DataKind::Soe].expires_at - Duration::from_secs(30);
        if let Some(soe) = docs.get_mut(&DataKind::Soe) {
            soe.expires_at = early;
        }
        let rendered = render(&docs, &presentation(true, 0));
        assert_eq!(rendered.get("/csv").unwrap().expires_at, early);
        assert_eq!(
            rendered.get("/aggregates").unwrap().expires_at,
            docs[&DataKind::Aggregates].expires_at
        );
        assert!(rendered.get("/vitals").is_none());
    }

    #[test]
    fn no_data_forms() {
        let text = |route: &str| String::from_utf8(no_data(route).unwrap().to_vec()).unwrap();
        for route in ["/aggregates", "/soe", "/vitals", "/api/system_status/soe"] {
            assert_eq!(text(route), "null", "{route}");
        }
        assert_eq!(text("/strings"), "{}");
        assert_eq!(text("/temps"), "{}");
        assert_eq!(text("/alerts"), "[]");
        assert_eq!(text("/alerts/pw"), "{}");
        assert_eq!(text("/freq"), r#"{"grid_status": null}"#);
        assert_eq!(
            text("/pod"),
            r#"{"nominal_full_pack_energy": null, "nominal_energy_remaining": null, "time_remaining_hours": null, "backup_reserve_percent": null}"#
        );
        assert_eq!(text("/csv"), "0.00,0.00,0.00,0.00,0.00\n");
        assert_eq!(text("/csv/v2"), "0.00,0.00,0.00,0.00,0.00,0,0\n");
        assert_eq!(
            text("/csv/v2?headers"),
            "Grid,Home,Solar,Battery,BatteryLevel,GridStatus,Reserve\n0.00,0.00,0.00,0.00,0.00,0,0\n"
        );
        assert_eq!(
            text("/json"),
            r#"{"grid": 0, "home": 0, "solar": 0, "battery": 0, "soe": 0, "grid_status": 0, "reserve": 0, "time_remaining_hours": 0, "full_pack_energy": 0, "energy_remaining": 0, "strings": {}}"#
        );
        assert_eq!(text("/version"), r#"{"version": "SolarOnly", "vint": 0}"#);
        assert_eq!(
            text("/pw/power"),
            r#"{"site": 0.0, "solar": 0.0, "battery": 0.0, "load": 0.0}"#
        );
        assert_eq!(text("/pw/level"), r#"{"level": null}"#);
        assert_eq!(text("/pw/grid_status"), "{}");
        assert_eq!(text("/fans"), "{}");
        assert_eq!(text("/fans/pw"), "{}");
        assert!(no_data("/pw/bogus").is_none());
    }
}
