//! Response parsing (gateway-protocols §2.7, §2.8).
//!
//! Basic and bearer answers are the same bytes (`Message {envelope, tail}` ==
//! `AuthEnvelope {payload, externalAuth}`), so one parser serves both; v1r hands over the bare
//! envelope it unwrapped itself.

use prost::Message as _;
use serde_json::Value;

use super::WireError;
use super::common::{GetSystemInfoResponse, common_messages};
use super::gzip::decode_body;
use super::messages::{MessageEnvelope, Participant, TedapiMessage, message_envelope::Payload};
use super::payloads::{GraphQlError, GraphQlStatus, file_store_messages, graph_ql_messages};

/// A decoded TEDAPI answer with its routing.
#[derive(Debug, Clone, PartialEq)]
pub struct TedapiResponse {
    /// Who answered (the device DIN, on real gateways).
    pub sender: Option<Participant>,
    /// Who the answer is for.
    pub recipient: Option<Participant>,
    /// The tail / external-auth type; `None` for a bare envelope or when absent.
    pub external_auth: Option<i32>,
    /// What the device answered.
    pub answer: TedapiAnswer,
}

/// The payload of an answer, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum TedapiAnswer {
    /// A file read (`config.json`).
    Config(ConfigFile),
    /// A GraphQL answer.
    Query(QueryAnswer),
    /// Firmware and identity (boxed: much larger than the other answers).
    SystemInfo(Box<GetSystemInfoResponse>),
    /// The device refused or could not handle the request.
    Error(DeviceError),
}

impl TedapiAnswer {
    /// A short name of the kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            TedapiAnswer::Config(_) => "file",
            TedapiAnswer::Query(_) => "GraphQL answer",
            TedapiAnswer::SystemInfo(_) => "system info",
            TedapiAnswer::Error(_) => "error response",
        }
    }
}

/// A file read from the file store (legacy `config.recv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// The file name (`config.json`).
    pub name: String,
    /// The content as text.
    pub text: String,
    /// Opaque hash of the content (legacy `code`), needed for conditional writes.
    pub hash: Vec<u8>,
}

impl ConfigFile {
    /// The content parsed as JSON.
    pub fn json(&self) -> Result<Value, WireError> {
        parse_json(&self.text, "config.json")
    }
}

/// A GraphQL answer (legacy `payload.recv`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryAnswer {
    /// A [`GraphQlStatus`] value (legacy `recv.value`).
    pub status: i32,
    /// The answer document as JSON text (legacy `recv.text`); may be empty on errors.
    pub data: String,
    /// Errors reported by V2026_06 firmware (rejected signature, unknown field, ...).
    pub errors: Vec<GraphQlError>,
}

impl QueryAnswer {
    /// The status, when it is a known value.
    pub fn status(&self) -> Option<GraphQlStatus> {
        GraphQlStatus::try_from(self.status).ok()
    }

    /// The answer document parsed as JSON.
    pub fn json(&self) -> Result<Value, WireError> {
        parse_json(&self.data, "GraphQL data")
    }
}

/// An error reply (`common.errorResponse.status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceError {
    /// A `google.rpc.Code` value (12 UNIMPLEMENTED for unknown payloads).
    pub code: i32,
    /// The device's message.
    pub message: String,
}

impl TedapiResponse {
    /// The file read, or an error naming what came instead.
    pub fn into_config(self) -> Result<ConfigFile, WireError> {
        match self.answer {
            TedapiAnswer::Config(file) => Ok(file),
            other => Err(unexpected("file", other)),
        }
    }

    /// The GraphQL answer, or an error naming what came instead.
    pub fn into_query(self) -> Result<QueryAnswer, WireError> {
        match self.answer {
            TedapiAnswer::Query(answer) => Ok(answer),
            other => Err(unexpected("GraphQL answer", other)),
        }
    }

    /// The system info, or an error naming what came instead.
    pub fn into_system_info(self) -> Result<GetSystemInfoResponse, WireError> {
        match self.answer {
            TedapiAnswer::SystemInfo(info) => Ok(*info),
            other => Err(unexpected("system info", other)),
        }
    }
}

/// Parses a basic or bearer response body, gunzipping it first when it is gzip.
pub fn parse_response(body: &[u8]) -> Result<TedapiResponse, WireError> {
    let body = decode_body(body)?;
    if body.is_empty() {
        return Err(WireError::Empty);
    }
    let message = TedapiMessage::decode(body.as_ref()).map_err(decode_error)?;
    let envelope = message
        .envelope
        .ok_or(WireError::Missing { what: "envelope" })?;
    let mut response = classify(envelope)?;
    response.external_auth = message.tail.map(|tail| tail.r#type);
    Ok(response)
}

/// Parses a bare envelope (the payload v1r unwraps from its signed wrapper).
pub fn parse_bare_envelope(bytes: &[u8]) -> Result<TedapiResponse, WireError> {
    if bytes.is_empty() {
        return Err(WireError::Empty);
    }
    classify(MessageEnvelope::decode(bytes).map_err(decode_error)?)
}

/// Sorts a decoded envelope's payload into a [`TedapiAnswer`].
fn classify(envelope: MessageEnvelope) -> Result<TedapiResponse, WireError> {
    let answer = match envelope.payload {
        None => return Err(WireError::Missing { what: "payload" }),
        Some(Payload::Common(messages)) => match messages.message {
            Some(common_messages::Message::GetSystemInfoResponse(info)) => {
                TedapiAnswer::SystemInfo(info)
            }
            Some(common_messages::Message::ErrorResponse(error)) => {
                let status = error.status.unwrap_or_default();
                TedapiAnswer::Error(DeviceError {
                    code: status.code,
                    message: status.message,
                })
            }
            Some(common_messages::Message::GetSystemInfoRequest(_)) => {
                return Err(not_an_answer("common.getSystemInfoRequest"));
            }
            None => {
                return Err(WireError::Missing {
                    what: "common message",
                });
            }
        },
        Some(Payload::Filestore(messages)) => match messages.message {
            Some(file_store_messages::Message::ReadFileResponse(read)) => {
                let file = read.file.ok_or(WireError::Missing { what: "file" })?;
                let content = file.blob.ok_or(WireError::Missing {
                    what: "file content",
                })?;
                let text = String::from_utf8(content).map_err(|_| WireError::NotUtf8 {
                    what: "file content",
                })?;
                TedapiAnswer::Config(ConfigFile {
                    name: file.name,
                    text,
                    hash: read.hash,
                })
            }
            Some(_) => return Err(not_an_answer("a file store request or write")),
            None => {
                return Err(WireError::Missing {
                    what: "file store message",
                });
            }
        },
        Some(Payload::Graphql(messages)) => match messages.message {
            Some(graph_ql_messages::Message::QueryResponse(answer)) => {
                TedapiAnswer::Query(QueryAnswer {
                    status: answer.status,
                    data: answer.data,
                    errors: answer.errors,
                })
            }
            Some(graph_ql_messages::Message::QueryRequest(_)) => {
                return Err(not_an_answer("graphql.queryRequest"));
            }
            None => {
                return Err(WireError::Missing {
                    what: "GraphQL message",
                });
            }
        },
    };
    Ok(TedapiResponse {
        sender: envelope.sender,
        recipient: envelope.recipient,
        external_auth: None,
        answer,
    })
}

/// Parses JSON text, naming the document in the error.
fn parse_json(text: &str, what: &'static str) -> Result<Value, WireError> {
    if text.trim().is_empty() {
        return Err(WireError::Missing { what });
    }
    serde_json::from_str(text).map_err(|err| WireError::Json {
        what,
        detail: err.to_string(),
    })
}

/// The error for a protobuf that does not decode.
fn decode_error(err: prost::DecodeError) -> WireError {
    WireError::Protobuf(err.to_string())
}

/// The error for a request found where an answer was expected.
fn not_an_answer(found: &'static str) -> WireError {
    WireError::UnexpectedPayload { found }
}

/// The error for an answer of the wrong kind; a device error is passed on as such.
fn unexpected(expected: &'static str, found: TedapiAnswer) -> WireError {
    match found {
        TedapiAnswer::Error(error) => WireError::DeviceError {
            code: error.code,
            message: error.message,
        },
        other => WireError::WrongAnswer {
            expected,
            found: other.kind(),
        },
    }
}
