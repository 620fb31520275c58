//! End to end: the real server in TEDAPI mode (gateway password only) polling the simulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use powerwall_simulator::TopologyKind;
use serde_json::Value;

fn power(aggregates: &Value, meter: &str) -> f64 {
    aggregates[meter]["instant_power"]
        .as_f64()
        .unwrap_or(f64::NAN)
}

async fn wait_for_scenario(server: &powerwall_server::RunningServer, solar_w: f64) -> Value {
    eventually("scenario values in /aggregates", || async {
        let body = get_json(server, "/aggregates").await;
        (power(&body, "solar") == solar_w).then_some(body)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerwall_2_site_over_tedapi() {
    let sim = simulator().await;
    assert_eq!(sim_get(&sim, "/test/scenario/solar-exporting").await, "OK");
    let (server, _dir) = tedapi_server(&sim.host(), "ABCDEFGHIJ", &[]).await;
    let aggregates = wait_for_scenario(&server, 1500.0).await;
    assert_eq!(power(&aggregates, "load"), 400.0);
    assert_eq!(power(&aggregates, "site"), -1100.0);
    assert_eq!(power(&aggregates, "battery"), 0.0);
    let soe = get_json(&server, "/soe").await["percentage"]
        .as_f64()
        .unwrap();
    assert!((0.0..=100.0).contains(&soe), "{soe}");

    let health = eventually("vitals polled", || async {
        let health = get_json(&server, "/health").await;
        health["gateway"]["data_age_seconds"]["/api/devices/vitals"]
            .is_number()
            .then_some(health)
    })
    .await;
    assert_eq!(health["mode"], "Local (full)");
    assert_eq!(health["tedapi_mode"], "full");
    assert_eq!(health["transports"]["wifi_tedapi"]["status"], "ok");
    let version = get_json(&server, "/version").await;
    assert_eq!(version["version"], "23.28.2 27626f98", "{version}");

    // The poller and every client request together never put two TEDAPI requests in flight.
    let tedapi = sim_json(&sim, "/test/tedapi").await;
    assert_eq!(tedapi["tedapi_max_in_flight"], 1, "{tedapi}");
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_powerwall_3_site_over_tedapi() {
    let sim = simulator_with(TopologyKind::Pw3Multi).await;
    assert_eq!(sim_get(&sim, "/test/scenario/sunny-day-outage").await, "OK");
    let (server, _dir) = tedapi_server(&sim.host(), "ABCDEFGHIJ", &[]).await;
    let aggregates = wait_for_scenario(&server, 4300.0).await;
    assert_eq!(power(&aggregates, "load"), 1200.0);
    assert_eq!(power(&aggregates, "battery"), -3100.0);
    assert_eq!(power(&aggregates, "site"), 0.0);
    let grid = get_json(&server, "/api/system_status/grid_status").await;
    assert_eq!(grid["grid_status"], "SystemIslandedActive", "{grid}");
    eventually("vitals polled", || async {
        let health = get_json(&server, "/health").await;
        health["gateway"]["data_age_seconds"]["/api/devices/vitals"]
            .is_number()
            .then_some(())
    })
    .await;
    let tedapi = sim_json(&sim, "/test/tedapi").await;
    assert_eq!(tedapi["tedapi_max_in_flight"], 1, "{tedapi}");
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_gateway_password_is_one_clear_error() {
    let sim = simulator().await;
    let (server, _dir) = tedapi_server(&sim.host(), "WRONGWRONG", &[]).await;
    let health = eventually("login failure in /health", || async {
        let health = get_json(&server, "/health").await;
        (health["gateway"]["state"] == "login_failed").then_some(health)
    })
    .await;
    let error = health["gateway"]["last_error"].as_str().unwrap();
    assert!(error.contains("PW_GW_PWD"), "{error}");
    assert!(
        !error.contains("WRONGWRONG"),
        "the password is never echoed"
    );
    assert_eq!(get(&server, "/aggregates").await.1, "null");
    server.shutdown().await.unwrap();
    sim.shutdown();
}
