//! From TEDAPI config and status documents to local-API-shaped JSON (gateway-protocols §3).
//!
//! Everything here is a pure function of [`TedapiInputs`]: the TEDAPI documents as the gateway
//! sent them (kept as `serde_json::Value`, read null-safely), plus the few facts a client knows
//! (host, PW3 flag, firmware info, the clock). Every output keeps the reference's key order and
//! its integer/float types, so clients that diff or type-check the JSON see no change.
//!
//! Entry points: [`local_document`] answers any `/api/...` path; the per-path functions
//! ([`api_status`], [`meters_aggregates`], [`vitals()`], …) and the facade computations
//! ([`strings`], [`temps`], [`alerts`], [`fan_speeds`], …) are public for callers that need
//! one piece. Powerwall 3 sites additionally need [`pw3_component_requests`] answered and fed
//! to [`pw3_vitals`].

mod aggregates;
mod blocks;
mod clock;
mod facade;
mod fans;
mod mock;
mod msa;
mod status;
mod system_status;
mod value;
mod vitals;

#[cfg(test)]
mod tests;

use powerwall_model::Vitals;
use serde_json::Value;

pub use aggregates::meters_aggregates;
pub use blocks::{battery_blocks, get_blocks};
pub use clock::{GatewayTime, go_duration, parse_gateway_time};
pub use facade::{
    GridStatusKind, alerts, get_grid_charging, get_grid_export, get_mode, get_reserve,
    get_time_remaining, grid_status, level, power, strings, temps,
};
pub use fans::fan_speeds;
pub use mock::{local_document, mocked_document};
pub use status::{
    BootEstimate, api_status, boot_estimate, grid_status_document, operation, site_info, site_name,
    soe,
};
pub use system_status::system_status;
pub use vitals::{ComponentsRequest, pw3_component_requests, pw3_vitals, vitals};

/// The library version the reference mapping reports in the `VITALS` header (drop-in compatibility).
pub const REFERENCE_LIBRARY_VERSION: &str = "0.22.2";

/// Firmware facts from the TEDAPI system-info request (§2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirmwareInfo {
    /// The version text, e.g. `"24.12.6-PW3-AFCI 008bf6ff"`.
    pub version: Option<String>,
    /// The git hash; callers keep the last value seen when a later request fails (§3.1).
    pub git_hash: Option<String>,
}

/// Everything the conversions read: TEDAPI documents plus what the client knows.
///
/// Any document may be absent or malformed; conversions then answer `None` or nulls as the
/// reference does, never panic.
#[derive(Debug, Clone, Copy, Default)]
pub struct TedapiInputs<'a> {
    /// `config.json` from the gateway filestore.
    pub config: Option<&'a Value>,
    /// The DeviceController answer to the *basic* query.
    pub status: Option<&'a Value>,
    /// The DeviceController answer to the *full* query (components.msa, remote meters).
    pub controller: Option<&'a Value>,
    /// The assembled Powerwall 3 blocks from [`pw3_vitals`] (PW3 sites only).
    pub pw3_vitals: Option<&'a Vitals>,
    /// Whether the gateway was detected as a Powerwall 3 (§2.9).
    pub is_pw3: bool,
    /// Firmware version and git hash, when the system-info request answered.
    pub firmware: Option<&'a FirmwareInfo>,
    /// The gateway's own `/api/meters/aggregates` over its classic API (§2.14), when reachable.
    pub native_aggregates: Option<&'a Value>,
    /// The TEDAPI host, echoed in the vitals header.
    pub host: &'a str,
    /// The current time in seconds since the Unix epoch (vitals header timestamp).
    pub now_epoch_seconds: f64,
    /// The boot estimate of the previous poll, which keeps `start_time` steady (§3.1).
    pub previous_boot: Option<&'a BootEstimate>,
}

impl<'a> TedapiInputs<'a> {
    /// The config document when it is a JSON object.
    pub(crate) fn config_object(&self) -> Option<&'a Value> {
        self.config.filter(|config| config.is_object())
    }

    /// The basic status document when it is a JSON object.
    pub(crate) fn status_object(&self) -> Option<&'a Value> {
        self.status.filter(|status| status.is_object())
    }

    /// The full controller document when it is a JSON object.
    pub(crate) fn controller_object(&self) -> Option<&'a Value> {
        self.controller.filter(|controller| controller.is_object())
    }

    /// The PW3 blocks, only on a Powerwall 3 system.
    pub(crate) fn pw3_blocks(&self) -> Option<&'a Vitals> {
        self.pw3_vitals.filter(|_| self.is_pw3)
    }
}
