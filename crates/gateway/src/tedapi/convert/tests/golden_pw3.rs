//! One Powerwall 3 with one expansion (`pw3/config.single-pw3-with-expansion.json`, every components
//! request answered with `pw3/components.leader.json`) against `expected/pw3-single-with-expansion/`.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{assert_same_json, fixture, fixture_names};
use crate::tedapi::convert::{
    TedapiInputs, fan_speeds, get_blocks, pw3_component_requests, pw3_vitals, temps,
};

fn expected(name: &str) -> Value {
    fixture(&format!("expected/pw3-single-with-expansion/{name}"))
}

struct Site {
    config: Value,
    leader: Value,
}

impl Site {
    fn load() -> Site {
        Site {
            config: fixture("pw3/config.single-pw3-with-expansion.json"),
            leader: fixture("pw3/components.leader.json"),
        }
    }

    /// Answers every per-device request of `pw3_component_requests` with the leader payload.
    fn answers(&self) -> HashMap<String, Value> {
        pw3_component_requests(Some(&self.config))
            .into_iter()
            .filter_map(|request| request.din)
            .map(|din| (din, self.leader.clone()))
            .collect()
    }
}

#[test]
fn every_golden_file_is_checked() {
    let names = ["pw3_fan_speeds.json", "pw3_vitals.json", "requests.json"];
    assert_eq!(
        fixture_names("expected/pw3-single-with-expansion"),
        names.map(str::to_owned).to_vec()
    );
}

#[test]
fn the_requests_are_the_reference_ones() {
    let site = Site::load();
    let requests: Vec<Value> = pw3_component_requests(Some(&site.config))
        .into_iter()
        .map(|request| json!({"url_suffix": request.url_suffix, "din": request.din}))
        .collect();
    assert_same_json(
        &Value::Array(requests),
        &expected("requests.json"),
        "requests.json",
    );
}

#[test]
fn pw3_vitals_and_fans_match_the_reference() {
    let site = Site::load();
    let vitals = pw3_vitals(Some(&site.config), Some(&site.leader), &site.answers())
        .expect("gateway components present");
    assert_same_json(
        &Value::Object(vitals.clone()),
        &expected("pw3_vitals.json"),
        "pw3_vitals.json",
    );
    let inputs = TedapiInputs {
        pw3_vitals: Some(&vitals),
        is_pw3: true,
        ..Default::default()
    };
    assert_same_json(
        &fan_speeds(&inputs),
        &expected("pw3_fan_speeds.json"),
        "pw3_fan_speeds.json",
    );
}

#[test]
fn pw3_blocks_feed_battery_blocks_and_temperatures() {
    let site = Site::load();
    let vitals = pw3_vitals(Some(&site.config), Some(&site.leader), &site.answers())
        .expect("gateway components present");
    let blocks = get_blocks(&vitals, Some(&site.config));
    let keys: Vec<&String> = blocks.keys().collect();
    assert_eq!(keys, ["1707000-11-J--TG12000000001Z", "TG12000000004Z"]);
    assert_eq!(blocks["1707000-11-J--TG12000000001Z"]["p_out"], json!(1.0));
    assert_eq!(blocks["TG12000000004Z"]["Type"], "BatteryExpansion");
    // The reference library fills the expansion's part and serial from its DIN (found by the
    // reference oracle, crates/server/tests/oracle_e2e.rs).
    assert_eq!(
        blocks["TG12000000004Z"]["PackagePartNumber"],
        "2707000-11-J"
    );
    assert_eq!(
        blocks["TG12000000004Z"]["PackageSerialNumber"],
        "TG12000000004Z"
    );
    assert_eq!(blocks["TG12000000004Z"]["pinv_state"], Value::Null);
    assert_eq!(
        blocks["TG12000000004Z"]["nominal_energy_remaining"],
        json!(9000)
    );
    // No pack temperature was reported, so no TEPOD entry appears.
    assert_eq!(temps(Some(&vitals)), json!({}));
}

#[test]
fn without_a_gateway_answer_the_call_fails_and_unanswered_powerwalls_are_skipped() {
    let site = Site::load();
    assert_eq!(pw3_vitals(Some(&site.config), None, &site.answers()), None);
    assert_eq!(
        pw3_vitals(Some(&site.config), Some(&site.leader), &HashMap::new()),
        Some(Default::default())
    );
}

#[test]
fn multi_powerwall_sites_route_through_the_leader() {
    let config = fixture("pw3/config.three-pw3.json");
    let requests = pw3_component_requests(Some(&config));
    assert_eq!(requests[0].din, None);
    assert!(requests[1..].iter().all(|request| request.via_leader));
    let first = requests[1].din.clone().expect("a battery DIN");
    assert_eq!(requests[1].url_suffix, format!("/tedapi/device/{first}/v1"));
}
