//! Rendering of the bodies that are the same for every request, once per snapshot.

use std::collections::BTreeMap;

use powerwall_gateway::DataKind;
use powerwall_model::{FirmwareVersion, GatewayStatus, StateOfEnergy};
use serde_json::{Value, json};

use super::snapshot::{Body, Document, Rendered};
use crate::json::to_python_bytes;
use crate::settings::Presentation;

/// Renders every shared body from the documents of a snapshot.
pub fn render(documents: &BTreeMap<DataKind, Document>, presentation: &Presentation) -> Rendered {
    let body = |kind: DataKind, make: &dyn Fn(&Value) -> Option<Value>| {
        let document = documents.get(&kind)?;
        let value = make(&document.json)?;
        Some(Body {
            bytes: to_python_bytes(&value),
            fetched_at: document.fetched_at,
            expires_at: document.expires_at,
        })
    };
    let mut rendered = Rendered::default();
    let mut put = |route: &'static str, body: Option<Body>| {
        if let Some(body) = body {
            rendered.insert(route, body);
        }
    };
    put(
        "/aggregates",
        body(DataKind::Aggregates, &|json| aggregates(json, presentation)),
    );
    put(
        "/soe",
        body(DataKind::Soe, &|json| {
            json.is_object().then(|| json.clone())
        }),
    );
    put(
        "/api/system_status/soe",
        body(DataKind::Soe, &soe_app_scale),
    );
    put(
        "/api/system_status/grid_status",
        body(DataKind::GridStatus, &|json| {
            json.is_object().then(|| json.clone())
        }),
    );
    put("/version", body(DataKind::Status, &version));
    rendered
}

/// `/aggregates`: the gateway document with the proxy's two presentation rules applied.
///
/// Empty or non-object documents are "no data" (`null`), as in the proxy.
pub fn aggregates(document: &Value, presentation: &Presentation) -> Option<Value> {
    let mut value = document.clone();
    let meters = value.as_object_mut().filter(|map| !map.is_empty())?;
    if presentation.site_zero_threshold_w > 0 {
        let threshold = presentation.site_zero_threshold_w as f64;
        if let Some(power) = instant_power_mut(meters, "site")
            && power.as_f64().is_some_and(|watts| watts.abs() <= threshold)
        {
            *power = json!(0);
        }
    }
    if !presentation.neg_solar {
        let solar = meters
            .get("solar")
            .and_then(|meter| meter.get("instant_power"))
            .and_then(Value::as_f64)
            .filter(|watts| *watts < 0.0);
        if let Some(solar_w) = solar {
            // Negative solar is inverter standby draw: the proxy books it to the home instead.
            if let Some(load) = instant_power_mut(meters, "load")
                && let Some(load_w) = load.as_f64()
            {
                *load = number(load_w - solar_w);
            }
            if let Some(power) = instant_power_mut(meters, "solar") {
                *power = json!(0);
            }
        }
    }
    Some(value)
}

fn instant_power_mut<'a>(
    meters: &'a mut serde_json::Map<String, Value>,
    meter: &str,
) -> Option<&'a mut Value> {
    meters.get_mut(meter)?.get_mut("instant_power")
}

/// An f64 as JSON, keeping integral results integral when they fit (as Python arithmetic on ints would).
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// `/api/system_status/soe`: the app-scale percentage, unclamped.
fn soe_app_scale(document: &Value) -> Option<Value> {
    let soe = StateOfEnergy::from_json(document).ok()?;
    Some(json!({ "percentage": soe.app_pct() }))
}

/// `/version`: the firmware text and its integer form.
fn version(document: &Value) -> Option<Value> {
    let status = GatewayStatus::from_json(document).ok()?;
    let text = status.version?;
    let vint = FirmwareVersion::new(text.clone()).vint();
    Some(json!({ "version": text, "vint": vint }))
}

/// `/version` while the firmware is unknown (the proxy's literal answer).
pub fn version_unknown() -> Value {
    json!({ "version": "SolarOnly", "vint": 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presentation(neg_solar: bool, threshold: i64) -> Presentation {
        Presentation {
            neg_solar,
            site_zero_threshold_w: threshold,
        }
    }

    fn sample(site: Value, solar: Value, load: Value) -> Value {
        json!({
            "site": {"instant_power": site},
            "battery": {"instant_power": 0},
            "load": {"instant_power": load},
            "solar": {"instant_power": solar},
        })
    }

    #[test]
    fn negative_solar_moves_to_load_when_disabled() {
        let out = aggregates(
            &sample(json!(10), json!(-50), json!(900)),
            &presentation(false, 0),
        )
        .unwrap();
        assert_eq!(out["solar"]["instant_power"], json!(0));
        assert_eq!(out["load"]["instant_power"], json!(950));
        let kept = aggregates(
            &sample(json!(10), json!(-50), json!(900)),
            &presentation(true, 0),
        )
        .unwrap();
        assert_eq!(kept["solar"]["instant_power"], json!(-50));
    }

    #[test]
    fn site_zero_threshold() {
        let zeroed = aggregates(
            &sample(json!(-2100), json!(0), json!(0)),
            &presentation(true, 5000),
        )
        .unwrap();
        assert_eq!(zeroed["site"]["instant_power"], json!(0));
        let kept = aggregates(
            &sample(json!(-2100), json!(0), json!(0)),
            &presentation(true, 100),
        )
        .unwrap();
        assert_eq!(kept["site"]["instant_power"], json!(-2100));
    }

    #[test]
    fn null_power_passes_through_and_empty_is_no_data() {
        let out = aggregates(
            &sample(json!(null), json!(null), json!(900)),
            &presentation(false, 5),
        )
        .unwrap();
        assert_eq!(out["site"]["instant_power"], Value::Null);
        assert!(aggregates(&json!({}), &presentation(true, 0)).is_none());
        assert!(aggregates(&Value::Null, &presentation(true, 0)).is_none());
    }

    #[test]
    fn soe_and_version() {
        let app = soe_app_scale(&json!({"percentage": 23.975388})).unwrap();
        let pct = app["percentage"].as_f64().unwrap();
        assert!((pct - 19.974092631578948).abs() < 1e-9);
        assert_eq!(
            version(&json!({"version": "23.44.0 9064fc6a"})).unwrap(),
            json!({"version": "23.44.0 9064fc6a", "vint": 234400})
        );
        assert_eq!(
            version(&json!({"version": ""})).unwrap(),
            json!({"version": "", "vint": null})
        );
        assert!(version(&json!({})).is_none());
    }
}
