//! `/openapi.json` and `/docs` over plain HTTP against the simulator: the document parses, names
//! the important routes, and every parameterless GET it lists answers (no 404) on a running server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{get, get_json, server, server_with, simulator};
use serde_json::Value;

/// Routes clients rely on; the document must list each (method, path).
const IMPORTANT: [(&str, &str); 34] = [
    ("get", "/"),
    ("get", "/console"),
    ("get", "/docs"),
    ("get", "/openapi.json"),
    ("get", "/example.html"),
    ("get", "/aggregates"),
    ("get", "/api/meters/aggregates"),
    ("get", "/soe"),
    ("get", "/csv"),
    ("get", "/csv/v2"),
    ("get", "/json"),
    ("get", "/vitals"),
    ("get", "/strings"),
    ("get", "/temps/pw"),
    ("get", "/alerts/pw"),
    ("get", "/fans/pw"),
    ("get", "/pod"),
    ("get", "/freq"),
    ("get", "/version"),
    ("get", "/health"),
    ("get", "/stats"),
    ("get", "/pw/level"),
    ("get", "/pw/get_time_remaining"),
    ("get", "/api/status"),
    ("get", "/api/operation"),
    ("get", "/tedapi/config"),
    ("get", "/control/reserve"),
    ("post", "/control/{action}"),
    ("get", "/api/gateways/"),
    ("get", "/api/gateways/{id}"),
    ("post", "/api/gateways/{id}/control/{action}"),
    ("get", "/gw/{id}/{path}"),
    ("get", "/api/aggregate/"),
    ("get", "/ws/aggregate"),
];

/// The parameterless, non-WebSocket GET paths of the document.
fn plain_gets(doc: &Value) -> Vec<String> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, item)| {
            !path.contains('{')
                && item["get"].is_object()
                && item["get"]["x-websocket"] != Value::Bool(true)
        })
        .map(|(path, _)| path.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_the_routes_and_every_plain_get_answers() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &["--control-secret", "s3cret"]).await;
    let doc = get_json(&server, "/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], "/");
    for (method, path) in IMPORTANT {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    assert!(doc["paths"]["/ws/gateway/{id}"]["get"]["x-websocket"] == Value::Bool(true));
    let gets = plain_gets(&doc);
    assert!(gets.len() > 80, "only {} plain GETs", gets.len());
    for path in &gets {
        let (status, _) = get(&server, path).await;
        assert_ne!(status, 404, "GET {path}");
        assert!(status < 500, "GET {path}: {status}");
    }
    let (status, html) = get(&server, "/docs").await;
    assert_eq!(status, 200);
    assert!(html.contains("ui/docs.js") && !html.contains("<base"));
    assert!(html.contains("<script src=\"ui/common.js\">"));
    assert!(
        gets.iter().any(|path| path == "/ui/common.js"),
        "the shared script is documented"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_base_path_the_document_names_it_as_server() {
    let sim = simulator().await;
    let (server, _dir) = server_with(&[
        "--host",
        &sim.host(),
        "--password",
        "password",
        "--proxy-base-url",
        "/pwp/",
    ])
    .await;
    let doc = get_json(&server, "/pwp/openapi.json").await;
    assert_eq!(doc["servers"][0]["url"], "/pwp");
    let (status, html) = get(&server, "/pwp/docs").await;
    assert_eq!(status, 200);
    assert!(html.contains("<base href=\"/pwp/\">"), "{html}");
    let (status, _) = get(&server, "/pwp/ui/docs.js").await;
    assert_eq!(status, 200);
    let (status, _) = get(&server, "/pwp/ui/common.js").await;
    assert_eq!(status, 200);
}
