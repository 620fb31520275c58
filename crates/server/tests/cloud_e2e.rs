//! The server in cloud mode (no host, a Tesla login) against the simulator's Tesla SSO and Owner
//! API personas on loopback: legacy reads equal to the model, `/cloud/*`, admin fields, control
//! writes with read-back, token expiry, a renumbered site, and single flight under a burst.

mod common;

use common::*;
use powerwall_server::RunningServer;
use powerwall_simulator::{SimulatorConfig, SimulatorHandle};
use serde_json::{Value, json};

const SECRET: &str = "cloud-secret";

/// A simulator whose clock stands still, so model values can be compared exactly.
async fn frozen_simulator() -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig {
        freeze_clock: true,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// A cloud-mode server (control on) logged in to the simulator's cloud.
async fn cloud_server(sim: &SimulatorHandle) -> (RunningServer, tempfile::TempDir) {
    let auth = tempfile::tempdir().expect("auth dir");
    cloud_login(sim, auth.path());
    let mut args = cloud_args(sim, auth.path());
    args.extend(["--control-secret".to_owned(), SECRET.to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (server, _cache_dir) = server_with(&args).await;
    (server, auth)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Waits until the server's aggregates show `solar_w` (the cloud's live status is read through).
async fn wait_for_solar(server: &RunningServer, solar_w: f64) {
    eventually("solar power from the cloud", || async {
        let (status, body) = get(server, "/api/meters/aggregates").await;
        let value: Value = serde_json::from_str(&body).ok()?;
        let solar = value["solar"]["instant_power"].as_f64()?;
        (status == 200 && close(solar, solar_w)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn cloud_mode_reads_equal_the_model() {
    let sim = frozen_simulator().await;
    let (server, _auth) = cloud_server(&sim).await;
    let reading = sim.reading();
    wait_for_solar(&server, reading.solar_w).await;
    let aggregates = get_json(&server, "/api/meters/aggregates").await;
    assert!(close(
        aggregates["site"]["instant_power"].as_f64().unwrap(),
        reading.site_w
    ));
    assert!(close(
        aggregates["battery"]["instant_power"].as_f64().unwrap(),
        reading.battery_w
    ));
    assert!(close(
        aggregates["load"]["instant_power"].as_f64().unwrap(),
        reading.home_w
    ));
    // The route answers the app scale (§6.1.3), which is what the cloud reports; the model is raw.
    let soe = get_json(&server, "/api/system_status/soe").await;
    let percentage = soe["percentage"].as_f64().unwrap();
    let app = get_json(&server, "/cloud/battery").await["percentage_charged"]
        .as_f64()
        .unwrap();
    assert!(close(percentage, app), "{percentage} {app}");
    assert!(
        (percentage - (reading.soe_raw_pct - 5.0) / 0.95).abs() < 1e-6,
        "{percentage} {}",
        reading.soe_raw_pct
    );
    let grid = get_json(&server, "/api/system_status/grid_status").await;
    assert_eq!(grid["grid_status"], "SystemGridConnected");
    let operation = get_json(&server, "/api/operation").await;
    assert_eq!(operation["real_mode"], json!(reading.real_mode));
    assert!(close(
        operation["backup_reserve_percent"].as_f64().unwrap(),
        reading.reserve_raw_pct
    ));
    let status = get_json(&server, "/api/status").await;
    let config = get_json(&server, "/cloud/config").await;
    assert_eq!(status["din"], config["id"]);
    let site_name = get_json(&server, "/api/site_info/site_name").await;
    assert_eq!(site_name["site_name"], config["site_name"]);
    let site_info = get_json(&server, "/api/site_info").await;
    assert_eq!(site_info["site_name"], config["site_name"]);
    let system_status = get_json(&server, "/api/system_status").await;
    assert!(close(
        system_status["nominal_energy_remaining"].as_f64().unwrap(),
        get_json(&server, "/cloud/battery").await["energy_left"]
            .as_f64()
            .unwrap()
    ));
    let vitals = eventually("cloud vitals", || async {
        let vitals = get_json(&server, "/vitals").await;
        let keys: Vec<String> = vitals.as_object()?.keys().cloned().collect();
        keys.iter()
            .any(|key| key.starts_with("STSTSM--"))
            .then_some(keys)
    })
    .await;
    assert_eq!(vitals.len(), 1, "{vitals:?}");
    // Mocked gateway paths (§3.11) and the raw cloud objects.
    assert_eq!(
        get_json(&server, "/api/system_status/grid_faults").await,
        json!([])
    );
    let power = get_json(&server, "/cloud/power").await;
    assert!(close(
        power["solar_power"].as_f64().unwrap(),
        reading.solar_w
    ));
    let battery = get_json(&server, "/cloud/battery").await;
    assert!(battery.get("percentage_charged").is_some(), "{battery}");
    assert_eq!(
        get_json(&server, "/cloud/other").await,
        json!({"error": "Use /cloud/battery, /cloud/power, /cloud/config"})
    );
    assert_eq!(
        get_json(&server, "/tedapi/config").await,
        json!({"error": "TEDAPI not enabled"})
    );

    let health = get_json(&server, "/health").await;
    assert_eq!(health["mode"], "Cloud");
    assert_eq!(health["tedapi_mode"], "off");
    assert_eq!(health["cloud_control"], Value::Null);
    assert_eq!(health["capabilities"]["backend"], "cloud");
    assert_eq!(health["capabilities"]["reserve_scale"], "app");
    assert_eq!(health["capabilities"]["grid_export"], true);
    assert_eq!(health["transports"]["cloud_control"]["status"], "ok");
    let stats = get_json(&server, "/stats").await;
    assert_eq!(stats["mode"], "Cloud");
    assert_eq!(stats["cloudmode"], true);
    assert_eq!(stats["fleetapi"], false);
    assert_eq!(stats["siteid"], json!(sim.cloud_site_id()));
    let counter = stats["counter"].as_u64().unwrap();
    assert!((1..64).contains(&counter), "{counter}");
    let gateways = get_json(&server, "/api/gateways").await;
    let gateway = &gateways["default"]["gateway"];
    assert_eq!(gateway["cloud_mode"], true);
    assert_eq!(gateway["mode"], "cloud");
    assert_eq!(gateway["capabilities"]["control_enabled"], true);
    let status = get_json(&server, "/control/status").await;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["capabilities"]["backend"], "cloud");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn cloud_control_writes_reach_the_model_and_read_back() {
    let sim = frozen_simulator().await;
    let (server, _auth) = cloud_server(&sim).await;
    wait_for_solar(&server, sim.reading().solar_w).await;
    let form = |value: &str| format!("value={value}&token={SECRET}");

    let (status, body) = post_form(&server, "/control/reserve", &form("50")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["set_backup_reserve_percent"]["result"], "Updated");
    // The cloud takes the app scale: 50 % is the gateway's raw 52.5 %.
    assert!(close(sim.reading().reserve_raw_pct, 52.5));
    assert_eq!(get_json(&server, "/control/reserve").await["reserve"], 50.0);

    let (status, body) = post_form(&server, "/control/mode", &form("backup")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["set_operation"]["real_mode"], "backup");
    assert_eq!(sim.reading().real_mode, "backup");
    assert_eq!(get_json(&server, "/control/mode").await["mode"], "backup");
    assert_eq!(
        get_json(&server, "/api/operation").await["real_mode"],
        "backup"
    );

    grid_writes_read_back(&server, SECRET, "PV_ONLY", "/cloud/config").await;
    assert_eq!(count_matching(&sim, "POST /api/1/energy_sites/"), 4);

    let (status, body) = post_form(&server, "/control/reserve", "value=20&token=wrong").await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"unauthorized": "Control Command Token Invalid"})
        )
    );
    assert_eq!(count_matching(&sim, "POST /api/1/energy_sites/"), 4);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn expired_tokens_are_refreshed_and_reads_continue() {
    let sim = frozen_simulator().await;
    let (server, _auth) = cloud_server(&sim).await;
    wait_for_solar(&server, sim.reading().solar_w).await;
    let refreshes = count_matching(&sim, "POST /oauth2/v3/token");
    sim.expire_cloud_access_tokens();
    sim_post(&sim, "/test/state", json!({"solar_w": 777})).await;
    wait_for_solar(&server, 777.0).await;
    assert!(count_matching(&sim, "POST /oauth2/v3/token") > refreshes);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_renumbered_site_is_recovered() {
    let sim = frozen_simulator().await;
    let (server, _auth) = cloud_server(&sim).await;
    wait_for_solar(&server, sim.reading().solar_w).await;
    let old_id = sim.cloud_site_id();
    let new_id = sim.renumber_cloud_site();
    assert_ne!(old_id, new_id);
    sim_post(&sim, "/test/state", json!({"solar_w": 1234})).await;
    wait_for_solar(&server, 1234.0).await;
    assert_eq!(get_json(&server, "/stats").await["siteid"], json!(new_id));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_burst_of_clients_costs_one_upstream_call_per_endpoint_and_ttl() {
    let sim = frozen_simulator().await;
    let (server, _auth) = cloud_server(&sim).await;
    wait_for_solar(&server, sim.reading().solar_w).await;
    let before_info = count_matching(&sim, "/site_info");
    let before_live = count_matching(&sim, "/live_status");
    let paths = [
        "/cloud/config",
        "/cloud/power",
        "/api/site_info",
        "/cloud/battery",
    ];
    let requests = (0..40).map(|i| {
        let server = &server;
        let path = paths[i % paths.len()];
        async move { get(server, path).await }
    });
    let answers = futures_util::future::join_all(requests).await;
    assert!(answers.iter().all(|(status, _)| *status == 200));
    // site_info lives 59 s: the burst costs at most one call (the poller's own reads included);
    // live_status lives 5 s: at most one call per TTL window the burst overlaps.
    assert!(count_matching(&sim, "/site_info") - before_info <= 1);
    assert!(count_matching(&sim, "/live_status") - before_live <= 2);
    server.shutdown().await.unwrap();
}
