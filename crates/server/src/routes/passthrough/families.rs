//! Backend families: `/tedapi…`, `/cloud…`, `/fleetapi…` (prefix matches, §6.6).

use axum::response::{IntoResponse, Response};
use powerwall_gateway::AccessMode;
use powerwall_gateway::cloud::Endpoint;
use powerwall_gateway::fleet::FleetEndpoint;

use super::super::error::ApiError;
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
        return constant(state, path, ApiError::legacy("TEDAPI not enabled"));
    }
    if !TEDAPI_PATHS.contains(&path) {
        return constant(
            state,
            path,
            ApiError::legacy(
                "Use /tedapi/config, /tedapi/status, /tedapi/components, /tedapi/battery, /tedapi/controller",
            ),
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

/// `GET /cloud…` (§6.6.2): in cloud mode the raw Owner API objects (`/cloud/battery` = site
/// status, `/cloud/power` = live status, `/cloud/config` = site info; `null` on failure) and a usage
/// error for other targets; "Cloud API not enabled" in every other mode (a hybrid cloud control
/// connection does not make a gateway a cloud gateway).
pub async fn cloud(state: &AppState, path: &str) -> Response {
    let (link, client) = match state.cloud_link() {
        Some(link) if state.gateway_mode() == AccessMode::Cloud => match link.owner() {
            Some(client) => (link, client),
            None => return constant(state, path, ApiError::legacy("Cloud API not enabled")),
        },
        _ => return constant(state, path, ApiError::legacy("Cloud API not enabled")),
    };
    let endpoint = match path {
        "/cloud/battery" => Endpoint::SiteStatus,
        "/cloud/power" => Endpoint::LiveStatus,
        "/cloud/config" => Endpoint::SiteInfo,
        _ => {
            return constant(
                state,
                path,
                ApiError::legacy("Use /cloud/battery, /cloud/power, /cloud/config"),
            );
        }
    };
    let outcome = client.raw_document(endpoint).await;
    link.note(&outcome);
    match outcome {
        Ok(document) => {
            state.stats().count_get(path);
            framing::json(crate::json::to_python_bytes(document.as_ref()))
        }
        Err(err) => {
            tracing::debug!("{path}: the cloud did not answer: {err}");
            state.stats().count_no_data();
            framing::null()
        }
    }
}

/// `GET /fleetapi…` (§6.6.3): in Fleet API mode the raw Fleet objects (`/fleetapi/info` =
/// `site_info`, `/fleetapi/status` = `live_status`; `null` on failure, served from the client's
/// cache like every Fleet read) and a usage error for other targets; "FleetAPI not enabled" in
/// every other mode (a Fleet hybrid control link does not make a gateway a Fleet gateway).
pub async fn fleetapi(state: &AppState, path: &str) -> Response {
    let (link, client) = match state.cloud_link() {
        Some(link) if state.gateway_mode() == AccessMode::Fleet => match link.fleet() {
            Some(client) => (link, client),
            None => return constant(state, path, ApiError::legacy("FleetAPI not enabled")),
        },
        _ => return constant(state, path, ApiError::legacy("FleetAPI not enabled")),
    };
    let endpoint = match path {
        "/fleetapi/info" => FleetEndpoint::SiteInfo,
        "/fleetapi/status" => FleetEndpoint::LiveStatus,
        _ => {
            return constant(
                state,
                path,
                ApiError::legacy("Use /fleetapi/info, /fleetapi/status"),
            );
        }
    };
    let outcome = client.site_document(endpoint).await;
    link.note(&outcome);
    match outcome {
        Ok(document) => {
            state.stats().count_get(path);
            framing::json(crate::json::to_python_bytes(&document))
        }
        Err(err) => {
            tracing::debug!("{path}: the Fleet API did not answer: {err}");
            state.stats().count_no_data();
            framing::null()
        }
    }
}

fn constant(state: &AppState, path: &str, error: ApiError) -> Response {
    state.stats().count_get(path);
    error.into_response()
}
