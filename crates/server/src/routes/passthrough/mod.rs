//! Gateway passthrough (`/api/*` allowlist), backend families and the catch-all.

use axum::Router;
use axum::http::Method;
use axum::response::Response;

use super::{AppState, framing};

/// The passthrough routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

/// Every request no route matched.
pub async fn fallback(method: Method) -> Response {
    if method == Method::OPTIONS {
        framing::preflight()
    } else {
        framing::not_found()
    }
}
