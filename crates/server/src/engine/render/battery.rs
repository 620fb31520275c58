//! Battery detail routes: `/freq` and `/pod`, merging system-status blocks with vitals devices.
//!
//! Both number battery blocks and vitals devices by position, independently (dashboards map
//! `PW<n>` by position). A vitals value replaces a block value only when present (§15 item 22).

use powerwall_gateway::DataKind;
use powerwall_gateway::tedapi::convert::{self as facade, GridStatusKind};
use serde_json::{Map, Value};

use super::power::time_remaining;
use super::value::{field, field_or_null, flag, objects, present};
use super::{Inputs, Rendition, RouteRenderer};

use DataKind::{Aggregates, GridStatus, Operation, SystemStatus, Vitals};

/// The renderers of this module.
pub const RENDERERS: &[RouteRenderer] = &[
    RouteRenderer {
        route: "/freq",
        inputs: &[SystemStatus, Vitals, GridStatus],
        render: |inputs| Rendition::Compact(freq(inputs)),
    },
    RouteRenderer {
        route: "/pod",
        inputs: &[SystemStatus, Vitals, Aggregates, Operation],
        render: |inputs| Rendition::Compact(pod(inputs)),
    },
];

/// Block fields copied under their own name by `/freq`.
const FREQ_BLOCK_FIELDS: [&str; 7] = [
    "PackagePartNumber",
    "PackageSerialNumber",
    "p_out",
    "q_out",
    "v_out",
    "f_out",
    "i_out",
];

/// Inverter signals `/freq` reads from `TEPINV` devices.
const FREQ_INVERTER_SIGNALS: [&str; 3] = ["PINV_Fout", "PINV_VSplit1", "PINV_VSplit2"];

/// POD flags (integers in `/pod`).
const POD_FLAGS: [&str; 7] = [
    "POD_ActiveHeating",
    "POD_ChargeComplete",
    "POD_ChargeRequest",
    "POD_DischargeComplete",
    "POD_PermanentlyFaulted",
    "POD_PersistentlyFaulted",
    "POD_enable_line",
];

/// POD energies and powers (numbers in `/pod`).
const POD_VALUES: [&str; 5] = [
    "POD_available_charge_power",
    "POD_available_dischg_power",
    "POD_nom_energy_remaining",
    "POD_nom_energy_to_be_charged",
    "POD_nom_full_pack_energy",
];

/// Block fields copied under their own name by `/pod`.
const POD_BLOCK_FIELDS: [&str; 11] = [
    "PackagePartNumber",
    "PackageSerialNumber",
    "pinv_state",
    "pinv_grid_state",
    "p_out",
    "q_out",
    "v_out",
    "f_out",
    "i_out",
    "energy_charged",
    "energy_discharged",
];

/// Block booleans reported as integers by `/pod`.
const POD_BLOCK_FLAGS: [&str; 5] = [
    "off_grid",
    "vf_mode",
    "wobble_detected",
    "charge_power_clamped",
    "backup_ready",
];

/// `key := value` when the vitals value is present; the key exists (null) in any case.
fn merge_present(result: &mut Map<String, Value>, key: String, value: Option<&Value>) {
    match value {
        Some(value) => {
            result.insert(key, value.clone());
        }
        None => {
            result.entry(key).or_insert(Value::Null);
        }
    }
}

/// The vitals devices whose id starts with one of `prefixes`, in vitals order.
fn devices<'a>(inputs: &Inputs<'a>, prefixes: &[&str]) -> Vec<(&'a String, &'a Value)> {
    inputs
        .vitals()
        .into_iter()
        .flatten()
        .filter(|(id, _)| prefixes.iter().any(|prefix| id.starts_with(prefix)))
        .collect()
}

/// `/freq`: per-battery output, per-inverter frequency and split-phase voltages, island and meter
/// signals of the synchroniser, and the numeric grid state.
fn freq(inputs: &Inputs) -> Value {
    let mut result = Map::new();
    for (index, block) in objects(inputs.json(SystemStatus), "battery_blocks")
        .into_iter()
        .enumerate()
    {
        let prefix = format!("PW{}_", index + 1);
        let block = Value::Object(block.clone());
        let block = Some(&block);
        result.insert(format!("{prefix}name"), Value::Null);
        result.insert(format!("{prefix}PINV_Fout"), field_or_null(block, "f_out"));
        result.insert(format!("{prefix}PINV_VSplit1"), Value::Null);
        result.insert(format!("{prefix}PINV_VSplit2"), Value::Null);
        for key in FREQ_BLOCK_FIELDS {
            result.insert(format!("{prefix}{key}"), field_or_null(block, key));
        }
    }
    for (index, (id, device)) in devices(inputs, &["TEPINV"]).into_iter().enumerate() {
        let prefix = format!("PW{}_", index + 1);
        result.insert(format!("{prefix}name"), Value::from(id.as_str()));
        for signal in FREQ_INVERTER_SIGNALS {
            merge_present(
                &mut result,
                format!("{prefix}{signal}"),
                present(Some(device), signal),
            );
        }
    }
    for (_, device) in devices(inputs, &["TESYNC", "TEMSA"]) {
        for (key, value) in device.as_object().into_iter().flatten() {
            if key.starts_with("ISLAND") || key.starts_with("METER") {
                result.insert(key.clone(), value.clone());
            }
        }
    }
    result.insert(
        "grid_status".into(),
        facade::grid_status(inputs.json(GridStatus), GridStatusKind::Numeric),
    );
    Value::Object(result)
}

/// `/pod`: per-battery energies, states and flags, the POD signals of each `TEPOD` device, and
/// the site's energy, time remaining and reserve.
fn pod(inputs: &Inputs) -> Value {
    let system_status = inputs.json(SystemStatus);
    let mut result = Map::new();
    for (index, block) in objects(system_status, "battery_blocks")
        .into_iter()
        .enumerate()
    {
        let prefix = format!("PW{}_", index + 1);
        let block = Value::Object(block.clone());
        let block = Some(&block);
        result.insert(format!("{prefix}name"), Value::Null);
        for key in POD_FLAGS.iter().chain(&POD_VALUES) {
            result.insert(format!("{prefix}{key}"), Value::Null);
        }
        result.insert(
            format!("{prefix}POD_nom_energy_remaining"),
            field_or_null(block, "nominal_energy_remaining"),
        );
        result.insert(
            format!("{prefix}POD_nom_full_pack_energy"),
            field_or_null(block, "nominal_full_pack_energy"),
        );
        for key in POD_BLOCK_FIELDS {
            result.insert(format!("{prefix}{key}"), field_or_null(block, key));
        }
        for key in POD_BLOCK_FLAGS {
            result.insert(format!("{prefix}{key}"), flag(field(block, key)));
        }
        result.insert(
            format!("{prefix}OpSeqState"),
            field_or_null(block, "OpSeqState"),
        );
        result.insert(format!("{prefix}version"), field_or_null(block, "version"));
    }
    for (index, (id, device)) in devices(inputs, &["TEPOD"]).into_iter().enumerate() {
        let prefix = format!("PW{}_", index + 1);
        result.insert(format!("{prefix}name"), Value::from(id.as_str()));
        for key in POD_FLAGS {
            result.insert(format!("{prefix}{key}"), flag(field(Some(device), key)));
        }
        for key in POD_VALUES {
            merge_present(
                &mut result,
                format!("{prefix}{key}"),
                present(Some(device), key),
            );
        }
    }
    result.insert(
        "nominal_full_pack_energy".into(),
        field_or_null(system_status, "nominal_full_pack_energy"),
    );
    result.insert(
        "nominal_energy_remaining".into(),
        field_or_null(system_status, "nominal_energy_remaining"),
    );
    result.insert(
        "time_remaining_hours".into(),
        time_remaining(system_status, inputs.json(Aggregates)),
    );
    result.insert(
        "backup_reserve_percent".into(),
        facade::get_reserve(inputs.json(Operation), true),
    );
    Value::Object(result)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn freq_vectors_of_the_proxy_tests() {
        let pairs = [
            (
                SystemStatus,
                json!({"battery_blocks": [{"PackagePartNumber": "PW123", "PackageSerialNumber": "SN001",
                    "f_out": 60.0, "p_out": 1000, "q_out": 50, "v_out": 240.0, "i_out": 4.2}]}),
            ),
            (
                Vitals,
                json!({
                    "TEPINV1": {"PINV_Fout": 59.98, "PINV_VSplit1": 120.5, "PINV_VSplit2": 119.8},
                    "TESYNC1": {"ISLAND_FreqL1_Load": 60.01, "METER_X_CTA_InstRealPower": 5000, "SYNC_Other": 1},
                }),
            ),
            (GridStatus, json!({"grid_status": "SystemGridConnected"})),
        ];
        let body = render_json("/freq", &pairs);
        assert_eq!(body["PW1_PackagePartNumber"], json!("PW123"));
        assert_eq!(body["PW1_f_out"], json!(60.0));
        assert_eq!(body["PW1_v_out"], json!(240.0));
        assert_eq!(body["PW1_name"], json!("TEPINV1"));
        assert_eq!(body["PW1_PINV_Fout"], json!(59.98));
        assert_eq!(body["PW1_PINV_VSplit1"], json!(120.5));
        assert_eq!(body["grid_status"], json!(1));
        assert_eq!(body["ISLAND_FreqL1_Load"], json!(60.01));
        assert_eq!(body["METER_X_CTA_InstRealPower"], json!(5000));
        assert!(body.get("SYNC_Other").is_none());
        let text = render_route("/freq", &pairs);
        assert!(
            text.starts_with(r#"{"PW1_name": "TEPINV1", "PW1_PINV_Fout": 59.98, "#),
            "{text}"
        );
        assert!(text.ends_with(r#""grid_status": 1}"#), "{text}");
    }

    #[test]
    fn freq_keeps_block_value_when_vitals_lack_it() {
        let body = render_json(
            "/freq",
            &[
                (SystemStatus, json!({"battery_blocks": [{"f_out": 60.0}]})),
                (
                    Vitals,
                    json!({"TEPINV1": {"PINV_VSplit1": 120.5}, "TEPINV2": {}}),
                ),
                (GridStatus, json!({"grid_status": "SystemTransitionToGrid"})),
            ],
        );
        assert_eq!(body["PW1_PINV_Fout"], json!(60.0));
        assert_eq!(body["PW2_name"], json!("TEPINV2"));
        assert_eq!(body["PW2_PINV_Fout"], Value::Null);
        assert_eq!(body["grid_status"], json!(-1));
        assert_eq!(
            render_route("/freq", &[(GridStatus, json!({"grid_status": "x"}))]),
            r#"{"grid_status": null}"#
        );
    }

    #[test]
    fn pod_vectors_of_the_proxy_tests() {
        let pairs = [
            (
                SystemStatus,
                json!({"nominal_full_pack_energy": 14000, "nominal_energy_remaining": 2590,
                    "battery_blocks": [{"PackagePartNumber": "PW2-123", "PackageSerialNumber": "SN001",
                    "nominal_energy_remaining": 13500, "nominal_full_pack_energy": 14000,
                    "pinv_state": "PV_Active", "backup_ready": true, "off_grid": false}]}),
            ),
            (
                Vitals,
                json!({"TEPOD1": {"POD_available_charge_power": 5000, "POD_nom_energy_remaining": 13500,
                    "POD_nom_full_pack_energy": 14000, "POD_enable_line": true}}),
            ),
            (Aggregates, json!({"load": {"instant_power": 140}})),
            (
                Operation,
                json!({"backup_reserve_percent": 20.0 * 0.95 + 5.0}),
            ),
        ];
        let body = render_json("/pod", &pairs);
        assert_eq!(body["PW1_PackagePartNumber"], json!("PW2-123"));
        assert_eq!(body["PW1_POD_nom_energy_remaining"], json!(13500));
        assert_eq!(body["PW1_pinv_state"], json!("PV_Active"));
        assert_eq!(body["PW1_name"], json!("TEPOD1"));
        assert_eq!(body["PW1_POD_available_charge_power"], json!(5000));
        assert_eq!(body["PW1_POD_enable_line"], json!(1));
        assert_eq!(body["PW1_POD_ActiveHeating"], json!(0));
        assert_eq!(body["PW1_backup_ready"], json!(1));
        assert_eq!(body["PW1_off_grid"], json!(0));
        assert_eq!(body["PW1_vf_mode"], json!(0));
        assert_eq!(body["nominal_full_pack_energy"], json!(14000));
        assert_eq!(body["time_remaining_hours"], json!(18.5));
        assert!((body["backup_reserve_percent"].as_f64().unwrap() - 20.0).abs() < 1e-9);
    }

    #[test]
    fn pod_two_blocks_two_pods_and_nothing() {
        let body = render_json(
            "/pod",
            &[
                (
                    SystemStatus,
                    json!({"battery_blocks": [{"PackageSerialNumber": "SN001", "nominal_energy_remaining": 100},
                        {"PackageSerialNumber": "SN002"}]}),
                ),
                (
                    Vitals,
                    json!({"TEPOD1": {}, "TEPOD2": {"POD_nom_energy_remaining": 7}}),
                ),
            ],
        );
        assert_eq!(body["PW1_PackageSerialNumber"], json!("SN001"));
        assert_eq!(body["PW2_PackageSerialNumber"], json!("SN002"));
        assert_eq!(body["PW1_name"], json!("TEPOD1"));
        assert_eq!(body["PW2_name"], json!("TEPOD2"));
        // §15 item 22: a missing vitals value no longer wipes the block's value.
        assert_eq!(body["PW1_POD_nom_energy_remaining"], json!(100));
        assert_eq!(body["PW2_POD_nom_energy_remaining"], json!(7));
        let nothing = render_json("/pod", &[(Operation, json!({}))]);
        assert_eq!(nothing["nominal_full_pack_energy"], Value::Null);
        assert_eq!(nothing["time_remaining_hours"], Value::Null);
    }

    #[test]
    fn pod_observed_first_battery_from_the_simulator_fixtures() {
        let body = render_json(
            "/pod",
            &[
                (SystemStatus, fixture("local/bogus/api.system_status.json")),
                (
                    Vitals,
                    fixture("local/simulator/api.devices.vitals.decoded.json"),
                ),
            ],
        );
        assert_eq!(body["PW1_name"], json!("TEPOD--1081100-13-V--T0000000000"));
        assert_eq!(body["PW1_PackageSerialNumber"], json!("TG123456789012"));
        assert_eq!(body["PW1_p_out"], json!(-1990));
        assert_eq!(body["PW1_v_out"], json!(243.70000000000002));
        assert_eq!(body["PW1_backup_ready"], json!(1));
        assert_eq!(body["PW1_OpSeqState"], json!("Active"));
        assert!(body["PW1_POD_nom_full_pack_energy"].is_number());
        assert_eq!(body["nominal_full_pack_energy"], json!(25995));
    }
}
