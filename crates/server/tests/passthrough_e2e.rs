//! End to end: gateway passthrough, backend families, the catch-all, method rules, base URL and
//! PW_HTTPS, against the simulator on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use clap::Parser;
use common::*;
use powerwall_server::RunningServer;
use powerwall_server::settings::{Cli, Settings};
use powerwall_simulator::SimulatorHandle;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Paths the local-mode poll plan reads anyway (the poller may add requests for them).
const POLLED: [&str; 5] = [
    "/api/status",
    "/api/site_info/site_name",
    "/api/system_status",
    "/api/operation",
    "/api/solar_powerwall",
];

/// A server with a long poll period (30 s), so on-demand windows cover a whole test.
async fn start(gateway: &[&str], extra: &[&str]) -> (RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache_file = dir.path().join(".powerwall").display().to_string();
    let mut args = vec![
        "powerwall-server",
        "--email",
        "me@example.com",
        "--bind-address",
        "127.0.0.1",
        "--port",
        "0",
        "--cache-expire",
        "30",
        "--cache-file",
        &cache_file,
    ];
    args.extend_from_slice(gateway);
    args.extend_from_slice(extra);
    let settings =
        Settings::from_cli(Cli::try_parse_from(args).expect("cli parses")).expect("settings");
    let server = powerwall_server::start(settings)
        .await
        .expect("server starts");
    (server, dir)
}

async fn local(sim: &SimulatorHandle, extra: &[&str]) -> (RunningServer, tempfile::TempDir) {
    let host = sim.host();
    start(&["--host", &host, "--password", "password"], extra).await
}

async fn tedapi(sim: &SimulatorHandle, extra: &[&str]) -> (RunningServer, tempfile::TempDir) {
    let host = sim.host();
    let gw_pwd = sim.config().gateway_password.clone();
    start(&["--host", &host, "--gw-pwd", &gw_pwd], extra).await
}

/// One answer: status, headers, body.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn request(server: &RunningServer, method: reqwest::Method, path: &str) -> Answer {
    let url = format!("{}{}", server.base_url(), path);
    let response = http()
        .request(method, url)
        .send()
        .await
        .expect("server answers");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

async fn fetch(server: &RunningServer, path: &str) -> Answer {
    request(server, reqwest::Method::GET, path).await
}

/// Sends `target` byte for byte (no client-side normalisation) and returns the whole answer.
async fn raw_get(server: &RunningServer, target: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("answer in time")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

async fn counter(sim: &SimulatorHandle) -> Value {
    sim_json(sim, "/test/counter").await
}

async fn reset_counter(sim: &SimulatorHandle) {
    sim_get(sim, "/test/counter/reset").await;
}

/// Every counted `METHOD /path` key containing `needle`.
fn keys_with(counter: &Value, needle: &str) -> Vec<String> {
    counter["by_path"]
        .as_object()
        .map(|paths| {
            paths
                .keys()
                .filter(|key| key.contains(needle))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

async fn add_fault(sim: &SimulatorHandle, fault: Value) {
    sim_post(sim, "/test/faults", fault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlist_paths_are_relayed_once_each_without_the_query() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &[]).await;
    reset_counter(&sim).await;
    for round in 0..2 {
        for path in PASSTHROUGH_PATHS {
            let answer = fetch(&server, path).await;
            assert_eq!(answer.status, 200, "{path}");
            assert_eq!(answer.header("content-type"), "application/json", "{path}");
            assert_eq!(answer.header("access-control-allow-origin"), "*", "{path}");
            let body = answer.json();
            // The simulator's `/api/meters/solar` document is JSON `null`, like a real gateway's.
            if path != "/api/meters/solar" {
                assert!(
                    !body.is_null(),
                    "{path} (round {round}) relays the gateway's JSON"
                );
            }
            if body.as_object().is_some_and(|o| !o.is_empty()) {
                assert!(answer.body.contains("\": "), "Python separators: {path}");
            }
        }
    }
    let seen = counter(&sim).await;
    for path in PASSTHROUGH_PATHS {
        let n = count(&seen, &format!("GET {path}"));
        if POLLED.contains(&path) {
            assert!(n >= 1, "{path}: {n}");
        } else {
            assert_eq!(n, 1, "{path} is read once per freshness window");
        }
    }

    // The query is matched away and never sent upstream.
    let plain = fetch(&server, "/api/sitemaster").await.json();
    let with_query = fetch(&server, "/api/sitemaster?x=1").await.json();
    assert_eq!(plain, with_query);
    let status = fetch(&server, "/api/status?x=1").await.json();
    assert_eq!(status["din"], "1232100-00-E--TG123456789ABC");
    let seen = counter(&sim).await;
    assert!(keys_with(&seen, "?").is_empty(), "{seen}");
    assert_eq!(count(&seen, "GET /api/sitemaster"), 1);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_constant_paths_never_reach_the_gateway() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &[]).await;
    reset_counter(&sim).await;
    for path in [
        "/api/customer/registration",
        "/api/customer/registration?x=1",
    ] {
        let answer = fetch(&server, path).await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.json(),
            json!({"status": "404 Response - API Disabled"})
        );
    }
    let problems = fetch(&server, "/api/troubleshooting/problems").await;
    assert_eq!(problems.body, r#"{"problems": []}"#);
    for path in [
        "/api/config",
        "/api/config?x=1",
        "/%61pi/config",
        "/api/devices/vitals",
    ] {
        let answer = fetch(&server, path).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.body, "Not Found", "{path}");
        assert_eq!(answer.header("content-type"), "text/plain", "{path}");
        assert_eq!(answer.header("cache-control"), "no-cache, no-store");
        assert_eq!(answer.header("content-length"), "9");
        assert!(answer.headers.get("access-control-allow-origin").is_none());
        let cookies: Vec<_> = answer.headers.get_all("set-cookie").iter().collect();
        assert_eq!(
            cookies,
            [
                "AuthCookie=1234567890;path=/;",
                "UserRecord=1234567890;path=/;"
            ]
        );
    }
    let seen = counter(&sim).await;
    for needle in ["registration", "problems", "/api/config", "/pi/config"] {
        assert!(keys_with(&seen, needle).is_empty(), "{needle}: {seen}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_families_in_local_mode() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &[]).await;
    for path in ["/tedapi", "/tedapi/", "/tedapi/config", "/tedapix?y=2"] {
        let body = fetch(&server, path).await.json();
        assert_eq!(body, json!({"error": "TEDAPI not enabled"}), "{path}");
    }
    for path in ["/cloud", "/cloud/battery", "/cloudy"] {
        let body = fetch(&server, path).await.json();
        assert_eq!(body, json!({"error": "Cloud API not enabled"}), "{path}");
    }
    for path in ["/fleetapi", "/fleetapi/info", "/fleetapi/status?x"] {
        let body = fetch(&server, path).await.json();
        assert_eq!(body, json!({"error": "FleetAPI not enabled"}), "{path}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tedapi_family_and_synthesised_api_in_tedapi_mode() {
    let sim = simulator().await;
    let (server, _dir) = tedapi(&sim, &[]).await;
    let usage = json!({"error": "Use /tedapi/config, /tedapi/status, /tedapi/components, /tedapi/battery, /tedapi/controller"});
    for path in ["/tedapi", "/tedapi/", "/tedapi/foo"] {
        assert_eq!(fetch(&server, path).await.json(), usage, "{path}");
    }
    let config = eventually("/tedapi/config", || async {
        let body = fetch(&server, "/tedapi/config?x=1").await.json();
        body.is_object().then_some(body)
    })
    .await;
    assert!(config.get("battery_blocks").is_some(), "{config}");
    let status = fetch(&server, "/tedapi/status").await.json();
    assert!(status.is_object(), "{status}");
    // Rule 41: the TEDAPI persona's fixed answers.
    assert_eq!(fetch(&server, "/api/networks").await.body, r#""TIMEOUT!""#);
    assert_eq!(
        fetch(&server, "/api/system/networks").await.json(),
        json!({"ERROR": "Unknown API: /api/system/networks"})
    );
    // No web passthrough without the local API.
    reset_counter(&sim).await;
    let answer = fetch(&server, "/foo").await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "Not Found"));
    assert_eq!(count(&counter(&sim).await, "GET /foo"), 0);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_passthrough_requests_share_one_upstream_read() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &[]).await;
    // The sitemaster answer is slow, so every caller arrives while the read is under way.
    add_fault(
        &sim,
        json!({"path": "/api/sitemaster", "kind": "delay", "delay_ms": 500, "times": 1}),
    )
    .await;
    reset_counter(&sim).await;
    let callers = (0..20).map(|_| fetch(&server, "/api/sitemaster"));
    let answers = futures_util::future::join_all(callers).await;
    assert!(answers.iter().all(|a| a.status == 200));
    let first = answers[0].json();
    assert!(!first.is_null());
    assert!(answers.iter().all(|a| a.json() == first));
    // And again within the window: still the one read.
    fetch(&server, "/api/sitemaster").await;
    assert!(count(&counter(&sim).await, "GET /api/sitemaster") <= 1);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_failures_hold_requests_back() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &[]).await;
    // Rule 77: a 404 and a 503 are not asked again.
    add_fault(
        &sim,
        json!({"path": "/api/installer", "kind": "status", "status": 404, "times": 1}),
    )
    .await;
    add_fault(
        &sim,
        json!({"path": "/api/solars", "kind": "status", "status": 503, "times": 1}),
    )
    .await;
    reset_counter(&sim).await;
    for _ in 0..3 {
        assert_eq!(fetch(&server, "/api/installer").await.body, "null");
        assert_eq!(fetch(&server, "/api/solars").await.body, "null");
    }
    let seen = counter(&sim).await;
    assert_eq!(count(&seen, "GET /api/installer"), 1);
    assert_eq!(count(&seen, "GET /api/solars"), 1);

    // Rule 76: a 429 stops every request to the gateway.
    add_fault(
        &sim,
        json!({"path": "/api/powerwalls", "kind": "status", "status": 429, "retry_after": 300, "times": 1}),
    )
    .await;
    assert_eq!(fetch(&server, "/api/powerwalls").await.body, "null");
    tokio::time::sleep(Duration::from_millis(300)).await;
    reset_counter(&sim).await;
    for path in ["/api/powerwalls", "/api/meters", "/api/customer", "/foo"] {
        let answer = fetch(&server, path).await;
        assert_eq!(answer.status, 200, "{path}");
    }
    let seen = counter(&sim).await;
    assert_eq!(seen["api_total"], 0, "{seen}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_fetched_from_the_gateway_without_credentials() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &["--browser-cache", "3600"]).await;
    // Let the poller log in first, so a session exists that must not be used.
    eventually("a first poll", || async {
        (count(&counter(&sim).await, "POST /api/login/Basic") > 0).then_some(())
    })
    .await;
    sim_get(&sim, "/test/counter/reset").await;
    let answer = fetch(&server, "/foo?bar=1").await;
    assert_eq!(answer.status, 200);
    // The simulator's own 404 document, relayed with its content type (status dropped).
    assert_eq!(answer.header("content-type"), "application/json");
    assert!(
        answer.body.contains("404") || !answer.body.is_empty(),
        "{}",
        answer.body
    );
    assert_eq!(answer.header("cache-control"), "no-cache, no-store");
    assert!(answer.headers.get("access-control-allow-origin").is_none());
    assert_eq!(answer.headers.get_all("set-cookie").iter().count(), 2);
    let log = sim_json(&sim, "/test/requests").await;
    let relayed: Vec<&Value> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"] == "/foo")
        .collect();
    assert_eq!(relayed.len(), 1, "{log}");
    assert_eq!(relayed[0]["auth"], "none", "no credentials: {log}");
    assert_eq!(relayed[0]["query"], "bar=1");
    // Reused within its window.
    fetch(&server, "/foo?bar=1").await;
    assert_eq!(count(&counter(&sim).await, "GET /foo?bar=1"), 1);
    assert_eq!(server.gateway().target(), sim.host());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal_never_reaches_anything() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &[]).await;
    reset_counter(&sim).await;
    for target in [
        "/../server.py",
        "/%2e%2e/server.py",
        "/%2E%2E%2Fserver.py",
        "/..%2fserver.py",
        "/a/../../server.py",
        "/%252e%252e/server.py",
        "/..\\server.py",
    ] {
        let answer = raw_get(&server, target).await;
        if answer.starts_with("HTTP/1.1 400") {
            continue; // refused by the HTTP layer: fine as well
        }
        assert!(answer.starts_with("HTTP/1.1 200"), "{target}: {answer}");
        assert!(answer.ends_with("\r\n\r\nNot Found"), "{target}: {answer}");
    }
    let seen = counter(&sim).await;
    assert!(keys_with(&seen, "server.py").is_empty(), "{seen}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_head_and_post() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &[]).await;
    for path in ["/aggregates", "/api/status", "/foo", "/tedapi"] {
        let answer = request(&server, reqwest::Method::POST, path).await;
        assert_eq!(answer.status, 400, "{path}");
        assert_eq!(answer.json(), json!({"error": "Invalid Request"}));
        assert_eq!(answer.header("access-control-allow-origin"), "*");
    }
    for method in ["PUT", "DELETE", "PATCH"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = request(&server, method.clone(), "/api/status").await;
        assert_eq!(answer.status, 405, "{method}");
        assert_eq!(answer.header("allow"), "GET, HEAD, POST, OPTIONS");
    }
    let options = request(&server, reqwest::Method::OPTIONS, "/api/status").await;
    assert_eq!(options.status, 204);
    // `/version` changes once the first status read lands; compare GET and HEAD after that.
    eventually("firmware in /version", || async {
        let version = get_json(&server, "/version").await;
        version["version"].is_string().then_some(())
    })
    .await;
    for path in ["/api/troubleshooting/problems", "/api/config", "/version"] {
        let get = fetch(&server, path).await;
        let head = request(&server, reqwest::Method::HEAD, path).await;
        assert_eq!(head.status, 200, "{path}");
        assert!(head.body.is_empty(), "{path}");
        assert_eq!(head.header("content-type"), get.header("content-type"));
        assert_eq!(
            head.header("content-length"),
            get.body.len().to_string(),
            "{path}"
        );
    }
    // Keep-alive: a HEAD in the middle of a reused connection leaves it usable.
    let client = http();
    for path in ["/api/config", "/api/troubleshooting/problems"] {
        let url = format!("{}{}", server.base_url(), path);
        client.head(&url).send().await.unwrap();
        let body = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert!(!body.is_empty());
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_url_prefix_serves_the_same_routes() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &["--proxy-base-url", "/pwp"]).await;
    for path in [
        "/api/sitemaster",
        "/api/troubleshooting/problems",
        "/tedapi/config",
        "/api/config",
    ] {
        let bare = fetch(&server, path).await;
        let prefixed = fetch(&server, &format!("/pwp{path}")).await;
        assert_eq!(bare.body, prefixed.body, "{path}");
        assert_eq!(prefixed.status, 200);
    }
    reset_counter(&sim).await;
    let relayed = fetch(&server, "/pwp/foo").await;
    assert_eq!(relayed.header("content-type"), "application/json");
    let seen = counter(&sim).await;
    assert_eq!(count(&seen, "GET /foo"), 1, "{seen}");
    assert!(keys_with(&seen, "pwp").is_empty(), "{seen}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_yes_serves_tls_and_marks_cookies_secure() {
    let sim = simulator().await;
    let (server, _dir) = local(&sim, &["--https", "yes"]).await;
    assert_eq!(server.scheme(), "https");
    let answer = fetch(&server, "/api/troubleshooting/problems").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, r#"{"problems": []}"#);
    let refused = fetch(&server, "/api/config").await;
    let cookies: Vec<_> = refused.headers.get_all("set-cookie").iter().collect();
    assert_eq!(
        cookies,
        [
            "AuthCookie=1234567890;path=/;SameSite=None;Secure;",
            "UserRecord=1234567890;path=/;SameSite=None;Secure;"
        ]
    );
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = http()
        .get(format!(
            "http://{}/api/troubleshooting/problems",
            server.addr()
        ))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));
    server.shutdown().await.unwrap();

    let (plain_server, _dir) = local(&sim, &["--https", "http"]).await;
    assert_eq!(plain_server.scheme(), "http");
    let refused = fetch(&plain_server, "/api/config").await;
    assert!(
        refused
            .header("set-cookie")
            .ends_with("path=/;SameSite=None;Secure;")
    );
    plain_server.shutdown().await.unwrap();
}
