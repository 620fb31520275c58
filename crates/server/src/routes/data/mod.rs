//! Data routes served from the latest snapshot (power, battery, grid, version, …).

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;

use super::{AppState, framing};
use crate::engine::render::version_unknown;
use crate::json::to_python_bytes;

/// The data routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/aggregates", get(aggregates))
        .route("/api/meters/aggregates", get(aggregates))
        .route("/soe", get(soe))
        .route("/api/system_status/soe", get(soe_app))
        .route("/api/system_status/grid_status", get(grid_status))
        .route("/version", get(version))
}

/// Serves a pre-rendered body if its data is fresh enough, else the proxy's `null`.
fn serve(state: &AppState, uri: &Uri, route: &str) -> Response {
    let snapshot = state.snapshot();
    match snapshot
        .rendered
        .get(route)
        .and_then(|body| body.fresh(state.now()))
    {
        Some(bytes) => {
            state.stats().count_get(uri.path());
            framing::json(bytes.clone())
        }
        None => {
            state.stats().count_no_data();
            framing::null()
        }
    }
}

/// `GET /aggregates`, `GET /api/meters/aggregates`.
pub async fn aggregates(State(state): State<AppState>, uri: Uri) -> Response {
    serve(&state, &uri, "/aggregates")
}

/// `GET /soe` (raw scale).
pub async fn soe(State(state): State<AppState>, uri: Uri) -> Response {
    serve(&state, &uri, "/soe")
}

/// `GET /api/system_status/soe` (app scale).
pub async fn soe_app(State(state): State<AppState>, uri: Uri) -> Response {
    serve(&state, &uri, "/api/system_status/soe")
}

/// `GET /api/system_status/grid_status`.
pub async fn grid_status(State(state): State<AppState>, uri: Uri) -> Response {
    serve(&state, &uri, "/api/system_status/grid_status")
}

/// `GET /version`: always a body; `SolarOnly` while the firmware is unknown.
pub async fn version(State(state): State<AppState>, uri: Uri) -> Response {
    let snapshot = state.snapshot();
    let body = snapshot
        .rendered
        .get("/version")
        .and_then(|body| body.fresh(state.now()))
        .cloned()
        .unwrap_or_else(|| to_python_bytes(&version_unknown()));
    state.stats().count_get(uri.path());
    framing::json(body)
}
