//! The simulator's PW2 sample (`config.json` + `status.json` as basic and full answer) against the
//! reference outputs in `expected/pw2-simulator/`.

use serde_json::{Value, json};

use super::{assert_same_json, fixture, fixture_names};
use crate::tedapi::convert::{
    GridStatusKind, TedapiInputs, alerts, api_status, battery_blocks, fan_speeds, get_blocks,
    get_grid_charging, get_grid_export, get_mode, get_reserve, get_time_remaining, grid_status,
    level, local_document, power, site_name, strings, system_status, temps, vitals,
};

/// The reference's clock while the expected files were produced.
const FROZEN_NOW: f64 = 1_706_097_600.0;

struct Sample {
    config: Value,
    status: Value,
}

impl Sample {
    fn load() -> Sample {
        Sample {
            config: fixture("config.json"),
            status: fixture("status.json"),
        }
    }

    /// Firmware info and native aggregates unavailable; not a PW3.
    fn inputs(&self) -> TedapiInputs<'_> {
        TedapiInputs {
            config: Some(&self.config),
            status: Some(&self.status),
            controller: Some(&self.status),
            host: "127.0.0.1",
            now_epoch_seconds: FROZEN_NOW,
            ..Default::default()
        }
    }
}

fn expected(name: &str) -> Value {
    fixture(&format!("expected/pw2-simulator/{name}"))
}

/// Every golden file this module checks; a new fixture must be added here to be compared.
const CHECKED: [&str; 17] = [
    "alerts.json",
    "api.meters.aggregates.json",
    "api.operation.json",
    "api.site_info.json",
    "api.site_info.site_name.json",
    "api.status.json",
    "api.system_status.grid_status.json",
    "api.system_status.json",
    "api.system_status.soe.json",
    "battery_blocks.json",
    "facade.json",
    "fan_speeds.json",
    "get_blocks.json",
    "strings.json",
    "strings.verbose.json",
    "temps.json",
    "vitals.json",
];

#[test]
fn every_golden_file_is_checked() {
    assert_eq!(
        fixture_names("expected/pw2-simulator"),
        CHECKED.map(str::to_owned).to_vec()
    );
}

#[test]
fn api_documents_match_the_reference() {
    let sample = Sample::load();
    let inputs = sample.inputs();
    for path in [
        "/api/status",
        "/api/system_status/soe",
        "/api/system_status/grid_status",
        "/api/site_info",
        "/api/site_info/site_name",
        "/api/operation",
        "/api/meters/aggregates",
        "/api/system_status",
    ] {
        let file = format!("{}.json", path.trim_start_matches('/').replace('/', "."));
        let actual = local_document(path, &inputs).unwrap_or(Value::Null);
        assert_same_json(&actual, &expected(&file), &file);
    }
}

#[test]
fn vitals_and_blocks_match_the_reference() {
    let sample = Sample::load();
    let inputs = sample.inputs();
    let vitals = vitals(&inputs).expect("config and controller present");
    assert_same_json(
        &Value::Object(vitals.clone()),
        &expected("vitals.json"),
        "vitals.json",
    );
    let blocks = get_blocks(&vitals, Some(&sample.config));
    assert_same_json(
        &Value::Object(blocks),
        &expected("get_blocks.json"),
        "get_blocks.json",
    );
    let status = system_status(&inputs);
    let merged = battery_blocks(status.as_ref(), Some(&vitals)).unwrap_or(Value::Null);
    assert_same_json(
        &merged,
        &expected("battery_blocks.json"),
        "battery_blocks.json",
    );
}

#[test]
fn facade_computations_match_the_reference() {
    let sample = Sample::load();
    let inputs = sample.inputs();
    let vitals = vitals(&inputs);
    let solar_powerwall = local_document("/api/solar_powerwall", &inputs);
    let grid = local_document("/api/system_status/grid_status", &inputs);
    assert_same_json(
        &strings(vitals.as_ref(), false, solar_powerwall.as_ref()),
        &expected("strings.json"),
        "strings.json",
    );
    assert_same_json(
        &strings(vitals.as_ref(), true, solar_powerwall.as_ref()),
        &expected("strings.verbose.json"),
        "strings.verbose.json",
    );
    assert_same_json(
        &temps(vitals.as_ref()),
        &expected("temps.json"),
        "temps.json",
    );
    let alerts = alerts(vitals.as_ref(), grid.as_ref(), solar_powerwall.as_ref());
    assert_same_json(&json!(alerts), &expected("alerts.json"), "alerts.json");
    assert_same_json(
        &fan_speeds(&inputs),
        &expected("fan_speeds.json"),
        "fan_speeds.json",
    );

    let soe = local_document("/api/system_status/soe", &inputs);
    let aggregates = local_document("/api/meters/aggregates", &inputs);
    let operation = local_document("/api/operation", &inputs);
    let status = api_status(&inputs);
    let names = site_name(&inputs);
    let facade = json!({
        "level": level(soe.as_ref(), false),
        "level_scaled": level(soe.as_ref(), true),
        "power": power(aggregates.as_ref()),
        "grid_status_string": grid_status(grid.as_ref(), GridStatusKind::Text),
        "grid_status_numeric": grid_status(grid.as_ref(), GridStatusKind::Numeric),
        "get_reserve_scaled": get_reserve(operation.as_ref(), true),
        "get_reserve_raw": get_reserve(operation.as_ref(), false),
        "get_mode": get_mode(operation.as_ref()),
        "get_grid_charging": get_grid_charging(inputs.config),
        "get_grid_export": get_grid_export(inputs.config),
        "get_time_remaining": get_time_remaining(inputs.status),
        "din": status.as_ref().map_or(Value::Null, |status| status["din"].clone()),
        "site_name": names.as_ref().map_or(Value::Null, |names| names["site_name"].clone()),
    });
    assert_same_json(&facade, &expected("facade.json"), "facade.json");
}
