//! Multi-gateway data models as pure functions of snapshots: the per-gateway `GatewayStatus`
//! (`/api/gateways/…`) and the cross-gateway `AggregateData` (`/api/aggregate/…`).
//!
//! Nothing here reads a clock: `now` only decides which documents are still servable and which are
//! stale, so the output changes only when a snapshot changes or a document crosses a freshness
//! boundary. That lets the server push these bodies to WebSocket clients when their bytes change.
//!
//! Aggregation rules (server-api §4 with the fixes of §11.1 item 2):
//! - A gateway is *included* when its meter aggregates are servable at `now` (inside the freshness
//!   window, or inside `PW_CACHE_TTL` by graceful degradation). `num_online` counts included
//!   gateways whose link is connected and whose aggregates are fresh; `num_degraded` counts the
//!   other included ones (stale data, served by graceful degradation). Degraded gateways are summed
//!   like online ones; `gateways_summary` flags each gateway as online, stale, included.
//! - Power: `total_<meter>_power` = Σ `instant_power` of that meter over included gateways (a
//!   missing meter or value counts 0); `total_grid_power = total_site_power`. With no included
//!   gateway every total is `null`, never `0`.
//! - Battery level, weighted by energy: `total_battery_percent_raw` = 100 × Σ
//!   `nominal_energy_remaining` / Σ `nominal_full_pack_energy` (`/api/system_status`, Wh) over the
//!   included gateways reporting both (full pack > 0, remaining ≥ 0), clamped to 0–100. Gateways
//!   with a level but no pack energies are left out of that figure (they cannot be weighted); when
//!   no included gateway reports pack energies, it is the plain mean of the reported raw levels.
//!   `soe_method` says which (`"energy_weighted"`, `"mean"`, `null`), `soe_basis` lists the
//!   gateways used. `total_battery_percent` = clamp((raw − 5) / 0.95, 0, 100), the Tesla app scale.
//!   Both are rounded to 2 decimals; `null` when no gateway reports.
//! - `total_battery_capacity` = Σ `nominal_full_pack_energy` (Wh) and `total_energy_remaining` =
//!   Σ `nominal_energy_remaining` (Wh) over the same gateways as the weighted level; `null` if none.
//! - `grid_status`, the worst state wins: any included gateway `DOWN` → `"DOWN"`, else any
//!   `SYNCING` → `"SYNCING"`, else any `UP` → `"UP"`; `null` when no included gateway knows its
//!   grid state (gateways with an unknown state are ignored).
//! - `timestamp` = the oldest aggregates fetch time (epoch s) among included gateways, so a
//!   consumer knows how old the totals may be; `newest_timestamp` the newest; `null` if none.

mod status;
mod totals;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use powerwall_gateway::DataKind;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::identity::GatewayInfo;
use super::snapshot::{Document, LinkState, Snapshot};
use crate::settings::Freshness;

pub use status::gateway_status;
pub use totals::{AggregateBodies, aggregate};

/// One gateway's identity, latest snapshot and freshness rules.
#[derive(Debug, Clone, Copy)]
pub struct GatewayView<'a> {
    /// Identity and configuration, free of credentials.
    pub info: &'a GatewayInfo,
    /// The latest snapshot its poller published.
    pub snapshot: &'a Snapshot,
    /// The freshness knobs it is polled with.
    pub freshness: &'a Freshness,
}

impl GatewayView<'_> {
    /// Whether `kind` is past its normal freshness at `now` (kept only by graceful degradation).
    pub fn is_stale(&self, kind: DataKind, now: Instant) -> bool {
        self.snapshot
            .admin
            .fresh_until
            .get(&kind)
            .is_some_and(|until| now > *until)
    }

    /// The documents that may still be served at `now`, each with its stale flag.
    pub fn servable(&self, now: Instant) -> Servable {
        let documents = self
            .snapshot
            .documents
            .iter()
            .filter(|(kind, document)| {
                now <= document.expires_at
                    // Without degradation, stale data is not served at all (§3.5).
                    && (self.freshness.graceful_degradation || !self.is_stale(**kind, now))
            })
            .map(|(kind, document)| (*kind, (document.clone(), self.is_stale(*kind, now))))
            .collect();
        Servable { documents }
    }

    /// Link connected and aggregates fresh: the gateway's `online` flag.
    fn is_online(&self, servable: &Servable) -> bool {
        self.snapshot.health.state == LinkState::Connected
            && servable.aggregates().is_some()
            && !servable.is_stale(DataKind::Aggregates)
    }
}

/// The documents of one gateway servable at one instant, with their stale flags.
#[derive(Debug, Clone, Default)]
pub struct Servable {
    documents: BTreeMap<DataKind, (Document, bool)>,
}

impl Servable {
    /// The JSON of `kind`, if servable.
    pub fn json(&self, kind: DataKind) -> Option<&Value> {
        self.documents
            .get(&kind)
            .map(|(document, _)| &*document.json)
    }

    /// Whether `kind` is servable but stale.
    pub fn is_stale(&self, kind: DataKind) -> bool {
        self.documents.get(&kind).is_some_and(|(_, stale)| *stale)
    }

    /// Wall-clock fetch time of `kind` (epoch seconds), if servable.
    pub fn fetched(&self, kind: DataKind) -> Option<f64> {
        self.documents
            .get(&kind)
            .and_then(|(document, _)| epoch(document.fetched_wall))
    }

    /// The meter aggregates when they hold data (a non-empty object, as `/aggregates` requires).
    pub fn aggregates(&self) -> Option<&Map<String, Value>> {
        self.json(DataKind::Aggregates)
            .and_then(Value::as_object)
            .filter(|meters| !meters.is_empty())
    }

    /// The servable documents without their flags, as the legacy renderers take them.
    fn documents(&self) -> BTreeMap<DataKind, Document> {
        self.documents
            .iter()
            .map(|(kind, (document, _))| (*kind, document.clone()))
            .collect()
    }

    /// `{"<document>": {"fetched": epoch, "stale": bool}}` for every servable document.
    fn freshness_json(&self) -> Value {
        let entries: Map<String, Value> = self
            .documents
            .iter()
            .map(|(kind, (document, stale))| {
                let mut entry = Map::new();
                entry.insert("fetched".into(), number(epoch(document.fetched_wall)));
                entry.insert("stale".into(), Value::Bool(*stale));
                (kind_key(*kind).to_owned(), Value::Object(entry))
            })
            .collect();
        Value::Object(entries)
    }
}

/// The key naming a document in `freshness` maps.
fn kind_key(kind: DataKind) -> &'static str {
    match kind {
        DataKind::Status => "status",
        DataKind::Aggregates => "aggregates",
        DataKind::Soe => "soe",
        DataKind::GridStatus => "grid_status",
        DataKind::SystemStatus => "system_status",
        DataKind::Operation => "operation",
        DataKind::SiteInfo => "site_info",
        DataKind::SiteName => "site_name",
        DataKind::Powerwalls => "powerwalls",
        DataKind::Vitals => "vitals",
        DataKind::SolarPowerwall => "solar_powerwall",
        DataKind::FanSpeeds => "fan_speeds",
    }
}

/// Epoch seconds of a wall-clock time, to the millisecond (`None` before 1970).
fn epoch(time: SystemTime) -> Option<f64> {
    let seconds = time.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    Some((seconds * 1000.0).round() / 1000.0)
}

/// A finite number as JSON, anything else (`None`, NaN, infinity) as `null`.
fn number(value: Option<f64>) -> Value {
    value
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Rounded to 2 decimals, for displayed percentages.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The Tesla app's battery scale, clamped to 0–100 as the app shows it.
fn app_scale_clamped(raw_pct: f64) -> f64 {
    powerwall_model::scale::raw_to_app_pct(raw_pct).clamp(0.0, 100.0)
}
