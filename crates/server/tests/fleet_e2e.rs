//! The server in Fleet API mode (no host, a `.pypowerwall.fleetapi` token file) against the
//! simulator's Tesla SSO and Fleet API personas on loopback: legacy reads equal to the model,
//! `/fleetapi/*`, admin fields and the `/health` cost counters, control writes with read-back,
//! token expiry, a 429 back-off window, and one upstream call per endpoint and TTL under a burst.

mod common;
mod conformance;

use common::*;
use conformance::{Mode, SECRET, close, frozen_simulator};
use powerwall_server::RunningServer;
use powerwall_simulator::{FleetRateLimit, RetryStyle, SimulatorConfig, SimulatorHandle};
use serde_json::{Value, json};

/// The poll floor of Fleet API gateways, in seconds (the tests configure 1 s).
const FLEET_FLOOR_SECS: u64 = 30;

/// The `/health` `fleet_api` object.
async fn fleet_api(server: &RunningServer) -> Value {
    get_json(server, "/health").await["fleet_api"].clone()
}

/// Waits until the server's billed data calls equal the Fleet GETs the simulator received (no
/// call in flight) and returns that count.
async fn settled_data_calls(server: &RunningServer, sim: &SimulatorHandle) -> u64 {
    eventually("the Fleet call counters to settle", || async {
        let usage = fleet_api(server).await;
        let data = usage["calls_by_kind"]["data"].as_u64()?;
        (data > 0 && data == count_matching(sim, "GET /fleet/")).then_some(data)
    })
    .await
}

#[tokio::test]
async fn fleet_mode_reads_equal_the_model() {
    let site = Mode::Fleet.start().await;
    let (sim, server) = (&site.sim, &site.server);
    let reading = sim.reading();
    // Power, both SOE scales, grid status, the mode names and a reserve write are checked by the
    // conformance suite (conformance_e2e).
    let operation = get_json(server, "/api/operation").await;
    assert_eq!(operation["real_mode"], json!(reading.real_mode));
    assert!(close(
        operation["backup_reserve_percent"].as_f64().unwrap(),
        reading.reserve_raw_pct
    ));
    let status = get_json(server, "/api/status").await;
    assert_eq!(status["version"], json!(reading.firmware));
    // The raw Fleet objects, and the mocked gateway paths (§3.11).
    let info = get_json(server, "/fleetapi/info").await;
    assert_eq!(status["din"], info["id"]);
    let site_name = get_json(server, "/api/site_info/site_name").await;
    assert_eq!(site_name["site_name"], info["site_name"]);
    let live = get_json(server, "/fleetapi/status").await;
    assert!(close(
        live["solar_power"].as_f64().unwrap(),
        reading.solar_w
    ));
    for other in ["/fleetapi", "/fleetapi/", "/fleetapi/battery"] {
        assert_eq!(
            get_json(server, other).await,
            json!({"error": "Use /fleetapi/info, /fleetapi/status"}),
            "{other}"
        );
    }
    assert_eq!(
        get_json(server, "/cloud/config").await,
        json!({"error": "Cloud API not enabled"})
    );
    assert_eq!(
        get_json(server, "/api/system_status/grid_faults").await,
        json!([])
    );

    let stats = get_json(server, "/stats").await;
    assert_eq!(stats["siteid"], json!(sim.cloud_site_id()));
    let health = eventually("the Fleet link to connect", || async {
        let health = get_json(server, "/health").await;
        (health["transports"]["cloud_control"]["status"] == "ok").then_some(health)
    })
    .await;
    assert_eq!(health["transports"]["cloud_control"]["mode"], "fleetapi");
    assert_eq!(health["capabilities"]["backend"], "fleetapi");
    assert_eq!(health["capabilities"]["reserve_scale"], "app");
    assert_eq!(health["capabilities"]["grid_charging"], true);
    assert_eq!(health["pypowerwall_cache_expire"], FLEET_FLOOR_SECS);
    let usage = &health["fleet_api"];
    assert_eq!(usage["link"], "main");
    assert_eq!(usage["site_id"], json!(sim.cloud_site_id()));
    assert_eq!(usage["poll_interval_seconds"], FLEET_FLOOR_SECS);
    assert_eq!(usage["cache_ttl_seconds"], FLEET_FLOOR_SECS);
    assert_eq!(usage["backoff_active"], false);
    let gateways = get_json(server, "/api/gateways").await;
    let gateway = &gateways["default"]["gateway"];
    assert_eq!(gateway["fleetapi"], true);
    assert_eq!(gateway["cloud_mode"], false);
    assert_eq!(gateway["mode"], "fleetapi");
    assert_eq!(gateway["capabilities"]["backend"], "fleetapi");
    assert_eq!(gateway["poll_interval_s"], FLEET_FLOOR_SECS as f64);
    site.shutdown().await;
}

#[tokio::test]
async fn fleet_counters_grow_with_real_calls_and_project_consistently() {
    let site = Mode::Fleet.start().await;
    let (sim, server) = (&site.sim, &site.server);
    let before = settled_data_calls(server, sim).await;
    // A cached read costs nothing.
    get_json(server, "/fleetapi/info").await;
    assert_eq!(settled_data_calls(server, sim).await, before);
    // A write is one command, and drops site_info: its read-back is one more data call.
    let form = format!("value=backup&token={SECRET}");
    let (status, body) = post_form(server, "/control/mode", &form).await;
    assert_eq!(status, 200, "{body}");
    let after = settled_data_calls(server, sim).await;
    assert!(after > before, "{before} -> {after}");
    let usage = fleet_api(server).await;
    let commands = count_matching(sim, "POST /fleet/");
    assert_eq!(commands, 1);
    assert_eq!(usage["calls_by_kind"]["command"], commands);
    assert_eq!(usage["calls_total"], after + commands);

    // The projection is the counts over the observed time (at least one hour) scaled to a month.
    let observed = usage["observed_seconds"].as_f64().unwrap().max(3600.0);
    let days = observed / 86_400.0;
    let total = (after + commands) as f64;
    let per_day = usage["per_day_rate"].as_f64().unwrap();
    assert!((per_day - total / days).abs() <= 0.1, "{per_day} {total}");
    let monthly = usage["projected_monthly_calls"].as_f64().unwrap();
    assert!((monthly - 30.0 * total / days).abs() <= 0.1, "{monthly}");
    let cost = usage["projected_monthly_cost_usd"].as_f64().unwrap();
    let want = 30.0 / days * (after as f64 / 500.0 + commands as f64 / 1000.0);
    assert!((cost - want).abs() <= 0.01, "{cost} {want}");
    let discounted = usage["projected_monthly_cost_after_discount_usd"]
        .as_f64()
        .unwrap();
    assert!(
        (discounted - (want - 10.0).max(0.0)).abs() <= 0.01,
        "{discounted}"
    );
    site.shutdown().await;
}

#[tokio::test]
async fn fleet_control_writes_reach_the_model_and_read_back() {
    let site = Mode::Fleet.start().await;
    let (sim, server) = (&site.sim, &site.server);
    let form = |value: &str| format!("value={value}&token={SECRET}");

    // The reserve write and a wrong token are checked by the conformance suite.
    let (status, body) = post_form(server, "/control/mode", &form("autonomous")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["set_operation"]["real_mode"], "autonomous");
    assert_eq!(sim.reading().real_mode, "autonomous");
    assert_eq!(
        get_json(server, "/control/mode").await["mode"],
        "autonomous"
    );
    assert_eq!(
        get_json(server, "/api/operation").await["real_mode"],
        "autonomous"
    );

    grid_writes_read_back(server, SECRET, "never", "/fleetapi/info").await;
    assert_eq!(count_matching(sim, "POST /fleet/"), 3);
    assert_eq!(fleet_api(server).await["calls_by_kind"]["command"], 3);
    site.shutdown().await;
}

#[tokio::test]
async fn expired_fleet_tokens_are_refreshed_and_the_file_rewritten() {
    let site = Mode::Fleet.start().await;
    let (sim, server) = (&site.sim, &site.server);
    let read_tokens = || {
        powerwall_gateway::fleet::FleetTokenFile::read(site.auth_path())
            .unwrap()
            .unwrap()
    };
    let before = read_tokens();
    sim.expire_fleet_access_tokens();
    // The next real call (a write; reads are cached) meets a 401, refreshes and is sent again.
    let form = format!("value=self_consumption&token={SECRET}");
    let (status, body) = post_form(server, "/control/mode", &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sim.reading().real_mode, "self_consumption");
    assert_eq!(count_matching(sim, "POST /oauth2/v3/token"), 1);
    let after = read_tokens();
    assert_ne!(after.access_token, before.access_token);
    assert_ne!(after.refresh_token, before.refresh_token);
    assert_eq!(fleet_api(server).await["calls_by_kind"]["auth"], 1);
    site.shutdown().await;
}

#[tokio::test]
async fn a_429_opens_a_window_that_sends_nothing_and_keeps_the_last_data() {
    let site = Mode::Fleet.start().await;
    let (sim, server) = (&site.sim, &site.server);
    settled_data_calls(server, sim).await;
    sim.set_fleet_rate_limit(Some(FleetRateLimit {
        style: RetryStyle::Seconds,
        secs: 60,
        times: 1,
    }));
    let form = |value: &str| format!("value={value}&token={SECRET}");
    let (status, _) = post_form(server, "/control/mode", &form("backup")).await;
    assert_eq!(status, 400, "the rate-limited write fails");
    let usage = fleet_api(server).await;
    assert_eq!(usage["backoff_active"], true);
    let remaining = usage["backoff_remaining_seconds"].as_f64().unwrap();
    assert!(remaining > 0.0 && remaining <= 60.0, "{remaining}");

    // During the window: writes and cache-missing reads fail at once, without a request, and the
    // legacy routes keep serving the last polled data.
    let sent = sim.counter().api_total;
    let (status, _) = post_form(server, "/control/reserve", &form("40")).await;
    assert_eq!(status, 400);
    let (status, _) = post_form(server, "/control/grid_export", &form("never")).await;
    assert_eq!(status, 400);
    for path in [
        "/fleetapi/info",
        "/fleetapi/status",
        "/control/grid_charging",
        "/api/site_info",
    ] {
        let (status, _) = get(server, path).await;
        assert_eq!(status, 200, "{path}");
    }
    let reading = sim.reading();
    let aggregates = get_json(server, "/api/meters/aggregates").await;
    assert!(close(
        aggregates["solar"]["instant_power"].as_f64().unwrap(),
        reading.solar_w
    ));
    assert_eq!(
        get_json(server, "/api/operation").await["real_mode"],
        json!(reading.real_mode)
    );
    assert_eq!(
        sim.counter().api_total,
        sent,
        "no request during the window"
    );
    assert_eq!(reading.real_mode, "self_consumption", "nothing was written");
    site.shutdown().await;
}

#[tokio::test]
async fn a_burst_of_clients_costs_at_most_one_call_per_endpoint_and_ttl() {
    let site = Mode::Fleet.start().await;
    let (sim, server) = (&site.sim, &site.server);
    settled_data_calls(server, sim).await;
    let endpoints = ["/site_info", "/live_status", "/site_status"];
    let before: Vec<u64> = endpoints
        .iter()
        .map(|endpoint| count_matching(sim, endpoint))
        .collect();
    let paths = [
        "/fleetapi/info",
        "/fleetapi/status",
        "/api/site_info",
        "/api/meters/aggregates",
        "/control/grid_export",
        "/api/system_status",
        "/pw/power",
        "/stats",
    ];
    let requests = (0..48).map(|i| {
        let path = paths[i % paths.len()];
        async move { get(server, path).await }
    });
    let answers = futures_util::future::join_all(requests).await;
    assert!(answers.iter().all(|(status, _)| *status == 200));
    // Every endpoint lives 30 s in the client's cache (its stamp back-dated by at most 7.5 s):
    // a burst of a few hundred milliseconds overlaps at most one expiry per endpoint.
    for (endpoint, before) in endpoints.iter().zip(before) {
        let sent = count_matching(sim, endpoint) - before;
        assert!(sent <= 1, "{endpoint}: {sent} calls");
    }
    site.shutdown().await;
}

#[tokio::test]
async fn a_tedapi_gateway_with_a_fleet_token_file_controls_through_the_fleet_api() {
    let sim = frozen_simulator().await;
    let auth = tempfile::tempdir().expect("auth dir");
    fleet_login(&sim, auth.path());
    let mut args: Vec<String> = vec![
        "--host".to_owned(),
        sim.host(),
        "--gw-pwd".to_owned(),
        SimulatorConfig::default().gateway_password,
    ];
    args.extend(fleet_args(&sim, auth.path()));
    args.extend(["--control-secret".to_owned(), SECRET.to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (server, _cache) = server_with(&args).await;

    let health = eventually("the Fleet control link to connect", || async {
        let health = get_json(&server, "/health").await;
        (health["transports"]["cloud_control"]["status"] == "ok").then_some(health)
    })
    .await;
    assert_eq!(health["mode"], "Local (full+control)");
    assert_eq!(health["transports"]["cloud_control"]["mode"], "fleetapi");
    assert_eq!(health["capabilities"]["backend"], "fleetapi");
    assert_eq!(health["cloud_control"]["configured"], true);
    assert_eq!(health["fleet_api"]["link"], "hybrid_control");
    assert_eq!(health["fleet_api"]["poll_interval_seconds"], Value::Null);
    // The gateway itself is read over TEDAPI: the Fleet family stays off.
    assert_eq!(
        get_json(&server, "/fleetapi/info").await,
        json!({"error": "FleetAPI not enabled"})
    );
    assert_eq!(get_json(&server, "/stats").await["fleetapi"], false);

    let form = |value: &str| format!("value={value}&token={SECRET}");
    let (status, body) = post_form(&server, "/control/reserve", &form("40")).await;
    assert_eq!(status, 200, "{body}");
    assert!((sim.reading().reserve_raw_pct - 43.0).abs() < 1e-6);
    let (status, body) = post_form(&server, "/control/grid_charging", &form("false")).await;
    assert_eq!(
        (status, body),
        (200, json!({"grid_charging": "Set Successfully"}))
    );
    assert_eq!(
        get_json(&server, "/control/grid_charging").await,
        json!({"grid_charging": false})
    );
    assert_eq!(count_matching(&sim, "POST /fleet/"), 2);
    assert_eq!(fleet_api(&server).await["calls_by_kind"]["command"], 2);
    server.shutdown().await.unwrap();
}
