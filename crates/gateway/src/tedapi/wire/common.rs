//! Envelope payload 4: `CommonMessages` (legacy `FirmwareType`): system info and error replies
//! (gateway-protocols §2.5, §10.3, Appendices B and C).

use super::messages::StringValue;

/// `CommonMessages` (legacy `FirmwareType`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CommonMessages {
    /// The request or response (oneof `message`).
    #[prost(oneof = "common_messages::Message", tags = "1, 2, 3")]
    pub message: Option<common_messages::Message>,
}

/// Members of [`CommonMessages`]' oneof.
pub mod common_messages {
    /// The common messages TEDAPI v1 uses.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Message {
        /// The device could not handle the request.
        #[prost(message, tag = "1")]
        ErrorResponse(super::ErrorResponse),
        /// Ask for firmware and identity (legacy `request = ""`: same bytes).
        #[prost(message, tag = "2")]
        GetSystemInfoRequest(super::GetSystemInfoRequest),
        /// Firmware and identity (legacy `system`); boxed, it dwarfs the other members.
        #[prost(message, tag = "3")]
        GetSystemInfoResponse(Box<super::GetSystemInfoResponse>),
    }
}

/// `ErrorResponse` (combined schema `CommonAPIErrorResponse`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ErrorResponse {
    /// What went wrong.
    #[prost(message, optional, tag = "1")]
    pub status: Option<RpcStatus>,
}

/// `google.rpc.Status` (combined schema `CommandStatus`); `details` (3) is not decoded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// A [`RpcCode`] value.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// Human-readable text.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `google.rpc.Code`: status codes of [`RpcStatus`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum RpcCode {
    /// Success.
    Ok = 0,
    /// Cancelled by the caller.
    Cancelled = 1,
    /// Unknown error.
    Unknown = 2,
    /// Bad request.
    InvalidArgument = 3,
    /// Timed out.
    DeadlineExceeded = 4,
    /// No such entity.
    NotFound = 5,
    /// Entity exists already.
    AlreadyExists = 6,
    /// Not allowed.
    PermissionDenied = 7,
    /// Out of a resource.
    ResourceExhausted = 8,
    /// Wrong state for the request.
    FailedPrecondition = 9,
    /// Aborted (e.g. a conflict).
    Aborted = 10,
    /// Out of range.
    OutOfRange = 11,
    /// The request kind is not implemented (what gateways answer to unknown payloads).
    Unimplemented = 12,
    /// Internal error.
    Internal = 13,
    /// Temporarily unavailable.
    Unavailable = 14,
    /// Data lost.
    DataLoss = 15,
    /// Not authenticated.
    Unauthenticated = 16,
}

/// `CommonAPIGetSystemInfoRequest`: empty.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetSystemInfoRequest {}

/// `CommonAPIGetSystemInfoResponse` (legacy `FirmwarePayload`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetSystemInfoResponse {
    /// Part and serial number (legacy `gateway`).
    #[prost(message, optional, tag = "1")]
    pub device_id: Option<EcuId>,
    /// The device DIN.
    #[prost(string, tag = "2")]
    pub din: String,
    /// Running firmware (legacy `version`).
    #[prost(message, optional, tag = "3")]
    pub firmware_version: Option<FirmwareVersion>,
    /// Update state.
    #[prost(message, optional, tag = "5")]
    pub system_update: Option<SystemUpdate>,
    /// Device type (4 = SITECONTROLLER).
    #[prost(int32, tag = "6")]
    pub device_type: i32,
    /// Radio certifications (legacy `wireless`).
    #[prost(message, optional, tag = "7")]
    pub compliance_information: Option<ComplianceInformation>,
    /// Signature of the installed firmware.
    #[prost(bytes = "vec", tag = "8")]
    pub installed_firmware_signature: Vec<u8>,
    /// Signature of the offline firmware.
    #[prost(bytes = "vec", tag = "9")]
    pub offline_firmware_signature: Vec<u8>,
}

impl GetSystemInfoResponse {
    /// The firmware version text, e.g. `24.12.6-PW3-AFCI 008bf6ff`, when present and non-empty.
    pub fn firmware_version_text(&self) -> Option<&str> {
        self.firmware_version
            .as_ref()
            .map(|firmware| firmware.version.as_str())
            .filter(|text| !text.is_empty())
    }
}

/// `EcuId`: part and serial number.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EcuId {
    /// Part number, e.g. `1232100-00-E`.
    #[prost(string, tag = "1")]
    pub part_number: String,
    /// Serial number.
    #[prost(string, tag = "2")]
    pub serial_number: String,
}

/// `FirmwareVersion` (legacy field names `text`, `githash`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct FirmwareVersion {
    /// Version text, e.g. `24.4.0 0fe780c9`.
    #[prost(string, tag = "1")]
    pub version: String,
    /// Git hash (ASCII hex on the firmware seen so far, but declared as bytes).
    #[prost(bytes = "vec", tag = "2")]
    pub githash: Vec<u8>,
}

/// `SystemUpdate`: firmware update progress.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SystemUpdate {
    /// Handshake result (0 INVALID, 1 UNDERWAY, 2 FAILED, 3 NON_ACTIONABLE, 4 UPDATE_STAGED).
    #[prost(int32, tag = "1")]
    pub handshake_result: i32,
    /// Update status (0 INVALID, 1 IDLE, 2 DOWNLOADING, 3 DOWNLOADED, 4 STAGED, ...).
    #[prost(int32, tag = "2")]
    pub update_status: i32,
    /// Version staged by the server.
    #[prost(message, optional, tag = "3")]
    pub server_staged_version: Option<FirmwareVersion>,
    /// Download size.
    #[prost(uint64, tag = "4")]
    pub total_bytes: u64,
    /// Bytes downloaded so far.
    #[prost(uint64, tag = "5")]
    pub bytes_offset: u64,
    /// Download rate estimate.
    #[prost(uint64, tag = "6")]
    pub estimated_bytes_per_second: u64,
    /// Time of the last handshake.
    #[prost(uint64, tag = "7")]
    pub last_handshake_timestamp: u64,
    /// Last update result (0 INVALID, 1 FAILED, 2 SUCCEEDED).
    #[prost(int32, tag = "8")]
    pub last_update_result: i32,
    /// Packages staged by the server.
    #[prost(message, repeated, tag = "9")]
    pub server_staged_packages: Vec<ServerStagedPackage>,
    /// Whether the update is side-loaded.
    #[prost(bool, tag = "10")]
    pub is_sideloading: bool,
}

/// `ServerStagedPackage`: one staged firmware package.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerStagedPackage {
    /// Where to download it.
    #[prost(string, tag = "1")]
    pub download_url: String,
    /// Package id.
    #[prost(uint64, tag = "2")]
    pub package_id: u64,
    /// Package signature.
    #[prost(bytes = "vec", tag = "3")]
    pub package_signature: Vec<u8>,
    /// Version it installs.
    #[prost(message, optional, tag = "4")]
    pub server_staged_version: Option<FirmwareVersion>,
}

/// `ComplianceInformation` (legacy `DeviceArray`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ComplianceInformation {
    /// One entry per radio (legacy `device`).
    #[prost(message, repeated, tag = "1")]
    pub radio_legal_information: Vec<RadioLegalInformation>,
}

/// `RadioLegalInformation` (legacy `DeviceInfo`): one radio's certifications.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RadioLegalInformation {
    /// Manufacturer (legacy `company`).
    #[prost(message, optional, tag = "1")]
    pub manufacturer: Option<StringValue>,
    /// Model.
    #[prost(message, optional, tag = "2")]
    pub model: Option<StringValue>,
    /// FCC id (legacy `fcc_id`).
    #[prost(message, optional, tag = "3")]
    pub fcc_id: Option<StringValue>,
    /// ISED id (legacy `ic`).
    #[prost(message, optional, tag = "4")]
    pub ic_id: Option<StringValue>,
}
