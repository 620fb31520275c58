//! Hybrid cloud control: a TEDAPI or local-API gateway with a Tesla account email, a control secret
//! and a cloud login reads from the gateway and writes through the simulator's cloud persona; the
//! writes show in the gateway's own reads of the same simulated site.

mod common;

use clap::Parser;
use common::*;
use powerwall_server::RunningServer;
use powerwall_server::settings::{Cli, Settings};
use powerwall_simulator::SimulatorHandle;
use serde_json::{Value, json};

const SECRET: &str = "hybrid-secret";
const NO_BACKEND: &str = "Control Command Error: Unable to connect to cloud mode - Run Setup";

/// A server for the simulator's gateway with the given credential flags, control on, the cloud
/// pointed at the simulator (logged in when `login`).
async fn hybrid_server(
    sim: &SimulatorHandle,
    credentials: &[&str],
    login: bool,
) -> (RunningServer, tempfile::TempDir, tempfile::TempDir) {
    let auth = tempfile::tempdir().expect("auth dir");
    if login {
        cloud_login(sim, auth.path());
    }
    let host = sim.host();
    let mut args: Vec<String> = vec!["--host".to_owned(), host];
    args.extend(credentials.iter().map(|arg| (*arg).to_owned()));
    args.extend(cloud_args(sim, auth.path()));
    args.extend(["--control-secret".to_owned(), SECRET.to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (server, cache) = server_with(&args).await;
    (server, auth, cache)
}

fn cloud_writes(sim: &SimulatorHandle) -> u64 {
    count_matching(sim, "POST /api/1/energy_sites/")
}

fn form(value: &str) -> String {
    format!("value={value}&token={SECRET}")
}

/// Waits until the gateway's own `/api/operation` shows `raw` reserve and `mode`.
async fn wait_for_operation(server: &RunningServer, raw: f64, mode: &str) {
    eventually("the write in the gateway's own reads", || async {
        let (_, body) = get(server, "/api/operation").await;
        let operation: Value = serde_json::from_str(&body).ok()?;
        let reserve = operation["backup_reserve_percent"].as_f64()?;
        ((reserve - raw).abs() < 1e-6 && operation["real_mode"] == mode).then_some(())
    })
    .await;
}

/// The writes of one gateway go to the cloud and show in the gateway's reads.
async fn writes_go_to_the_cloud(sim: &SimulatorHandle, server: &RunningServer) {
    let before = cloud_writes(sim);
    let (status, body) = post_form(server, "/control/reserve", &form("40")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["set_backup_reserve_percent"]["result"], "Updated");
    let (status, body) = post_form(server, "/control/mode", &form("backup")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cloud_writes(sim), before + 2);
    // The cloud takes the app scale: 40 % is the gateway's raw 43 %.
    assert!((sim.reading().reserve_raw_pct - 43.0).abs() < 1e-6);
    wait_for_operation(server, 43.0, "backup").await;
    // The poller re-reads the operation one poll period after a cloud write.
    eventually("the control reads of the new operation", || async {
        let reserve = get_json(server, "/control/reserve").await["reserve"].clone();
        let mode = get_json(server, "/control/mode").await["mode"].clone();
        (reserve == json!(40.0) && mode == "backup").then_some(())
    })
    .await;

    let (status, body) = post_form(server, "/control/grid_export", &form("never")).await;
    assert_eq!(
        (status, body),
        (200, json!({"grid_export": "Set Successfully"}))
    );
    assert_eq!(cloud_writes(sim), before + 3);
    assert_eq!(
        get_json(server, "/control/grid_export").await,
        json!({"grid_export": "never"})
    );

    let health = get_json(server, "/health").await;
    let cloud = &health["cloud_control"];
    assert_eq!(cloud["configured"], true);
    assert_eq!(cloud["connected"], true);
    assert_eq!(cloud["state"], "healthy");
    assert_eq!(cloud["last_known_reserve"], 40.0);
    assert_eq!(cloud["last_known_mode"], "backup");
    assert_eq!(cloud["last_known_grid_export"], "never");
    assert_eq!(health["transports"]["cloud_control"]["status"], "ok");
    let capabilities = &health["capabilities"];
    assert_eq!(capabilities["backend"], "cloud");
    assert_eq!(capabilities["reserve_scale"], "app");
    assert_eq!(capabilities["grid_charging"], true);
    let stats = get_json(server, "/stats").await;
    assert_eq!(stats["cloudmode"], false);
    assert_eq!(stats["siteid"], Value::Null);
    assert_eq!(
        get_json(server, "/cloud/power").await,
        json!({"error": "Cloud API not enabled"})
    );
}

#[tokio::test]
async fn tedapi_gateway_writes_through_the_cloud() {
    let sim = simulator().await;
    let gw_pwd = sim.config().gateway_password.clone();
    let (server, _auth, _cache) = hybrid_server(&sim, &["--gw-pwd", &gw_pwd], true).await;
    writes_go_to_the_cloud(&sim, &server).await;
    let health = get_json(&server, "/health").await;
    assert_eq!(health["mode"], "Local (full+control)");
    let gateways = get_json(&server, "/api/gateways").await;
    let gateway = &gateways["default"]["gateway"];
    assert_eq!(gateway["cloud_mode"], false);
    assert_eq!(gateway["capabilities"]["backend"], "cloud");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn local_api_gateway_with_a_cloud_login_writes_through_the_cloud() {
    let sim = simulator().await;
    let (server, _auth, _cache) = hybrid_server(&sim, &["--password", "password"], true).await;
    writes_go_to_the_cloud(&sim, &server).await;
    assert_eq!(
        get_json(&server, "/control/status").await,
        json!({
            "enabled": true,
            "battery_dispatch": false,
            "capabilities": {
                "read": true, "control_enabled": true, "backend": "cloud", "reserve": true,
                "mode": true, "grid_charging": true, "grid_export": true, "reserve_scale": "app"
            }
        })
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn missing_cloud_setup_answers_run_setup_before_the_token() {
    let sim = simulator().await;
    let gw_pwd = sim.config().gateway_password.clone();
    let (server, _auth, _cache) = hybrid_server(&sim, &["--gw-pwd", &gw_pwd], false).await;
    let before = sim.reading();
    for body in [form("40"), "value=40&token=wrong".to_owned()] {
        let (status, reply) = post_form(&server, "/control/reserve", &body).await;
        assert_eq!((status, reply), (400, json!({"error": NO_BACKEND})));
    }
    assert_eq!(cloud_writes(&sim), 0);
    assert!((sim.reading().reserve_raw_pct - before.reserve_raw_pct).abs() < 1e-9);
    let health = get_json(&server, "/health").await;
    assert_eq!(health["cloud_control"]["connected"], false);
    assert_eq!(health["cloud_control"]["state"], "unavailable");
    assert_eq!(
        health["transports"]["cloud_control"],
        json!({"active": false, "status": "failed"})
    );
    // Configured, so reported: the backend is the cloud even while it cannot connect.
    assert_eq!(health["capabilities"]["backend"], "cloud");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn tedapi_full_without_an_email_has_no_control_backend() {
    let sim = simulator().await;
    let auth = tempfile::tempdir().expect("auth dir");
    cloud_login(&sim, auth.path());
    let auth_path = auth.path().display().to_string();
    let gw_pwd = sim.config().gateway_password.clone();
    let host = sim.host();
    let cache = auth.path().join(".powerwall").display().to_string();
    let cli = Cli::try_parse_from([
        "powerwall-server",
        "--bind-address",
        "127.0.0.1",
        "--port",
        "0",
        "--cache-file",
        &cache,
        "--host",
        &host,
        "--gw-pwd",
        &gw_pwd,
        "--auth-path",
        &auth_path,
        "--control-secret",
        SECRET,
    ])
    .expect("cli parses");
    let settings = Settings::from_cli(cli).expect("settings valid");
    assert!(settings.default_gateway().cloud_control.is_none());
    let server = powerwall_server::start(settings)
        .await
        .expect("server starts");
    let (status, reply) = post_form(&server, "/control/reserve", &form("40")).await;
    assert_eq!((status, reply), (400, json!({"error": NO_BACKEND})));
    let capabilities = get_json(&server, "/health").await["capabilities"].clone();
    assert_eq!(capabilities["backend"], Value::Null);
    assert_eq!(capabilities["control_enabled"], false);
    assert_eq!(
        get_json(&server, "/health").await["cloud_control"],
        Value::Null
    );
    assert_eq!(cloud_writes(&sim), 0);
    server.shutdown().await.unwrap();
}
