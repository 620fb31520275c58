//! The route table against the routers' own lists, and the OpenAPI document's shape.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use serde_json::Value;

use super::openapi::document;
use super::table::{PW_PATHS, Verb, routes};
use crate::engine::render::is_rendered_route;
use crate::routes::data::JSON_ROUTES;
use crate::routes::passthrough::api::ALLOWLIST;

fn documented(verb: Verb, path: &str) -> bool {
    routes()
        .iter()
        .any(|route| route.verb == verb && route.path == path)
}

#[test]
fn every_data_route_and_passthrough_path_is_documented() {
    for path in JSON_ROUTES.iter().chain(ALLOWLIST.iter()) {
        assert!(documented(Verb::Get, path), "{path} missing");
    }
    for path in ["/csv", "/csv/v2", "/pw/"] {
        assert!(documented(Verb::Get, path), "{path} missing");
    }
}

#[test]
fn the_pw_routes_are_exactly_the_rendered_ones() {
    assert_eq!(PW_PATHS.len(), 25);
    for path in PW_PATHS {
        assert!(is_rendered_route(path), "{path} has no renderer");
        assert!(documented(Verb::Get, path));
    }
    assert!(!is_rendered_route("/pw/nothing"));
}

#[test]
fn every_ui_file_is_documented() {
    for path in crate::routes::ui::asset_paths() {
        assert!(documented(Verb::Get, path), "{path} missing");
    }
}

#[test]
fn method_and_path_pairs_are_unique() {
    let mut seen = HashSet::new();
    for route in routes() {
        assert!(
            seen.insert((format!("{:?}", route.verb), route.path)),
            "{} listed twice",
            route.path
        );
        assert!(route.path.starts_with('/'), "{}", route.path);
        assert!(!route.summary.is_empty(), "{}", route.path);
    }
}

#[test]
fn the_document_is_openapi_3_with_the_base_url_as_server() {
    let doc = document("/");
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["servers"][0]["url"], "/");
    assert_eq!(document("/pwp/")["servers"][0]["url"], "/pwp");
    // Round-trips as JSON text.
    let text = serde_json::to_string(&doc).unwrap();
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, doc);
}

#[test]
fn operations_carry_tags_ids_parameters_and_responses() {
    let doc = document("/");
    let paths = doc["paths"].as_object().unwrap();
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["name"].as_str().unwrap())
        .collect();
    let mut ids = HashSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(tags.contains(&op["tags"][0].as_str().unwrap()));
            assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()));
            assert!(op["responses"].is_object(), "{method} {path}");
            let declared = op["parameters"].as_array().map_or(0, Vec::len);
            assert_eq!(declared, path.matches('{').count(), "{method} {path}");
        }
    }
    assert_eq!(
        paths["/ws/aggregate"]["get"]["x-websocket"],
        Value::Bool(true)
    );
    assert!(paths["/control/{action}"]["post"]["requestBody"].is_object());
    assert!(paths["/api/gateways/{id}/api/{path}"]["get"].is_object());
    assert!(paths["/api/gateways/{id}/api/{path}"]["post"].is_object());
}
