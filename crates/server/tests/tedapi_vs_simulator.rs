//! The TEDAPI client against the simulator's TEDAPI persona, over real HTTPS on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use powerwall_gateway::local::{AuthMode, LocalClient, LocalConfig};
use powerwall_gateway::policy::ManualClock;
use powerwall_gateway::tedapi::client::{TedapiClient, TedapiConfig};
use powerwall_gateway::{DataKind, GatewayAccess, GatewayError, Secret};
use powerwall_simulator::{SimulatorHandle, TopologyKind};
use serde_json::{Value, json};

fn tedapi(sim: &SimulatorHandle, password: &str) -> TedapiConfig {
    TedapiConfig::new(sim.host(), Secret::new(password))
}

fn power(aggregates: &Value, meter: &str) -> Option<f64> {
    aggregates[meter]["instant_power"].as_f64()
}

#[tokio::test]
async fn tedapi_and_local_api_report_the_same_site() {
    let sim = simulator().await;
    assert_eq!(sim_get(&sim, "/test/scenario/solar-exporting").await, "OK");
    let tedapi = TedapiClient::new(tedapi(&sim, "ABCDEFGHIJ")).unwrap();
    let local = LocalClient::new(LocalConfig {
        auth_mode: AuthMode::Cookie,
        email: "me@example.com".into(),
        ..LocalConfig::new(sim.host(), "password")
    })
    .unwrap();
    let via_tedapi = tedapi
        .fetch(DataKind::Aggregates)
        .await
        .expect("tedapi aggregates");
    let via_local = local
        .fetch(DataKind::Aggregates)
        .await
        .expect("local aggregates");
    for meter in ["site", "battery", "load", "solar"] {
        assert_eq!(
            power(&via_tedapi, meter),
            power(&via_local, meter),
            "{meter}"
        );
    }
    assert_eq!(power(&via_tedapi, "solar"), Some(1500.0));
    let soe = tedapi.fetch(DataKind::Soe).await.expect("soe");
    let local_soe = local.fetch(DataKind::Soe).await.unwrap();
    let (a, b) = (
        soe["percentage"].as_f64().unwrap(),
        local_soe["percentage"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 0.01, "tedapi {a} vs local {b}");
    let vitals = tedapi.fetch(DataKind::Vitals).await.expect("vitals");
    assert!(
        vitals
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("TEPINV--")),
        "{vitals}"
    );
    sim.shutdown();
}

#[tokio::test]
async fn never_two_tedapi_requests_in_flight() {
    let sim = simulator().await;
    let client = Arc::new(TedapiClient::new(tedapi(&sim, "ABCDEFGHIJ")).unwrap());
    sim_get(&sim, "/test/counter/reset").await;
    let kinds = [
        DataKind::Aggregates,
        DataKind::Soe,
        DataKind::GridStatus,
        DataKind::Status,
        DataKind::SystemStatus,
        DataKind::Vitals,
        DataKind::Operation,
        DataKind::SiteName,
    ];
    let calls = kinds.iter().cycle().take(24).map(|kind| {
        let client = client.clone();
        let kind = *kind;
        async move { client.fetch(kind).await.map(|_| ()) }
    });
    let results = futures_util::future::join_all(calls).await;
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(GatewayError::Empty { .. }))),
        "{results:?}"
    );
    let concurrency = sim_json(&sim, "/test/tedapi").await;
    assert_eq!(concurrency["tedapi_max_in_flight"], 1, "{concurrency}");
    let counter = sim_json(&sim, "/test/counter").await;
    // Single-flight caching: 24 calls cost a handful of queries, not 24.
    assert!(counter["api_total"].as_u64().unwrap() <= 8, "{counter}");
    sim.shutdown();
}

#[tokio::test]
async fn wrong_gateway_password_is_rejected_once_then_paced() {
    let sim = simulator().await;
    let client = TedapiClient::new(tedapi(&sim, "WRONGWRONG")).unwrap();
    let err = client.fetch(DataKind::Aggregates).await.unwrap_err();
    assert!(matches!(err, GatewayError::LoginRejected { .. }), "{err}");
    assert!(err.to_string().contains("PW_GW_PWD"), "{err}");
    sim_get(&sim, "/test/counter/reset").await;
    let again = client.fetch(DataKind::Aggregates).await.unwrap_err();
    assert!(again.was_held_back(), "{again}");
    assert_eq!(sim_json(&sim, "/test/counter").await["api_total"], 0);
    sim.shutdown();
}

#[tokio::test]
async fn rate_limit_on_tedapi_starts_a_cooldown() {
    let sim = simulator().await;
    let clock = Arc::new(ManualClock::new());
    let client = TedapiClient::with_clock(tedapi(&sim, "ABCDEFGHIJ"), clock.clone()).unwrap();
    client.fetch(DataKind::Soe).await.expect("first read");
    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "/tedapi/v1", "kind": "status", "status": 429, "retry_after": 60, "times": 1}),
    )
    .await;
    clock.advance(Duration::from_secs(10)); // past the 5 s query cache
    let err = client.fetch(DataKind::Soe).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::RateLimited { status: 429, .. }),
        "{err}"
    );
    sim_get(&sim, "/test/counter/reset").await;
    assert!(
        client
            .fetch(DataKind::Aggregates)
            .await
            .unwrap_err()
            .was_held_back()
    );
    assert_eq!(sim_json(&sim, "/test/counter").await["api_total"], 0);
    clock.advance(Duration::from_secs(301));
    client
        .fetch(DataKind::Soe)
        .await
        .expect("read after the cooldown");
    sim.shutdown();
}

#[tokio::test]
async fn three_powerwall_3_site_reports_every_unit() {
    let sim = simulator_with(TopologyKind::Pw3Multi).await;
    assert_eq!(sim_get(&sim, "/test/scenario/solar-charging").await, "OK");
    let client = TedapiClient::new(tedapi(&sim, "ABCDEFGHIJ")).unwrap();
    let vitals = client.fetch(DataKind::Vitals).await.expect("vitals");
    let inverters = vitals
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("TEPINV--"))
        .count();
    assert_eq!(
        inverters,
        3,
        "leader and two followers: {:?}",
        vitals.as_object().unwrap().keys()
    );
    let aggregates = client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert_eq!(power(&aggregates, "solar"), Some(1200.0));
    assert_eq!(power(&aggregates, "battery"), Some(-300.0));
    assert_eq!(power(&aggregates, "load"), Some(900.0));
    sim.shutdown();
}
