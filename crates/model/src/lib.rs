//! Normalized Powerwall readings and identity types.
//!
//! Every access mode (local API, TEDAPI, cloud, Fleet API) ends up producing these types, so the
//! server never needs to know where a number came from. Field names carry their unit
//! (`instant_power_w`, `energy_wh`, `raw_pct`); serde renames map them to and from the gateway's
//! local-API JSON shapes. This crate does no I/O.

pub mod aggregates;
pub mod battery;
pub mod grid;
pub mod readings;
pub mod scale;
pub mod site;
pub mod status;
pub mod vitals;

pub use aggregates::{Aggregates, MeterReading};
pub use battery::{BatteryBlock, Operation, StateOfEnergy, SystemStatus};
pub use grid::{GridState, GridStatus};
pub use readings::{Field, Freshness};
pub use site::{PowerwallEntry, Powerwalls, SiteInfo, SiteName};
pub use status::{FirmwareVersion, GatewayStatus};
pub use vitals::Vitals;

/// Why a gateway document could not be read into a typed reading.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The JSON did not have the shape the gateway documents.
    #[error("unexpected {document} shape: {source}")]
    Shape {
        /// Which document was being read (e.g. `/api/meters/aggregates`).
        document: &'static str,
        /// The underlying serde error.
        #[source]
        source: serde_json::Error,
    },
    /// The document was valid JSON but lacked a value it must carry.
    #[error("{document} has no {field}")]
    Missing {
        /// Which document was being read.
        document: &'static str,
        /// The missing field.
        field: &'static str,
    },
}

/// Deserializes a typed reading from a gateway JSON document, naming the document on failure.
pub fn from_document<T: serde::de::DeserializeOwned>(
    document: &'static str,
    value: &serde_json::Value,
) -> Result<T, ModelError> {
    T::deserialize(value).map_err(|source| ModelError::Shape { document, source })
}

/// Reads a JSON document from the repository's `testdata/local/` (unit tests only).
#[cfg(test)]
pub(crate) fn local_fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/../../testdata/local/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}
