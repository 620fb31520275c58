//! Typed readings of one snapshot (DESIGN.md "The next shape"): the model crate's types, built
//! once per publish from the documents, each with what a consumer needs to judge it — when it
//! was read, until when it is fresh, until when it may be served at all, or that this access mode
//! does not provide it. Legacy routes keep rendering the documents byte for byte; aggregation and
//! every new output (MQTT, metrics, history) read these instead of looking up JSON keys.

use std::collections::BTreeMap;
use std::time::SystemTime;

use powerwall_gateway::DataKind;
use powerwall_model::{
    Aggregates, Field, Freshness, GatewayStatus, GridStatus, Operation, SiteName, StateOfEnergy,
    SystemStatus,
};
use tokio::time::Instant;

use super::snapshot::Document;

/// One typed reading as the poller last had it.
#[derive(Debug, Clone, PartialEq)]
pub enum Tracked<T> {
    /// The access mode does not read it (not in the poll plan).
    Unsupported,
    /// Not known: not read yet, expired, or its document did not have the expected shape.
    Missing,
    /// Read from the gateway.
    Known(Known<T>),
}

/// A value read from the gateway with its times.
#[derive(Debug, Clone, PartialEq)]
pub struct Known<T> {
    /// The typed value.
    pub value: T,
    /// When its document was read (monotonic).
    pub fetched_at: Instant,
    /// When its document was read (wall clock).
    pub fetched_wall: SystemTime,
    /// Past this it is kept only by graceful degradation (`None`: fresh until it expires).
    pub fresh_until: Option<Instant>,
    /// Past this it is not served at all.
    pub expires_at: Instant,
}

impl<T> Tracked<T> {
    /// The value at `now` with its freshness, by the same rules the legacy routes follow: past
    /// `expires_at` it is missing; past `fresh_until` it is stale, and served only with graceful
    /// degradation on.
    pub fn at(&self, now: Instant, graceful_degradation: bool) -> Field<&T> {
        let known = match self {
            Self::Unsupported => return Field::empty(Freshness::Unsupported),
            Self::Missing => return Field::empty(Freshness::Missing),
            Self::Known(known) => known,
        };
        if now > known.expires_at {
            return Field::empty(Freshness::Missing);
        }
        let stale = known.fresh_until.is_some_and(|until| now > until);
        if stale && !graceful_degradation {
            return Field::empty(Freshness::Missing);
        }
        Field {
            value: Some(&known.value),
            freshness: if stale {
                Freshness::Stale
            } else {
                Freshness::Fresh
            },
        }
    }

    /// The reading whatever its age, with its times (`None` unless known).
    pub fn known(&self) -> Option<&Known<T>> {
        match self {
            Self::Known(known) => Some(known),
            _ => None,
        }
    }
}

/// The typed readings of one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Readings {
    /// Power and lifetime energy per meter (`/api/meters/aggregates`).
    pub aggregates: Tracked<Aggregates>,
    /// Battery level on the gateway's raw scale (`/api/system_status/soe`).
    pub soe: Tracked<StateOfEnergy>,
    /// Grid connection state (`/api/system_status/grid_status`).
    pub grid: Tracked<GridStatus>,
    /// Pack energies and battery blocks (`/api/system_status`).
    pub system_status: Tracked<SystemStatus>,
    /// Operation mode and backup reserve (`/api/operation`).
    pub operation: Tracked<Operation>,
    /// Gateway identity, firmware and uptime (`/api/status`).
    pub status: Tracked<GatewayStatus>,
    /// Site name and timezone (`/api/site_info/site_name`).
    pub site_name: Tracked<SiteName>,
}

impl Default for Readings {
    fn default() -> Self {
        Self {
            aggregates: Tracked::Missing,
            soe: Tracked::Missing,
            grid: Tracked::Missing,
            system_status: Tracked::Missing,
            operation: Tracked::Missing,
            status: Tracked::Missing,
            site_name: Tracked::Missing,
        }
    }
}

impl Readings {
    /// The readings of `documents` (the ones a snapshot serves), with `fresh_until` per failing
    /// document and `supported` saying which documents this mode's plan reads at all.
    pub fn build(
        documents: &BTreeMap<DataKind, Document>,
        fresh_until: &BTreeMap<DataKind, Instant>,
        supported: impl Fn(DataKind) -> bool,
    ) -> Self {
        fn track<T>(
            kind: DataKind,
            documents: &BTreeMap<DataKind, Document>,
            fresh_until: &BTreeMap<DataKind, Instant>,
            supported: &dyn Fn(DataKind) -> bool,
            read: impl Fn(&serde_json::Value) -> Result<T, powerwall_model::ModelError>,
        ) -> Tracked<T> {
            if !supported(kind) {
                return Tracked::Unsupported;
            }
            let Some(document) = documents.get(&kind) else {
                return Tracked::Missing;
            };
            match read(&document.json) {
                Ok(value) => Tracked::Known(Known {
                    value,
                    fetched_at: document.fetched_at,
                    fetched_wall: document.fetched_wall,
                    fresh_until: fresh_until.get(&kind).copied(),
                    expires_at: document.expires_at,
                }),
                Err(err) => {
                    // `null` (no data in this mode or state) is common; odd shapes are logged.
                    if !document.json.is_null() {
                        tracing::debug!("no typed reading of {}: {err}", kind.local_path());
                    }
                    Tracked::Missing
                }
            }
        }
        let supported: &dyn Fn(DataKind) -> bool = &supported;
        Self {
            aggregates: track(
                DataKind::Aggregates,
                documents,
                fresh_until,
                supported,
                Aggregates::from_json,
            ),
            soe: track(
                DataKind::Soe,
                documents,
                fresh_until,
                supported,
                StateOfEnergy::from_json,
            ),
            grid: track(
                DataKind::GridStatus,
                documents,
                fresh_until,
                supported,
                GridStatus::from_json,
            ),
            system_status: track(
                DataKind::SystemStatus,
                documents,
                fresh_until,
                supported,
                SystemStatus::from_json,
            ),
            operation: track(
                DataKind::Operation,
                documents,
                fresh_until,
                supported,
                Operation::from_json,
            ),
            status: track(
                DataKind::Status,
                documents,
                fresh_until,
                supported,
                GatewayStatus::from_json,
            ),
            site_name: track(
                DataKind::SiteName,
                documents,
                fresh_until,
                supported,
                SiteName::from_json,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn document(json: serde_json::Value, now: Instant) -> Document {
        Document {
            json: Arc::new(json),
            fetched_at: now,
            fetched_wall: SystemTime::now(),
            expires_at: now + Duration::from_secs(40),
        }
    }

    #[test]
    fn documents_become_typed_readings_with_their_freshness() {
        let now = Instant::now();
        let documents = BTreeMap::from([
            (
                DataKind::Aggregates,
                document(json!({"site": {"instant_power": -1200.5}}), now),
            ),
            (DataKind::Soe, document(json!({"percentage": 55.0}), now)),
            (DataKind::GridStatus, document(json!(null), now)),
        ]);
        let fresh_until = BTreeMap::from([(DataKind::Soe, now + Duration::from_secs(5))]);
        let readings =
            Readings::build(&documents, &fresh_until, |kind| kind != DataKind::Operation);
        let site = readings.aggregates.at(now, true).map(Aggregates::site_w);
        assert_eq!(site.value, Some(-1200.5));
        assert_eq!(site.freshness, Freshness::Fresh);
        assert_eq!(readings.grid, Tracked::Missing, "null document: no reading");
        assert_eq!(readings.operation, Tracked::Unsupported);
        assert_eq!(
            readings.operation.at(now, true).freshness,
            Freshness::Unsupported
        );
        // The SOE document is failing: stale after its freshness, served only with degradation.
        let later = now + Duration::from_secs(10);
        let soe = readings.soe.at(later, true);
        assert_eq!(soe.freshness, Freshness::Stale);
        assert_eq!(soe.value.map(|soe| soe.raw_pct), Some(55.0));
        assert_eq!(readings.soe.at(later, false).freshness, Freshness::Missing);
        // Past its expiry nothing is served.
        let expired = now + Duration::from_secs(41);
        assert_eq!(
            readings.aggregates.at(expired, true).freshness,
            Freshness::Missing
        );
    }
}
