//! Device routes: `/vitals`, `/strings`, `/temps…`, `/alerts…`, `/fans…`.

use powerwall_gateway::DataKind;
use powerwall_gateway::tedapi::convert as facade;
use serde_json::{Map, Value, json};

use super::{Inputs, Rendition, RouteRenderer};

use DataKind::{FanSpeeds, GridStatus, SolarPowerwall, Vitals};

/// Inputs of every alerts body.
pub const ALERT_INPUTS: &[DataKind] = &[Vitals, GridStatus, SolarPowerwall];

/// The renderers of this module.
pub const RENDERERS: &[RouteRenderer] = &[
    RouteRenderer {
        route: "/vitals",
        inputs: &[Vitals],
        render: |inputs| {
            Rendition::Pretty(
                inputs
                    .vitals()
                    .map_or(Value::Null, |vitals| Value::Object(vitals.clone())),
            )
        },
    },
    RouteRenderer {
        route: "/strings",
        inputs: &[Vitals, SolarPowerwall],
        render: |inputs| Rendition::Pretty(strings(inputs, false)),
    },
    RouteRenderer {
        route: "/temps",
        inputs: &[Vitals],
        render: |inputs| Rendition::Pretty(facade::temps(inputs.vitals())),
    },
    RouteRenderer {
        route: "/temps/pw",
        inputs: &[Vitals],
        render: |inputs| Rendition::Compact(temps_numbered(&facade::temps(inputs.vitals()))),
    },
    RouteRenderer {
        route: "/alerts",
        inputs: ALERT_INPUTS,
        render: |inputs| Rendition::Pretty(json!(sorted_alerts(inputs))),
    },
    RouteRenderer {
        route: "/alerts/pw",
        inputs: ALERT_INPUTS,
        render: |inputs| {
            let flags: Map<String, Value> = sorted_alerts(inputs)
                .into_iter()
                .map(|alert| (alert, json!(1)))
                .collect();
            Rendition::Compact(Value::Object(flags))
        },
    },
    RouteRenderer {
        route: "/fans",
        inputs: &[FanSpeeds],
        render: |inputs| Rendition::Compact(fans(inputs)),
    },
    RouteRenderer {
        route: "/fans/pw",
        inputs: &[FanSpeeds],
        render: |inputs| Rendition::Compact(fans_numbered(&fans(inputs))),
    },
];

/// `strings(verbose)` from the vitals, or `/api/solar_powerwall` without vitals.
pub fn strings(inputs: &Inputs, verbose: bool) -> Value {
    facade::strings(inputs.vitals(), verbose, inputs.json(SolarPowerwall))
}

/// The alerts of §6.3.5, sorted alphabetically (§15 item 24: the original's order was random).
pub fn sorted_alerts(inputs: &Inputs) -> Vec<String> {
    let mut alerts = facade::alerts(
        inputs.vitals(),
        inputs.json(GridStatus),
        inputs.json(SolarPowerwall),
    );
    alerts.sort();
    alerts.dedup();
    alerts
}

/// `/temps/pw`: the temperatures in vitals order as `PW1_temp`, `PW2_temp`, ….
fn temps_numbered(temps: &Value) -> Value {
    let numbered: Map<String, Value> = temps
        .as_object()
        .into_iter()
        .flat_map(|temps| temps.values())
        .enumerate()
        .map(|(index, temp)| (format!("PW{}_temp", index + 1), temp.clone()))
        .collect();
    Value::Object(numbered)
}

/// `/fans`: the fan-speed document (TEDAPI only), `{}` otherwise.
fn fans(inputs: &Inputs) -> Value {
    inputs
        .json(FanSpeeds)
        .filter(|document| document.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}))
}

/// `/fans/pw`: entries sorted by device key, numbered from 1.
///
/// Every entry keeps the original `FAN<i>_actual`/`FAN<i>_target` (PVAC signal names; null for
/// Powerwall 3); Powerwall 3 inverters (`TEPINV--…`) also get their two fans' speed and duty
/// (§15 item 23: additive keys, so existing series keep their names).
fn fans_numbered(fans: &Value) -> Value {
    let Some(devices) = fans.as_object() else {
        return json!({});
    };
    let mut sorted: Vec<(&String, &Value)> = devices.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut result = Map::new();
    for (index, (device, signals)) in sorted.into_iter().enumerate() {
        let number = index + 1;
        let read = |signal: &str| signals.get(signal).cloned().unwrap_or(Value::Null);
        result.insert(
            format!("FAN{number}_actual"),
            read("PVAC_Fan_Speed_Actual_RPM"),
        );
        result.insert(
            format!("FAN{number}_target"),
            read("PVAC_Fan_Speed_Target_RPM"),
        );
        if device.starts_with("TEPINV") {
            for (suffix, signal) in [
                ("A_actual", "PCH_FanSpeed_A"),
                ("B_actual", "PCH_FanSpeed_B"),
                ("A_duty", "PCH_FanDuty_A"),
                ("B_duty", "PCH_FanDuty_B"),
            ] {
                result.insert(format!("FAN{number}_{suffix}"), read(signal));
            }
        }
    }
    Value::Object(result)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn simulator_vitals() -> Value {
        fixture("local/simulator/api.devices.vitals.decoded.json")
    }

    #[test]
    fn vitals_is_pretty_and_sorted() {
        let text = render_route("/vitals", &[(Vitals, simulator_vitals())]);
        assert!(text.starts_with("{\n    \"NEURIO--"), "{}", &text[..40]);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, simulator_vitals());
        assert_eq!(render_route("/vitals", &[(Vitals, Value::Null)]), "null");
    }

    #[test]
    fn strings_from_vitals_and_fallback() {
        let body = render_json("/strings", &[(Vitals, simulator_vitals())]);
        for name in ["A", "B", "C", "D"] {
            let string = &body[name];
            for field in ["Connected", "Current", "Power", "State", "Voltage"] {
                assert!(string.get(field).is_some(), "{name}.{field}: {string}");
            }
        }
        let text = render_route("/strings", &[(Vitals, simulator_vitals())]);
        assert!(text.contains("\"Connected\": "), "pretty: {text}");
        let fallback = render_json(
            "/strings",
            &[(
                SolarPowerwall,
                fixture("local/simulator/api.solar_powerwall.json"),
            )],
        );
        assert_eq!(fallback["B"]["Connected"], json!(false));
        assert_eq!(render_route("/strings", &[(Vitals, json!({}))]), "{}");
    }

    #[test]
    fn temps_in_vitals_order() {
        let body = render_json("/temps/pw", &[(Vitals, simulator_vitals())]);
        let temps = render_json("/temps", &[(Vitals, simulator_vitals())]);
        let expected: Vec<&Value> = temps.as_object().unwrap().values().collect();
        assert_eq!(expected.len(), 2);
        assert_eq!(
            body["PW1_temp"],
            simulator_vitals()["TETHC--2012170-25-E--T0000000000000"]["THC_AmbientTemp"]
        );
        assert_eq!(
            body["PW2_temp"],
            simulator_vitals()["TETHC--3012170-05-B--T0000000000000"]["THC_AmbientTemp"]
        );
        assert_eq!(render_route("/temps/pw", &[]), "{}");
    }

    #[test]
    fn alerts_sorted_unique_with_grid_state() {
        let pairs = [
            (Vitals, simulator_vitals()),
            (
                GridStatus,
                json!({"grid_status": "SystemGridConnected", "grid_services_active": false}),
            ),
        ];
        let alerts = render_json("/alerts", &pairs);
        let names: Vec<&str> = alerts
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert!(names.contains(&"SystemConnectedToGrid"));
        let flags = render_json("/alerts/pw", &pairs);
        assert_eq!(flags.as_object().unwrap().len(), names.len());
        assert!(flags.as_object().unwrap().values().all(|v| *v == json!(1)));

        let services = render_json(
            "/alerts/pw",
            &[(
                GridStatus,
                json!({"grid_status": "SystemGridConnected", "grid_services_active": true}),
            )],
        );
        assert_eq!(services, json!({"GridServicesActive": 1}));
    }

    #[test]
    fn fans_keep_pw2_keys_and_add_pw3_keys() {
        let fans = json!({
            "TEPINV--1707000-11-J--TG2": {"PCH_FanSpeed_A": 2000, "PCH_FanSpeed_B": 2100, "PCH_FanDuty_A": 40, "PCH_FanDuty_B": null},
            "PVAC--1538100-00-F--C1": {"PVAC_Fan_Speed_Actual_RPM": 1180, "PVAC_Fan_Speed_Target_RPM": 1200},
        });
        assert_eq!(
            render_route("/fans/pw", &[(FanSpeeds, fans.clone())]),
            r#"{"FAN1_actual": 1180, "FAN1_target": 1200, "FAN2_actual": null, "FAN2_target": null, "FAN2_A_actual": 2000, "FAN2_B_actual": 2100, "FAN2_A_duty": 40, "FAN2_B_duty": null}"#
        );
        assert_eq!(render_json("/fans", &[(FanSpeeds, fans.clone())]), fans);
        assert_eq!(render_route("/fans", &[(FanSpeeds, Value::Null)]), "{}");
    }
}
