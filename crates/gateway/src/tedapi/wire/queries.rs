//! The bundled signed query files and API version selection (gateway-protocols §2.6, §2.11).
//!
//! The client cannot sign queries: it replays Tesla-signed (query, signature) pairs verbatim.
//! The files are compiled in and parsed once, on first use.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use prost::Message as _;
use serde_json::Value;

use super::WireError;
use super::extra_signals::extend_variables;
use super::payloads::SignedGraphQlQuery;

/// `queries/V2024_06.json`: the legacy captures, keyed by role.
const V2024_06_FILE: &str = include_str!("../../../../../testdata/tedapi/queries/V2024_06.json");
/// `queries/V2026_06.json`: pre-signed energy_device queries, keyed by operation name.
const V2026_06_FILE: &str = include_str!("../../../../../testdata/tedapi/queries/V2026_06.json");

/// Which bundled query set to send (`tedapi_api_version`); chosen by the user, never detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ApiVersion {
    /// Legacy captures whose variables may be extended with extra signals (the default).
    #[default]
    V2024_06,
    /// Pre-signed energy_device queries: everything inline, no extra signals.
    V2026_06,
}

impl ApiVersion {
    /// Every known version, oldest first (the order labels sort in).
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V2024_06, ApiVersion::V2026_06];

    /// The label users write, e.g. `V2024_06`.
    pub fn label(self) -> &'static str {
        match self {
            ApiVersion::V2024_06 => "V2024_06",
            ApiVersion::V2026_06 => "V2026_06",
        }
    }

    /// Matches a label exactly (case and all), as the reference does.
    pub fn from_label(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|version| version.label() == text)
    }

    /// Parses a configured label; an unknown one falls back to the default and is reported in
    /// the result so the caller can log it (the reference warns and carries on).
    pub fn parse_or_default(text: &str) -> ApiVersionChoice {
        match Self::from_label(text) {
            Some(version) => ApiVersionChoice {
                version,
                unknown_label: None,
            },
            None => ApiVersionChoice {
                version: Self::default(),
                unknown_label: Some(text.to_owned()),
            },
        }
    }

    /// Whether the query variables can carry the extra signals of §2.6 (temperatures, fans,
    /// uptime, TEPOD/TEPINV values); V2026_06 queries are signed with everything inline.
    pub fn supports_extra_signals(self) -> bool {
        self == ApiVersion::V2024_06
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.label())
    }
}

impl FromStr for ApiVersion {
    type Err = WireError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_label(text).ok_or_else(|| WireError::UnknownApiVersion {
            label: text.to_owned(),
        })
    }
}

/// The outcome of [`ApiVersion::parse_or_default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersionChoice {
    /// The version to use.
    pub version: ApiVersion,
    /// The label that was not recognised, when the default was substituted.
    pub unknown_label: Option<String>,
}

impl ApiVersionChoice {
    /// A log line for an unrecognised label, naming the valid ones.
    pub fn warning(&self) -> Option<String> {
        let label = self.unknown_label.as_ref()?;
        let valid: Vec<&str> = ApiVersion::ALL.iter().map(|v| v.label()).collect();
        Some(format!(
            "unknown TEDAPI API version {label:?}; using {} (valid: {})",
            self.version,
            valid.join(", ")
        ))
    }
}

/// What a GraphQL query asks for; each role maps to one entry of each query file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueryRole {
    /// DeviceControllerQuery without variables (`get_status`).
    DeviceControllerBasic,
    /// DeviceControllerQuery with the MSA component filter and signals (`get_device_controller`).
    DeviceControllerFull,
    /// PW3 components: pws/pch/bms/hvp/baggr (`get_components`, per-Powerwall vitals).
    Components,
}

impl QueryRole {
    /// Every role.
    pub const ALL: [QueryRole; 3] = [
        QueryRole::DeviceControllerBasic,
        QueryRole::DeviceControllerFull,
        QueryRole::Components,
    ];

    /// The key of this role's entry in `version`'s query file.
    pub fn query_key(self, version: ApiVersion) -> &'static str {
        match (version, self) {
            (ApiVersion::V2024_06, QueryRole::DeviceControllerBasic) => "device_controller_basic",
            (ApiVersion::V2024_06, QueryRole::DeviceControllerFull) => "device_controller_full",
            (ApiVersion::V2024_06, QueryRole::Components) => "components",
            // V2026_06 has one DeviceControllerQuery with every signal inline.
            (ApiVersion::V2026_06, QueryRole::DeviceControllerBasic)
            | (ApiVersion::V2026_06, QueryRole::DeviceControllerFull) => "DeviceControllerQuery",
            (ApiVersion::V2026_06, QueryRole::Components) => "PW3Query",
        }
    }
}

/// One entry of a query file, prepared for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedQuery {
    /// The entry key (a role for V2024_06, an operation name for V2026_06).
    pub key: String,
    /// The GraphQL document text.
    pub text: String,
    /// Tesla's DER-encoded ECDSA signature (`code`).
    pub signature: Vec<u8>,
    /// The `queryRequest.query` bytes: a serialized [`SignedGraphQlQuery`].
    pub query: Vec<u8>,
    /// The variables JSON as captured (`b_value`).
    pub captured_variables: String,
    /// The variables JSON actually sent (V2024_06: captured plus the extra signals of §2.6).
    pub variables_sent: String,
}

/// The parsed entries of one query file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySet {
    /// Which file this is.
    pub version: ApiVersion,
    /// Its entries, in file order.
    pub queries: Vec<SignedQuery>,
}

impl QuerySet {
    /// The entry with this key.
    pub fn get(&self, key: &str) -> Option<&SignedQuery> {
        self.queries.iter().find(|query| query.key == key)
    }

    /// The entry sent for a role.
    pub fn for_role(&self, role: QueryRole) -> Result<&SignedQuery, WireError> {
        let key = role.query_key(self.version);
        self.get(key).ok_or_else(|| WireError::QueryFile {
            version: self.version,
            detail: format!("no entry {key:?}"),
        })
    }
}

/// The bundled query set of `version`, parsed on first use.
pub fn query_set(version: ApiVersion) -> Result<&'static QuerySet, WireError> {
    static V2024_06: OnceLock<Result<QuerySet, WireError>> = OnceLock::new();
    static V2026_06: OnceLock<Result<QuerySet, WireError>> = OnceLock::new();
    let (cell, file) = match version {
        ApiVersion::V2024_06 => (&V2024_06, V2024_06_FILE),
        ApiVersion::V2026_06 => (&V2026_06, V2026_06_FILE),
    };
    cell.get_or_init(|| parse_query_file(version, file))
        .as_ref()
        .map_err(Clone::clone)
}

/// Finds the bundled entry a received query replays (the simulator's signature check).
pub fn find_signed_query(
    query: &[u8],
    signature: &[u8],
) -> Option<(ApiVersion, &'static SignedQuery)> {
    ApiVersion::ALL.into_iter().find_map(|version| {
        let set = query_set(version).ok()?;
        set.queries
            .iter()
            .find(|entry| entry.query == query && entry.signature == signature)
            .map(|entry| (version, entry))
    })
}

/// One record of a query file as stored.
#[derive(serde::Deserialize)]
struct QueryRecord {
    text: String,
    code: String,
    b_value: String,
    #[serde(default)]
    signed_bytes: String,
}

/// Parses a query file and prepares each entry's wire bytes and variables.
fn parse_query_file(version: ApiVersion, file: &str) -> Result<QuerySet, WireError> {
    let file_error = |detail: String| WireError::QueryFile { version, detail };
    let records: serde_json::Map<String, Value> =
        serde_json::from_str(file).map_err(|err| file_error(err.to_string()))?;
    let mut queries = Vec::with_capacity(records.len());
    for (key, value) in records {
        let record: QueryRecord = serde_json::from_value(value)
            .map_err(|err| file_error(format!("entry {key:?}: {err}")))?;
        let signature = decode_hex(&record.code)
            .ok_or_else(|| file_error(format!("entry {key:?}: `code` is not hex")))?;
        let query = match version {
            // The legacy captures carry the text; the signed form is built around it.
            ApiVersion::V2024_06 => SignedGraphQlQuery {
                version: 1,
                query: record.text.clone().into_bytes(),
            }
            .encode_to_vec(),
            ApiVersion::V2026_06 => decode_hex(&record.signed_bytes)
                .filter(|bytes| !bytes.is_empty())
                .ok_or_else(|| file_error(format!("entry {key:?}: bad `signed_bytes`")))?,
        };
        let variables_sent = match version {
            ApiVersion::V2024_06 => extend_variables(&key, &record.b_value)
                .map_err(|err| file_error(format!("entry {key:?}: `b_value`: {err}")))?,
            // Signed with everything inline: sent exactly as bundled.
            ApiVersion::V2026_06 => record.b_value.clone(),
        };
        queries.push(SignedQuery {
            key,
            text: record.text,
            signature,
            query,
            captured_variables: record.b_value,
            variables_sent,
        });
    }
    Ok(QuerySet { version, queries })
}

/// Decodes hex text (either case); `None` when it is not an even run of hex digits.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}
