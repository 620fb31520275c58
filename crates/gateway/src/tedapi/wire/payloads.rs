//! Envelope payloads 15 (filestore, legacy `config`) and 16 (GraphQL, legacy `payload`)
//! (gateway-protocols §2.3, §2.5, Appendices B and C).

use super::messages::StringValue;

/// `FileStoreMessages` (legacy `ConfigType`): one file request or response.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FileStoreMessages {
    /// The request or response (oneof `message`).
    #[prost(oneof = "file_store_messages::Message", tags = "1, 2, 3, 4, 5, 6")]
    pub message: Option<file_store_messages::Message>,
}

/// Members of [`FileStoreMessages`]' oneof.
pub mod file_store_messages {
    /// File store requests and responses.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Message {
        /// Read a file (legacy `send {1 num, 2 file}`).
        #[prost(message, tag = "1")]
        ReadFileRequest(super::ReadFileRequest),
        /// The file read (legacy `recv {1 file, 2 code}`).
        #[prost(message, tag = "2")]
        ReadFileResponse(super::ReadFileResponse),
        /// Overwrite a file unconditionally (v1r writes).
        #[prost(message, tag = "3")]
        ForceWriteFileRequest(super::ForceWriteFileRequest),
        /// Answer to a forced write.
        #[prost(message, tag = "4")]
        ForceWriteFileResponse(super::ForceWriteFileResponse),
        /// Overwrite a file if its hash still matches (v1r writes).
        #[prost(message, tag = "5")]
        UpdateFileRequest(super::UpdateFileRequest),
        /// Answer to a conditional write.
        #[prost(message, tag = "6")]
        UpdateFileResponse(super::UpdateFileResponse),
    }
}

/// Which file family a file store request addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum FileStoreDomain {
    /// Not set.
    Invalid = 0,
    /// `config.json` (legacy "num 1").
    ConfigJson = 1,
    /// Grid code regions table.
    GridCodeRegionsCsv = 2,
    /// Certified installers table.
    CertifiedInstallersCsv = 3,
    /// Supercharger files.
    SuperchargerFiles = 4,
    /// Opticaster files.
    OpticasterFiles = 5,
    /// Wall connector configuration.
    WallboxConfig = 6,
    /// OCPP root certificate.
    OcppCsmsRootCa = 7,
}

/// `FileStoreAPIReadFileRequest` (legacy `PayloadConfigSend`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadFileRequest {
    /// A [`FileStoreDomain`] value (legacy `num`).
    #[prost(enumeration = "FileStoreDomain", tag = "1")]
    pub domain: i32,
    /// The file name, e.g. `config.json` (legacy `file`).
    #[prost(string, tag = "2")]
    pub name: String,
    /// Skip the content when the file still has this hash.
    #[prost(bytes = "vec", tag = "3")]
    pub if_different_hash: Vec<u8>,
}

/// `FileStoreAPIReadFileResponse` (legacy `PayloadConfigRecv`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadFileResponse {
    /// The file.
    #[prost(message, optional, tag = "1")]
    pub file: Option<FileStoreFile>,
    /// Opaque hash of the content (legacy `code`), needed for conditional writes.
    #[prost(bytes = "vec", tag = "2")]
    pub hash: Vec<u8>,
}

/// `FileStoreAPIFile` (legacy `ConfigString`): a named file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FileStoreFile {
    /// The file name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The content (`blob`, legacy `text` string: same bytes). A single-member oneof, so it
    /// is written whenever set, even empty.
    #[prost(bytes = "vec", optional, tag = "100")]
    pub blob: Option<Vec<u8>>,
}

/// `FileStoreAPIForceWriteFileRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ForceWriteFileRequest {
    /// A [`FileStoreDomain`] value.
    #[prost(enumeration = "FileStoreDomain", tag = "1")]
    pub domain: i32,
    /// The new file.
    #[prost(message, optional, tag = "2")]
    pub file: Option<FileStoreFile>,
}

/// `FileStoreAPIForceWriteFileResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ForceWriteFileResponse {
    /// Hash of the stored content.
    #[prost(bytes = "vec", tag = "1")]
    pub hash: Vec<u8>,
}

/// `FileStoreAPIUpdateFileRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateFileRequest {
    /// A [`FileStoreDomain`] value.
    #[prost(enumeration = "FileStoreDomain", tag = "1")]
    pub domain: i32,
    /// The new file.
    #[prost(message, optional, tag = "2")]
    pub file: Option<FileStoreFile>,
    /// The hash the stored file must still have.
    #[prost(bytes = "vec", tag = "3")]
    pub hash: Vec<u8>,
}

/// `FileStoreAPIUpdateFileResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateFileResponse {
    /// The stored file.
    #[prost(message, optional, tag = "1")]
    pub file: Option<FileStoreFile>,
    /// Hash of the stored content.
    #[prost(bytes = "vec", tag = "2")]
    pub hash: Vec<u8>,
}

/// `GraphQLMessages` (legacy `QueryType`): one query or its answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphQlMessages {
    /// The query or answer (oneof `message`).
    #[prost(oneof = "graph_ql_messages::Message", tags = "1, 2")]
    pub message: Option<graph_ql_messages::Message>,
}

/// Members of [`GraphQlMessages`]' oneof.
pub mod graph_ql_messages {
    /// GraphQL query and answer.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Message {
        /// The query (legacy `send`).
        #[prost(message, tag = "1")]
        QueryRequest(super::QueryRequest),
        /// The answer (legacy `recv`).
        #[prost(message, tag = "2")]
        QueryResponse(super::QueryResponse),
    }
}

/// How a query is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum GraphQlQueryFormat {
    /// Not set.
    Invalid = 0,
    /// Unsigned text.
    Raw = 1,
    /// ECDSA (DER) over SHA-256: what the bundled queries use (legacy "num 2").
    SignedSha256EcdsaAsn1 = 2,
}

/// `GraphQLAPIQueryRequest` (legacy `PayloadQuerySend`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRequest {
    /// A [`GraphQlQueryFormat`] value (legacy `num`).
    #[prost(enumeration = "GraphQlQueryFormat", tag = "1")]
    pub format: i32,
    /// A serialized [`SignedGraphQlQuery`] (legacy `payload {1 value, 2 text}`).
    #[prost(bytes = "vec", tag = "2")]
    pub query: Vec<u8>,
    /// DER-encoded signature made by Tesla (legacy `code`).
    #[prost(bytes = "vec", tag = "3")]
    pub signature: Vec<u8>,
    /// The variables as JSON text (legacy `b`).
    #[prost(message, optional, tag = "4")]
    pub variables_json: Option<StringValue>,
}

/// `SignedGraphQLQuery` (legacy `PayloadString`): the signed query document.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignedGraphQlQuery {
    /// 1 for the V2024_06 captures, 2 for the V2026_06 pre-signed queries.
    #[prost(uint32, tag = "1")]
    pub version: u32,
    /// The GraphQL document text.
    #[prost(bytes = "vec", tag = "2")]
    pub query: Vec<u8>,
}

/// Outcome of a GraphQL query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum GraphQlStatus {
    /// Not set.
    Invalid = 0,
    /// Complete answer (legacy `recv.value = 1`).
    Success = 1,
    /// Some fields failed; `data` holds the rest.
    ErrorPartial = 2,
    /// The query failed.
    ErrorFull = 3,
}

/// `GraphQLAPIQueryResponse` (legacy `PayloadString` in `recv`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryResponse {
    /// A [`GraphQlStatus`] value (legacy `value`).
    #[prost(enumeration = "GraphQlStatus", tag = "1")]
    pub status: i32,
    /// The answer as JSON text (legacy `text`).
    #[prost(string, tag = "2")]
    pub data: String,
    /// Query errors (V2026_06 firmware).
    #[prost(message, repeated, tag = "3")]
    pub errors: Vec<GraphQlError>,
}

/// `GraphQLError`: one failed part of a query.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphQlError {
    /// The path of the failed field.
    #[prost(string, repeated, tag = "1")]
    pub path: Vec<String>,
    /// A [`GraphQlErrorCode`] value.
    #[prost(enumeration = "GraphQlErrorCode", tag = "2")]
    pub code: i32,
    /// Human-readable text.
    #[prost(string, tag = "3")]
    pub message: String,
}

/// Why part of a GraphQL query failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum GraphQlErrorCode {
    /// Not set.
    Invalid = 0,
    /// The schema has no such field.
    FieldNotFound = 1,
    /// The query or its signature was not accepted (e.g. rotated signing keys).
    Unauthorized = 2,
    /// A resolver did not answer.
    ResolverProcessUnresponsive = 3,
    /// The answer would be too large.
    ResponseTooBig = 4,
}
