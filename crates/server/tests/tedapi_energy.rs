//! Lifetime energy counters in TEDAPI mode (gateway-protocols §2.14, §3.6): the client logs in
//! to the simulator's classic API as `customer` and the aggregates carry the model's counters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use powerwall_gateway::tedapi::client::{TedapiClient, TedapiConfig};
use powerwall_gateway::{DataKind, GatewayAccess, Secret};
use powerwall_simulator::{SimulatorHandle, TopologyKind};
use serde_json::{Value, json};

const SECTIONS: [&str; 4] = ["site", "battery", "load", "solar"];
const COUNTERS: [&str; 2] = ["energy_exported", "energy_imported"];

/// The simulator's own `/api/meters/aggregates`, read with the customer login.
async fn local_aggregates(sim: &SimulatorHandle) -> Value {
    let login: Value = sim_http()
        .post(format!("{}/api/login/Basic", sim.url()))
        .json(&json!({"username": "customer", "password": "password", "email": "me@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    sim_http()
        .get(format!("{}/api/meters/aggregates", sim.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn counters(aggregates: &Value) -> Vec<Value> {
    SECTIONS
        .iter()
        .flat_map(|section| {
            COUNTERS
                .iter()
                .map(move |key| aggregates[section][key].clone())
        })
        .collect()
}

async fn frozen_simulator(topology: TopologyKind) -> SimulatorHandle {
    let sim = simulator_with(topology).await;
    // A frozen clock keeps the counters still, so two reads can be compared exactly.
    sim.freeze_clock(true);
    // Let the model integrate some energy first (counters well above zero).
    sim.advance_clock(6.0 * 3600.0).unwrap();
    sim
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_aggregates_carry_the_gateway_lifetime_counters() {
    let sim = frozen_simulator(TopologyKind::Pw2).await;
    let expected = counters(&local_aggregates(&sim).await);
    assert!(
        expected.iter().any(|value| value.as_f64() > Some(0.0)),
        "{expected:?}"
    );
    let (server, _dir) = tedapi_server(&sim.host(), "ABCDEFGHIJ", &[]).await;
    let aggregates = eventually("lifetime energy in /aggregates", || async {
        let body = get_json(&server, "/aggregates").await;
        (counters(&body) == expected).then_some(body)
    })
    .await;
    for section in SECTIONS {
        let disclaimer = aggregates[section]["disclaimer"].as_str().unwrap_or("");
        assert!(
            disclaimer.contains("energy from gateway local API"),
            "{section}: {disclaimer}"
        );
    }
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test]
async fn client_aggregates_match_the_simulator_on_powerwall_3_and_reuse_the_token() {
    let sim = frozen_simulator(TopologyKind::Pw3).await;
    let expected = counters(&local_aggregates(&sim).await);
    sim_get(&sim, "/test/counter/reset").await;
    let client =
        TedapiClient::new(TedapiConfig::new(sim.host(), Secret::new("ABCDEFGHIJ"))).unwrap();
    for _ in 0..3 {
        let aggregates = client.fetch(DataKind::Aggregates).await.unwrap();
        assert_eq!(counters(&aggregates), expected);
    }
    let counter = sim_json(&sim, "/test/counter").await;
    assert_eq!(count(&counter, "POST /api/login/Basic"), 1, "{counter}");
    // The portal probe said PW3 (no portal on the simulator's PW3 topology).
    assert_eq!(count(&counter, "GET /"), 1, "{counter}");
    sim.shutdown();
}
