//! No gateway password, token, e-mail or control secret in any response or log line (issue 5).
//!
//! Runs the real binary with debug logging against two simulators whose credentials are
//! distinctive strings (plus one gateway configured with a wrong password, so login failures are
//! logged too, one cloud-mode gateway logged in to the simulator's Tesla cloud, whose access
//! token expires during the scan so a refresh is logged too, and one Fleet API gateway whose
//! developer application has a distinctive client secret), requests every GET route the server's own OpenAPI document lists (for every
//! gateway, and every legacy route under each `/gw/<id>/`), the WebSocket streams and control
//! writes with right and wrong tokens, then scans everything it saw (status, headers, bodies,
//! messages, the process's log output) for the configured secrets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{PASSTHROUGH_PATHS, PATIENCE, PW_NAMES, http};
use futures_util::StreamExt;
use powerwall_gateway::Secret;
use powerwall_gateway::cloud::{CloudClient, CloudConfig, files};
use powerwall_gateway::fleet::FleetTokenFile;
use powerwall_simulator::{FleetKnobs, SimulatorConfig, SimulatorHandle, TopologyKind};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;

const CUSTOMER_PASSWORD: &str = "CustPw-7781-xq";
const GATEWAY_PASSWORD: &str = "GWPWDQZXJK";
const WRONG_PASSWORD: &str = "WrongPw-5523-zz";
const EMAIL: &str = "secret.owner.4471@example.org";
const CONTROL_SECRET: &str = "ctl-secret-90210-abc";
const WRONG_TOKEN: &str = "not-the-secret-31337";
const FLEET_CLIENT_SECRET: &str = "fleet-app-secret-6650-kq";

/// The strings that must never come out. The customer password's last five characters are the
/// PW3 classic-API login of TEDAPI gateways, so they are scanned for as well.
const SECRETS: [&str; 8] = [
    FLEET_CLIENT_SECRET,
    CUSTOMER_PASSWORD,
    GATEWAY_PASSWORD,
    WRONG_PASSWORD,
    EMAIL,
    CONTROL_SECRET,
    WRONG_TOKEN,
    "PWDQZXJK",
];

async fn simulator(topology: TopologyKind) -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig {
        topology,
        customer_password: CUSTOMER_PASSWORD.to_owned(),
        gateway_password: GATEWAY_PASSWORD.to_owned(),
        email: EMAIL.to_owned(),
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// Logs `EMAIL` in to the simulator's Tesla cloud into `dir` (what `setup` leaves behind);
/// answers the access and refresh tokens written there.
fn cloud_login(sim: &SimulatorHandle, dir: &std::path::Path) -> Vec<String> {
    let url = sim.cloud_url().expect("cloud listener");
    let config = CloudConfig {
        auth_url: url.clone(),
        owner_api_url: url,
        ca_pem: sim.cloud_ca_pem(),
        ..CloudConfig::new(EMAIL, dir)
    };
    let tokens = sim.mint_cloud_tokens(true);
    CloudClient::new(config)
        .unwrap()
        .login_with_tokens(
            Secret::new(tokens.refresh_token.clone()),
            Some(Secret::new(tokens.access_token.clone())),
        )
        .unwrap();
    vec![tokens.access_token, tokens.refresh_token]
}

/// The access and refresh tokens in a Fleet token file.
fn fleet_tokens(dir: &std::path::Path) -> Vec<String> {
    let file = FleetTokenFile::read(dir).unwrap().unwrap();
    vec![
        file.access_token.expose().to_owned(),
        file.refresh_token.expose().to_owned(),
    ]
}

/// The server binary with its output collected line by line.
struct Server {
    child: Child,
    base: String,
    output: Arc<Mutex<String>>,
}

async fn start_server(
    config: &std::path::Path,
    cache_dir: &std::path::Path,
    cloud: &SimulatorHandle,
) -> Server {
    let cloud_url = cloud.cloud_url().expect("cloud listener");
    let ca_file = cache_dir.join("cloud-ca.pem");
    std::fs::write(&ca_file, cloud.cloud_ca_pem().expect("cloud CA")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_powerwall-server"))
        .args(["--config", &config.display().to_string()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PW_DEBUG", "yes")
        .env("RUST_LOG", "debug")
        .env("PW_BIND_ADDRESS", "127.0.0.1")
        .env("PW_PORT", "0")
        .env("PW_CACHE_EXPIRE", "1")
        .env("PW_EMAIL", EMAIL)
        .env("PW_CONTROL_SECRET", CONTROL_SECRET)
        .env("PW_AUTH_PATH", cache_dir)
        .env("PW_CLOUD_AUTH_URL", &cloud_url)
        .env("PW_CLOUD_API_URL", &cloud_url)
        .env("PW_CLOUD_CA_FILE", &ca_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("server binary starts");
    let output = Arc::new(Mutex::new(String::new()));
    let (address_tx, mut address_rx) = tokio::sync::mpsc::channel::<String>(1);
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let output = Arc::clone(&output);
        let address_tx = address_tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = address_tx.send(address).await;
                }
                output.lock().unwrap().push_str(&line);
                output.lock().unwrap().push('\n');
            }
        });
    }
    let address = tokio::time::timeout(PATIENCE, address_rx.recv())
        .await
        .expect("the server logs its address")
        .expect("address line");
    Server {
        child,
        base: format!("http://{address}"),
        output,
    }
}

/// Everything a client could see of one answer: status line, headers and body.
async fn observe(request: reqwest::RequestBuilder) -> String {
    let response = request.send().await.expect("server answers");
    let mut seen = format!("{}\n", response.status());
    for (name, value) in response.headers() {
        seen.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    seen.push_str(&response.text().await.unwrap_or_default());
    seen
}

fn assert_clean(what: &str, text: &str, tokens: &[String]) {
    for secret in SECRETS
        .iter()
        .copied()
        .chain(tokens.iter().map(String::as_str))
    {
        assert!(
            !text.contains(secret),
            "{what} contains the secret {secret:?}:\n{}",
            text.lines()
                .filter(|line| line.contains(secret))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Concrete paths for one OpenAPI path template: `{id}` becomes every gateway id, `{action}`
/// every control action, `{path}` a few representative tails (for `/gw/{id}/{path}`: every plain
/// route of the document, so each gateway's whole legacy surface is covered).
fn expand(template: &str, plain: &[String]) -> Vec<String> {
    let mut paths = vec![template.to_owned()];
    let mut substitute = |key: &str, values: Vec<String>| {
        paths = paths
            .iter()
            .flat_map(|path| {
                if path.contains(key) {
                    values.iter().map(|v| path.replacen(key, v, 1)).collect()
                } else {
                    vec![path.clone()]
                }
            })
            .collect();
    };
    substitute(
        "{id}",
        ["home", "cabin", "wrong", "sky", "fleet", "nowhere"]
            .map(String::from)
            .to_vec(),
    );
    substitute(
        "{action}",
        [
            "reserve",
            "mode",
            "grid_charging",
            "grid_export",
            "max_backup",
            "nope",
        ]
        .map(String::from)
        .to_vec(),
    );
    let tails: Vec<String> = if template.starts_with("/gw/") {
        plain
            .iter()
            .map(|path| path.trim_start_matches('/').to_owned())
            .collect()
    } else {
        [
            "status",
            "operation",
            "customer/registration",
            "nothing/here",
        ]
        .map(String::from)
        .to_vec()
    };
    substitute("{path}", tails);
    paths
}

/// Every GET path the server documents, expanded, plus query variants the document cannot show.
async fn every_get_path(client: &reqwest::Client, base: &str) -> Vec<String> {
    let document: serde_json::Value = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let templates: Vec<String> = document["paths"]
        .as_object()
        .expect("OpenAPI paths")
        .iter()
        .filter(|(path, item)| item.get("get").is_some() && !path.starts_with("/ws/"))
        .map(|(path, _)| path.clone())
        .collect();
    let plain: Vec<String> = templates
        .iter()
        .filter(|path| !path.contains('{'))
        .cloned()
        .collect();
    assert!(plain.len() > 80, "the document lists the routes: {plain:?}");
    let mut paths: Vec<String> = templates
        .iter()
        .flat_map(|template| expand(template, &plain))
        .collect();
    for name in PW_NAMES {
        paths.push(format!("/pw/{name}"));
    }
    paths.extend(PASSTHROUGH_PATHS.iter().map(|path| (*path).to_owned()));
    paths.extend(["/csv?headers", "/csv/v2?headers", "/?style=black"].map(String::from));
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_in_any_response_or_log_line() {
    let home = simulator(TopologyKind::Pw2).await;
    let cabin = simulator(TopologyKind::Pw3).await;
    let dir = tempfile::tempdir().unwrap();
    let sky_auth = dir.path().join("sky-auth");
    let mut tokens = cloud_login(&home, &sky_auth);
    let fleet_auth = dir.path().join("fleet-auth");
    home.set_fleet_knobs(FleetKnobs {
        client_secret: FLEET_CLIENT_SECRET.to_owned(),
        ..home.fleet_knobs()
    });
    common::fleet_login(&home, &fleet_auth);
    tokens.extend(fleet_tokens(&fleet_auth));
    let config = dir.path().join("gateways.yaml");
    let yaml = format!(
        "gateways:\n\
         \x20 - {{id: home, host: \"{home}\", password: \"{CUSTOMER_PASSWORD}\", email: \"{EMAIL}\"}}\n\
         \x20 - {{id: cabin, host: \"{cabin}\", gw_pwd: \"{GATEWAY_PASSWORD}\"}}\n\
         \x20 - {{id: wrong, host: \"{home}\", password: \"{WRONG_PASSWORD}\"}}\n\
         \x20 - {{id: sky, cloud_mode: true, email: \"{EMAIL}\", authpath: \"{sky}\"}}\n\
         \x20 - {{id: fleet, fleetapi: true, authpath: \"{fleet}\"}}\n",
        home = home.host(),
        cabin = cabin.host(),
        sky = sky_auth.display(),
        fleet = fleet_auth.display(),
    );
    std::fs::write(&config, yaml).unwrap();
    let mut server = start_server(&config, dir.path(), &home).await;
    let client = http();
    let mut seen = String::new();

    // Let every poller run (and the wrong gateway fail its login) before scanning.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let map: serde_json::Value = client
            .get(format!("{}/api/gateways/", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ready = map["home"]["online"] == true
            && map["cabin"]["online"] == true
            && map["sky"]["online"] == true
            && map["fleet"]["online"] == true
            && map["wrong"]["error"].is_string();
        if ready || tokio::time::Instant::now() > deadline {
            assert!(ready, "gateways not ready: {map}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let paths = every_get_path(&client, &server.base).await;
    assert!(paths.len() > 400, "{} paths", paths.len());
    for (index, path) in paths.iter().enumerate() {
        if index == paths.len() / 2 {
            // Halfway: the cloud's access token expires, the next cloud read refreshes it.
            home.expire_cloud_access_tokens();
        }
        seen.push_str(&observe(client.get(format!("{}{path}", server.base))).await);
    }

    // Control writes with the right and a wrong token, form and JSON, and the error answers.
    for token in [CONTROL_SECRET, WRONG_TOKEN] {
        for path in [
            "/control/reserve",
            "/api/gateways/home/control/reserve",
            "/api/gateways/sky/control/reserve",
            "/api/gateways/sky/control/grid_export",
            "/api/gateways/fleet/control/reserve",
        ] {
            let request = client
                .post(format!("{}{path}", server.base))
                .form(&[("value", "35"), ("token", token)]);
            seen.push_str(&observe(request).await);
        }
        let request = client
            .post(format!("{}/api/gateways/home/api/operation", server.base))
            .header("authorization", format!("Bearer {token}"))
            .json(&json!({"backup_reserve_percent": 36}));
        seen.push_str(&observe(request).await);
    }

    // WebSocket messages.
    let ws_base = server.base.replace("http://", "ws://");
    for path in [
        "/ws/aggregate",
        "/ws/aggregate?view=summary",
        "/ws/gateway/home",
        "/ws/gateway/wrong",
        "/ws/gateway/sky",
        "/ws/gateway/fleet",
    ] {
        let (mut stream, _) = tokio_tungstenite::connect_async(format!("{ws_base}{path}"))
            .await
            .expect("WebSocket connects");
        let message = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("a message")
            .expect("stream open")
            .expect("message");
        if let Message::Text(text) = message {
            seen.push_str(&text);
        }
    }

    assert!(seen.contains("\"home\""), "the scan saw gateway data");
    assert!(seen.contains("\"sky\""), "the scan saw the cloud gateway");
    assert!(seen.contains("\"fleet\""), "the scan saw the Fleet gateway");
    // The tokens the refresh put into the auth file are secrets too.
    let refreshed = files::read_auth(&sky_auth, EMAIL).unwrap().unwrap();
    tokens.push(refreshed.tokens.access_token.expose().to_owned());
    tokens.push(refreshed.tokens.refresh_token.expose().to_owned());
    assert_ne!(tokens[0], tokens[4], "the scan refreshed the cloud token");
    tokens.extend(fleet_tokens(&fleet_auth));
    assert_clean("responses", &seen, &tokens);
    // Give the server a moment to log the answers to the writes, then scan its output.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.child.kill().await.unwrap();
    let output = server.output.lock().unwrap().clone();
    assert!(
        output.contains("DEBUG") || output.contains("debug"),
        "debug logs were captured"
    );
    assert!(output.lines().count() > 20, "{output}");
    assert_clean("log output", &output, &tokens);
}
