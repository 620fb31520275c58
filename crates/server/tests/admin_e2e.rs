//! End to end: the administration routes (`/stats`, `/stats/clear`, `/health`, `/health/reset`,
//! `/help`) and the SolarOnly fallback against the simulator (§13.8, §13.9 rules 79-80, §13.11).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use powerwall_server::RunningServer;
use powerwall_simulator::{SimulatorHandle, TopologyKind};
use serde_json::{Value, json};

/// The customer password of the simulator.
const PASSWORD: &str = "password";
/// The simulator's gateway (Wi-Fi) password.
const GW_PWD: &str = "ABCDEFGHIJ";
/// A control secret distinctive enough to scan for.
const CONTROL_SECRET: &str = "ctl-Secret-4711-never-shown";

/// A JSON type test.
type IsType = fn(&Value) -> bool;

/// The §16.2 keys in order, with a type check each.
const STATS_KEYS: [(&str, IsType); 27] = [
    ("pypowerwall", Value::is_string),
    ("mode", Value::is_string),
    ("gets", Value::is_u64),
    ("posts", Value::is_u64),
    ("errors", Value::is_u64),
    ("timeout", Value::is_u64),
    ("uri", Value::is_object),
    ("ts", Value::is_u64),
    ("start", Value::is_u64),
    ("clear", Value::is_u64),
    ("uptime", Value::is_string),
    ("mem", Value::is_u64),
    ("site_name", |v| v.is_string() || v.is_null()),
    ("cloudmode", Value::is_boolean),
    ("fleetapi", Value::is_boolean),
    ("tedapi", Value::is_boolean),
    ("pw3", Value::is_boolean),
    ("tedapi_mode", Value::is_string),
    ("tedapi_api_version", Value::is_string),
    ("siteid", |v| v.is_string() || v.is_u64() || v.is_null()),
    ("counter", Value::is_u64),
    ("cf", Value::is_string),
    ("config", Value::is_object),
    ("authmode", Value::is_string),
    ("connection_health", Value::is_object),
    ("fallback_mode", Value::is_object),
    ("mem_cache", Value::is_object),
];

const HEALTH_KEYS: [&str; 16] = [
    "pypowerwall",
    "mode",
    "tedapi_mode",
    "pypowerwall_cache_expire",
    "degradation_cache_ttl_seconds",
    "graceful_degradation",
    "fail_fast_mode",
    "health_check_enabled",
    "startup_time",
    "current_time",
    "transports",
    "proxy_stats",
    "connection_health",
    "fallback_mode",
    "cached_data",
    "endpoint_statistics",
];

fn keys(value: &Value) -> Vec<String> {
    value.as_object().expect("object").keys().cloned().collect()
}

fn uri_count(stats: &Value, path: &str) -> u64 {
    stats["uri"][path].as_u64().unwrap_or(0)
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits for the first served aggregates (the poller has read the gateway once).
async fn wait_for_data(server: &RunningServer) {
    eventually("aggregates served", || async {
        let (_, body) = get(server, "/aggregates").await;
        (body != "null").then_some(())
    })
    .await;
}

/// Makes every gateway request fail by closing the connection.
async fn break_gateway(sim: &SimulatorHandle, path: &str) {
    sim_post(sim, "/test/faults", json!({"path": path, "kind": "drop"})).await;
}

/// Polls `/health` until `check` accepts it, for at most `limit`.
async fn health_until(
    server: &RunningServer,
    what: &str,
    limit: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let health = get_json(server, "/health").await;
        if check(&health) {
            return health;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {health}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_keys_types_counting_and_masking() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), PASSWORD, &["--control-secret", CONTROL_SECRET]).await;
    wait_for_data(&server).await;
    eventually("site name polled", || async {
        let stats = get_json(&server, "/stats").await;
        stats["site_name"].is_string().then_some(())
    })
    .await;

    let (status, body) = get(&server, "/stats").await;
    assert_eq!(status, 200);
    let first: Value = serde_json::from_str(&body).unwrap();
    // §16.2: every key, in order, with its type.
    assert_eq!(
        keys(&first),
        STATS_KEYS
            .iter()
            .map(|(k, _)| k.to_string())
            .collect::<Vec<_>>()
    );
    for (key, is_type) in STATS_KEYS {
        assert!(is_type(&first[key]), "{key}: {}", first[key]);
    }
    assert!(
        first["pypowerwall"].as_str().unwrap().contains(" Proxy "),
        "{first}"
    );
    assert_eq!(first["mode"], "Local");
    assert_eq!(first["tedapi_mode"], "off");
    assert_eq!(first["pw3"], false);
    assert!(first["mem"].as_u64().unwrap() > 0);
    let uptime = first["uptime"].as_str().unwrap();
    assert!(uptime.starts_with("0:00:"), "{uptime}");
    assert_eq!(first["config"].as_object().unwrap().len(), 31);
    let fallback = &first["fallback_mode"];
    assert_eq!(fallback["is_fallback_mode"], false);
    assert!(fallback["fallback_duration_seconds"].is_null());
    for block in [
        "error_counts",
        "network_error_summary",
        "degradation_cache",
        "performance_cache",
        "endpoint_stats",
    ] {
        assert!(
            first["mem_cache"][block]["size_bytes"].is_u64(),
            "{block}: {}",
            first["mem_cache"]
        );
    }
    assert!(first["mem_cache"]["total_cache_mb"].is_f64());

    // Rule 68: secrets masked, never in clear text anywhere in the body.
    assert!(!body.contains(CONTROL_SECRET));
    assert!(!body.contains(&format!("\"{PASSWORD}\"")));
    let config = &first["config"];
    assert_eq!(config["PW_PASSWORD"], "********");
    assert_eq!(config["PW_CONTROL_SECRET"], "********");
    assert!(config["PW_GW_PWD"].is_null());

    // Rule 64: the second call counts the first one.
    let second = get_json(&server, "/stats").await;
    assert_eq!(
        second["gets"].as_u64().unwrap(),
        first["gets"].as_u64().unwrap() + 1
    );
    assert_eq!(
        uri_count(&second, "/stats"),
        uri_count(&first, "/stats") + 1
    );

    // Rule 66: query strings never reach the uri keys.
    get(&server, "/stats?x=1").await;
    get(&server, "/aggregates?x=1").await;
    get(&server, "/api/status?x=1").await;
    let third = get_json(&server, "/stats").await;
    assert_eq!(
        uri_count(&third, "/stats"),
        uri_count(&second, "/stats") + 2
    );
    assert!(uri_count(&third, "/aggregates") > uri_count(&second, "/aggregates"));
    assert!(
        third["uri"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains('?')),
        "{}",
        third["uri"]
    );

    // /help masks the secrets too.
    let (_, page) = get(&server, "/help").await;
    assert!(!page.contains(CONTROL_SECRET));
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_clear_resets_gets_errors_and_uri() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), PASSWORD, &[]).await;
    wait_for_data(&server).await;
    let before = get_json(&server, "/stats").await;
    let cleared = get_json(&server, "/stats/clear").await;
    assert_eq!(cleared["gets"], 0, "{cleared}");
    assert_eq!(cleared["uri"], json!({}));
    let after = get_json(&server, "/stats").await;
    assert_eq!(after["gets"], 1, "{after}");
    assert_eq!(after["uri"], json!({"/stats/clear": 1}));
    assert_eq!(after["errors"], 0);
    assert_eq!(after["posts"], before["posts"]);
    assert_eq!(after["timeout"], before["timeout"]);
    let clear = after["clear"].as_u64().unwrap();
    assert!(now_epoch().abs_diff(clear) <= 5, "{clear}");
    assert!(clear >= after["start"].as_u64().unwrap());
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_has_every_key_and_answers_while_the_gateway_hangs() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), PASSWORD, &["--timeout", "3"]).await;
    wait_for_data(&server).await;
    let health = health_until(&server, "endpoint statistics", PATIENCE, |h| {
        h["endpoint_statistics"]["/aggregates"].is_object()
    })
    .await;
    let names = keys(&health);
    let expected: Vec<_> = HEALTH_KEYS.iter().map(|k| k.to_string()).collect();
    assert_eq!(&names[..expected.len()], &expected[..], "{health}");
    assert_eq!(health["transports"], json!({}));
    let stat = &health["endpoint_statistics"]["/aggregates"];
    assert!(stat["total_calls"].as_u64().unwrap() >= 1, "{stat}");
    assert!(stat["success_rate_percent"].is_f64(), "{stat}");
    assert!(stat["last_success_age_seconds"].is_f64(), "{stat}");
    for source in ["/soe", "/vitals", "/strings"] {
        assert!(
            health["endpoint_statistics"][source].is_object(),
            "{source}: {health}"
        );
    }
    let connection = &health["connection_health"];
    assert!(
        connection["last_success_age_seconds"].is_f64(),
        "{connection}"
    );
    assert!(connection["total_successes"].as_u64().unwrap() > 0);
    assert_eq!(health["proxy_stats"]["total_posts"], 0);

    // The gateway now takes 20 s per answer: admin routes still answer at once.
    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "*", "kind": "delay", "delay_ms": 20_000}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for path in ["/health", "/stats", "/help", "/health/reset", "/health"] {
        let started = tokio::time::Instant::now();
        let (status, _) = get(&server, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    sim_get(&sim, "/test/faults/clear").await;
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reset_reports_and_clears() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), PASSWORD, &[]).await;
    wait_for_data(&server).await;
    health_until(&server, "endpoint statistics", PATIENCE, |h| {
        h["endpoint_statistics"].is_object()
    })
    .await;
    // The gateway goes away: the last documents are kept only by graceful degradation.
    break_gateway(&sim, "*").await;
    let degraded = health_until(&server, "degradation-only documents", PATIENCE, |h| {
        h["cached_data"]["endpoints"]["/aggregates:json"].is_object()
            && h["connection_health"]["total_failures"].as_u64() > Some(0)
    })
    .await;
    assert!(degraded["cached_data"]["cache_size"].as_u64().unwrap() >= 1);

    let reset = get_json(&server, "/health/reset").await;
    assert_eq!(
        keys(&reset),
        [
            "status",
            "health_counters_reset",
            "cache_cleared",
            "cache_entries_removed",
            "endpoint_stats_cleared"
        ]
    );
    assert_eq!(reset["status"], "reset_complete");
    assert_eq!(reset["health_counters_reset"], true);
    assert_eq!(reset["cache_cleared"], true);
    assert!(
        reset["cache_entries_removed"].as_u64().unwrap() >= 1,
        "{reset}"
    );
    assert_eq!(reset["endpoint_stats_cleared"], 4, "{reset}");

    let health = get_json(&server, "/health").await;
    assert_eq!(health["cached_data"]["endpoints"], json!({}), "{health}");
    assert_eq!(health["fallback_mode"]["is_fallback_mode"], false);
    let connection = &health["connection_health"];
    assert_eq!(connection["total_successes"], 0, "{connection}");
    // The poller keeps trying the broken gateway: at most one new failure may have landed.
    assert!(
        connection["total_failures"].as_u64().unwrap() <= 1,
        "{connection}"
    );
    if let Some(stats) = health["endpoint_statistics"].as_object() {
        assert!(
            stats.values().all(|s| s["total_calls"].as_u64() <= Some(1)),
            "{health}"
        );
    }
    // Data the gateway can no longer confirm is gone.
    assert_eq!(get(&server, "/aggregates").await.1, "null");
    sim_get(&sim, "/test/faults/clear").await;
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_escapes_paths_and_config_values() {
    let sim = simulator().await;
    let hostile = "<img src=x onerror=alert(2)>";
    let (server, _dir) = server(&sim.host(), PASSWORD, &["--timezone", hostile]).await;
    wait_for_data(&server).await;
    get(&server, "/api/status?<script>alert(1)</script>").await;
    let response = http()
        .get(format!("http://{}/help", server.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(!page.contains(hostile));
    assert!(
        page.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{page}"
    );
    assert!(page.contains("http-equiv=\"refresh\" content=\"5\""));
    assert!(page.contains("URI: /aggregates"));
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn degradation_and_health_check_can_be_switched_off() {
    let sim = simulator().await;
    let (server, _dir) = server(
        &sim.host(),
        PASSWORD,
        &["--graceful-degradation", "no", "--health-check", "no"],
    )
    .await;
    wait_for_data(&server).await;
    let health = get_json(&server, "/health").await;
    assert!(health.get("cached_data").is_none(), "{health}");
    assert!(health.get("connection_health").is_none(), "{health}");
    assert_eq!(health["graceful_degradation"], false);
    assert_eq!(health["health_check_enabled"], false);
    let stats = get_json(&server, "/stats").await;
    assert!(stats.get("connection_health").is_none(), "{stats}");
    assert!(stats["fallback_mode"].is_object());
    let reset = get_json(&server, "/health/reset").await;
    assert_eq!(reset["health_counters_reset"], false);
    assert_eq!(reset["cache_cleared"], false);
    assert_eq!(reset["cache_entries_removed"], 0);
    // Nothing is served from a degradation cache once the gateway stops answering.
    break_gateway(&sim, "*").await;
    eventually("aggregates turn null", || async {
        (get(&server, "/aggregates").await.1 == "null").then_some(())
    })
    .await;
    sim_get(&sim, "/test/faults/clear").await;
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_interval_is_reported_as_the_proxy_reads_it() {
    let sim = simulator().await;
    for (given, shown) in [("2", 5), ("abc", 30), ("45", 45)] {
        let (server, _dir) =
            server(&sim.host(), PASSWORD, &["--tedapi-probe-interval", given]).await;
        let stats = get_json(&server, "/stats").await;
        assert_eq!(
            stats["config"]["PW_TEDAPI_PROBE_INTERVAL"], shown,
            "{given}: {}",
            stats["config"]
        );
        server.shutdown().await.unwrap();
    }
    sim.shutdown();
}

fn in_fallback(health: &Value) -> bool {
    health["fallback_mode"]["is_fallback_mode"] == true
}

/// TEDAPI stops answering: after three 5 s probes the proxy reports SolarOnly fallback.
async fn enter_fallback(server: &RunningServer, sim: &SimulatorHandle) -> Value {
    let health = health_until(server, "TEDAPI data", PATIENCE, |h| {
        h["gateway"]["data_age_seconds"]["/api/devices/vitals"].is_number()
    })
    .await;
    assert_eq!(
        health["fallback_mode"]["recovery_enabled"], true,
        "{health}"
    );
    assert!(!in_fallback(&health));
    break_gateway(sim, "/tedapi/*").await;
    let health = health_until(server, "fallback", Duration::from_secs(60), in_fallback).await;
    let fallback = &health["fallback_mode"];
    assert!(fallback["fallback_since"].is_f64(), "{fallback}");
    assert!(fallback["fallback_duration_seconds"].is_f64(), "{fallback}");
    assert!(
        fallback["recovery_attempts"].as_u64().is_some(),
        "{fallback}"
    );
    health
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solar_only_fallback_is_entered_and_left() {
    let sim = simulator().await;
    let (server, _dir) =
        tedapi_server(&sim.host(), GW_PWD, &["--tedapi-probe-interval", "5"]).await;
    enter_fallback(&server, &sim).await;
    let stats = get_json(&server, "/stats").await;
    assert_eq!(stats["fallback_mode"]["is_fallback_mode"], true, "{stats}");
    // The gateway comes back: the first recovery attempt (60 s after entering) succeeds.
    sim_get(&sim, "/test/faults/clear").await;
    let health = health_until(&server, "recovery", Duration::from_secs(120), |h| {
        !in_fallback(h)
    })
    .await;
    assert_eq!(health["fallback_mode"]["recovery_attempts"], 0, "{health}");
    assert!(health["fallback_mode"]["fallback_since"].is_null());
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reset_clears_fallback_at_once() {
    let sim = simulator_with(TopologyKind::Pw3).await;
    let (server, _dir) =
        tedapi_server(&sim.host(), GW_PWD, &["--tedapi-probe-interval", "5"]).await;
    health_until(&server, "TEDAPI vitals", PATIENCE, |h| {
        h["gateway"]["data_age_seconds"]["/api/devices/vitals"].is_number()
    })
    .await;
    let stats = get_json(&server, "/stats").await;
    assert_eq!(stats["pw3"], true, "{stats}");
    assert_eq!(stats["tedapi"], true);
    assert_eq!(stats["mode"], "Local (full)");
    enter_fallback(&server, &sim).await;
    let reset = get_json(&server, "/health/reset").await;
    assert_eq!(reset["status"], "reset_complete");
    let health = get_json(&server, "/health").await;
    let fallback = &health["fallback_mode"];
    assert_eq!(fallback["is_fallback_mode"], false, "{health}");
    assert!(fallback["fallback_since"].is_null());
    assert_eq!(fallback["recovery_attempts"], 0);
    assert!(fallback["last_recovery_attempt"].is_null());
    sim_get(&sim, "/test/faults/clear").await;
    server.shutdown().await.unwrap();
    sim.shutdown();
}
