//! The local-mode client against the simulator: protection rules and decoding, over real HTTPS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use powerwall_gateway::local::{AuthMode, LocalClient, LocalConfig};
use powerwall_gateway::policy::ManualClock;
use powerwall_gateway::{
    DataKind, GatewayAccess, GatewayControl, GatewayError, OperationMode, ReserveLevel, Secret,
};
use powerwall_simulator::SimulatorHandle;
use serde_json::json;

fn config(
    sim: &SimulatorHandle,
    auth_mode: AuthMode,
    cache_file: Option<std::path::PathBuf>,
) -> LocalConfig {
    LocalConfig {
        host: sim.host(),
        password: Secret::new("password"),
        email: "me@example.com".into(),
        timezone: "America/Los_Angeles".into(),
        auth_mode,
        cache_file,
        timeout: Duration::from_secs(5),
        pool_max_idle: 2,
    }
}

async fn api_total(sim: &SimulatorHandle) -> u64 {
    sim_json(sim, "/test/counter").await["api_total"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn rate_limit_starts_a_cooldown_that_sends_nothing_until_it_ends() {
    let sim = simulator().await;
    let clock = Arc::new(ManualClock::new());
    let client =
        LocalClient::with_clock(config(&sim, AuthMode::Cookie, None), clock.clone()).unwrap();
    client
        .fetch(DataKind::Aggregates)
        .await
        .expect("first read");

    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "/api/meters/aggregates", "kind": "status", "status": 429, "retry_after": 120, "times": 1}),
    )
    .await;
    let err = client.fetch(DataKind::Aggregates).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::RateLimited { status: 429, .. }),
        "{err}"
    );
    // The proxy's rule is a 300 s pause at least; a shorter Retry-After does not shorten it.
    assert_eq!(err.retry_after(), Some(Duration::from_secs(300)));

    sim_get(&sim, "/test/counter/reset").await;
    for kind in [DataKind::Aggregates, DataKind::Soe, DataKind::Status] {
        let err = client.fetch(kind).await.unwrap_err();
        assert!(err.was_held_back(), "{kind:?}: {err}");
    }
    assert_eq!(
        api_total(&sim).await,
        0,
        "nothing reaches the gateway during the cooldown"
    );

    clock.advance(Duration::from_secs(301));
    client
        .fetch(DataKind::Aggregates)
        .await
        .expect("read after the cooldown");
    assert_eq!(api_total(&sim).await, 1);
    sim.shutdown();
}

#[tokio::test]
async fn unavailable_path_is_suppressed_without_blocking_others() {
    let sim = simulator().await;
    let client = LocalClient::new(config(&sim, AuthMode::Token, None)).unwrap();
    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "/api/system_status/soe", "kind": "status", "status": 503}),
    )
    .await;
    assert!(client.fetch(DataKind::Soe).await.is_err());
    client
        .fetch(DataKind::Aggregates)
        .await
        .expect("other paths still read");
    sim_get(&sim, "/test/counter/reset").await;
    let err = client.fetch(DataKind::Soe).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Suppressed { status: 503, .. }),
        "{err}"
    );
    assert_eq!(api_total(&sim).await, 0);
    sim.shutdown();
}

#[tokio::test]
async fn vitals_decode_until_the_firmware_drops_them() {
    let sim = simulator().await;
    let client = LocalClient::new(config(&sim, AuthMode::Cookie, None)).unwrap();
    let vitals = client.fetch(DataKind::Vitals).await.expect("vitals");
    let devices = vitals.as_object().expect("vitals dictionary");
    assert!(
        devices.keys().any(|din| din.starts_with("TEPINV--")),
        "{:?}",
        devices.keys()
    );
    assert!(devices.keys().any(|din| din.starts_with("STSTSM--")));

    sim_post(
        &sim,
        "/test/firmware",
        json!({"version": "23.44.0 9064fc6a"}),
    )
    .await;
    assert!(client.fetch(DataKind::Vitals).await.is_err());
    sim_get(&sim, "/test/counter/reset").await;
    let err = client.fetch(DataKind::Vitals).await.unwrap_err();
    assert!(matches!(err, GatewayError::Unsupported { .. }), "{err}");
    assert_eq!(api_total(&sim).await, 0, "vitals are switched off for good");
    sim.shutdown();
}

#[tokio::test]
async fn auth_cache_file_is_private_and_reused() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".powerwall");
    let first = LocalClient::new(config(&sim, AuthMode::Cookie, Some(path.clone()))).unwrap();
    first.fetch(DataKind::Soe).await.expect("read");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        saved["AuthCookie"].is_string() && saved["UserRecord"].is_string(),
        "{saved}"
    );

    let second = LocalClient::new(config(&sim, AuthMode::Cookie, Some(path))).unwrap();
    second
        .fetch(DataKind::Soe)
        .await
        .expect("read with the cached session");
    let counter = sim_json(&sim, "/test/counter").await;
    assert_eq!(
        count(&counter, "POST /api/login/Basic"),
        1,
        "the cached session was reused: {counter}"
    );
    sim.shutdown();
}

#[tokio::test]
async fn broken_answers_are_errors_not_panics() {
    let sim = simulator().await;
    let client = LocalClient::new(config(&sim, AuthMode::Cookie, None)).unwrap();
    client
        .fetch(DataKind::Status)
        .await
        .expect("login and status");
    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "/api/meters/aggregates", "kind": "malformed", "times": 1}),
    )
    .await;
    let err = client.fetch(DataKind::Aggregates).await.unwrap_err();
    assert!(matches!(err, GatewayError::Malformed { .. }), "{err}");
    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "/api/system_status/grid_status", "kind": "drop", "times": 1}),
    )
    .await;
    let err = client.fetch(DataKind::GridStatus).await.unwrap_err();
    assert!(matches!(err, GatewayError::Unreachable { .. }), "{err}");
    client
        .fetch(DataKind::GridStatus)
        .await
        .expect("next read works");
    sim.shutdown();
}

#[tokio::test]
async fn every_catalogue_endpoint_is_readable_raw() {
    let sim = simulator().await;
    let client = LocalClient::new(config(&sim, AuthMode::Cookie, None)).unwrap();
    for path in powerwall_gateway::local::ENDPOINTS {
        let body = client
            .fetch_raw(path)
            .await
            .unwrap_or_else(|err| panic!("{path}: {err}"));
        match body {
            powerwall_gateway::RawBody::Json(_) => {}
            powerwall_gateway::RawBody::Bytes(bytes) => {
                assert_eq!(*path, "/api/devices/vitals", "only vitals is binary");
                assert!(!bytes.is_empty());
            }
            powerwall_gateway::RawBody::Text(text) => panic!("{path} answered text: {text}"),
        }
    }
    let counter = sim_json(&sim, "/test/counter").await;
    assert_eq!(
        count(&counter, "POST /api/login/Basic"),
        1,
        "one session for the whole catalogue"
    );
    sim.shutdown();
}

/// The simulator's current raw reserve and mode.
async fn sim_operation(sim: &SimulatorHandle) -> (f64, String) {
    let state = sim_json(sim, "/test/state").await;
    (
        state["reserve_raw_pct"].as_f64().unwrap(),
        state["real_mode"].as_str().unwrap().to_owned(),
    )
}

/// The local client's write directly: back-fill, the gateway's answer, and one re-login on 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_client_writes_with_backfill_and_relogin() {
    let sim = simulator().await;
    let client = LocalClient::new(LocalConfig {
        host: sim.host(),
        password: Secret::new("password"),
        email: "me@example.com".into(),
        timezone: "America/Los_Angeles".into(),
        auth_mode: AuthMode::Cookie,
        cache_file: None,
        timeout: Duration::from_secs(5),
        pool_max_idle: 2,
    })
    .unwrap();
    let (_, mode) = sim_operation(&sim).await;
    let answer = client
        .set_operation(ReserveLevel::whole(35), None)
        .await
        .unwrap();
    assert_eq!(answer["backup_reserve_percent"], json!(35));
    assert_eq!(answer["real_mode"], json!(mode));
    assert_eq!(sim_operation(&sim).await, (35.0, mode.clone()));
    let counter = sim_json(&sim, "/test/counter").await;
    assert_eq!(count(&counter, "POST /api/operation"), 1);
    assert_eq!(
        count(&counter, "GET /api/operation"),
        1,
        "one back-fill read"
    );

    // The session expires on the write: one re-login, one retry.
    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "/api/operation", "kind": "expire_session", "times": 1}),
    )
    .await;
    let logins_before = client.upstream().logins;
    let answer = client
        .set_operation(ReserveLevel::whole(45), Some(OperationMode::Backup))
        .await
        .unwrap();
    assert_eq!(answer["real_mode"], json!("backup"));
    assert_eq!(client.upstream().logins, logins_before + 1);
    let counter = sim_json(&sim, "/test/counter").await;
    assert_eq!(count(&counter, "POST /api/operation"), 3);
    assert_eq!(
        count(&counter, "GET /api/operation"),
        1,
        "no read for a full write"
    );
    assert_eq!(sim_operation(&sim).await, (45.0, "backup".to_owned()));
}
