//! The OpenAPI 3.0 document, built from the route table.

use serde_json::{Map, Value, json};

use super::table::{Answer, RouteDoc, Verb, routes};

/// The OpenAPI version we write (3.0 is what most viewers and generators read).
pub const OPENAPI_VERSION: &str = "3.0.3";

/// The document for a server whose routes live under `base_url` (normalised, e.g. `/` or `/pwp/`).
pub fn document(base_url: &str) -> Value {
    let routes = routes();
    let mut tags: Vec<&str> = Vec::new();
    let mut paths = Map::new();
    for route in &routes {
        if !tags.contains(&route.tag) {
            tags.push(route.tag);
        }
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(method(route.verb).to_owned(), operation(route));
        }
    }
    json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "powerwall-server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Local server for Tesla Powerwall systems: the legacy pyPowerwall proxy \
                routes, the multi-gateway API, WebSocket streams and the web UI. Every read \
                answers from the latest poll; nothing here waits on the gateway except the \
                passthrough, TEDAPI and control routes. WebSocket routes are listed as GET \
                operations with `x-websocket: true`: connect with a WebSocket client.",
        },
        "servers": [{ "url": server_url(base_url) }],
        "tags": tags.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>(),
        "paths": paths,
    })
}

/// The server URL: the base path without its trailing slash (paths start with `/`), or `/`.
fn server_url(base_url: &str) -> String {
    match base_url.trim_end_matches('/') {
        "" => "/".to_owned(),
        base => base.to_owned(),
    }
}

/// The OpenAPI method key (a WebSocket starts as a GET).
fn method(verb: Verb) -> &'static str {
    match verb {
        Verb::Get | Verb::WebSocket => "get",
        Verb::Post => "post",
    }
}

/// One operation object.
fn operation(route: &RouteDoc) -> Value {
    let mut op = Map::new();
    op.insert("tags".into(), json!([route.tag]));
    op.insert("summary".into(), Value::from(route.summary));
    op.insert("operationId".into(), Value::from(operation_id(route)));
    let parameters: Vec<Value> = route
        .parameters()
        .into_iter()
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": { "type": "string" },
                "description": parameter_text(name),
            })
        })
        .collect();
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if route.verb == Verb::Post {
        op.insert(
            "requestBody".into(),
            json!({
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "value": { "type": "string" },
                                "token": { "type": "string", "format": "password" }
                            }
                        }
                    },
                    "application/json": { "schema": { "type": "object" } }
                }
            }),
        );
    }
    if route.verb == Verb::WebSocket {
        op.insert("x-websocket".into(), Value::Bool(true));
        op.insert(
            "responses".into(),
            json!({ "101": { "description": "Switching to the WebSocket protocol; text frames of JSON" } }),
        );
    } else {
        op.insert(
            "responses".into(),
            json!({ "200": { "description": "OK", "content": content(route.answer) } }),
        );
    }
    Value::Object(op)
}

/// What a path parameter means.
fn parameter_text(name: &str) -> &'static str {
    match name {
        "id" => "Gateway id (`default` with one gateway)",
        "action" => "reserve, mode, grid_charging, grid_export or max_backup",
        _ => "The rest of the path (may hold slashes)",
    }
}

/// The `content` map of a 200 answer.
fn content(answer: Answer) -> Value {
    let (mime, schema) = match answer {
        Answer::Json | Answer::Stream => ("application/json", json!({})),
        Answer::Csv => ("text/plain", json!({ "type": "string" })),
        Answer::Html => ("text/html", json!({ "type": "string" })),
        Answer::Asset | Answer::Gateway => ("*/*", json!({ "type": "string" })),
    };
    json!({ mime: { "schema": schema } })
}

/// `get_api_gateways_id_vitals` from `GET /api/gateways/{id}/vitals`: unique per method and path.
fn operation_id(route: &RouteDoc) -> String {
    let mut id = String::from(method(route.verb));
    if route.verb == Verb::WebSocket {
        id = "ws".to_owned();
    }
    let mut last_was_separator = false;
    id.push('_');
    for c in route.path.trim_matches('/').chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c);
            last_was_separator = false;
        } else if !last_was_separator {
            id.push('_');
            last_was_separator = true;
        }
    }
    if route.path.ends_with('/') && route.path.len() > 1 {
        id.push_str("_slash");
    }
    id.trim_end_matches('_').to_owned()
}
