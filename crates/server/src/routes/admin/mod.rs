//! Proxy administration: `/stats`, `/stats/clear`, `/health`, `/health/reset`, `/help`.

mod health;

use axum::Router;
use axum::routing::get;

use super::AppState;

/// The administration routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health::health))
}
