//! TEDAPI wire format: envelope messages, request builders, response parsing
//! (gateway-protocols §2, Appendices B and C).
//!
//! One protobuf schema serves both query sets (§2.3): the V2024_06 legacy names and the
//! V2026_06 energy_device names describe the same bytes. The simulator uses the same types to
//! read requests and write answers ([`device_side`]), so client and simulator cannot drift.
//!
//! * [`messages`], [`common`], [`payloads`]: the prost messages.
//! * [`queries`]: API versions and the bundled signed queries.
//! * [`requests`]: [`TedapiRequest`] builders and their basic / bearer / bare framings.
//! * [`responses`]: [`parse_response`] into a typed [`TedapiAnswer`].
//! * [`gzip`]: gzip bodies sent without `Content-Encoding` (firmware ≥ 25.42.2).
//! * [`din`]: the `/tedapi/din` answer and DINs in URL paths.

pub mod common;
pub mod device_side;
pub mod din;
pub mod extra_signals;
pub mod gzip;
pub mod messages;
pub mod payloads;
pub mod queries;
pub mod requests;
pub mod responses;

#[cfg(test)]
mod robustness_tests;
#[cfg(test)]
mod tests;

pub use device_side::{ReceivedRequest, RequestKind, TedapiReply, parse_request};
pub use din::{din_path_segment, parse_din};
pub use gzip::{MAX_DECOMPRESSED_BYTES, decode_body};
pub use messages::{AuthEnvelope, ExternalAuthType, MessageEnvelope, Participant, TedapiMessage};
pub use queries::{ApiVersion, ApiVersionChoice, QueryRole, QuerySet, SignedQuery, query_set};
pub use requests::{Route, TedapiRequest, wrap_auth_envelope};
pub use responses::{
    ConfigFile, DeviceError, QueryAnswer, TedapiAnswer, TedapiResponse, parse_bare_envelope,
    parse_response,
};

use crate::GatewayError;

/// Everything that can be wrong with TEDAPI bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The body is empty.
    #[error("empty body")]
    Empty,
    /// The body starts like gzip but does not decompress.
    #[error("corrupt gzip body: {0}")]
    Gzip(String),
    /// The decompressed body would exceed the size cap.
    #[error("gzip body decompresses to more than {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The bytes are not a valid protobuf message of the expected type.
    #[error("not a TEDAPI message: {0}")]
    Protobuf(String),
    /// A part the answer needs is absent.
    #[error("the answer has no {what}")]
    Missing {
        /// The missing part.
        what: &'static str,
    },
    /// Text that must be UTF-8 is not.
    #[error("the {what} is not UTF-8 text")]
    NotUtf8 {
        /// The part concerned.
        what: &'static str,
    },
    /// The `/tedapi/din` answer is not a DIN.
    #[error("the DIN answer is not a DIN (letters, digits and dashes, at most 64 characters)")]
    InvalidDin,
    /// JSON text carried by the answer does not parse.
    #[error("the {what} is not valid JSON: {detail}")]
    Json {
        /// The document concerned.
        what: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// The envelope carries a request (or write) where an answer was expected.
    #[error("expected an answer, got {found}")]
    UnexpectedPayload {
        /// What was found.
        found: &'static str,
    },
    /// The answer is of another kind than the request asked for.
    #[error("expected a {expected}, got a {found}")]
    WrongAnswer {
        /// The kind wanted.
        expected: &'static str,
        /// The kind received.
        found: &'static str,
    },
    /// The device answered with `common.errorResponse`.
    #[error("the device answered with error {code}: {message}")]
    DeviceError {
        /// A `google.rpc.Code` value.
        code: i32,
        /// The device's message.
        message: String,
    },
    /// A configured API version label is not known.
    #[error("unknown TEDAPI API version {label:?} (valid: V2024_06, V2026_06)")]
    UnknownApiVersion {
        /// The label given.
        label: String,
    },
    /// A bundled query file is unusable (a build defect; the tests parse both files).
    #[error("bundled query file {version} is unusable: {detail}")]
    QueryFile {
        /// The file's version.
        version: ApiVersion,
        /// What is wrong.
        detail: String,
    },
}

impl WireError {
    /// This error as a [`GatewayError::Malformed`] for the request path it concerns.
    pub fn into_gateway_error(self, path: &str) -> GatewayError {
        GatewayError::Malformed {
            path: path.to_owned(),
            detail: self.to_string(),
        }
    }
}

impl From<WireError> for GatewayError {
    /// For `?` where the path is not at hand; prefer [`WireError::into_gateway_error`].
    fn from(error: WireError) -> Self {
        error.into_gateway_error(requests::GATEWAY_PATH)
    }
}
