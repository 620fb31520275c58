//! The multi-gateway API (server-api §2.3, §2.4): every gateway's status and the aggregate, read
//! from the overview (serialised once per change, never waiting on a gateway).

use crate::routes::error::ApiError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;

use super::{AppState, framing};
use crate::engine::overview::{GatewayBodies, Overview};

/// The multi-gateway read routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/gateways", get(gateway_map))
        .route("/api/gateways/", get(gateway_map))
        .route("/api/gateways/{id}", get(gateway_status))
        .route("/api/gateways/{id}/vitals", get(gateway_vitals))
        .route("/api/gateways/{id}/strings", get(gateway_strings))
        .route("/api/gateways/{id}/aggregates", get(gateway_aggregates))
        .route(
            "/api/gateways/{id}/api/{*path}",
            get(api_not_allowed).post(super::gateway_write::write),
        )
        .route("/api/aggregate", get(aggregate))
        .route("/api/aggregate/", get(aggregate))
        .route("/api/aggregate/{part}", get(aggregate_part))
}

/// A JSON error in FastAPI's shape: `{"detail": "..."}`.
pub(super) fn detail(status: StatusCode, message: &str) -> Response {
    ApiError::detail(status, message.to_owned()).into_response()
}

/// Serves `bytes`, counted as a GET of `uri`.
fn serve(state: &AppState, uri: &Uri, bytes: Bytes) -> Response {
    state.stats().count_get(uri.path());
    framing::json(bytes)
}

async fn gateway_map(State(state): State<AppState>, uri: Uri) -> Response {
    let overview = state.overview();
    serve(&state, &uri, overview.gateway_map.clone())
}

/// Answers with one of the gateway's bodies, or 404 for an unknown id.
fn for_gateway(
    state: &AppState,
    uri: &Uri,
    id: &str,
    pick: impl FnOnce(&GatewayBodies) -> Bytes,
) -> Response {
    let overview = state.overview();
    match overview.gateway(id) {
        Some(bodies) => serve(state, uri, pick(bodies)),
        None => {
            state.stats().count_error();
            detail(StatusCode::NOT_FOUND, &format!("Gateway {id} not found"))
        }
    }
}

async fn gateway_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    for_gateway(&state, &uri, &id, |bodies| bodies.status.clone())
}

async fn gateway_vitals(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    for_gateway(&state, &uri, &id, |bodies| bodies.vitals.clone())
}

async fn gateway_strings(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    for_gateway(&state, &uri, &id, |bodies| bodies.strings.clone())
}

async fn gateway_aggregates(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    for_gateway(&state, &uri, &id, |bodies| bodies.aggregates.clone())
}

async fn aggregate(State(state): State<AppState>, uri: Uri) -> Response {
    let overview = state.overview();
    serve(&state, &uri, overview.aggregate.clone())
}

/// The body of `/api/aggregate/<part>`.
fn part(overview: &Overview, part: &str) -> Option<Bytes> {
    Some(match part {
        "power" => overview.power.clone(),
        "soe" => overview.soe.clone(),
        "battery" => overview.battery.clone(),
        "strings" => overview.strings.clone(),
        "alerts" => overview.alerts.clone(),
        "vitals" => overview.vitals.clone(),
        _ => return None,
    })
}

async fn aggregate_part(
    State(state): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
) -> Response {
    let overview = state.overview();
    match part(&overview, &name) {
        Some(bytes) => serve(&state, &uri, bytes),
        None => {
            state.stats().count_error();
            detail(StatusCode::NOT_FOUND, "Not Found")
        }
    }
}

/// A gateway API path outside the passthrough allowlist (allowlisted ones never reach here).
async fn api_not_allowed(State(state): State<AppState>) -> Response {
    state.stats().count_error();
    detail(
        StatusCode::NOT_FOUND,
        "Not in the passthrough allowlist of the legacy proxy",
    )
}
