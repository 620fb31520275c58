//! Request builders (gateway-protocols §2.4, §2.5, §2.12, §2.13).
//!
//! A [`TedapiRequest`] is the typed envelope plus where and how it goes; the same request is
//! framed three ways: basic (`Message {envelope, tail}`), bearer (`AuthEnvelope`) and bare
//! (v1r puts the bare envelope into its own signed wrapper).

use prost::Message as _;

use super::WireError;
use super::common::{CommonMessages, GetSystemInfoRequest, common_messages};
use super::din::din_path_segment;
use super::messages::{
    AuthEnvelope, DeliveryChannel, ExternalAuth, ExternalAuthType, LocalParticipant,
    MessageEnvelope, Participant, StringValue, TedapiMessage, message_envelope::Payload,
};
use super::payloads::{
    FileStoreDomain, FileStoreMessages, GraphQlMessages, GraphQlQueryFormat, QueryRequest,
    ReadFileRequest, file_store_messages, graph_ql_messages,
};
use super::queries::{ApiVersion, QueryRole, query_set};

/// Name of the configuration file in the gateway's file store.
pub const CONFIG_FILE_NAME: &str = "config.json";

/// Path of requests to the gateway (or, on a single-PW3 site, to that Powerwall).
pub const GATEWAY_PATH: &str = "/tedapi/v1";

/// Which URL a request is POSTed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/tedapi/v1`.
    Gateway,
    /// `/tedapi/device/{DIN}/v1`: relayed by the gateway to another device (PW3 follower).
    Device(String),
}

impl Route {
    /// The URL path, e.g. `/tedapi/device/1707000-11-J--TG12000000002Z/v1`.
    pub fn path(&self) -> String {
        match self {
            Route::Gateway => GATEWAY_PATH.to_owned(),
            Route::Device(din) => format!("/tedapi/device/{}/v1", din_path_segment(din)),
        }
    }
}

/// One TEDAPI request: the envelope, its tail and its route.
#[derive(Debug, Clone, PartialEq)]
pub struct TedapiRequest {
    /// The envelope sent.
    pub envelope: MessageEnvelope,
    /// The tail of the basic framing: PRESENCE ("tail 1") or MTLS ("tail 2").
    pub external_auth: ExternalAuthType,
    /// Where it is POSTed.
    pub route: Route,
}

impl TedapiRequest {
    /// Reads `config.json` from the gateway (the same for every API version).
    pub fn config(gateway_din: &str) -> Self {
        let read = ReadFileRequest {
            domain: FileStoreDomain::ConfigJson as i32,
            name: CONFIG_FILE_NAME.to_owned(),
            if_different_hash: Vec::new(),
        };
        let payload = Payload::Filestore(FileStoreMessages {
            message: Some(file_store_messages::Message::ReadFileRequest(read)),
        });
        Self::installer_request(gateway_din, payload)
    }

    /// Asks the gateway for firmware and identity (legacy firmware request; the same bytes in
    /// both API versions).
    pub fn system_info(gateway_din: &str) -> Self {
        let payload = Payload::Common(CommonMessages {
            message: Some(common_messages::Message::GetSystemInfoRequest(
                GetSystemInfoRequest {},
            )),
        });
        Self::installer_request(gateway_din, payload)
    }

    /// A signed GraphQL query addressed to `recipient_din` over `/tedapi/v1`: the gateway DIN,
    /// or on a single-PW3 site the Powerwall's DIN.
    pub fn query(
        version: ApiVersion,
        role: QueryRole,
        recipient_din: &str,
    ) -> Result<Self, WireError> {
        Ok(Self::installer_request(
            recipient_din,
            query_payload(version, role)?,
        ))
    }

    /// A signed GraphQL query relayed by the gateway to one Powerwall of a multi-Powerwall
    /// site (`/tedapi/device/{DIN}/v1`, sender = gateway DIN, tail 2), the leader included.
    pub fn device_query(
        version: ApiVersion,
        role: QueryRole,
        gateway_din: &str,
        device_din: &str,
    ) -> Result<Self, WireError> {
        Ok(Self {
            envelope: envelope(
                Participant::din(gateway_din),
                device_din,
                query_payload(version, role)?,
            ),
            external_auth: ExternalAuthType::Mtls,
            route: Route::Device(device_din.to_owned()),
        })
    }

    /// The URL path to POST to.
    pub fn path(&self) -> String {
        self.route.path()
    }

    /// Basic-mode body: `Message {1 envelope, 2 tail}`.
    pub fn to_basic_body(&self) -> Vec<u8> {
        TedapiMessage {
            envelope: Some(self.envelope.clone()),
            tail: Some(ExternalAuth {
                r#type: self.external_auth as i32,
            }),
        }
        .encode_to_vec()
    }

    /// Bearer-mode body: the bare envelope in an `AuthEnvelope` with PRESENCE (§2.12 always
    /// says PRESENCE). For gateway-level requests this equals [`Self::to_basic_body`].
    pub fn to_bearer_body(&self) -> Vec<u8> {
        wrap_auth_envelope(&self.to_bare_envelope(), ExternalAuthType::Presence)
    }

    /// The bare envelope bytes (what v1r signs and sends).
    pub fn to_bare_envelope(&self) -> Vec<u8> {
        self.envelope.encode_to_vec()
    }

    /// An envelope from the client (`local` INSTALLER) to `recipient_din`, tail 1.
    fn installer_request(recipient_din: &str, payload: Payload) -> Self {
        Self {
            envelope: envelope(
                Participant::local(LocalParticipant::Installer),
                recipient_din,
                payload,
            ),
            external_auth: ExternalAuthType::Presence,
            route: Route::Gateway,
        }
    }
}

/// Wraps serialized bare envelope bytes in an `AuthEnvelope`.
pub fn wrap_auth_envelope(bare_envelope: &[u8], auth: ExternalAuthType) -> Vec<u8> {
    AuthEnvelope {
        payload: bare_envelope.to_vec(),
        external_auth: Some(ExternalAuth {
            r#type: auth as i32,
        }),
    }
    .encode_to_vec()
}

/// An envelope over HTTPS (delivery channel 1) from `sender` to the device `recipient_din`.
fn envelope(sender: Participant, recipient_din: &str, payload: Payload) -> MessageEnvelope {
    MessageEnvelope {
        delivery_channel: DeliveryChannel::LocalHttps as i32,
        sender: Some(sender),
        recipient: Some(Participant::din(recipient_din)),
        payload: Some(payload),
    }
}

/// The GraphQL payload replaying the bundled signed query for `role`.
fn query_payload(version: ApiVersion, role: QueryRole) -> Result<Payload, WireError> {
    let signed = query_set(version)?.for_role(role)?;
    let request = QueryRequest {
        format: GraphQlQueryFormat::SignedSha256EcdsaAsn1 as i32,
        query: signed.query.clone(),
        signature: signed.signature.clone(),
        variables_json: Some(StringValue::new(signed.variables_sent.clone())),
    };
    Ok(Payload::Graphql(GraphQlMessages {
        message: Some(graph_ql_messages::Message::QueryRequest(request)),
    }))
}
