//! Shared harness of the end-to-end tests: a simulator and a server on loopback port 0.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Parser;
use powerwall_server::RunningServer;
use powerwall_server::settings::{Cli, Settings};
use powerwall_simulator::{SimulatorConfig, SimulatorHandle};
use serde_json::Value;

/// Upper bound for waiting on anything in a test (then the test fails instead of hanging).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A simulator on 127.0.0.1:0 with the default credentials.
pub async fn simulator() -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator starts")
}

/// A server on 127.0.0.1:0 pointed at `host` with the customer password (local mode).
pub async fn server(
    host: &str,
    password: &str,
    extra: &[&str],
) -> (RunningServer, tempfile::TempDir) {
    let mut args = vec!["--host", host, "--password", password];
    args.extend_from_slice(extra);
    server_with(&args).await
}

/// A server on 127.0.0.1:0 pointed at `host` with the gateway password only (TEDAPI mode).
pub async fn tedapi_server(
    host: &str,
    gw_pwd: &str,
    extra: &[&str],
) -> (RunningServer, tempfile::TempDir) {
    let mut args = vec!["--host", host, "--gw-pwd", gw_pwd];
    args.extend_from_slice(extra);
    server_with(&args).await
}

/// A server on 127.0.0.1:0 with a 1 s poll period, a private cache file and these arguments.
pub async fn server_with(args: &[&str]) -> (RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache_file = dir.path().join(".powerwall").display().to_string();
    let mut full = vec![
        "powerwall-server",
        "--email",
        "me@example.com",
        "--bind-address",
        "127.0.0.1",
        "--port",
        "0",
        "--cache-expire",
        "1",
        "--cache-file",
        &cache_file,
    ];
    full.extend_from_slice(args);
    let settings =
        Settings::from_cli(Cli::try_parse_from(full).expect("cli parses")).expect("settings valid");
    let server = powerwall_server::start(settings)
        .await
        .expect("server starts");
    (server, dir)
}

/// A simulator with the given topology.
pub async fn simulator_with(topology: powerwall_simulator::TopologyKind) -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig {
        topology,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// An HTTP(S) client for the server and the simulator's control API.
///
/// reqwest is built without a default TLS provider; the gateway builder brings its own (and trusts
/// the simulator's self-signed certificate, as for gateways).
pub fn http() -> reqwest::Client {
    powerwall_gateway::http::gateway_client(powerwall_gateway::http::GatewayHttpSettings {
        timeout: Duration::from_secs(10),
        pool_max_idle: 4,
    })
    .expect("client builds")
}

/// The client for the simulator's control API.
pub fn sim_http() -> reqwest::Client {
    http()
}

/// GET a server path, returning status and body text.
pub async fn get(server: &RunningServer, path: &str) -> (u16, String) {
    let url = format!("http://{}{}", server.addr(), path);
    let response = http().get(url).send().await.expect("server answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// GET a server path and parse JSON.
pub async fn get_json(server: &RunningServer, path: &str) -> Value {
    let (status, body) = get(server, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path} is not JSON ({e}): {body}"))
}

/// GET a simulator control path and parse JSON.
pub async fn sim_json(sim: &SimulatorHandle, path: &str) -> Value {
    let response = sim_http()
        .get(format!("{}{}", sim.url(), path))
        .send()
        .await
        .expect("simulator answers");
    response.json().await.expect("simulator JSON")
}

/// GET a simulator control path, returning the text.
pub async fn sim_get(sim: &SimulatorHandle, path: &str) -> String {
    sim_http()
        .get(format!("{}{}", sim.url(), path))
        .send()
        .await
        .expect("simulator answers")
        .text()
        .await
        .expect("text")
}

/// POST JSON to a simulator control path.
pub async fn sim_post(sim: &SimulatorHandle, path: &str, body: Value) -> Value {
    let response = sim_http()
        .post(format!("{}{}", sim.url(), path))
        .json(&body)
        .send()
        .await
        .expect("simulator answers");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

/// Waits until `check` returns `Some`, polling every 100 ms, failing after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Count of one `METHOD /path` in the simulator's request counter.
pub fn count(counter: &Value, key: &str) -> u64 {
    counter["by_path"][key].as_u64().unwrap_or(0)
}

/// Flattens a body as Telegraf's JSON parser does: object keys joined with `_`, array items by
/// index. Every leaf is kept with its value (an empty object or array is a leaf too); Telegraf
/// itself writes only the numeric ones.
pub fn telegraf_leaves(body: &Value) -> BTreeMap<String, &Value> {
    fn walk<'a>(prefix: &str, value: &'a Value, out: &mut BTreeMap<String, &'a Value>) {
        let join = |key: &str| {
            if prefix.is_empty() {
                key.to_owned()
            } else {
                format!("{prefix}_{key}")
            }
        };
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, item) in map {
                    walk(&join(key), item, out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (index, item) in items.iter().enumerate() {
                    walk(&join(&index.to_string()), item, out);
                }
            }
            leaf => {
                out.insert(prefix.to_owned(), leaf);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", body, &mut out);
    out
}

/// The URLs Powerwall-Dashboard's Telegraf `inputs.http` scrapes.
pub const TELEGRAF_URLS: [&str; 8] = [
    "/aggregates",
    "/soe",
    "/strings",
    "/temps/pw",
    "/freq",
    "/pod",
    "/fans/pw",
    "/alerts/pw",
];

/// The 23 plain passthrough paths (§3.4 minus grid_status, problems and registration).
pub const PASSTHROUGH_PATHS: [&str; 23] = [
    "/api/status",
    "/api/site_info/site_name",
    "/api/meters/site",
    "/api/meters/solar",
    "/api/sitemaster",
    "/api/powerwalls",
    "/api/system_status",
    "/api/system/update/status",
    "/api/site_info",
    "/api/system_status/grid_faults",
    "/api/operation",
    "/api/site_info/grid_codes",
    "/api/solars",
    "/api/solars/brands",
    "/api/customer",
    "/api/meters",
    "/api/installer",
    "/api/networks",
    "/api/system/networks",
    "/api/meters/readings",
    "/api/synchrometer/ct_voltage_references",
    "/api/auth/toggle/supported",
    "/api/solar_powerwall",
];

/// The 25 convenience names of `/pw/<name>`.
pub const PW_NAMES: [&str; 25] = [
    "level",
    "power",
    "site",
    "solar",
    "battery",
    "load",
    "grid",
    "home",
    "battery_blocks",
    "vitals",
    "temps",
    "strings",
    "din",
    "uptime",
    "version",
    "status",
    "system_status",
    "grid_status",
    "aggregates",
    "site_name",
    "alerts",
    "is_connected",
    "get_reserve",
    "get_mode",
    "get_time_remaining",
];

/// The Tesla account the cloud tests log in with.
pub const CLOUD_EMAIL: &str = "me@example.com";

/// Writes `<dir>/.pypowerwall.auth` for [`CLOUD_EMAIL`] with tokens minted by the simulator's
/// cloud persona (what the `setup` command leaves behind).
pub fn cloud_login(sim: &SimulatorHandle, dir: &std::path::Path) {
    use powerwall_gateway::Secret;
    use powerwall_gateway::cloud::{CloudClient, CloudConfig};
    let url = sim.cloud_url().expect("cloud listener");
    let config = CloudConfig {
        auth_url: url.clone(),
        owner_api_url: url,
        ca_pem: sim.cloud_ca_pem(),
        ..CloudConfig::new(CLOUD_EMAIL, dir)
    };
    let tokens = sim.mint_cloud_tokens(true);
    CloudClient::new(config)
        .expect("cloud client")
        .login_with_tokens(
            Secret::new(tokens.refresh_token),
            Some(Secret::new(tokens.access_token)),
        )
        .expect("tokens saved");
}

/// Arguments pointing the server's cloud at the simulator: base URLs, its CA (written into
/// `dir`) and `dir` as the auth directory.
pub fn cloud_args(sim: &SimulatorHandle, dir: &std::path::Path) -> Vec<String> {
    let url = sim.cloud_url().expect("cloud listener");
    let ca = dir.join("cloud-ca.pem");
    std::fs::write(&ca, sim.cloud_ca_pem().expect("cloud CA")).expect("CA written");
    vec![
        "--auth-path".to_owned(),
        dir.display().to_string(),
        "--cloud-auth-url".to_owned(),
        url.clone(),
        "--cloud-api-url".to_owned(),
        url,
        "--cloud-ca-file".to_owned(),
        ca.display().to_string(),
    ]
}

/// Sum of the simulator's request counts whose `METHOD /path` key contains `needle`.
pub fn count_matching(sim: &SimulatorHandle, needle: &str) -> u64 {
    sim.counter()
        .by_path
        .iter()
        .filter(|(key, _)| key.contains(needle))
        .map(|(_, n)| *n)
        .sum()
}

/// POST a form to a server path, returning status and JSON body.
pub async fn post_form(server: &RunningServer, path: &str, form: &str) -> (u16, Value) {
    let response = http()
        .post(format!("http://{}{}", server.addr(), path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .expect("server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Writes `<dir>/.pypowerwall.fleetapi` as the Fleet setup leaves it, with tokens minted by the
/// simulator's Fleet persona and its North America region as `AUDIENCE` (its presence selects
/// Fleet API mode).
pub fn fleet_login(sim: &SimulatorHandle, dir: &std::path::Path) {
    use powerwall_gateway::Secret;
    use powerwall_gateway::fleet::FleetTokenFile;
    let knobs = sim.fleet_knobs();
    let tokens = sim.mint_fleet_tokens();
    FleetTokenFile {
        client_id: knobs.client_id,
        client_secret: Secret::new(knobs.client_secret),
        domain: "example.com".to_owned(),
        redirect_uri: "https://example.com/access".to_owned(),
        audience: sim.fleet_url("na").expect("fleet url"),
        access_token: Secret::new(tokens.access_token),
        refresh_token: Secret::new(tokens.refresh_token),
        ..FleetTokenFile::default()
    }
    .write(dir)
    .expect("token file");
}

/// Arguments pointing the server's Fleet API client at the simulator: the SSO base, the Fleet
/// region base (`PW_FLEET_API_URL`), its CA (written into `dir`) and `dir` as the auth directory.
pub fn fleet_args(sim: &SimulatorHandle, dir: &std::path::Path) -> Vec<String> {
    let mut args = cloud_args(sim, dir);
    args.extend([
        "--fleet-api-url".to_owned(),
        sim.fleet_url("na").expect("fleet url"),
    ]);
    args
}

/// Turns grid charging off and sets the export rule through `/control/*` with `secret`, then
/// checks both read back through the control GETs and in Tesla's own `site_info` document, served
/// raw at `raw_site_info` (`/cloud/config` or `/fleetapi/info`).
pub async fn grid_writes_read_back(
    server: &RunningServer,
    secret: &str,
    export: &str,
    raw_site_info: &str,
) {
    let form = |value: &str| format!("value={value}&token={secret}");
    let (status, body) = post_form(server, "/control/grid_charging", &form("false")).await;
    assert_eq!(
        (status, body),
        (
            200,
            serde_json::json!({"grid_charging": "Set Successfully"})
        )
    );
    assert_eq!(
        get_json(server, "/control/grid_charging").await,
        serde_json::json!({"grid_charging": false})
    );
    let (status, body) = post_form(server, "/control/grid_export", &form(export)).await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"grid_export": "Set Successfully"}))
    );
    let rule = export.to_ascii_lowercase();
    assert_eq!(
        get_json(server, "/control/grid_export").await,
        serde_json::json!({"grid_export": rule})
    );
    let info = get_json(server, raw_site_info).await;
    assert_eq!(info["components"]["customer_preferred_export_rule"], rule);
    assert_eq!(
        info["components"]["disallow_charge_from_grid_with_solar_installed"],
        true
    );
}
