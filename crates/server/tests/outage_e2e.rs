//! Outage behaviour end to end: with the simulator dead, slow, or answering 429/503, every route
//! answers within `PW_TIMEOUT` (plus a margin), in its "no data" or last-good form, with a JSON
//! body on every JSON route; never a crash or a hung request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use powerwall_server::RunningServer;
use powerwall_simulator::SimulatorHandle;
use serde_json::{Value, json};

/// `PW_TIMEOUT` of the servers under test, seconds.
const TIMEOUT_S: u64 = 2;

/// Every GET route with a JSON body, besides the allowlist passthroughs.
const JSON_ROUTES: &[&str] = &[
    "/aggregates",
    "/api/meters/aggregates",
    "/soe",
    "/api/system_status/soe",
    "/api/system_status/grid_status",
    "/vitals",
    "/strings",
    "/temps",
    "/temps/pw",
    "/alerts",
    "/alerts/pw",
    "/freq",
    "/pod",
    "/json",
    "/version",
    "/fans",
    "/fans/pw",
    "/stats",
    "/health",
    "/api/troubleshooting/problems",
    "/api/customer/registration",
    "/tedapi/config",
    "/tedapi/status",
    "/cloud/battery",
    "/fleetapi/info",
    "/control/reserve",
    "/pw/level",
    "/pw/power",
    "/pw/site",
    "/pw/solar",
    "/pw/battery",
    "/pw/battery_blocks",
    "/pw/load",
    "/pw/grid",
    "/pw/home",
    "/pw/vitals",
    "/pw/temps",
    "/pw/strings",
    "/pw/din",
    "/pw/uptime",
    "/pw/version",
    "/pw/status",
    "/pw/system_status",
    "/pw/grid_status",
    "/pw/aggregates",
    "/pw/site_name",
    "/pw/alerts",
    "/pw/is_connected",
    "/pw/get_reserve",
    "/pw/get_mode",
    "/pw/get_time_remaining",
];

/// GET routes with other bodies.
const OTHER_ROUTES: &[&str] = &["/csv", "/csv/v2", "/csv?headers", "/help"];

/// How the gateway misbehaves.
#[derive(Debug, Clone, Copy)]
enum Outage {
    Dead,
    Slow,
    RateLimited,
    Unavailable,
}

/// Breaks the gateway; a dead one is stopped (the handle is consumed).
async fn break_gateway(sim: SimulatorHandle, outage: Outage) -> Option<SimulatorHandle> {
    let fault = match outage {
        Outage::Dead => {
            sim.shutdown();
            return None;
        }
        Outage::Slow => json!({"path": "*", "kind": "delay", "delay_ms": 20_000}),
        Outage::RateLimited => {
            json!({"path": "*", "kind": "status", "status": 429, "retry_after": 300})
        }
        Outage::Unavailable => json!({"path": "*", "kind": "status", "status": 503}),
    };
    sim_post(&sim, "/test/faults", fault).await;
    Some(sim)
}

/// A client that gives up a little after `PW_TIMEOUT`: a route slower than that fails the test.
fn impatient() -> reqwest::Client {
    powerwall_gateway::http::gateway_client(powerwall_gateway::http::GatewayHttpSettings {
        timeout: Duration::from_millis(TIMEOUT_S * 1000 + 1500),
        pool_max_idle: 4,
    })
    .unwrap()
}

/// Asks every route once, all at the same time; each must answer 200 in time, JSON routes with
/// JSON.
async fn every_route_answers(server: &RunningServer, context: &str) -> Vec<(String, String)> {
    let client = impatient();
    let json_routes: Vec<&str> = JSON_ROUTES
        .iter()
        .chain(&PASSTHROUGH_PATHS)
        .copied()
        .collect();
    let requests = json_routes.iter().chain(OTHER_ROUTES).map(|route| {
        let json_routes = &json_routes;
        let client = client.clone();
        let url = format!("http://{}{}", server.addr(), route);
        async move {
            let response =
                client.get(&url).send().await.unwrap_or_else(|err| {
                    panic!("{context}: {route} did not answer in time: {err}")
                });
            assert_eq!(response.status(), 200, "{context}: {route}");
            let body = response.text().await.unwrap();
            if json_routes.contains(route) {
                serde_json::from_str::<Value>(&body)
                    .unwrap_or_else(|err| panic!("{context}: {route} is not JSON ({err}): {body}"));
            }
            ((*route).to_owned(), body)
        }
    });
    futures_util::future::join_all(requests).await
}

fn body_of<'a>(bodies: &'a [(String, String)], route: &str) -> &'a str {
    bodies
        .iter()
        .find(|(known, _)| known == route)
        .map(|(_, body)| body.as_str())
        .unwrap()
}

/// The documented "no data" forms once nothing fresh is left.
fn assert_no_data_forms(bodies: &[(String, String)], context: &str) {
    for route in ["/aggregates", "/soe", "/api/system_status/soe", "/vitals"] {
        assert_eq!(body_of(bodies, route), "null", "{context}: {route}");
    }
    assert_eq!(
        body_of(bodies, "/csv"),
        "0.00,0.00,0.00,0.00,0.00\n",
        "{context}"
    );
    assert_eq!(
        body_of(bodies, "/csv/v2"),
        "0.00,0.00,0.00,0.00,0.00,0,0\n",
        "{context}"
    );
    let parsed = |route| serde_json::from_str::<Value>(body_of(bodies, route)).unwrap();
    assert_eq!(parsed("/freq"), json!({"grid_status": null}), "{context}");
    assert_eq!(
        parsed("/version"),
        json!({"version": "SolarOnly", "vint": 0}),
        "{context}"
    );
    assert_eq!(
        parsed("/pw/power"),
        json!({"site": 0.0, "solar": 0.0, "battery": 0.0, "load": 0.0}),
        "{context}"
    );
    assert_eq!(parsed("/pw/level"), json!({"level": null}), "{context}");
    let json = parsed("/json");
    for key in ["grid", "home", "solar", "battery", "soe"] {
        assert_eq!(json[key], json!(0), "{context}: /json {key}");
    }
}

async fn outage_scenario(tedapi: bool, outage: Outage) {
    let context = format!(
        "{} mode, gateway {outage:?}",
        if tedapi { "TEDAPI" } else { "local" }
    );
    let sim = simulator().await;
    let timeout = TIMEOUT_S.to_string();
    let extra = ["--timeout", timeout.as_str(), "--cache-ttl", "2"];
    let (server, _dir) = if tedapi {
        tedapi_server(&sim.host(), "ABCDEFGHIJ", &extra).await
    } else {
        server(&sim.host(), "password", &extra).await
    };
    eventually("data before the outage", || async {
        let body = get(&server, "/pod").await.1;
        body.contains("PW1_").then_some(())
    })
    .await;
    let sim = break_gateway(sim, outage).await;
    // Right after the outage starts: last-good data or no-data forms, always in time.
    let bodies = every_route_answers(&server, &context).await;
    assert!(
        body_of(&bodies, "/aggregates") == "null"
            || body_of(&bodies, "/aggregates").contains("site"),
        "{context}"
    );
    // Once the data is older than PW_CACHE_EXPIRE + PW_CACHE_TTL, the no-data forms.
    eventually("data aged out", || async {
        (get(&server, "/aggregates").await.1 == "null").then_some(())
    })
    .await;
    let bodies = every_route_answers(&server, &context).await;
    assert_no_data_forms(&bodies, &context);
    let health = get_json(&server, "/health").await;
    assert_ne!(
        health["gateway"]["state"], "connected",
        "{context}: {health}"
    );
    server.shutdown().await.unwrap();
    drop(sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_gateway_dead() {
    outage_scenario(false, Outage::Dead).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_gateway_slow() {
    outage_scenario(false, Outage::Slow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_gateway_rate_limiting() {
    outage_scenario(false, Outage::RateLimited).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_gateway_unavailable() {
    outage_scenario(false, Outage::Unavailable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tedapi_mode_gateway_dead() {
    outage_scenario(true, Outage::Dead).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tedapi_mode_gateway_slow() {
    outage_scenario(true, Outage::Slow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tedapi_mode_gateway_rate_limiting() {
    outage_scenario(true, Outage::RateLimited).await;
}
