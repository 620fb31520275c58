//! The local legacy gateway persona: `/api/*` with the customer password (gateway-protocols §1.7,
//! §10.2).

pub mod auth;
pub mod documents;
pub mod fixtures;
pub mod routes;
pub mod vitals;

#[cfg(test)]
mod tests;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The gateway's error body: `{"code": n, "error": "...", "message": "..."}`.
pub fn gateway_error(status: StatusCode, error: &str, message: &str) -> Response {
    let body = json!({ "code": status.as_u16(), "error": error, "message": message });
    (status, axum::Json(body)).into_response()
}
