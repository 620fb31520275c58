//! The cross-gateway overview: every gateway's status and the aggregate, serialised once per
//! change and published on a watch channel that the multi-gateway routes and WebSockets read.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::aggregate::{GatewayView, aggregate, gateway_status};
use super::{GatewayInfo, Snapshot};
use crate::settings::Freshness;

/// How often the overview is recomputed without a new snapshot, so that data leaving its
/// freshness window shows up (a change of bytes is published; an unchanged overview is not).
const EXPIRY_CHECK: Duration = Duration::from_secs(1);

/// Shortest time between two publications. Rate-limiting here, once, rather than per WebSocket
/// client keeps every client in step: they all get each overview at the same moment.
pub const MIN_PUBLISH_INTERVAL: Duration = Duration::from_secs(1);

/// One gateway's bodies.
#[derive(Debug, Clone, Default)]
pub struct GatewayBodies {
    /// The gateway id.
    pub id: String,
    /// `GET /api/gateways/<id>` and the `/ws/gateway/<id>` message.
    pub status: Bytes,
    /// `GET /api/gateways/<id>/vitals` (`{}` without data).
    pub vitals: Bytes,
    /// `GET /api/gateways/<id>/strings`.
    pub strings: Bytes,
    /// `GET /api/gateways/<id>/aggregates`.
    pub aggregates: Bytes,
}

/// Every multi-gateway body at one moment, serialised once and shared by all readers.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// Increases with every publication.
    pub sequence: u64,
    /// `GET /api/aggregate/` and the `/ws/aggregate` message.
    pub aggregate: Bytes,
    /// The aggregate without the per-gateway statuses (`/ws/aggregate?view=summary`).
    pub summary: Bytes,
    /// `GET /api/aggregate/power`.
    pub power: Bytes,
    /// `GET /api/aggregate/soe`.
    pub soe: Bytes,
    /// `GET /api/aggregate/battery`.
    pub battery: Bytes,
    /// `GET /api/aggregate/strings`.
    pub strings: Bytes,
    /// `GET /api/aggregate/alerts`.
    pub alerts: Bytes,
    /// `GET /api/aggregate/vitals`.
    pub vitals: Bytes,
    /// `GET /api/gateways/`: id → status.
    pub gateway_map: Bytes,
    /// Per gateway, in configuration order.
    pub gateways: Vec<GatewayBodies>,
}

impl Overview {
    /// The bodies of the gateway with this id.
    pub fn gateway(&self, id: &str) -> Option<&GatewayBodies> {
        self.gateways.iter().find(|gateway| gateway.id == id)
    }

    /// Whether the published content equals `other`'s (the sequence aside).
    fn same_content(&self, other: &Overview) -> bool {
        self.aggregate == other.aggregate
            && self.gateways.len() == other.gateways.len()
            && self
                .gateways
                .iter()
                .zip(&other.gateways)
                .all(|(a, b)| a.status == b.status)
    }
}

/// A gateway as the overview reads it.
#[derive(Clone)]
pub struct OverviewSource {
    /// Identity.
    pub info: GatewayInfo,
    /// Its freshness rules.
    pub freshness: Freshness,
    /// Its snapshots.
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
}

/// Compact JSON bytes (serialising a `Value` cannot fail; an empty object stands in if it did).
fn to_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
}

/// The field of a status's `data`, or `{}`.
fn data_field(status: &Value, field: &str) -> Bytes {
    match status.get("data").and_then(|data| data.get(field)) {
        Some(value) if !value.is_null() => to_bytes(value),
        _ => Bytes::from_static(b"{}"),
    }
}

/// Computes the overview of `sources` at `now`.
pub fn compute(sources: &[OverviewSource], now: Instant, sequence: u64) -> Overview {
    let snapshots: Vec<Arc<Snapshot>> = sources
        .iter()
        .map(|source| source.snapshots.borrow().clone())
        .collect();
    let views: Vec<GatewayView<'_>> = sources
        .iter()
        .zip(&snapshots)
        .map(|(source, snapshot)| GatewayView {
            info: &source.info,
            snapshot,
            freshness: &source.freshness,
        })
        .collect();
    let statuses: Vec<Value> = views.iter().map(|view| gateway_status(view, now)).collect();
    let bodies = aggregate(&views, &statuses, now);
    let mut summary = bodies.full.clone();
    if let Value::Object(map) = &mut summary {
        map.remove("gateways");
    }
    let mut gateway_map = Map::new();
    let mut gateways = Vec::with_capacity(sources.len());
    for (source, status) in sources.iter().zip(&statuses) {
        gateways.push(GatewayBodies {
            id: source.info.id.clone(),
            status: to_bytes(status),
            vitals: data_field(status, "vitals"),
            strings: data_field(status, "strings"),
            aggregates: data_field(status, "aggregates"),
        });
        gateway_map.insert(source.info.id.clone(), status.clone());
    }
    Overview {
        sequence,
        aggregate: to_bytes(&bodies.full),
        summary: to_bytes(&summary),
        power: to_bytes(&bodies.power),
        soe: to_bytes(&bodies.soe),
        battery: to_bytes(&bodies.battery),
        strings: to_bytes(&bodies.strings),
        alerts: to_bytes(&bodies.alerts),
        vitals: to_bytes(&bodies.vitals),
        gateway_map: to_bytes(&Value::Object(gateway_map)),
        gateways,
    }
}

/// The running overview publisher.
pub struct OverviewPublisher {
    receiver: watch::Receiver<Arc<Overview>>,
    tasks: Vec<JoinHandle<()>>,
}

impl OverviewPublisher {
    /// Starts recomputing on every new snapshot of any gateway (and every second for expiry),
    /// publishing at most once per [`MIN_PUBLISH_INTERVAL`].
    pub fn spawn(sources: Vec<OverviewSource>) -> Self {
        let first = Arc::new(compute(&sources, Instant::now(), 1));
        let (sender, receiver) = watch::channel(first);
        let changed = Arc::new(Notify::new());
        let mut tasks: Vec<JoinHandle<()>> = sources
            .iter()
            .map(|source| {
                let mut snapshots = source.snapshots.clone();
                let changed = Arc::clone(&changed);
                tokio::spawn(async move {
                    while snapshots.changed().await.is_ok() {
                        changed.notify_one();
                    }
                })
            })
            .collect();
        tasks.push(tokio::spawn(publish(sources, sender, changed)));
        Self { receiver, tasks }
    }

    /// A receiver of overviews (`borrow()` never waits).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Overview>> {
        self.receiver.clone()
    }
}

impl Drop for OverviewPublisher {
    fn drop(&mut self) {
        // Dropping the sender inside the publish task ends every WebSocket loop too.
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn publish(
    sources: Vec<OverviewSource>,
    sender: watch::Sender<Arc<Overview>>,
    changed: Arc<Notify>,
) {
    let mut sequence = 1;
    loop {
        tokio::select! {
            () = changed.notified() => {}
            () = tokio::time::sleep(EXPIRY_CHECK) => {}
        }
        let next = compute(&sources, Instant::now(), sequence + 1);
        if next.same_content(&sender.borrow()) {
            continue;
        }
        sequence += 1;
        if sender.send(Arc::new(next)).is_err() {
            return;
        }
        // Snapshots arriving meanwhile leave a stored notification: they are not lost, only
        // folded into the next publication.
        tokio::time::sleep(MIN_PUBLISH_INTERVAL).await;
    }
}
