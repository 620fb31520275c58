//! Local persona tests: document shapes, vitals re-encoding, firmware switch, operation input.

use powerwall_gateway::local::vitals_wire::DevicesWithVitals;
use powerwall_gateway::local::vitals_wire::device_vital::Value as Vital;
use prost::Message as _;
use serde_json::{Value, json};

use super::documents;
use super::fixtures::Fixtures;
use super::routes::parse_operation;
use super::vitals::{VitalsSeed, dins};
use crate::model::World;
use crate::model::clock::SimClock;
use crate::model::reading::Snapshot;
use crate::model::scenarios;
use crate::model::site::{RealMode, Site};
use crate::model::topology::Topology;

const START: f64 = 1_706_097_600.0;

fn world() -> World {
    let clock = SimClock::new(Some(START), true);
    let now = clock.now_ns();
    let site = Site::new(
        Topology::from_fixture().unwrap(),
        "23.28.2 27626f98".to_owned(),
        -8 * 3600,
        now,
    )
    .unwrap();
    World { clock, site }
}

fn keys(value: &Value) -> Vec<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn aggregates_keep_every_captured_field() {
    let fixtures = Fixtures::load().unwrap();
    let doc = documents::aggregates(&world().snapshot(), &fixtures);
    for meter in ["site", "battery", "load", "solar"] {
        assert_eq!(
            keys(&doc[meter]),
            keys(&fixtures.aggregates[meter]),
            "{meter}"
        );
    }
    assert_eq!(doc["site"]["instant_power"], json!(-2100));
    assert_eq!(doc["solar"]["instant_power"], json!(6500));
    assert_eq!(doc["battery"]["num_meters_aggregated"], json!(2));
    assert_eq!(
        doc["site"]["last_communication_time"],
        json!("2024-01-24T04:00:00.000000000-08:00")
    );
}

#[test]
fn status_reports_firmware_and_uptime() {
    let fixtures = Fixtures::load().unwrap();
    let mut world = world();
    let doc = documents::status(&world.snapshot(), &fixtures);
    assert_eq!(keys(&doc), keys(&fixtures.status));
    assert_eq!(doc["version"], json!("23.28.2 27626f98"));
    assert_eq!(doc["git_hash"], fixtures.status["git_hash"]);
    assert_eq!(doc["up_time_seconds"], json!("1541h38m20.998412744s"));
    world.clock.advance(61.5);
    let later = documents::status(&world.snapshot(), &fixtures);
    assert_eq!(later["up_time_seconds"], json!("1541h39m22.498412744s"));
    assert_eq!(later["start_time"], doc["start_time"]);
    let hash = documents::git_hash("23.44.0 9064fc6a", &fixtures);
    assert!(hash.starts_with("9064fc6a") && hash.len() == 40);
}

#[test]
fn system_status_totals_match_the_packs() {
    let fixtures = Fixtures::load().unwrap();
    let snapshot = world().snapshot();
    let doc = documents::system_status(&snapshot, &fixtures);
    let blocks = doc["battery_blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    let sum = |key: &str| blocks.iter().map(|b| b[key].as_f64().unwrap()).sum::<f64>();
    assert_eq!(
        sum("nominal_energy_remaining"),
        doc["nominal_energy_remaining"].as_f64().unwrap()
    );
    assert_eq!(sum("nominal_full_pack_energy"), 25995.0);
    assert_eq!(sum("p_out"), -3500.0);
    assert_eq!(
        keys(&blocks[0]),
        keys(&fixtures.system_status["battery_blocks"][0])
    );
    let powerwalls = documents::powerwalls(&snapshot, &fixtures);
    let entries = powerwalls["powerwalls"].as_array().unwrap();
    for (entry, block) in entries.iter().zip(blocks) {
        assert_eq!(entry["PackageSerialNumber"], block["PackageSerialNumber"]);
        assert_eq!(entry["PackagePartNumber"], block["PackagePartNumber"]);
    }
}

fn vital<'a>(message: &'a DevicesWithVitals, din_prefix: &str, name: &str) -> Vec<&'a Vital> {
    message
        .devices
        .iter()
        .filter(|entry| super::vitals::din(entry).is_some_and(|din| din.starts_with(din_prefix)))
        .flat_map(|entry| entry.vitals.iter())
        .filter(|vital| vital.name.as_deref() == Some(name))
        .filter_map(|vital| vital.value.as_ref())
        .collect()
}

#[test]
fn vitals_reencode_to_the_same_device_list_with_model_values() {
    let seed = VitalsSeed::load().unwrap();
    let mut world = world();
    let now = world.now_ns();
    world
        .site
        .apply_scenario(scenarios::find("sunny-day-outage").unwrap(), now);
    let snapshot: Snapshot = world.snapshot();
    let bytes = seed.render(&snapshot);
    let decoded = DevicesWithVitals::decode(bytes.as_slice()).unwrap();
    assert_eq!(dins(&decoded), dins(seed.seed()));
    assert!(dins(&decoded).len() >= 13);
    let pouts: Vec<f64> = vital(&decoded, "TEPINV--", "PINV_Pout")
        .into_iter()
        .map(|v| match v {
            Vital::FloatValue(kw) => *kw,
            other => panic!("{other:?}"),
        })
        .collect();
    let total_kw: f64 = pouts.iter().sum();
    assert!((total_kw - (-3.1)).abs() < 1e-9, "{pouts:?}");
    assert_eq!(
        vital(&decoded, "PVAC--", "PVAC_Pout"),
        vec![&Vital::FloatValue(4300.0)]
    );
    assert_eq!(
        vital(&decoded, "TESYNC--", "ISLAND_GridConnected"),
        vec![&Vital::BoolValue(false)]
    );
    let seconds = decoded.devices[0]
        .device
        .as_ref()
        .and_then(|d| d.device.as_ref())
        .and_then(|d| d.last_communication_time.as_ref())
        .map(|t| t.seconds);
    assert_eq!(seconds, Some(START as i64));
}

#[test]
fn firmware_switch_drops_vitals() {
    let mut world = world();
    assert!(world.snapshot().has_vitals());
    world.site.firmware = "23.44.0 9064fc6a".to_owned();
    assert!(!world.snapshot().has_vitals());
    world.site.firmware = "22.9.2".to_owned();
    assert!(world.snapshot().has_vitals());
}

#[test]
fn operation_post_validation() {
    let current = world().site.operation.clone();
    let ok = parse_operation(
        br#"{"real_mode":"backup","backup_reserve_percent":50}"#,
        &current,
    )
    .unwrap();
    assert_eq!(
        (ok.real_mode, ok.backup_reserve_percent),
        (RealMode::Backup, 50.0)
    );
    assert_eq!(
        ok.freq_shift_load_shed_soe,
        current.freq_shift_load_shed_soe
    );
    for bad in [
        &br#"{"real_mode":"backup"}"#[..],
        br#"{"backup_reserve_percent":50}"#,
        br#"{"real_mode":"eco","backup_reserve_percent":50}"#,
        br#"{"real_mode":"backup","backup_reserve_percent":101}"#,
        br#"{"real_mode":"backup","backup_reserve_percent":"50"}"#,
        b"real_mode=backup",
    ] {
        assert!(
            parse_operation(bad, &current).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn numbers_print_like_go() {
    assert_eq!(documents::num(27.0).to_string(), "27");
    assert_eq!(documents::num(-0.54).to_string(), "-0.54");
    assert_eq!(documents::num(f64::NAN), Value::Null);
}
