//! API documentation: `GET /openapi.json` (OpenAPI 3.0, generated from [`table`]) and `GET /docs`,
//! a small compiled-in renderer of it (no CDN), which fetches `openapi.json` relatively so it works
//! under `PROXY_BASE_URL`.

mod openapi;
pub mod table;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;

use super::{AppState, framing, ui};

/// The docs routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
}

async fn openapi_json(State(state): State<AppState>) -> Response {
    state.stats().count_web_get();
    let document = openapi::document(&state.settings().base_url);
    let body = serde_json::to_vec_pretty(&document).unwrap_or_default();
    framing::json(Bytes::from(body))
}

async fn docs_page(State(state): State<AppState>) -> Response {
    ui::html_page(&state, ui::DOCS_HTML)
}
