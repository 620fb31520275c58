//! The device's side of the exchange: read a request, build the answer (gateway-protocols §10.3,
//! §10.4). The simulator uses these so that it and the client share one schema.

use prost::Message as _;

use super::WireError;
use super::common::{
    CommonMessages, ErrorResponse, GetSystemInfoResponse, RpcStatus, common_messages,
};
use super::messages::{
    DeliveryChannel, ExternalAuth, LocalParticipant, MessageEnvelope, Participant, TedapiMessage,
    message_envelope::Payload,
};
use super::payloads::{
    FileStoreFile, FileStoreMessages, GraphQlError, GraphQlMessages, GraphQlStatus, QueryRequest,
    QueryResponse, ReadFileRequest, ReadFileResponse, SignedGraphQlQuery, file_store_messages,
    graph_ql_messages,
};

/// A request as a device receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// The envelope.
    pub envelope: MessageEnvelope,
    /// The tail / external-auth type, echoed in the answer; `None` when absent.
    pub external_auth: Option<i32>,
}

/// What a received request asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RequestKind<'a> {
    /// Read a file (`config.json`).
    ReadFile(&'a ReadFileRequest),
    /// Firmware and identity.
    SystemInfo,
    /// A GraphQL query.
    Query(&'a QueryRequest),
    /// Anything else (real gateways answer UNIMPLEMENTED).
    Unsupported,
}

/// Parses a request body: `Message {envelope, tail}` or the same bytes as `AuthEnvelope`.
pub fn parse_request(body: &[u8]) -> Result<ReceivedRequest, WireError> {
    if body.is_empty() {
        return Err(WireError::Empty);
    }
    let message =
        TedapiMessage::decode(body).map_err(|err| WireError::Protobuf(err.to_string()))?;
    Ok(ReceivedRequest {
        envelope: message
            .envelope
            .ok_or(WireError::Missing { what: "envelope" })?,
        external_auth: message.tail.map(|tail| tail.r#type),
    })
}

impl ReceivedRequest {
    /// The recipient DIN, when the recipient is a device.
    pub fn recipient_din(&self) -> Option<&str> {
        self.envelope.recipient.as_ref()?.as_din()
    }

    /// The sender DIN, when the sender is a device (follower queries come from the gateway).
    pub fn sender_din(&self) -> Option<&str> {
        self.envelope.sender.as_ref()?.as_din()
    }

    /// What the request asks for.
    pub fn kind(&self) -> RequestKind<'_> {
        match &self.envelope.payload {
            Some(Payload::Filestore(FileStoreMessages {
                message: Some(file_store_messages::Message::ReadFileRequest(read)),
            })) => RequestKind::ReadFile(read),
            Some(Payload::Common(CommonMessages {
                message: Some(common_messages::Message::GetSystemInfoRequest(_)),
            })) => RequestKind::SystemInfo,
            Some(Payload::Graphql(GraphQlMessages {
                message: Some(graph_ql_messages::Message::QueryRequest(query)),
            })) => RequestKind::Query(query),
            _ => RequestKind::Unsupported,
        }
    }
}

impl QueryRequest {
    /// The signed query document inside `query`, when it decodes.
    pub fn signed_query(&self) -> Result<SignedGraphQlQuery, WireError> {
        SignedGraphQlQuery::decode(self.query.as_slice())
            .map_err(|err| WireError::Protobuf(err.to_string()))
    }

    /// The variables JSON text (empty when absent).
    pub fn variables_text(&self) -> &str {
        self.variables_json
            .as_ref()
            .map_or("", |variables| variables.value.as_str())
    }
}

/// An answer from a device: envelope plus the tail echoed from the request.
#[derive(Debug, Clone, PartialEq)]
pub struct TedapiReply {
    /// The envelope (sender = the answering device, recipient = `local` INSTALLER).
    pub envelope: MessageEnvelope,
    /// The tail value echoed from the request; `None` answers a bare envelope.
    pub external_auth: Option<i32>,
}

impl TedapiReply {
    /// An answer from `device_din` carrying `payload`, echoing `external_auth`.
    pub fn new(device_din: &str, external_auth: Option<i32>, payload: Payload) -> Self {
        Self {
            envelope: MessageEnvelope {
                delivery_channel: DeliveryChannel::LocalHttps as i32,
                sender: Some(Participant::din(device_din)),
                recipient: Some(Participant::local(LocalParticipant::Installer)),
                payload: Some(payload),
            },
            external_auth,
        }
    }

    /// A file read answer (legacy `config.recv {file {name, text}, code}`).
    pub fn file(
        device_din: &str,
        external_auth: Option<i32>,
        name: &str,
        content: &[u8],
        hash: &[u8],
    ) -> Self {
        let read = ReadFileResponse {
            file: Some(FileStoreFile {
                name: name.to_owned(),
                blob: Some(content.to_vec()),
            }),
            hash: hash.to_vec(),
        };
        let payload = Payload::Filestore(FileStoreMessages {
            message: Some(file_store_messages::Message::ReadFileResponse(read)),
        });
        Self::new(device_din, external_auth, payload)
    }

    /// A GraphQL answer (legacy `payload.recv {value, text}`).
    pub fn query(
        device_din: &str,
        external_auth: Option<i32>,
        status: GraphQlStatus,
        data: &str,
        errors: Vec<GraphQlError>,
    ) -> Self {
        let answer = QueryResponse {
            status: status as i32,
            data: data.to_owned(),
            errors,
        };
        let payload = Payload::Graphql(GraphQlMessages {
            message: Some(graph_ql_messages::Message::QueryResponse(answer)),
        });
        Self::new(device_din, external_auth, payload)
    }

    /// A system info answer (legacy `firmware.system`).
    pub fn system_info(
        device_din: &str,
        external_auth: Option<i32>,
        info: GetSystemInfoResponse,
    ) -> Self {
        let payload = Payload::Common(CommonMessages {
            message: Some(common_messages::Message::GetSystemInfoResponse(Box::new(
                info,
            ))),
        });
        Self::new(device_din, external_auth, payload)
    }

    /// An error answer (`common.errorResponse`; 12 UNIMPLEMENTED for unknown payloads).
    pub fn error(device_din: &str, external_auth: Option<i32>, code: i32, message: &str) -> Self {
        let error = ErrorResponse {
            status: Some(RpcStatus {
                code,
                message: message.to_owned(),
            }),
        };
        let payload = Payload::Common(CommonMessages {
            message: Some(common_messages::Message::ErrorResponse(error)),
        });
        Self::new(device_din, external_auth, payload)
    }

    /// The body: `Message {envelope, tail}`, which is also the bearer `AuthEnvelope`.
    pub fn to_body(&self) -> Vec<u8> {
        TedapiMessage {
            envelope: Some(self.envelope.clone()),
            tail: self.external_auth.map(|r#type| ExternalAuth { r#type }),
        }
        .encode_to_vec()
    }
}
