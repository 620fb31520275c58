//! The gateway crate's TEDAPI conversion (gateway-protocols §3), run on the simulator's TEDAPI
//! documents, derives the numbers the simulator's local API serves at the same instant.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::HashMap;

use common::{client, get_json, login, open_json, simulator_with};
use powerwall_gateway::tedapi::convert::{
    TedapiInputs, api_status, grid_status_document, meters_aggregates, operation, pw3_vitals,
    site_info, soe, system_status, vitals,
};
use powerwall_simulator::{SimulatorHandle, TedapiDocuments, TopologyKind};
use serde_json::Value;

/// The Powerwall 3 blocks as a client assembles them from the components answers.
fn pw3_blocks(docs: &TedapiDocuments) -> Option<powerwall_model::Vitals> {
    let answers: HashMap<String, Value> = docs.components.clone().into_iter().collect();
    pw3_vitals(Some(&docs.config), docs.components_for(&docs.din), &answers)
}

async fn local(sim: &SimulatorHandle, path: &str) -> Value {
    let client = client();
    let session = login(&client, sim).await;
    get_json(&client, format!("{}{path}", sim.url()), &session)
        .await
        .1
}

#[tokio::test]
async fn conversion_of_the_documents_matches_the_local_api() {
    for kind in [TopologyKind::Pw2, TopologyKind::Pw3, TopologyKind::Pw3Multi] {
        let sim = simulator_with(kind).await;
        for step in [
            "start",
            "/test/toggle-grid",
            "/test/scenario/solar-charging",
        ] {
            if step.starts_with('/') {
                client()
                    .get(format!("{}{step}", sim.url()))
                    .send()
                    .await
                    .unwrap();
            }
            let docs = sim.tedapi_documents();
            let blocks = pw3_blocks(&docs);
            let inputs = TedapiInputs {
                config: Some(&docs.config),
                status: Some(&docs.status),
                controller: Some(&docs.controller),
                pw3_vitals: blocks.as_ref(),
                is_pw3: kind != TopologyKind::Pw2,
                host: "127.0.0.1",
                now_epoch_seconds: sim.reading().now,
                ..TedapiInputs::default()
            };
            let what = format!("{kind} {step}");
            let aggregates = meters_aggregates(&inputs).unwrap();
            let served = local(&sim, "/api/meters/aggregates").await;
            for meter in ["site", "battery", "load", "solar"] {
                assert_eq!(
                    aggregates[meter]["instant_power"], served[meter]["instant_power"],
                    "{what} {meter}"
                );
            }
            assert_eq!(
                soe(&inputs).unwrap(),
                local(&sim, "/api/system_status/soe").await,
                "{what}"
            );
            let grid = grid_status_document(&inputs).unwrap();
            let served = local(&sim, "/api/system_status/grid_status").await;
            assert_eq!(grid["grid_status"], served["grid_status"], "{what}");
            let served = local(&sim, "/api/operation").await;
            let converted = operation(&inputs).unwrap();
            assert_eq!(converted["real_mode"], served["real_mode"], "{what}");
            assert_eq!(
                converted["backup_reserve_percent"], served["backup_reserve_percent"],
                "{what}"
            );
            let served = local(&sim, "/api/system_status").await;
            let converted = system_status(&inputs).unwrap();
            for key in [
                "nominal_full_pack_energy",
                "max_charge_power",
                "system_island_state",
            ] {
                assert_eq!(converted[key], served[key], "{what} {key}");
            }
            let remaining = converted["nominal_energy_remaining"].as_f64().unwrap();
            let served_remaining = served["nominal_energy_remaining"].as_f64().unwrap();
            assert!(
                (remaining - served_remaining).abs() <= 2.0,
                "{what}: {remaining} vs {served_remaining}"
            );
        }
    }
}

#[tokio::test]
async fn pw2_status_site_info_and_vitals_match() {
    let sim = simulator_with(TopologyKind::Pw2).await;
    let docs = sim.tedapi_documents();
    let inputs = TedapiInputs {
        config: Some(&docs.config),
        status: Some(&docs.status),
        controller: Some(&docs.controller),
        host: "127.0.0.1",
        ..TedapiInputs::default()
    };
    let status = api_status(&inputs).unwrap();
    let served = open_json(&client(), format!("{}/api/status", sim.url())).await;
    assert_eq!(status["din"], served["din"]);
    assert_eq!(status["start_time"], served["start_time"]);
    let converted = site_info(&inputs).unwrap();
    let served = local(&sim, "/api/site_info").await;
    for key in [
        "site_name",
        "timezone",
        "nominal_system_energy_kWh",
        "nominal_system_power_kW",
        "panel_max_current",
    ] {
        assert_eq!(converted[key], served[key], "{key}");
    }
    let vitals = vitals(&inputs).unwrap();
    let system = local(&sim, "/api/system_status").await;
    for block in system["battery_blocks"].as_array().unwrap() {
        let (part, serial) = (&block["PackagePartNumber"], &block["PackageSerialNumber"]);
        let thc = format!(
            "TETHC--{}--{}",
            part.as_str().unwrap(),
            serial.as_str().unwrap()
        );
        assert!(vitals[&thc]["THC_AmbientTemp"].is_number(), "{thc}");
    }
    let pinv_kw: f64 = vitals
        .iter()
        .filter(|(key, _)| key.starts_with("TEPINV--"))
        .map(|(_, block)| block["PINV_Pout"].as_f64().unwrap())
        .sum();
    assert!((pinv_kw * 1000.0 - sim.reading().battery_w).abs() < 1e-6);
    let pods: f64 = vitals
        .iter()
        .filter(|(key, _)| key.starts_with("TEPOD--"))
        .map(|(_, block)| block["POD_nom_energy_remaining"].as_f64().unwrap())
        .sum();
    assert_eq!(pods, system["nominal_energy_remaining"].as_f64().unwrap());
}

#[tokio::test]
async fn pw3_vitals_cover_every_pack_with_the_served_energies() {
    let sim = simulator_with(TopologyKind::Pw3Multi).await;
    let docs = sim.tedapi_documents();
    let blocks = pw3_blocks(&docs).unwrap();
    let system = local(&sim, "/api/system_status").await;
    let mut total = 0.0;
    for block in system["battery_blocks"].as_array().unwrap() {
        let din = format!(
            "TEPOD--{}--{}",
            block["PackagePartNumber"].as_str().unwrap(),
            block["PackageSerialNumber"].as_str().unwrap()
        );
        let pod = &blocks[&din];
        assert_eq!(
            pod["POD_nom_energy_remaining"], block["nominal_energy_remaining"],
            "{din}"
        );
        assert_eq!(
            pod["POD_nom_full_pack_energy"], block["nominal_full_pack_energy"],
            "{din}"
        );
        total += pod["POD_nom_energy_remaining"].as_f64().unwrap();
    }
    assert_eq!(total, system["nominal_energy_remaining"].as_f64().unwrap());
    let solar: f64 = blocks
        .iter()
        .filter(|(key, _)| key.starts_with("PVAC--"))
        .flat_map(|(_, block)| {
            ['A', 'B', 'C', 'D', 'E', 'F'].map(|x| {
                block[format!("PVAC_PVMeasuredPower_{x}")]
                    .as_f64()
                    .unwrap_or(0.0)
            })
        })
        .sum();
    assert!((solar - sim.reading().solar_w).abs() < 1e-6, "{solar}");
}
