//! End to end: the real server polling the simulator over HTTPS on loopback, in local mode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn power(aggregates: &Value, meter: &str) -> f64 {
    aggregates[meter]["instant_power"]
        .as_f64()
        .unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_balanced_aggregates_and_soe_from_the_simulator() {
    let sim = simulator().await;
    assert_eq!(sim_get(&sim, "/test/scenario/solar-exporting").await, "OK");
    let (server, _dir) = server(&sim.host(), "password", &[]).await;

    let aggregates = eventually("scenario values in /aggregates", || async {
        let body = get_json(&server, "/aggregates").await;
        (power(&body, "solar") == 1500.0).then_some(body)
    })
    .await;
    // The scenario pins home 400 and battery 0: the simulator recomputes grid = home - battery - solar.
    assert_eq!(power(&aggregates, "load"), 400.0);
    assert_eq!(power(&aggregates, "battery"), 0.0);
    assert_eq!(power(&aggregates, "site"), -1100.0);
    let balance = power(&aggregates, "load")
        - (power(&aggregates, "solar")
            + power(&aggregates, "battery")
            + power(&aggregates, "site"));
    assert!(
        balance.abs() < 1e-6,
        "meters must balance, off by {balance}"
    );
    for meter in ["site", "battery", "load", "solar"] {
        assert!(
            aggregates[meter]["last_communication_time"].is_string(),
            "{meter}"
        );
    }

    let (_, raw_text) = get(&server, "/api/meters/aggregates").await;
    let same: Value = serde_json::from_str(&raw_text).unwrap();
    assert_eq!(
        power(&same, "site"),
        -1100.0,
        "both aggregates routes carry the same data"
    );
    assert!(
        raw_text.contains("\"instant_power\": "),
        "Python separators: {raw_text}"
    );

    let soe = get_json(&server, "/soe").await;
    let raw = soe["percentage"].as_f64().expect("soe percentage");
    assert!((0.0..=100.0).contains(&raw), "SOE in range: {raw}");
    let app = get_json(&server, "/api/system_status/soe").await["percentage"]
        .as_f64()
        .expect("app soe");
    // Both reads come from snapshots that may be one poll apart; the simulator's SOE moves slowly.
    assert!(
        (app - (raw / 0.95 - 5.0 / 0.95)).abs() < 0.5,
        "app {app} vs raw {raw}"
    );

    let grid = get_json(&server, "/api/system_status/grid_status").await;
    assert_eq!(grid["grid_status"], "SystemGridConnected");

    let version = eventually("firmware in /version", || async {
        let v = get_json(&server, "/version").await;
        (v["version"] != "SolarOnly").then_some(v)
    })
    .await;
    assert_eq!(
        version,
        json!({"version": "23.28.2 27626f98", "vint": 232802})
    );

    let health = get_json(&server, "/health").await;
    assert_eq!(health["gateway"]["state"], "connected");
    assert_eq!(health["connection_health"]["is_degraded"], false);
    assert!(health["proxy_stats"]["total_gets"].as_u64().unwrap() >= 5);

    let (status, _) = get(&server, "/aggregates?x=1").await;
    assert_eq!(status, 200, "query strings are ignored");
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_in_again_after_the_simulator_expires_the_session() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &[]).await;
    eventually("first data", || async {
        (get_json(&server, "/aggregates").await != Value::Null).then_some(())
    })
    .await;
    let logins_before = count(
        &sim_json(&sim, "/test/counter").await,
        "POST /api/login/Basic",
    );
    assert_eq!(logins_before, 1, "one login to start");

    sim_post(&sim, "/test/sessions/revoke", json!({})).await;
    sim_get(&sim, "/test/scenario/grid-powered").await;
    eventually("data after re-login", || async {
        let body = get_json(&server, "/aggregates").await;
        (power(&body, "site") == 900.0).then_some(())
    })
    .await;
    let counter = sim_json(&sim, "/test/counter").await;
    assert_eq!(
        count(&counter, "POST /api/login/Basic"),
        2,
        "exactly one re-login: {counter}"
    );
    let health = get_json(&server, "/health").await;
    assert_eq!(health["gateway"]["upstream_logins"], 2);
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_reported_and_retried_at_a_bounded_pace() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "not-the-password", &[]).await;
    let health = eventually("login failure in /health", || async {
        let health = get_json(&server, "/health").await;
        (health["gateway"]["state"] == "login_failed").then_some(health)
    })
    .await;
    let error = health["gateway"]["last_error"].as_str().unwrap();
    assert!(
        error.contains("PW_PASSWORD"),
        "the error says what to fix: {error}"
    );
    assert!(
        !error.contains("not-the-password"),
        "the password is never echoed"
    );
    assert_eq!(get(&server, "/aggregates").await.1, "null");
    assert_eq!(get(&server, "/soe").await.1, "null");

    // Bounded pace: the first rejection pauses logins for 30 s, so a few seconds see one attempt.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counter = sim_json(&sim, "/test/counter").await;
    assert_eq!(count(&counter, "POST /api/login/Basic"), 1, "{counter}");
    assert_eq!(get(&server, "/health").await.0, 200, "the server stays up");
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_gateway_is_reported_in_health() {
    // A port that was free a moment ago: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (server, _dir) = server(&format!("127.0.0.1:{port}"), "password", &[]).await;
    let health = eventually("unreachable state", || async {
        let health = get_json(&server, "/health").await;
        (health["gateway"]["state"] == "unreachable").then_some(health)
    })
    .await;
    assert!(
        health["gateway"]["last_error"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1")
    );
    assert_eq!(get(&server, "/aggregates").await.1, "null");
    assert_eq!(
        get_json(&server, "/version").await,
        json!({"version": "SolarOnly", "vint": 0})
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_cause_no_extra_gateway_requests() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &[]).await;
    eventually("first data", || async {
        (get_json(&server, "/aggregates").await != Value::Null).then_some(())
    })
    .await;
    sim_get(&sim, "/test/counter/reset").await;
    let started = tokio::time::Instant::now();

    let client = http();
    let paths = [
        "/aggregates",
        "/api/meters/aggregates",
        "/soe",
        "/api/system_status/soe",
        "/version",
    ];
    let requests = (0..50).map(|i| {
        let url = format!("http://{}{}", server.addr(), paths[i % paths.len()]);
        let client = client.clone();
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(200))),
        "{statuses:?}"
    );

    let elapsed = started.elapsed();
    let counter = sim_json(&sim, "/test/counter").await;
    let upstream = counter["api_total"].as_u64().unwrap();
    // The poll plan (1 s period here) bounds gateway traffic, whatever the number of clients.
    let polls = elapsed.as_secs() + 2;
    let bound = powerwall_server::engine::PollPlan::standard()
        .max_requests(polls, elapsed + Duration::from_secs(2));
    assert!(
        upstream <= bound,
        "{upstream} upstream requests for 50 clients in {elapsed:?} (plan allows {bound}): {counter}"
    );
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_pauses_all_gateway_requests() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &[]).await;
    eventually("first data", || async {
        (get_json(&server, "/aggregates").await != Value::Null).then_some(())
    })
    .await;
    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "/api/meters/aggregates", "kind": "status", "status": 429, "retry_after": 300, "times": 1}),
    )
    .await;
    let health = eventually("cooldown in /health", || async {
        let health = get_json(&server, "/health").await;
        (health["gateway"]["state"] == "cooling_down").then_some(health)
    })
    .await;
    assert!(
        health["gateway"]["next_attempt_in_seconds"]
            .as_f64()
            .unwrap()
            > 250.0,
        "{health}"
    );
    sim_get(&sim, "/test/counter/reset").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counter = sim_json(&sim, "/test/counter").await;
    assert_eq!(
        counter["api_total"], 0,
        "nothing sent during the cooldown: {counter}"
    );
    // Last-good data is still served inside PW_CACHE_TTL.
    assert_ne!(get(&server, "/aggregates").await.1, "null");
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_matches_the_proxy_under_a_base_url() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &["--proxy-base-url", "/pwp"]).await;
    eventually("first data", || async {
        (get_json(&server, "/aggregates").await != Value::Null).then_some(())
    })
    .await;
    let client = http();
    let base = format!("http://{}", server.addr());

    let response = client.get(format!("{base}/pwp/soe")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["access-control-allow-origin"], "*");
    let body = response.bytes().await.unwrap();
    assert_eq!(headers["content-length"], body.len().to_string().as_str());
    let bare = get_json(&server, "/soe").await;
    assert!(
        bare["percentage"].is_number(),
        "bare paths keep working: {bare}"
    );

    let head = client.head(format!("{base}/version")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["access-control-allow-origin"], "*");
    assert!(head.bytes().await.unwrap().is_empty());

    let preflight = client
        .request(reqwest::Method::OPTIONS, format!("{base}/aggregates"))
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET, POST, OPTIONS"
    );
    server.shutdown().await.unwrap();
    sim.shutdown();
}
