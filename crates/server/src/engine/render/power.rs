//! Power and battery routes: `/aggregates`, `/soe`, grid status and `/version`.

use powerwall_gateway::DataKind;
use powerwall_model::{FirmwareVersion, GatewayStatus, StateOfEnergy};
use serde_json::{Map, Value, json};

use super::value::{field, subtract};
use super::{Rendition, RouteRenderer};
use crate::settings::Presentation;

use DataKind::{Aggregates, GridStatus, Soe, Status};

/// The renderers of this module.
pub const RENDERERS: &[RouteRenderer] = &[
    RouteRenderer {
        route: "/aggregates",
        inputs: &[Aggregates],
        render: |inputs| {
            Rendition::Compact(
                inputs
                    .json(Aggregates)
                    .and_then(|document| aggregates(document, inputs.presentation()))
                    .unwrap_or(Value::Null),
            )
        },
    },
    RouteRenderer {
        route: "/soe",
        inputs: &[Soe],
        render: |inputs| {
            Rendition::Compact(
                inputs
                    .json(Soe)
                    .filter(|document| document.is_object())
                    .cloned()
                    .unwrap_or(Value::Null),
            )
        },
    },
    RouteRenderer {
        route: "/api/system_status/soe",
        inputs: &[Soe],
        render: |inputs| Rendition::Compact(soe_app_scale(inputs.json(Soe))),
    },
    RouteRenderer {
        route: "/api/system_status/grid_status",
        inputs: &[GridStatus],
        render: |inputs| {
            Rendition::Compact(
                inputs
                    .json(GridStatus)
                    .filter(|document| document.is_object())
                    .cloned()
                    .unwrap_or(Value::Null),
            )
        },
    },
    RouteRenderer {
        route: "/version",
        inputs: &[Status],
        render: |inputs| Rendition::Compact(version(inputs.json(Status))),
    },
];

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
            .filter(|watts| watts.as_f64().is_some_and(|watts| watts < 0.0))
            .cloned();
        if let Some(solar) = solar {
            // Negative solar is inverter standby draw: the proxy books it to the home instead.
            if let Some(load) = instant_power_mut(meters, "load")
                && load.is_number()
            {
                *load = subtract(load, &solar);
            }
            if let Some(power) = instant_power_mut(meters, "solar") {
                *power = json!(0);
            }
        }
    }
    Some(value)
}

fn instant_power_mut<'a>(meters: &'a mut Map<String, Value>, meter: &str) -> Option<&'a mut Value> {
    meters.get_mut(meter)?.get_mut("instant_power")
}

/// `/api/system_status/soe`: the app-scale percentage, unclamped; null without a raw value.
fn soe_app_scale(document: Option<&Value>) -> Value {
    document
        .and_then(|document| StateOfEnergy::from_json(document).ok())
        .map_or(Value::Null, |soe| json!({ "percentage": soe.app_pct() }))
}

/// `/version`: the firmware text and its integer form; `SolarOnly` while it is unknown.
fn version(document: Option<&Value>) -> Value {
    let text = document
        .and_then(|document| GatewayStatus::from_json(document).ok())
        .and_then(|status| status.version);
    match text {
        Some(text) => {
            let vint = FirmwareVersion::new(text.clone()).vint();
            json!({ "version": text, "vint": vint })
        }
        None => json!({ "version": "SolarOnly", "vint": 0 }),
    }
}

/// `get_time_remaining()` by the local formula (every mode): remaining Wh ÷ load W when load > 0.
pub fn time_remaining(system_status: Option<&Value>, aggregates: Option<&Value>) -> Value {
    let remaining = field(system_status, "nominal_energy_remaining").and_then(Value::as_f64);
    let load = field(field(aggregates, "load"), "instant_power").and_then(Value::as_f64);
    match (remaining, load) {
        (Some(remaining), Some(load)) if load > 0.0 => json!(remaining / load),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

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
        // The proxy's own vectors: -500/2000, -300/1500, -100/800, -750/2000.
        for (solar, load, expected) in [
            (-500, 2000, 2500),
            (-300, 1500, 1800),
            (-100, 800, 900),
            (-750, 2000, 2750),
        ] {
            let out = aggregates(
                &sample(json!(0), json!(solar), json!(load)),
                &presentation(false, 0),
            )
            .unwrap();
            assert_eq!(out["load"]["instant_power"], json!(expected));
            assert_eq!(out["solar"]["instant_power"], json!(0));
        }
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
        let json_route = render_route_with(
            "/json",
            &[(Aggregates, sample(json!(-2100), json!(0), json!(0)))],
            &presentation(true, 5000),
        );
        assert!(json_route.starts_with(r#"{"grid": 0, "#), "{json_route}");
        let csv = render_route_with(
            "/csv",
            &[(Aggregates, sample(json!(-2100), json!(0), json!(0)))],
            &presentation(true, 5000),
        );
        assert!(csv.starts_with("0.00,"), "{csv}");
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
        assert_eq!(
            render_route("/aggregates", &[(Aggregates, json!({}))]),
            "null"
        );
    }

    #[test]
    fn soe_and_version() {
        let app = soe_app_scale(Some(&json!({"percentage": 23.975388})));
        let pct = app["percentage"].as_f64().unwrap();
        assert!((pct - 19.974092631578948).abs() < 1e-9);
        let low = soe_app_scale(Some(&json!({"percentage": 3})));
        assert!(low["percentage"].as_f64().unwrap() < 0.0);
        assert_eq!(
            render_route(
                "/version",
                &[(Status, json!({"version": "23.44.0 9064fc6a"}))]
            ),
            r#"{"version": "23.44.0 9064fc6a", "vint": 234400}"#
        );
        assert_eq!(
            version(Some(&json!({"version": ""}))),
            json!({"version": "", "vint": null})
        );
        assert_eq!(
            version(Some(&json!({}))),
            json!({"version": "SolarOnly", "vint": 0})
        );
        assert_eq!(
            render_route("/soe", &[(Soe, json!({"percentage": 23.975388}))]),
            r#"{"percentage": 23.975388}"#
        );
    }
}
