//! Response framing shared by the API routes: content type, CORS, the proxy's `null` form.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::error::ApiError;

/// `application/json` with `Access-Control-Allow-Origin: *` (Grafana reads cross-origin).
pub fn json(body: Bytes) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The proxy's "no data" answer: HTTP 200 with the body `null` (pollers rely on the 200).
pub fn null() -> Response {
    json(Bytes::from_static(b"null"))
}

/// CORS pre-flight answer.
pub fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type"),
        ],
    )
        .into_response()
}

/// `text/plain; charset=utf-8` with `Access-Control-Allow-Origin: *` (the CSV routes).
pub fn text(body: Bytes) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `POST` anywhere but `/control…`: 400 `{"error": "Invalid Request"}`.
pub fn invalid_request() -> Response {
    ApiError::invalid_request().into_response()
}

/// The methods the proxy answers.
pub const ALLOWED_METHODS: &str = "GET, HEAD, POST, OPTIONS";

/// Any method but GET, HEAD, POST and OPTIONS: 405 with `Allow`.
pub fn method_not_allowed() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response()
}
