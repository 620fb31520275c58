//! Control routes: `/control/{reserve,mode,grid_charging,grid_export,max_backup}`.

use axum::Router;

use super::AppState;

/// The control routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
