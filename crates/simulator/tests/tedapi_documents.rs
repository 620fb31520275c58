//! The TEDAPI documents of a running simulator carry the numbers its local API serves at the
//! same instant, for every topology, while the control API moves the site.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{client, get_json, login, open_json, simulator_with};
use powerwall_simulator::TopologyKind;
use serde_json::Value;

fn aggregate(doc: &Value, location: &str) -> f64 {
    let list = doc["control"]["meterAggregates"].as_array().unwrap();
    let entry = list.iter().find(|e| e["location"] == location).unwrap();
    entry["realPowerW"].as_f64().unwrap()
}

#[tokio::test]
async fn documents_agree_with_the_local_api() {
    for kind in [TopologyKind::Pw2, TopologyKind::Pw3, TopologyKind::Pw3Multi] {
        let (sim, client) = (simulator_with(kind).await, client());
        let session = login(&client, &sim).await;
        for step in [
            "start",
            "/test/toggle-grid",
            "/test/scenario/self-powered",
            "/test/battery-percentage/50",
        ] {
            if step.starts_with('/') {
                let answer = client
                    .get(format!("{}{step}", sim.url()))
                    .send()
                    .await
                    .unwrap();
                assert!(answer.status().is_success(), "{step}");
            }
            let url = |path: &str| format!("{}{path}", sim.url());
            let (_, aggregates) = get_json(&client, url("/api/meters/aggregates"), &session).await;
            let (_, soe) = get_json(&client, url("/api/system_status/soe"), &session).await;
            let (_, operation) = get_json(&client, url("/api/operation"), &session).await;
            let (_, grid) =
                get_json(&client, url("/api/system_status/grid_status"), &session).await;
            let status = open_json(&client, url("/api/status")).await;
            let docs = sim.tedapi_documents();
            for doc in [&docs.status, &docs.controller] {
                for (meter, location) in [
                    ("site", "SITE"),
                    ("battery", "BATTERY"),
                    ("load", "LOAD"),
                    ("solar", "SOLAR"),
                ] {
                    let local = aggregates[meter]["instant_power"].as_f64().unwrap();
                    assert_eq!(aggregate(doc, location), local, "{kind} {step} {meter}");
                }
                let totals = &doc["control"]["systemStatus"];
                let ratio = totals["nominalEnergyRemainingWh"].as_f64().unwrap()
                    / totals["nominalFullPackEnergyWh"].as_f64().unwrap();
                assert_eq!(
                    ratio * 100.0,
                    soe["percentage"].as_f64().unwrap(),
                    "{kind} {step}"
                );
                let connected = grid["grid_status"] == "SystemGridConnected";
                let text = &doc["esCan"]["bus"]["ISLANDER"]["ISLAND_GridConnection"]["ISLAND_GridConnected"];
                assert_eq!(
                    text == "ISLAND_GridConnected_Connected",
                    connected,
                    "{kind} {step}"
                );
            }
            assert_eq!(docs.config["default_real_mode"], operation["real_mode"]);
            assert_eq!(
                docs.config["site_info"]["backup_reserve_percent"],
                operation["backup_reserve_percent"]
            );
            assert_eq!(status["din"], docs.din.as_str());
            assert_eq!(docs.config["vin"], docs.din.as_str());
        }
    }
}
