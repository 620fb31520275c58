//! Hand-written prost messages for the TEDAPI v1 envelope (gateway-protocols §2.3, §2.4,
//! Appendices B and C).
//!
//! The V2024_06 legacy schema, the V2024_06 "combined" schema and the V2026_06 energy_device
//! schema name the same bytes differently (§2.3). These types follow the energy_device naming,
//! which covers both query sets; the legacy names are given in the docs. Only the members the
//! client and the simulator use are declared: prost skips unknown fields on decode, so newer
//! firmware that adds members still decodes. Field numbers are wire numbers.

/// The outer message POSTed in basic mode (`Message`): envelope plus tail.
///
/// Byte-identical to [`AuthEnvelope`] with the envelope serialized into `payload` (§2.3); this
/// view saves a second decode when the envelope is wanted anyway.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TedapiMessage {
    /// The envelope (legacy `message`; `AuthEnvelope.payload`).
    #[prost(message, optional, tag = "1")]
    pub envelope: Option<MessageEnvelope>,
    /// The tail (legacy `tail`; `AuthEnvelope.externalAuth`).
    #[prost(message, optional, tag = "2")]
    pub tail: Option<ExternalAuth>,
}

/// The bearer-mode wrapper (`AuthEnvelope`): serialized envelope plus external-auth type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthEnvelope {
    /// The serialized bare [`MessageEnvelope`].
    #[prost(bytes = "vec", tag = "1")]
    pub payload: Vec<u8>,
    /// How the sender authenticated (oneof `auth`; a single-member oneof encodes like this).
    #[prost(message, optional, tag = "2")]
    pub external_auth: Option<ExternalAuth>,
}

/// `ExternalAuth {1 type}`, the legacy `Tail {1 value}`: "tail 1" is PRESENCE, "tail 2" is MTLS.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExternalAuth {
    /// An [`ExternalAuthType`] value.
    #[prost(enumeration = "ExternalAuthType", tag = "1")]
    pub r#type: i32,
}

/// Legacy name of [`ExternalAuth`] (`Tail {1 value}`).
pub type Tail = ExternalAuth;

/// How the sender authenticated; the legacy tail value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ExternalAuthType {
    /// Not set.
    Invalid = 0,
    /// "tail 1": requests to the gateway itself (and every bearer request).
    Presence = 1,
    /// "tail 2": requests routed to another device (`/tedapi/device/{DIN}/v1`).
    Mtls = 2,
    /// Cloud command channel (not used locally).
    HermesCommand = 4,
}

/// `MessageEnvelope`: routing plus exactly one payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MessageEnvelope {
    /// A [`DeliveryChannel`] value.
    #[prost(enumeration = "DeliveryChannel", tag = "1")]
    pub delivery_channel: i32,
    /// Who sends the message.
    #[prost(message, optional, tag = "2")]
    pub sender: Option<Participant>,
    /// Who the message is for.
    #[prost(message, optional, tag = "3")]
    pub recipient: Option<Participant>,
    /// The payload (oneof `payload`); `None` when absent or of a kind not declared here.
    #[prost(oneof = "message_envelope::Payload", tags = "4, 15, 16")]
    pub payload: Option<message_envelope::Payload>,
}

/// Members of [`MessageEnvelope`]'s payload oneof.
pub mod message_envelope {
    /// The envelope payloads TEDAPI v1 uses.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Payload {
        /// Field 4: system info and error responses (legacy `firmware`).
        #[prost(message, tag = "4")]
        Common(crate::tedapi::wire::common::CommonMessages),
        /// Field 15: file reads and writes (legacy `config`).
        #[prost(message, tag = "15")]
        Filestore(crate::tedapi::wire::payloads::FileStoreMessages),
        /// Field 16: signed GraphQL queries (legacy `payload`).
        #[prost(message, tag = "16")]
        Graphql(crate::tedapi::wire::payloads::GraphQlMessages),
    }
}

/// Which channel carried the envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DeliveryChannel {
    /// Not set.
    Invalid = 0,
    /// HTTPS on the gateway (v1, bearer, v1r queries).
    LocalHttps = 1,
    /// Command channel (v1r filestore and TEG commands).
    HermesCommand = 2,
    /// Bluetooth LE.
    Ble = 3,
}

/// `Participant`: one end of the envelope (oneof `id`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Participant {
    /// The identity; `None` when unset.
    #[prost(oneof = "participant::Id", tags = "1, 2, 3, 4, 5")]
    pub id: Option<participant::Id>,
}

/// Members of [`Participant`]'s oneof.
pub mod participant {
    /// The ways a participant is identified.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Id {
        /// A device by DIN (gateway, PW3 leader or follower).
        #[prost(string, tag = "1")]
        Din(String),
        /// A [`super::TeslaService`] value.
        #[prost(enumeration = "super::TeslaService", tag = "2")]
        TeslaService(i32),
        /// A [`super::LocalParticipant`] value (the client is `local = 1` INSTALLER).
        #[prost(enumeration = "super::LocalParticipant", tag = "3")]
        Local(i32),
        /// A [`super::AuthorizedClientType`] value (v1r uses CUSTOMER_MOBILE_APP).
        #[prost(enumeration = "super::AuthorizedClientType", tag = "4")]
        AuthorizedClient(i32),
        /// A device reached through another one.
        #[prost(message, tag = "5")]
        ProxiedDevice(super::ProxiedDevice),
    }
}

impl Participant {
    /// A device participant identified by its DIN.
    pub fn din(din: impl Into<String>) -> Self {
        Self {
            id: Some(participant::Id::Din(din.into())),
        }
    }

    /// A local participant (the client is INSTALLER; gateways answer to it).
    pub fn local(who: LocalParticipant) -> Self {
        Self {
            id: Some(participant::Id::Local(who as i32)),
        }
    }

    /// An authorized client (v1r sends CUSTOMER_MOBILE_APP).
    pub fn authorized_client(kind: AuthorizedClientType) -> Self {
        Self {
            id: Some(participant::Id::AuthorizedClient(kind as i32)),
        }
    }

    /// The DIN when this participant is a device.
    pub fn as_din(&self) -> Option<&str> {
        match &self.id {
            Some(participant::Id::Din(din)) => Some(din),
            _ => None,
        }
    }
}

/// `ProxiedDevice {1 proxyDin, 2 targetDin}`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProxiedDevice {
    /// The device relaying the message.
    #[prost(string, tag = "1")]
    pub proxy_din: String,
    /// The device the message is for.
    #[prost(string, tag = "2")]
    pub target_din: String,
}

/// Tesla cloud services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum TeslaService {
    /// Not set.
    Invalid = 0,
    /// The command service.
    Command = 1,
}

/// Local (on-site) participants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum LocalParticipant {
    /// Not set.
    Invalid = 0,
    /// The installer (what TEDAPI v1 clients claim to be).
    Installer = 1,
    /// The customer.
    Customer = 2,
}

/// Authorized client kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AuthorizedClientType {
    /// Not set.
    Invalid = 0,
    /// The Tesla mobile app (what v1r claims to be).
    CustomerMobileApp = 1,
    /// A vehicle.
    Vehicle = 2,
}

/// `google.protobuf.StringValue` (legacy `StringValue`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringValue {
    /// The wrapped text.
    #[prost(string, tag = "1")]
    pub value: String,
}

impl StringValue {
    /// Wraps a text.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
        }
    }
}
