//! The 25 convenience routes `GET /pw/<name>` (§6.7): one library facade call each, compact JSON.

use powerwall_gateway::DataKind;
use powerwall_gateway::tedapi::convert as facade;
use serde_json::{Map, Value, json};

use super::device::{ALERT_INPUTS, sorted_alerts, strings};
use super::power::time_remaining;
use super::value::field_or_null;
use super::{Inputs, Rendition, RouteRenderer};

use DataKind::{
    Aggregates, GridStatus, Operation, SiteName, Soe, SolarPowerwall, Status, SystemStatus, Vitals,
};

/// The raw document of `kind`, or `null`.
fn raw(inputs: &Inputs, kind: DataKind) -> Value {
    inputs.json(kind).cloned().unwrap_or(Value::Null)
}

/// The raw meter object `meter` of the aggregates, or `null`.
fn meter(inputs: &Inputs, meter: &str) -> Value {
    field_or_null(inputs.json(Aggregates), meter)
}

/// `{key: value}`.
fn wrapped(key: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert(key.to_owned(), value);
    Value::Object(object)
}

/// `{key: /api/status[field]}`.
fn status_field(inputs: &Inputs, key: &str, field: &str) -> Value {
    wrapped(key, field_or_null(inputs.json(Status), field))
}

/// The document with keys sorted at every level.
fn sorted(mut value: Value) -> Value {
    fn sort(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.sort_keys();
                map.values_mut().for_each(sort);
            }
            Value::Array(items) => items.iter_mut().for_each(sort),
            _ => {}
        }
    }
    sort(&mut value);
    value
}

/// A renderer producing compact JSON.
macro_rules! pw {
    ($route:literal, [$($kind:expr),*], $body:expr) => {
        RouteRenderer {
            route: $route,
            inputs: &[$($kind),*],
            render: |inputs| Rendition::Compact($body(inputs)),
        }
    };
}

/// The renderers of this module.
pub const RENDERERS: &[RouteRenderer] = &[
    pw!("/pw/level", [Soe], |inputs: &Inputs| wrapped(
        "level",
        facade::level(inputs.json(Soe), false)
    )),
    pw!("/pw/power", [Aggregates], |inputs: &Inputs| facade::power(
        inputs.json(Aggregates)
    )),
    pw!("/pw/site", [Aggregates], |inputs: &Inputs| meter(
        inputs, "site"
    )),
    pw!("/pw/solar", [Aggregates], |inputs: &Inputs| meter(
        inputs, "solar"
    )),
    pw!("/pw/battery", [Aggregates], |inputs: &Inputs| meter(
        inputs, "battery"
    )),
    pw!("/pw/load", [Aggregates], |inputs: &Inputs| meter(
        inputs, "load"
    )),
    pw!("/pw/grid", [Aggregates], |inputs: &Inputs| meter(
        inputs, "site"
    )),
    pw!("/pw/home", [Aggregates], |inputs: &Inputs| meter(
        inputs, "load"
    )),
    pw!(
        "/pw/battery_blocks",
        [SystemStatus, Vitals],
        |inputs: &Inputs| facade::battery_blocks(inputs.json(SystemStatus), inputs.vitals())
            .unwrap_or(Value::Null)
    ),
    pw!("/pw/vitals", [Vitals], |inputs: &Inputs| inputs
        .vitals()
        .map_or(Value::Null, |vitals| Value::Object(vitals.clone()))),
    pw!("/pw/temps", [Vitals], |inputs: &Inputs| facade::temps(
        inputs.vitals()
    )),
    pw!(
        "/pw/strings",
        [Vitals, SolarPowerwall],
        |inputs: &Inputs| { strings(inputs, true) }
    ),
    pw!("/pw/din", [Status], |inputs: &Inputs| status_field(
        inputs, "din", "din"
    )),
    pw!("/pw/uptime", [Status], |inputs: &Inputs| status_field(
        inputs,
        "uptime",
        "up_time_seconds"
    )),
    pw!("/pw/version", [Status], |inputs: &Inputs| status_field(
        inputs, "version", "version"
    )),
    pw!("/pw/status", [Status], |inputs: &Inputs| raw(
        inputs, Status
    )),
    pw!("/pw/system_status", [SystemStatus], |inputs: &Inputs| raw(
        inputs,
        SystemStatus
    )),
    pw!("/pw/grid_status", [GridStatus], |inputs: &Inputs| inputs
        .json(GridStatus)
        .filter(|document| document.is_object())
        .map_or_else(
            || json!({}),
            |document| sorted(document.clone())
        )),
    pw!("/pw/aggregates", [Aggregates], |inputs: &Inputs| raw(
        inputs, Aggregates
    )),
    pw!("/pw/site_name", [SiteName], |inputs: &Inputs| wrapped(
        "site_name",
        field_or_null(inputs.json(SiteName), "site_name")
    )),
    RouteRenderer {
        route: "/pw/alerts",
        inputs: ALERT_INPUTS,
        render: |inputs| Rendition::Compact(wrapped("alerts", json!(sorted_alerts(inputs)))),
    },
    pw!("/pw/is_connected", [Status], |inputs: &Inputs| wrapped(
        "is_connected",
        Value::Bool(inputs.json(Status).is_some_and(|status| !status.is_null()))
    )),
    pw!("/pw/get_reserve", [Operation], |inputs: &Inputs| wrapped(
        "reserve",
        facade::get_reserve(inputs.json(Operation), true)
    )),
    pw!("/pw/get_mode", [Operation], |inputs: &Inputs| wrapped(
        "mode",
        facade::get_mode(inputs.json(Operation))
    )),
    pw!(
        "/pw/get_time_remaining",
        [SystemStatus, Aggregates],
        |inputs: &Inputs| wrapped(
            "time_remaining",
            time_remaining(inputs.json(SystemStatus), inputs.json(Aggregates))
        )
    ),
];

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn full_site() -> Vec<(DataKind, Value)> {
        vec![
            (
                Aggregates,
                fixture("local/simulator/api.meters.aggregates.json"),
            ),
            (Soe, fixture("local/simulator/api.system_status.soe.json")),
            (Status, fixture("local/simulator/api.status.json")),
            (SystemStatus, fixture("local/bogus/api.system_status.json")),
            (
                GridStatus,
                json!({"grid_services_active": false, "grid_status": "SystemGridConnected"}),
            ),
            (
                Operation,
                json!({"real_mode": "self_consumption", "backup_reserve_percent": 81}),
            ),
            (
                SiteName,
                fixture("local/bogus/api.site_info.site_name.json"),
            ),
            (
                Vitals,
                fixture("local/simulator/api.devices.vitals.decoded.json"),
            ),
        ]
    }

    #[test]
    fn every_name_answers_its_shape() {
        let site = full_site();
        let get = |name: &str| render_json(&format!("/pw/{name}"), &site);
        assert_eq!(
            get("level"),
            json!({"level": site[1].1["percentage"].clone()})
        );
        assert_eq!(
            render_route("/pw/power", &site),
            r#"{"site": -2100, "solar": 6500, "battery": -3500, "load": 900}"#
        );
        for (name, meter_name) in [
            ("site", "site"),
            ("solar", "solar"),
            ("battery", "battery"),
            ("load", "load"),
            ("grid", "site"),
            ("home", "load"),
        ] {
            assert_eq!(get(name), site[0].1[meter_name], "{name}");
        }
        let blocks = get("battery_blocks");
        assert!(
            blocks["TG123456789012"]["nominal_full_pack_energy"].is_number(),
            "{blocks}"
        );
        assert!(
            blocks["TG123456789012"]
                .get("PackageSerialNumber")
                .is_none()
        );
        // The fixtures' vitals carry other serials: their THC readings get entries of their own.
        assert!(
            blocks["T0000000000000"]["temperature"].is_number(),
            "{blocks}"
        );
        assert_eq!(get("vitals"), site[7].1);
        assert_eq!(get("temps").as_object().unwrap().len(), 2);
        assert!(
            get("strings")
                .as_object()
                .unwrap()
                .keys()
                .all(|k| k.starts_with("PVAC--"))
        );
        assert_eq!(get("din"), json!({"din": site[2].1["din"].clone()}));
        assert_eq!(
            get("uptime"),
            json!({"uptime": site[2].1["up_time_seconds"].clone()})
        );
        assert_eq!(
            get("version"),
            json!({"version": site[2].1["version"].clone()})
        );
        assert_eq!(get("status"), site[2].1);
        assert_eq!(get("system_status"), site[3].1);
        assert_eq!(
            render_route("/pw/grid_status", &site),
            r#"{"grid_services_active": false, "grid_status": "SystemGridConnected"}"#
        );
        assert_eq!(get("aggregates"), site[0].1);
        assert_eq!(
            get("site_name"),
            json!({"site_name": "Tesla Energy Gateway"})
        );
        assert!(
            get("alerts")["alerts"]
                .as_array()
                .unwrap()
                .contains(&json!("SystemConnectedToGrid"))
        );
        assert_eq!(get("is_connected"), json!({"is_connected": true}));
        assert_eq!(
            render_route("/pw/get_reserve", &site),
            r#"{"reserve": 80.0}"#
        );
        assert_eq!(get("get_mode"), json!({"mode": "self_consumption"}));
        assert_eq!(
            get("get_time_remaining"),
            json!({"time_remaining": 18.547777777777778})
        );
    }

    #[test]
    fn gateway_down_forms() {
        let get = |name: &str| render_route(&format!("/pw/{name}"), &[]);
        assert_eq!(
            get("power"),
            r#"{"site": 0.0, "solar": 0.0, "battery": 0.0, "load": 0.0}"#
        );
        assert_eq!(get("level"), r#"{"level": null}"#);
        for name in [
            "site",
            "vitals",
            "status",
            "system_status",
            "aggregates",
            "battery_blocks",
        ] {
            assert_eq!(get(name), "null", "{name}");
        }
        assert_eq!(get("is_connected"), r#"{"is_connected": false}"#);
        assert_eq!(get("alerts"), r#"{"alerts": []}"#);
        assert_eq!(get("temps"), "{}");
        assert_eq!(get("strings"), "{}");
        assert_eq!(get("get_reserve"), r#"{"reserve": null}"#);
        assert_eq!(get("get_mode"), r#"{"mode": null}"#);
        assert_eq!(get("get_time_remaining"), r#"{"time_remaining": null}"#);
        assert_eq!(get("site_name"), r#"{"site_name": null}"#);
        assert_eq!(get("din"), r#"{"din": null}"#);
    }
}
