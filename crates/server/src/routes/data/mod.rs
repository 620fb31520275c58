//! Data routes served from the latest snapshot: power, battery, grid, CSV, device data, `/pw/*`.
//!
//! Every body is rendered once per snapshot (`engine::render`); a route only picks the body for
//! its path, checks that its data is still fresh, and otherwise answers the route's "no data"
//! form. All answers are HTTP 200 (pollers such as Telegraf drop non-2xx responses).

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use bytes::Bytes;

use super::error::ApiError;
use super::{AppState, framing};
use crate::engine::render;

/// The answer of `/pw/<name>` for a name that is not one of the 25 (and for any query string):
/// the proxy answers it with 200.
const INVALID_REQUEST: ApiError = ApiError::legacy("Invalid Request");

/// Routes serving a JSON body rendered under their own path.
pub(super) const JSON_ROUTES: [&str; 17] = [
    "/soe",
    "/api/system_status/soe",
    "/api/system_status/grid_status",
    "/version",
    "/json",
    "/vitals",
    "/strings",
    "/temps",
    "/temps/pw",
    "/alerts",
    "/alerts/pw",
    "/freq",
    "/pod",
    "/fans",
    "/fans/pw",
    "/aggregates",
    "/api/meters/aggregates",
];

/// The data routes.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for path in JSON_ROUTES {
        router = router.route(path, json_route(path));
    }
    router
        .route("/csv", get(csv_v1))
        .route("/csv/v2", get(csv_v2))
        .route("/pw/", get(convenience))
        .route("/pw/{*name}", get(convenience))
}

/// A GET route serving the JSON body rendered for `path`.
fn json_route(path: &'static str) -> MethodRouter<AppState> {
    // Both aggregates paths serve the same processed body (§6.1.1).
    let route = if path == "/api/meters/aggregates" {
        "/aggregates"
    } else {
        path
    };
    get(move |State(state): State<AppState>, uri: Uri| async move {
        json_response(body(&state, &uri, route))
    })
}

/// A JSON answer; the proxy's `null` form for no data.
fn json_response(bytes: Bytes) -> Response {
    if bytes.as_ref() == b"null" {
        framing::null()
    } else {
        framing::json(bytes)
    }
}

/// The body rendered for `route` while fresh, else its no-data form; counted as §4.4 says.
fn body(state: &AppState, uri: &Uri, route: &str) -> Bytes {
    let snapshot = state.snapshot();
    let bytes = snapshot
        .rendered
        .get(route)
        .and_then(|body| body.fresh(state.now()))
        .cloned()
        .or_else(|| render::no_data(route))
        .unwrap_or_else(|| Bytes::from_static(b"null"));
    if bytes.as_ref() == b"null" {
        state.stats().count_no_data();
    } else {
        state.stats().count_get(uri.path());
    }
    bytes
}

/// The CSV body key: `?headers` (also `?headers=1`, `?headers=true`) adds the header line.
fn csv_route(uri: &Uri, plain: &'static str, with_headers: &'static str) -> &'static str {
    if uri.query().is_some_and(|query| query.contains("headers")) {
        with_headers
    } else {
        plain
    }
}

/// `GET /csv`: `Grid,Home,Solar,Battery,BatteryLevel`.
async fn csv_v1(State(state): State<AppState>, uri: Uri) -> Response {
    let route = csv_route(&uri, "/csv", "/csv?headers");
    framing::text(body(&state, &uri, route))
}

/// `GET /csv/v2`: v1 plus `GridStatus,Reserve`.
async fn csv_v2(State(state): State<AppState>, uri: Uri) -> Response {
    let route = csv_route(&uri, "/csv/v2", "/csv/v2?headers");
    framing::text(body(&state, &uri, route))
}

/// `GET /pw/<name>`: one of the 25 names exactly, without a query string (§6.7).
async fn convenience(State(state): State<AppState>, uri: Uri) -> Response {
    let route = uri.path();
    if uri.query().is_none() && route.starts_with("/pw/") && render::is_rendered_route(route) {
        return json_response(body(&state, &uri, route));
    }
    state.stats().count_get(uri.path());
    INVALID_REQUEST.into_response()
}
