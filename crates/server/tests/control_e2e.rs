//! End to end: the control routes (proxy-api §6.8, §13.7 rules 47–59 and 62) against the simulator
//! over loopback, in local mode (writes reach the simulator) and in TEDAPI mode (POSTs refused).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use powerwall_gateway::DataKind;
use powerwall_server::RunningServer;
use powerwall_simulator::SimulatorHandle;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "test-secret";
const DISABLED: &str = "Control Commands Disabled - Set PW_CONTROL_SECRET to enable";
const INVALID_REQUEST: &str = "Control Command Error: Invalid Request";
const NO_BACKEND: &str = "Control Command Error: Unable to connect to cloud mode - Run Setup";
const VALUE_INVALID: &str = "Control Command Value Invalid";
const MAX_BACKUP: &str = "max_backup requires v1r LAN transport";

/// A local-mode server with control on.
async fn control_server(sim: &SimulatorHandle) -> (RunningServer, tempfile::TempDir) {
    server(&sim.host(), "password", &["--control-secret", SECRET]).await
}

/// POSTs a form body with its `Content-Length` (explicit for an empty body, which reqwest would
/// otherwise send without one); answers status and JSON.
async fn post_form(server: &RunningServer, path: &str, body: &str) -> (u16, Value) {
    let response = http()
        .post(format!("http://{}{}", server.addr(), path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", body.len().to_string())
        .body(body.to_owned())
        .send()
        .await
        .expect("server answers");
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("*".to_owned()),
        "{path}"
    );
    let text = response.text().await.expect("body");
    let json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, json)
}

/// Sends raw bytes as one HTTP/1.1 request (for framings reqwest will not produce); answers the
/// status and the body after the headers.
async fn raw_request(server: &RunningServer, request: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("server answers in time")
        .expect("read");
    let text = String::from_utf8_lossy(&received).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `POST /api/operation` requests the simulator has seen.
async fn operation_posts(sim: &SimulatorHandle) -> u64 {
    count(&sim_json(sim, "/test/counter").await, "POST /api/operation")
}

/// The simulator's current raw reserve and mode.
async fn sim_operation(sim: &SimulatorHandle) -> (f64, String) {
    let state = sim_json(sim, "/test/state").await;
    (
        state["reserve_raw_pct"].as_f64().unwrap(),
        state["real_mode"].as_str().unwrap().to_owned(),
    )
}

/// The proxy's `posts` and `errors` counters.
async fn posts_errors(server: &RunningServer) -> (u64, u64) {
    let health = get_json(server, "/health").await;
    (
        health["proxy_stats"]["total_posts"].as_u64().unwrap(),
        health["proxy_stats"]["total_errors"].as_u64().unwrap(),
    )
}

fn app_reserve(raw: f64) -> f64 {
    (raw / 0.95 - 5.0 / 0.95).max(0.0)
}

fn error(message: &str) -> Value {
    json!({ "error": message })
}

/// Waits until the server's snapshot carries `/api/operation` (reserve no longer the default 0).
async fn wait_for_operation(server: &RunningServer) {
    eventually("the operation document in the snapshot", || async {
        let body = get_json(server, "/control/reserve").await;
        (body["reserve"].as_f64().unwrap_or(0.0) > 0.0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_47_control_is_off_without_a_secret() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &[]).await;
    for action in [
        "reserve",
        "mode",
        "grid_charging",
        "grid_export",
        "max_backup",
        "foo",
    ] {
        let (status, body) = get(&server, &format!("/control/{action}")).await;
        assert_eq!(status, 200, "{action}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            error(DISABLED)
        );
        let (status, body) = post_form(
            &server,
            &format!("/control/{action}"),
            &format!("value=50&token={SECRET}"),
        )
        .await;
        assert_eq!((status, body), (400, error(DISABLED)), "{action}");
    }
    assert_eq!(
        operation_posts(&sim).await,
        0,
        "the gateway receives no write"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_48_49_reads_and_a_reserve_write_reach_the_gateway() {
    let sim = simulator().await;
    let (server, _dir) = control_server(&sim).await;
    wait_for_operation(&server).await;

    // Rule 48: reads need no token.
    let (raw, mode) = sim_operation(&sim).await;
    assert_eq!(
        get_json(&server, "/control/reserve").await,
        json!({ "reserve": app_reserve(raw) })
    );
    assert_eq!(
        get_json(&server, "/control/reserve/").await["reserve"],
        json!(app_reserve(raw))
    );
    assert_eq!(
        get_json(&server, "/control/mode").await,
        json!({ "mode": mode })
    );
    assert_eq!(
        get_json(&server, "/control/grid_charging").await,
        json!({ "grid_charging": false })
    );
    assert_eq!(
        get_json(&server, "/control/grid_export").await,
        json!({ "grid_export": "unknown" })
    );
    // §15 item 18: an unknown action is answered here, not forwarded.
    assert_eq!(
        get_json(&server, "/control/foo").await,
        error("Invalid Command Action")
    );

    // Rule 49: one write of 50 (sent unchanged: the local field is raw scale).
    let (status, body) = post_form(
        &server,
        "/control/reserve",
        &format!("value=50&token={SECRET}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["backup_reserve_percent"],
        json!(50),
        "the gateway's own answer: {body}"
    );
    assert_eq!(body["real_mode"], json!(mode), "mode back-filled: {body}");
    assert_eq!(operation_posts(&sim).await, 1);
    assert_eq!(sim_operation(&sim).await, (50.0, mode.clone()));
    // A GET right after the POST shows the new value.
    assert_eq!(
        get_json(&server, "/control/reserve").await,
        json!({ "reserve": app_reserve(50.0) })
    );
    let document = server.gateway().fetch(DataKind::Operation).await.unwrap();
    assert_eq!(document["backup_reserve_percent"], json!(50));

    // An empty value reads.
    let (status, body) = post_form(
        &server,
        "/control/reserve",
        &format!("value=&token={SECRET}"),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({ "reserve": app_reserve(50.0) }))
    );
    let (status, body) = post_form(&server, "/control/mode", &format!("token={SECRET}")).await;
    assert_eq!((status, body), (200, json!({ "mode": mode })));
    assert_eq!(operation_posts(&sim).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_50_58_bad_tokens_are_401_and_write_nothing() {
    let sim = simulator().await;
    let (server, _dir) = control_server(&sim).await;
    let before = posts_errors(&server).await;
    let unauthorized = json!({ "unauthorized": "Control Command Token Invalid" });
    for body in [
        "value=50",
        "value=50&token=",
        "value=50&token=wrong",
        "value=50&token=test-secre",
        "value=50&token=test-secret2",
        "value=50&token=%C3%A9%F0%9F%94%92",
        "value=50&token=\u{e9}\u{1f512}",
    ] {
        let (status, answer) = post_form(&server, "/control/reserve", body).await;
        assert_eq!((status, &answer), (401, &unauthorized), "{body}");
    }
    // Rule 58: the query string is ignored.
    let (status, answer) = post_form(
        &server,
        &format!("/control/reserve?value=50&token={SECRET}"),
        "",
    )
    .await;
    assert_eq!((status, answer), (401, unauthorized));
    assert_eq!(operation_posts(&sim).await, 0);
    // Rule 62: 401s change neither counter.
    assert_eq!(posts_errors(&server).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_51_52_53_combined_writes_and_validation() {
    let sim = simulator().await;
    let (server, _dir) = control_server(&sim).await;
    wait_for_operation(&server).await;

    // Rule 51: one combined write each.
    let (status, body) = post_form(
        &server,
        "/control/reserve",
        &format!("value=40&mode=backup&token={SECRET}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(operation_posts(&sim).await, 1);
    assert_eq!(sim_operation(&sim).await, (40.0, "backup".to_owned()));
    let (status, body) = post_form(
        &server,
        "/control/mode",
        &format!("value=autonomous&level=30&token={SECRET}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(operation_posts(&sim).await, 2);
    assert_eq!(sim_operation(&sim).await, (30.0, "autonomous".to_owned()));
    assert_eq!(
        get_json(&server, "/control/mode").await,
        json!({ "mode": "autonomous" })
    );
    // A mode alone keeps the reserve (full-overwrite back-fill).
    let (status, body) = post_form(
        &server,
        "/control/mode",
        &format!("value=self_consumption&token={SECRET}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(operation_posts(&sim).await, 3);
    assert_eq!(
        sim_operation(&sim).await,
        (30.0, "self_consumption".to_owned())
    );
    assert_eq!(
        get_json(&server, "/control/mode").await,
        json!({ "mode": "self_consumption" })
    );

    // Rules 52 and 53: refused without a gateway call.
    let cases = [
        (
            "/control/reserve",
            "value=5&mode=garbage",
            "Control Command Mode Invalid",
        ),
        (
            "/control/mode",
            "value=backup&level=x",
            "Control Command Level Invalid",
        ),
        (
            "/control/mode",
            "value=backup&level=101",
            "Control Command Level Invalid",
        ),
        ("/control/reserve", "value=abc", VALUE_INVALID),
        ("/control/reserve", "value=-5", VALUE_INVALID),
        ("/control/reserve", "value=50.5", VALUE_INVALID),
        ("/control/reserve", "value=101", VALUE_INVALID),
        ("/control/reserve", "value=%C2%B2", VALUE_INVALID),
        ("/control/mode", "value=Backup", VALUE_INVALID),
    ];
    for (path, form, message) in cases {
        let (status, body) = post_form(&server, path, &format!("{form}&token={SECRET}")).await;
        assert_eq!((status, body), (400, error(message)), "{path} {form}");
    }
    assert_eq!(operation_posts(&sim).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_54_55_grid_settings_and_backend_failures() {
    let sim = simulator().await;
    let (server, _dir) = control_server(&sim).await;
    wait_for_operation(&server).await;
    let post = |path: &'static str, form: &'static str| {
        let server = &server;
        async move { post_form(server, path, &format!("{form}&token={SECRET}")).await }
    };

    // Rule 54 value checks; the local API has no grid-charging or export write (rule 55 text).
    assert_eq!(
        post("/control/grid_charging", "value=yes").await,
        (400, error(VALUE_INVALID))
    );
    assert_eq!(
        post("/control/grid_export", "value=always").await,
        (400, error(VALUE_INVALID))
    );
    assert_eq!(
        post("/control/grid_charging", "value=TRUE").await,
        (400, error("Failed to set grid_charging"))
    );
    assert_eq!(
        post("/control/grid_export", "value=PV_ONLY").await,
        (400, error("Failed to set grid_export"))
    );
    // Empty values read, as valid JSON (§15 item 12).
    assert_eq!(
        post("/control/grid_export", "value=").await,
        (200, json!({ "grid_export": "unknown" }))
    );
    assert_eq!(
        post("/control/grid_charging", "value=").await,
        (200, json!({ "grid_charging": false }))
    );

    // Rule 55: the gateway fails every /api/operation request.
    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "/api/operation", "kind": "status", "status": 500}),
    )
    .await;
    assert_eq!(
        post("/control/reserve", "value=20").await,
        (400, error("Failed to set reserve"))
    );
    assert_eq!(
        post("/control/mode", "value=backup").await,
        (400, error("Failed to set mode"))
    );
    assert_eq!(
        post("/control/reserve", "value=20&mode=backup").await,
        (400, error("Failed to set reserve+mode"))
    );
    assert_eq!(
        post("/control/mode", "value=backup&level=20").await,
        (400, error("Failed to set reserve+mode"))
    );
    sim_get(&sim, "/test/faults/clear").await;
    let (raw, mode) = sim_operation(&sim).await;
    assert_ne!(raw, 20.0);
    assert_ne!(mode, "backup");

    // After the fault the write path works again.
    assert_eq!(post("/control/reserve", "value=20").await.0, 200);
    assert_eq!(sim_operation(&sim).await.0, 20.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_56_57_59_paths_and_body_limits() {
    let sim = simulator().await;
    let (server, _dir) = control_server(&sim).await;
    let token = format!("value=50&token={SECRET}");

    // Rule 56.
    assert_eq!(
        post_form(&server, "/control/bogus", &token).await,
        (400, error("Invalid Command Action"))
    );
    assert_eq!(
        post_form(&server, "/control", &token).await,
        (400, error(INVALID_REQUEST))
    );
    assert_eq!(
        post_form(&server, "/control/", &token).await,
        (400, error(INVALID_REQUEST))
    );
    // §15 item 4: only /control/<action>.
    assert_eq!(
        post_form(&server, "/control/reserve/extra", &token).await,
        (400, error(INVALID_REQUEST))
    );

    // Rule 57: too large, no Content-Length, chunked, not UTF-8.
    let padded = format!("{token}&pad={}", "x".repeat(8192));
    assert_eq!(
        post_form(&server, "/control/reserve", &padded).await,
        (400, error(INVALID_REQUEST))
    );
    let no_length = format!(
        "POST /control/reserve HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{token}"
    );
    let chunked = format!(
        "POST /control/reserve HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{token}\r\n0\r\n\r\n",
        token.len()
    );
    let mut not_utf8 = format!(
        "POST /control/reserve HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        token.len() + 2
    )
    .into_bytes();
    not_utf8.extend_from_slice(token.as_bytes());
    not_utf8.extend_from_slice(&[b'&', 0xff]);
    for request in [no_length.into_bytes(), chunked.into_bytes(), not_utf8] {
        let (status, body) = raw_request(&server, &request).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            error(INVALID_REQUEST)
        );
    }
    // A well-formed raw request of the same shape succeeds (the framing above was the problem).
    let good = format!(
        "POST /control/reserve HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{token}",
        token.len()
    );
    assert_eq!(raw_request(&server, good.as_bytes()).await.0, 200);
    assert_eq!(
        operation_posts(&sim).await,
        1,
        "only the good request wrote"
    );

    // Rule 59.
    let (status, body) = get(&server, "/control/max_backup").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        error(MAX_BACKUP)
    );
    for form in ["value=3600", "value=cancel", "value="] {
        assert_eq!(
            post_form(
                &server,
                "/control/max_backup",
                &format!("{form}&token={SECRET}")
            )
            .await,
            (400, error(MAX_BACKUP)),
            "{form}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_62_counters_follow_the_status() {
    let sim = simulator().await;
    let (server, _dir) = control_server(&sim).await;
    wait_for_operation(&server).await;
    let cases: [(&str, String, u16, (u64, u64)); 5] = [
        (
            "/control/reserve",
            format!("value=60&token={SECRET}"),
            200,
            (1, 0),
        ),
        (
            "/control/reserve",
            format!("value=&token={SECRET}"),
            200,
            (1, 0),
        ),
        (
            "/control/reserve",
            format!("value=abc&token={SECRET}"),
            400,
            (0, 1),
        ),
        (
            "/control/bogus",
            format!("value=1&token={SECRET}"),
            400,
            (0, 1),
        ),
        (
            "/control/reserve",
            "value=60&token=nope".to_owned(),
            401,
            (0, 0),
        ),
    ];
    for (path, form, expected_status, (posts, errors)) in cases {
        let before = posts_errors(&server).await;
        let (status, _) = post_form(&server, path, &form).await;
        assert_eq!(status, expected_status, "{path}");
        let after = posts_errors(&server).await;
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (posts, errors),
            "{path} {expected_status}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tedapi_mode_refuses_writes_but_reads() {
    let sim = simulator().await;
    let (server, _dir) =
        tedapi_server(&sim.host(), "ABCDEFGHIJ", &["--control-secret", SECRET]).await;
    // Checked before the token: a wrong token gets the same answer.
    for token in [SECRET, "wrong"] {
        assert_eq!(
            post_form(
                &server,
                "/control/reserve",
                &format!("value=50&token={token}")
            )
            .await,
            (400, error(NO_BACKEND))
        );
    }
    assert_eq!(
        post_form(
            &server,
            "/control/mode",
            &format!("value=backup&token={SECRET}")
        )
        .await,
        (400, error(NO_BACKEND))
    );
    assert_eq!(operation_posts(&sim).await, 0);

    // Reads still work from the snapshot and the TEDAPI config.
    wait_for_operation(&server).await;
    let (raw, mode) = sim_operation(&sim).await;
    let reserve = get_json(&server, "/control/reserve").await["reserve"]
        .as_f64()
        .unwrap();
    assert!(
        (reserve - app_reserve(raw)).abs() < 1e-6,
        "{reserve} vs raw {raw}"
    );
    assert_eq!(
        get_json(&server, "/control/mode").await,
        json!({ "mode": mode })
    );
    let charging = get_json(&server, "/control/grid_charging").await;
    assert!(charging["grid_charging"].is_boolean(), "{charging}");
    let export = get_json(&server, "/control/grid_export").await;
    let rule = export["grid_export"].as_str().unwrap();
    assert!(
        ["battery_ok", "pv_only", "never"].contains(&rule),
        "{export}"
    );
}
