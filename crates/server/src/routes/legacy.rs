//! Legacy proxy routes served from the latest snapshot (power, battery, grid, version).

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;

use super::{AppState, framing};
use crate::engine::render::version_unknown;
use crate::engine::snapshot::{Body, Rendered};
use crate::json::to_python_bytes;

/// Serves a pre-rendered body if its data is fresh enough, else the proxy's `null`.
fn serve(state: &AppState, uri: &Uri, pick: fn(&Rendered) -> Option<&Body>) -> Response {
    let snapshot = state.snapshot();
    match pick(&snapshot.rendered).and_then(|body| body.fresh(state.now())) {
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
    serve(&state, &uri, |r| r.aggregates.as_ref())
}

/// `GET /soe` (raw scale).
pub async fn soe(State(state): State<AppState>, uri: Uri) -> Response {
    serve(&state, &uri, |r| r.soe.as_ref())
}

/// `GET /api/system_status/soe` (app scale).
pub async fn soe_app(State(state): State<AppState>, uri: Uri) -> Response {
    serve(&state, &uri, |r| r.soe_app.as_ref())
}

/// `GET /api/system_status/grid_status`.
pub async fn grid_status(State(state): State<AppState>, uri: Uri) -> Response {
    serve(&state, &uri, |r| r.grid_status.as_ref())
}

/// `GET /version`: always a body; `SolarOnly` while the firmware is unknown.
pub async fn version(State(state): State<AppState>, uri: Uri) -> Response {
    let snapshot = state.snapshot();
    let body = snapshot
        .rendered
        .version
        .as_ref()
        .and_then(|body| body.fresh(state.now()))
        .cloned()
        .unwrap_or_else(|| to_python_bytes(&version_unknown()));
    state.stats().count_get(uri.path());
    framing::json(body)
}
