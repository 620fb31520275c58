//! Gateway passthrough (`/api/*` allowlist), backend families and the catch-all.
//!
//! Everything here is dispatched from the router's fallback, on the path only (§15.1), in the
//! order of §3.2: whatever another route module claims wins, then the constant problems list, the
//! `/tedapi…`, `/cloud…` and `/fleetapi…` families, DISABLED, the ALLOWLIST, and the web catch-all.

pub mod api;
pub mod families;
pub mod web;

use axum::Router;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::Response;

use super::{AppState, framing};

/// The passthrough routes (all served through [`fallback`], so no path clashes with other modules).
pub fn routes() -> Router<AppState> {
    Router::new()
}

/// Every request no route matched.
pub async fn fallback(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    match method {
        Method::GET | Method::HEAD => get(&state, &uri).await,
        Method::OPTIONS => framing::preflight(),
        Method::POST => {
            state.stats().count_error();
            framing::invalid_request()
        }
        _ => framing::method_not_allowed(),
    }
}

/// GET dispatch for paths no other module serves.
async fn get(state: &AppState, uri: &Uri) -> Response {
    let path = uri.path();
    if path == api::PROBLEMS {
        api::problems(state, path)
    } else if path.starts_with("/tedapi") {
        families::tedapi(state, path).await
    } else if path.starts_with("/cloud") {
        families::cloud(state, path).await
    } else if path.starts_with("/fleetapi") {
        families::fleetapi(state, path).await
    } else if api::DISABLED.contains(&path) {
        api::disabled(state, path)
    } else if api::ALLOWLIST.contains(&path) {
        api::passthrough(state, path).await
    } else {
        web::catch_all(state, uri).await
    }
}
