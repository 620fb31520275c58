//! The TEDAPI documents against the model, per topology, on a frozen clock: flows, energies,
//! strings, meters, grid state, pins, clock and uptime, identities.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::TedapiDocuments;
use crate::SimulatorConfig;
use crate::model::clock::{NANOS_PER_SEC, gateway_start_time};
use crate::model::topology::TopologyKind;
use crate::sim::Sim;

/// Every selectable topology.
pub const KINDS: [TopologyKind; 3] = [TopologyKind::Pw2, TopologyKind::Pw3, TopologyKind::Pw3Multi];

/// 2024-06-21 10:00 local (−08:00): the sun is up, the battery charges.
const JUNE_MORNING: f64 = 1_718_992_800.0;

/// A simulator of `kind` on a frozen clock (not listening).
pub fn sim(kind: TopologyKind) -> Sim {
    Sim::new(&SimulatorConfig {
        start_epoch: Some(JUNE_MORNING),
        freeze_clock: true,
        topology: kind,
        ..SimulatorConfig::default()
    })
    .unwrap()
}

/// The documents of a fresh `kind` site.
pub fn documents(kind: TopologyKind) -> TedapiDocuments {
    sim(kind).tedapi_documents()
}

fn aggregate(doc: &Value, location: &str) -> f64 {
    let list = doc["control"]["meterAggregates"].as_array().unwrap();
    let entry = list.iter().find(|e| e["location"] == location).unwrap();
    entry["realPowerW"].as_f64().unwrap()
}

fn num(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

/// The value of a named signal in a component entry (first non-null of the three fields).
fn signal<'a>(entry: &'a Value, name: &str) -> &'a Value {
    let found = entry["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name);
    let record = found.unwrap_or_else(|| panic!("no signal {name}"));
    ["value", "boolValue", "textValue"]
        .iter()
        .map(|key| &record[*key])
        .find(|v| !v.is_null())
        .unwrap()
}

fn check_flows(sim: &Sim) {
    let reading = sim.reading();
    let docs = sim.tedapi_documents();
    for doc in [&docs.status, &docs.controller] {
        let locations: Vec<&str> = doc["control"]["meterAggregates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["location"].as_str().unwrap())
            .collect();
        assert_eq!(
            locations,
            ["SITE", "BATTERY", "LOAD", "SOLAR", "SOLAR_RGM", "GENERATOR"]
        );
        let (site, battery) = (aggregate(doc, "SITE"), aggregate(doc, "BATTERY"));
        let (load, solar) = (aggregate(doc, "LOAD"), aggregate(doc, "SOLAR"));
        assert_eq!(
            (solar, load, battery, site),
            (
                reading.solar_w,
                reading.home_w,
                reading.battery_w,
                reading.site_w
            )
        );
        assert_eq!(load, solar + battery + site);
        let connected = reading.grid_connected;
        let islander = &doc["esCan"]["bus"]["ISLANDER"];
        let text = islander["ISLAND_GridConnection"]["ISLAND_GridConnected"]
            .as_str()
            .unwrap();
        let expected = if connected {
            "ISLAND_GridConnected_Connected"
        } else {
            "ISLAND_GridConnected_Disconnected"
        };
        assert_eq!(text, expected);
        let alerts = doc["control"]["alerts"]["active"].as_array().unwrap();
        assert_eq!(
            alerts.contains(&Value::from("SystemConnectedToGrid")),
            connected
        );
        assert_eq!(doc["control"]["islanding"]["gridOK"], connected);
    }
}

#[test]
fn aggregates_balance_and_follow_the_model_around_the_clock() {
    for kind in KINDS {
        let sim = sim(kind);
        for step in 0..16 {
            sim.advance_clock(5400.0).unwrap();
            if step % 5 == 4 {
                let mut world = sim.world();
                let now = world.now_ns();
                world.site.toggle_grid(now);
            }
            check_flows(&sim);
        }
    }
}

#[test]
fn grid_state_text_follows_toggle_grid() {
    for kind in KINDS {
        let sim = sim(kind);
        check_flows(&sim);
        for connected in [false, true] {
            let mut world = sim.world();
            let now = world.now_ns();
            assert_eq!(world.site.toggle_grid(now), connected);
            drop(world);
            check_flows(&sim);
            let docs = sim.tedapi_documents();
            let state = &docs.status["esCan"]["bus"]["ISLANDER"]["ISLAND_AcMeasurements"];
            assert_eq!(
                state["ISLAND_VL1N_Main"].as_f64().unwrap() > 100.0,
                connected
            );
            assert!(state["ISLAND_VL1N_Load"].as_f64().unwrap() > 100.0);
        }
    }
}

#[test]
fn scenario_and_soe_pins_show_up_in_the_documents() {
    for kind in KINDS {
        let sim = sim(kind);
        sim.apply_scenario("sunny-day-outage").unwrap();
        let docs = sim.tedapi_documents();
        let got: Vec<f64> = ["SOLAR", "LOAD", "BATTERY", "SITE"]
            .iter()
            .map(|l| aggregate(&docs.status, l))
            .collect();
        assert_eq!(got, [4300.0, 1200.0, -3100.0, 0.0], "{kind}");
        check_flows(&sim);
        sim.apply_scenario("grid-charging").unwrap();
        let docs = sim.tedapi_documents();
        assert_eq!(
            (
                aggregate(&docs.controller, "BATTERY"),
                aggregate(&docs.controller, "SITE")
            ),
            (-300.0, 1200.0)
        );
        {
            let mut world = sim.world();
            let now = world.now_ns();
            world.site.pin_soe(Some(52.5), now);
        }
        let docs = sim.tedapi_documents();
        let totals = &docs.status["control"]["systemStatus"];
        let ratio =
            num(&totals["nominalEnergyRemainingWh"]) / num(&totals["nominalFullPackEnergyWh"]);
        assert_eq!(ratio * 100.0, 52.5, "{kind}");
    }
}

#[test]
fn system_time_and_uptime_match_the_clock_and_boot() {
    let sim = sim(TopologyKind::Pw2);
    sim.advance_clock(0.75).unwrap();
    let docs = sim.tedapi_documents();
    let snapshot = sim.snapshot();
    let text = docs.status["system"]["time"].as_str().unwrap();
    assert_eq!(text, "2024-06-21T10:00:00-08:00");
    let time = OffsetDateTime::parse(text, &Rfc3339).unwrap();
    assert_eq!(
        i128::from(time.unix_timestamp()),
        snapshot.now_ns.div_euclid(NANOS_PER_SEC)
    );
    let sync_serial = docs.controller["esCan"]["bus"]["SYNC"]["packageSerialNumber"].clone();
    let msa = docs.controller["components"]["msa"].as_array().unwrap();
    let sync = msa
        .iter()
        .find(|e| e["serialNumber"] == sync_serial)
        .unwrap();
    let uptime_ms = num(signal(sync, "SYNC_Uptime"));
    let start_ns =
        i128::from(time.unix_timestamp()) * NANOS_PER_SEC - (uptime_ms as i128) * 1_000_000;
    assert!(
        (start_ns - snapshot.boot_ns).abs() < 1_000_000,
        "start {start_ns} boot {}",
        snapshot.boot_ns
    );
    let offset = snapshot.utc_offset_secs;
    assert_eq!(
        gateway_start_time(start_ns, offset),
        gateway_start_time(snapshot.boot_ns, offset)
    );
    // A reboot restarts the uptime from zero.
    {
        let mut world = sim.world();
        let now = world.now_ns();
        world.site.reboot(now);
    }
    sim.advance_clock(10.0).unwrap();
    let docs = sim.tedapi_documents();
    let msa = docs.controller["components"]["msa"].as_array().unwrap();
    let sync = msa
        .iter()
        .find(|e| e["serialNumber"] == sync_serial)
        .unwrap();
    assert!((9_000.0..=10_000.0).contains(&num(signal(sync, "SYNC_Uptime"))));
}

#[test]
fn config_carries_operation_site_info_and_identity() {
    for kind in KINDS {
        let sim = sim(kind);
        let reading = sim.reading();
        let docs = sim.tedapi_documents();
        let config = &docs.config;
        assert_eq!(config["vin"], docs.din.as_str());
        assert_eq!(config["default_real_mode"], reading.real_mode.as_str());
        assert_eq!(
            num(&config["site_info"]["backup_reserve_percent"]),
            reading.reserve_raw_pct
        );
        assert_eq!(config["site_info"]["site_name"], "Tesla Energy Gateway");
        assert_eq!(
            num(&config["site_info"]["nominal_system_energy_ac"]),
            27.0 * if kind == TopologyKind::Pw3Multi {
                2.0
            } else {
                1.0
            }
        );
        let mut operation = sim.snapshot().operation;
        operation.backup_reserve_percent = 42.0;
        operation.real_mode = crate::model::site::RealMode::Backup;
        sim.set_operation(operation);
        let config = sim.tedapi_documents().config;
        assert_eq!(config["default_real_mode"], "backup");
        assert_eq!(config["site_info"]["backup_reserve_percent"], 42);
    }
    let pw2 = documents(TopologyKind::Pw2);
    assert_eq!(pw2.din, "1232100-00-E--TG123456789ABC");
    assert_eq!(
        num(&pw2.config["site_info"]["nominal_system_power_ac"]),
        10.8
    );
    assert_eq!(
        pw2.config["meters"][0]["connection"]["device_serial"],
        "V1234567890"
    );
    let pw3 = documents(TopologyKind::Pw3);
    assert_eq!(pw3.din, "1707000-11-J--TG12000000001Z");
}

/// Every signal record carries its value in exactly one of the three fields.
fn check_signals(value: &Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("textValue") {
                let set = ["value", "textValue", "boolValue"]
                    .iter()
                    .filter(|k| !map[**k].is_null())
                    .count();
                assert_eq!(set, 1, "{value}");
                assert!(map["timestamp"].is_i64());
            }
            map.values().for_each(check_signals);
        }
        Value::Array(items) => items.iter().for_each(check_signals),
        _ => {}
    }
}

/// `isMIA` is false for every present device and true exactly for the absent SYNC or MSA.
fn check_mia(doc: &Value, path: &str, mia: &mut Vec<String>) {
    match doc {
        Value::Object(map) => {
            if map.get("isMIA") == Some(&Value::Bool(true)) {
                mia.push(path.to_owned());
            }
            for (key, value) in map {
                check_mia(value, &format!("{path}.{key}"), mia);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| check_mia(item, path, mia)),
        _ => {}
    }
}

#[test]
fn signals_are_single_valued_and_only_absent_devices_are_mia() {
    for kind in KINDS {
        let docs = documents(kind);
        check_signals(&docs.controller);
        docs.components.values().for_each(check_signals);
        let mut mia = Vec::new();
        check_mia(&docs.status, "$", &mut mia);
        let absent = if kind == TopologyKind::Pw2 {
            "MSA"
        } else {
            "SYNC"
        };
        assert!(
            !mia.is_empty() && mia.iter().all(|path| path.contains(absent)),
            "{kind}: {mia:?}"
        );
    }
}
