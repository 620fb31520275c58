//! Backend families: `/tedapi…`, `/cloud…`, `/fleetapi…` (prefix matches, §6.6).

use axum::response::Response;
use bytes::Bytes;
use powerwall_gateway::AccessMode;

use super::super::{AppState, framing};
use super::api::render_raw;

/// The TEDAPI documents served in TEDAPI modes, each read on demand from the gateway client.
pub const TEDAPI_PATHS: [&str; 5] = [
    "/tedapi/config",
    "/tedapi/status",
    "/tedapi/components",
    "/tedapi/battery",
    "/tedapi/controller",
];

/// Whether the gateway client speaks TEDAPI.
fn tedapi_active(mode: AccessMode) -> bool {
    matches!(
        mode,
        AccessMode::TedapiFull | AccessMode::TedapiHybrid | AccessMode::V1r
    )
}

/// `GET /tedapi…`: the document for the five known paths in TEDAPI modes, a usage error for any
/// other path, "TEDAPI not enabled" otherwise.
pub async fn tedapi(state: &AppState, path: &str) -> Response {
    if !tedapi_active(state.gateway_mode()) {
        return constant(state, path, br#"{"error": "TEDAPI not enabled"}"#);
    }
    if !TEDAPI_PATHS.contains(&path) {
        return constant(
            state,
            path,
            br#"{"error": "Use /tedapi/config, /tedapi/status, /tedapi/components, /tedapi/battery, /tedapi/controller"}"#,
        );
    }
    let body = state
        .on_demand()
        .fetch(path, state.fail_fast_active())
        .await
        .as_ref()
        .and_then(render_raw);
    match body {
        Some(body) => {
            state.stats().count_get(path);
            framing::json(body)
        }
        None => {
            state.stats().count_no_data();
            framing::null()
        }
    }
}

/// `GET /cloud…`: no cloud mode in this build.
pub fn cloud(state: &AppState, path: &str) -> Response {
    constant(state, path, br#"{"error": "Cloud API not enabled"}"#)
}

/// `GET /fleetapi…`: no Fleet API mode in this build.
pub fn fleetapi(state: &AppState, path: &str) -> Response {
    constant(state, path, br#"{"error": "FleetAPI not enabled"}"#)
}

fn constant(state: &AppState, path: &str, body: &'static [u8]) -> Response {
    state.stats().count_get(path);
    framing::json(Bytes::from_static(body))
}
