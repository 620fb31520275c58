//! Immutable snapshots of one gateway's data, shared by `Arc` and read without locks by routes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use powerwall_gateway::{DataKind, QueryActivity, UpstreamStats};
use tokio::time::Instant;

use super::fallback::FallbackView;
use super::health::EndpointTable;
use super::readings::Readings;

/// One document as last read from the gateway.
#[derive(Debug, Clone)]
pub struct Document {
    /// The local-API-shaped JSON.
    pub json: Arc<serde_json::Value>,
    /// When it was read (monotonic, for ages).
    pub fetched_at: Instant,
    /// When it was read (wall clock, for display).
    pub fetched_wall: SystemTime,
    /// After this it is too old to serve (freshness window plus the plan's period for it).
    pub expires_at: Instant,
}

/// A response body rendered once per snapshot, with the age of the data inside it.
#[derive(Debug, Clone)]
pub struct Body {
    /// The exact bytes sent to clients.
    pub bytes: Bytes,
    /// When the data behind it was read from the gateway.
    pub fetched_at: Instant,
    /// After this it is too old to serve.
    pub expires_at: Instant,
}

impl Body {
    /// The bytes, while the data behind them may still be served.
    pub fn fresh(&self, now: Instant) -> Option<&Bytes> {
        (now <= self.expires_at).then_some(&self.bytes)
    }
}

/// Bodies that are the same for every request, rendered when the snapshot is built, keyed by the
/// route path that serves them (`/aggregates`, `/csv/v2?headers`, …).
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    bodies: BTreeMap<&'static str, Body>,
}

impl Rendered {
    /// The body rendered for `route`, if its data was available.
    pub fn get(&self, route: &str) -> Option<&Body> {
        self.bodies.get(route)
    }

    /// Stores the body of `route`.
    pub fn insert(&mut self, route: &'static str, body: Body) {
        self.bodies.insert(route, body);
    }

    /// The routes that have a body.
    pub fn routes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.bodies.keys().copied()
    }
}

/// Where the link to the gateway stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// No answer yet.
    Starting,
    /// The last poll succeeded.
    Connected,
    /// The gateway cannot be reached (network, timeout).
    Unreachable,
    /// The gateway rejected our credentials: nothing will change until the settings do.
    LoginFailed,
    /// The gateway asked us to back off.
    CoolingDown,
}

/// Health of the link, as `/health` reports it.
#[derive(Debug, Clone)]
pub struct LinkHealth {
    /// Current state.
    pub state: LinkState,
    /// The last error, as logged (never contains a credential).
    pub last_error: Option<String>,
    /// The same error as clients of the multi-gateway API see it (no cause chain or paths).
    pub last_public_error: Option<String>,
    /// When that error happened.
    pub last_error_at: Option<Instant>,
    /// When a gateway read last succeeded.
    pub last_success_at: Option<Instant>,
    /// Wall-clock time of the last success.
    pub last_success_wall: Option<SystemTime>,
    /// Failed reads in a row.
    pub consecutive_failures: u64,
    /// Successful reads in a row.
    pub consecutive_successes: u64,
    /// Degraded: five failures in a row, until three successes in a row.
    pub degraded: bool,
    /// Failed reads since start.
    pub total_failures: u64,
    /// Successful reads since start.
    pub total_successes: u64,
    /// When the poller will next ask the gateway.
    pub next_attempt_at: Option<Instant>,
    /// Upstream request counts of the client.
    pub upstream: UpstreamStats,
}

impl LinkHealth {
    /// The state before the first poll.
    pub fn starting() -> Self {
        Self {
            state: LinkState::Starting,
            last_error: None,
            last_public_error: None,
            last_error_at: None,
            last_success_at: None,
            last_success_wall: None,
            consecutive_failures: 0,
            consecutive_successes: 0,
            degraded: false,
            total_failures: 0,
            total_successes: 0,
            next_attempt_at: None,
            upstream: UpstreamStats::default(),
        }
    }

    /// Five failures in a row mark the link degraded, three successes in a row end it (§15.30).
    pub fn is_degraded(&self) -> bool {
        self.degraded
    }
}

/// Everything known about one gateway at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Increases with every publication.
    pub sequence: u64,
    /// When this snapshot was published.
    pub published_at: Instant,
    /// The last good document of each kind still within the freshness window.
    pub documents: BTreeMap<DataKind, Document>,
    /// The same data as typed readings with their freshness (built once per publish).
    pub readings: Arc<Readings>,
    /// Pre-rendered bodies.
    pub rendered: Rendered,
    /// Link health.
    pub health: LinkHealth,
    /// What the administration routes show beyond the link health.
    pub admin: AdminView,
}

/// Poll statistics, fallback state and bookkeeping sizes for `/health`, `/stats` and `/help`.
#[derive(Debug, Clone, Default)]
pub struct AdminView {
    /// Poll outcomes of the degradation-wrapped sources (`/aggregates`, `/soe`, …).
    pub endpoints: EndpointTable,
    /// SolarOnly fallback state.
    pub fallback: FallbackView,
    /// Per document: after this instant it is served only because of graceful degradation.
    pub fresh_until: BTreeMap<DataKind, Instant>,
    /// Network-error log bookkeeping: rate-limit buckets and summary tallies.
    pub network_log_entries: (usize, usize),
    /// The poll plan as the gateway sees it: per query, tier, period, last fetch, rate.
    pub plan: Vec<QueryActivity>,
}

impl Snapshot {
    /// Documents kept only by graceful degradation at `now`, with their age.
    pub fn degradation_only(&self, now: Instant) -> impl Iterator<Item = (DataKind, &Document)> {
        self.documents.iter().filter_map(move |(kind, document)| {
            let fresh_until = self.admin.fresh_until.get(kind)?;
            (now > *fresh_until).then_some((*kind, document))
        })
    }
}

impl Snapshot {
    /// The snapshot before the first poll: no data, link starting.
    pub fn empty() -> Self {
        Self {
            sequence: 0,
            published_at: Instant::now(),
            documents: BTreeMap::new(),
            readings: Arc::new(Readings::default()),
            rendered: Rendered::default(),
            health: LinkHealth::starting(),
            admin: AdminView::default(),
        }
    }
}
