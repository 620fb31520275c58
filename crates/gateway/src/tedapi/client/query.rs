//! The names of the TEDAPI client's gateway requests, as `/health`'s plan lists them, and the
//! tier each runs in (README "Poll tiers").

use crate::poll::Tier;

/// `GET /` at connect: the Powerwall 3 probe (§2.9).
pub const PROBE: &str = "probe";
/// `GET /tedapi/din` at connect.
pub const DIN: &str = "din";
/// The bearer (installer) login (§2.12).
pub const LOGIN: &str = "login";
/// `config.json` from the filestore: site settings, reserve, mode, battery blocks.
pub const CONFIG: &str = "config";
/// The basic DeviceController query: power, SOE, grid, alerts, battery blocks.
pub const STATUS: &str = "status";
/// The full DeviceController query: remote meters, PVAC, components.msa, uptime.
pub const CONTROLLER: &str = "controller";
/// The system-info request: firmware version and git hash.
pub const FIRMWARE: &str = "firmware";
/// The gateway-level components query (Powerwall 3).
pub const COMPONENTS: &str = "components";
/// Prefix of a per-Powerwall components query (Powerwall 3), followed by the unit's DIN.
pub const COMPONENTS_UNIT: &str = "components ";
/// The classic API's customer login (§2.14).
pub const ENERGY_LOGIN: &str = "energy login";
/// The classic API's `/api/meters/aggregates`: lifetime energy counters (§2.14).
pub const ENERGY: &str = "energy";

/// The tier of the request called `name`.
pub fn tier_of(name: &str) -> Tier {
    match name {
        STATUS => Tier::Fast,
        CONTROLLER | COMPONENTS => Tier::Detail,
        FIRMWARE | ENERGY => Tier::Slow,
        CONFIG => Tier::Config,
        _ if name.starts_with(COMPONENTS_UNIT) => Tier::Detail,
        _ => Tier::Connect,
    }
}

/// The name of the components query of the Powerwall `din`.
pub fn unit_components(din: &str) -> String {
    format!("{COMPONENTS_UNIT}{din}")
}
