//! The live console at `/console`: a summary over the aggregate WebSocket, per-gateway health,
//! Powerwalls, strings, a trend kept in the browser and the control panel. Static HTML, CSS and
//! JS compiled in (its files are in the one asset table, [`super::assets::ASSETS`]); the page
//! builds every URL relative to itself (and its `<base>`).
//!
//! The control secret never reaches this module: the page sends it only in POST bodies to the
//! control routes, which check it and never log or echo it.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::assets::CONSOLE_HTML;
use super::{AppState, html_page};

/// The console page (its files are served by [`super::routes`]).
pub fn routes() -> Router<AppState> {
    Router::new().route("/console", get(console))
}

async fn console(State(state): State<AppState>) -> Response {
    html_page(&state, CONSOLE_HTML)
}
