//! One error answer for every route (issue 17): the status a client sees and the one message it
//! may read. The cause stays where it happened and is logged there; nothing here carries a
//! cause chain, a path on disk or a credential. Legacy routes answer the proxy's
//! `{"error": "<message>"}` in Python's JSON framing; the multi-gateway routes answer
//! pypowerwall-server's `{"detail":"<message>"}` (FastAPI's compact JSON), so clients that match
//! either text keep working.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::framing;
use crate::json::to_python_bytes;

/// An error as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
    style: Style,
}

/// Which server's error body a route keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// The proxy: `{"error": "…"}`, Python separators.
    Proxy,
    /// pypowerwall-server (FastAPI): `{"detail":"…"}`, compact.
    Server,
}

impl ApiError {
    /// An error answered with `status`.
    pub const fn new(status: StatusCode, message: &'static str) -> Self {
        Self {
            status,
            message: Cow::Borrowed(message),
            style: Style::Proxy,
        }
    }

    /// An error of the multi-gateway API (pypowerwall-server's `{"detail": …}`).
    pub fn detail(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            style: Style::Server,
        }
    }

    /// The proxy's soft error: HTTP 200 with an error body ("every GET answers 200").
    pub const fn legacy(message: &'static str) -> Self {
        Self::new(StatusCode::OK, message)
    }

    /// `400 {"error": "Invalid Request"}`.
    pub const fn invalid_request() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Invalid Request")
    }

    /// An error whose message is built at run time (from a public message, never a cause).
    pub fn with_message(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            style: Style::Proxy,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body as a JSON value (for bodies that add keys or use other framing).
    pub fn json(&self) -> Value {
        match self.style {
            Style::Proxy => json!({ "error": self.message }),
            Style::Server => json!({ "detail": self.message }),
        }
    }

    /// The body bytes in the framing of the server whose routes this error answers.
    pub fn body(&self) -> Bytes {
        match self.style {
            Style::Proxy => to_python_bytes(&self.json()),
            Style::Server => Bytes::from(serde_json::to_vec(&self.json()).unwrap_or_default()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = framing::json(self.body());
        *response.status_mut() = self.status;
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static(framing::ALLOWED_METHODS),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_the_proxy_bytes() {
        assert_eq!(
            ApiError::invalid_request().body(),
            Bytes::from_static(br#"{"error": "Invalid Request"}"#)
        );
        assert_eq!(
            ApiError::legacy("TEDAPI not enabled").body(),
            Bytes::from_static(br#"{"error": "TEDAPI not enabled"}"#)
        );
        // Python's JSON escapes non-ASCII text.
        assert_eq!(
            ApiError::with_message(StatusCode::BAD_REQUEST, "r\u{e9}serve").body(),
            Bytes::from_static(br#"{"error": "r\u00e9serve"}"#)
        );
    }

    #[test]
    fn responses_carry_status_cors_and_allow() {
        let response =
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], framing::ALLOWED_METHODS);
        assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let soft = ApiError::legacy("Cloud API not enabled").into_response();
        assert_eq!(soft.status(), StatusCode::OK);
        assert_eq!(
            ApiError::detail(StatusCode::NOT_FOUND, "Gateway x not found").body(),
            Bytes::from_static(br#"{"detail":"Gateway x not found"}"#)
        );
    }
}
