//! Client library for Tesla Energy Gateways.
//!
//! One module per access mode (`local` today; `tedapi`, `v1r`, `cloud`, `fleet` follow). Every mode
//! implements [`GatewayAccess`] and answers in the gateway's local-API JSON shapes, so the server
//! renders the same routes whatever the mode. Gateway protection lives here: one request in flight,
//! no hidden retries, cooldowns honouring `Retry-After`, negative caches, re-login at most once per
//! cooldown, and a count of every upstream request.

pub mod cloud;
pub mod control;
pub mod error;
pub mod fleet;
pub mod http;
pub mod hybrid;
pub mod local;
pub mod policy;
pub mod poll;
pub mod private_file;
pub mod secret;
pub mod select;
pub mod single_flight;
pub mod tedapi;
pub mod tesla;

use std::sync::atomic::{AtomicU64, Ordering};

pub use control::{GridExportRule, OperationMode, ReserveLevel};
pub use error::{ErrorClass, GatewayError};
pub use poll::{PollAnswers, PollRequest, QueryActivity, QueryTiers, Tier};
pub use secret::Secret;
pub use select::AccessMode;

/// The documents the server's poll plan can ask any access mode for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKind {
    /// `/api/status`: DIN, firmware, uptime.
    Status,
    /// `/api/meters/aggregates`: power per meter.
    Aggregates,
    /// `/api/system_status/soe`: raw state of energy.
    Soe,
    /// `/api/system_status/grid_status`.
    GridStatus,
    /// `/api/system_status`: pack energy and battery blocks.
    SystemStatus,
    /// `/api/operation`: mode and reserve.
    Operation,
    /// `/api/site_info`.
    SiteInfo,
    /// `/api/site_info/site_name`.
    SiteName,
    /// `/api/powerwalls`.
    Powerwalls,
    /// `/api/devices/vitals`, decoded to the vitals dictionary.
    Vitals,
    /// `/api/solar_powerwall`: inverter strings and alerts (the fallback when vitals are absent).
    SolarPowerwall,
    /// Fan speeds per inverter (TEDAPI only: `get_fan_speeds()`).
    FanSpeeds,
}

impl DataKind {
    /// Every kind, in a stable order.
    pub const ALL: [DataKind; 12] = [
        DataKind::Status,
        DataKind::Aggregates,
        DataKind::Soe,
        DataKind::GridStatus,
        DataKind::SystemStatus,
        DataKind::Operation,
        DataKind::SiteInfo,
        DataKind::SiteName,
        DataKind::Powerwalls,
        DataKind::Vitals,
        DataKind::SolarPowerwall,
        DataKind::FanSpeeds,
    ];

    /// The local-API path whose shape this document has.
    pub fn local_path(self) -> &'static str {
        match self {
            DataKind::Status => "/api/status",
            DataKind::Aggregates => "/api/meters/aggregates",
            DataKind::Soe => "/api/system_status/soe",
            DataKind::GridStatus => "/api/system_status/grid_status",
            DataKind::SystemStatus => "/api/system_status",
            DataKind::Operation => "/api/operation",
            DataKind::SiteInfo => "/api/site_info",
            DataKind::SiteName => "/api/site_info/site_name",
            DataKind::Powerwalls => "/api/powerwalls",
            DataKind::Vitals => "/api/devices/vitals",
            DataKind::SolarPowerwall => "/api/solar_powerwall",
            // Not a gateway path: TEDAPI derives fan speeds from the device controller.
            DataKind::FanSpeeds => "/fans",
        }
    }
}

/// A passthrough answer, kept in the form the gateway sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawBody {
    /// A JSON document (`Content-Type: application/json`).
    Json(serde_json::Value),
    /// Any other text.
    Text(String),
    /// Binary content (e.g. protobuf).
    Bytes(bytes::Bytes),
}

/// Upstream request counts of one client: a product figure shown in `/health` and asserted by tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpstreamStats {
    /// Requests sent to the gateway (logins included).
    pub requests: u64,
    /// Of those, logins.
    pub logins: u64,
    /// Requests that ended in an error (transport or non-2xx).
    pub errors: u64,
}

/// Lock-free counters behind [`UpstreamStats`].
#[derive(Debug, Default)]
pub struct UpstreamCounters {
    requests: AtomicU64,
    logins: AtomicU64,
    errors: AtomicU64,
}

impl UpstreamCounters {
    /// Counts one request about to be sent.
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one login about to be sent (also a request).
    pub fn login(&self) {
        self.request();
        self.logins.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one failed request.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The current counts.
    pub fn snapshot(&self) -> UpstreamStats {
        UpstreamStats {
            requests: self.requests.load(Ordering::Relaxed),
            logins: self.logins.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// One access mode to one gateway.
///
/// Implementations keep the gateway safe on their own: callers may call concurrently, and the
/// implementation serialises, cools down and suppresses as the gateway requires.
#[async_trait::async_trait]
pub trait GatewayAccess: Send + Sync + 'static {
    /// The access mode this client speaks.
    fn mode(&self) -> AccessMode;

    /// The address the client talks to, for logs and `/health` (never a credential).
    fn target(&self) -> &str;

    /// Establishes the session (login or equivalent). Idempotent; `fetch` calls it when needed.
    async fn connect(&self) -> Result<(), GatewayError>;

    /// Reads one document in the gateway's local-API JSON shape.
    async fn fetch(&self, kind: DataKind) -> Result<serde_json::Value, GatewayError>;

    /// Reads any gateway path as it comes (the passthrough routes).
    async fn fetch_raw(&self, path: &str) -> Result<RawBody, GatewayError>;

    /// Upstream request counts so far.
    fn upstream(&self) -> UpstreamStats;

    /// Reads the documents of one poll as one point in time: every document is built from one
    /// set of gateway answers, each query sent at most once. Modes whose documents are separate
    /// gateway paths read them one after the other (this default); after a link failure the
    /// rest is not asked for.
    async fn poll(&self, request: PollRequest<'_>) -> PollAnswers {
        let mut answers = Vec::with_capacity(request.kinds.len());
        for &kind in request.kinds {
            let result = self.fetch(kind).await;
            let stop = result.as_ref().is_err_and(GatewayError::is_link_failure);
            answers.push((kind, result));
            if stop {
                break;
            }
        }
        answers
    }

    /// Per query of the plan: tier, period, last fetch and requests per minute (`/health`).
    /// Modes without an activity log report nothing.
    fn plan_activity(&self) -> Vec<QueryActivity> {
        Vec::new()
    }

    /// The write ability of this mode, when it has one (`None`: control is not supported here).
    fn control(&self) -> Option<&dyn GatewayControl> {
        None
    }
}

/// Writes to a gateway's settings: an ability only some access modes offer (see
/// [`GatewayAccess::control`]), so "not supported in this mode" is known from the type.
///
/// The reserve level is forwarded unchanged: the local API's field is raw scale, so the local
/// backend writes it as given; the cloud APIs take the app's percentage (gateway-protocols §7).
#[async_trait::async_trait]
pub trait GatewayControl: Send + Sync {
    /// Sets the backup reserve and/or the operation mode; answers the backend's result document.
    async fn set_operation(
        &self,
        reserve: Option<ReserveLevel>,
        mode: Option<OperationMode>,
    ) -> Result<serde_json::Value, GatewayError>;

    /// Allows or forbids charging the battery from the grid; answers the backend's result.
    async fn set_grid_charging(&self, allowed: bool) -> Result<serde_json::Value, GatewayError>;

    /// Sets the grid export rule; answers the backend's result.
    async fn set_grid_export(
        &self,
        rule: GridExportRule,
    ) -> Result<serde_json::Value, GatewayError>;
}

/// The error of a write `mode` cannot perform (e.g. grid settings through the local API).
pub fn unsupported_write(mode: AccessMode, what: &str) -> GatewayError {
    GatewayError::Unsupported {
        mode: mode.name(),
        what: what.to_owned(),
    }
}
