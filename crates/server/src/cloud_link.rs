//! The server's links to the Tesla cloud, over the Owner API (cloud mode) or the Fleet API: the
//! cloud-mode reader (the client, with the mocked gateway paths filled in) and the cloud link a
//! gateway's control goes through, with its health and the last values it saw.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use powerwall_gateway::cloud::CloudClient;
use powerwall_gateway::fleet::FleetClient;
use powerwall_gateway::tedapi::convert::mocked_document;
use powerwall_gateway::{
    AccessMode, DataKind, GatewayAccess, GatewayControl, GatewayError, GridExportRule,
    OperationMode, RawBody, ReserveLevel, UpstreamStats, unsupported_write,
};
use serde_json::{Value, json};

use crate::engine::capabilities::BackendKind;

/// Failures in a row after which the link counts as unavailable (server-api: 3).
const UNAVAILABLE_AFTER: u32 = 3;

/// The client behind a cloud link: Tesla's Owner API or its Fleet API.
#[derive(Clone)]
pub enum TeslaClient {
    /// The Owner API (`.pypowerwall.auth`).
    Owner(Arc<CloudClient>),
    /// The Fleet API (`.pypowerwall.fleetapi`).
    Fleet(Arc<FleetClient>),
}

impl TeslaClient {
    /// The client as a gateway client.
    fn as_access(&self) -> Arc<dyn GatewayAccess> {
        match self {
            Self::Owner(client) => Arc::clone(client) as Arc<dyn GatewayAccess>,
            Self::Fleet(client) => Arc::clone(client) as Arc<dyn GatewayAccess>,
        }
    }
}

impl From<Arc<CloudClient>> for TeslaClient {
    fn from(client: Arc<CloudClient>) -> Self {
        Self::Owner(client)
    }
}

impl From<Arc<FleetClient>> for TeslaClient {
    fn from(client: Arc<FleetClient>) -> Self {
        Self::Fleet(client)
    }
}

/// A cloud client as the poller, the on-demand reads and control writes see it: every cloud
/// answer, the fixed answers of gateway-protocols §3.11 for the `/api/*` paths the cloud has no
/// source for.
pub struct CloudReads {
    client: Arc<dyn GatewayAccess>,
}

impl CloudReads {
    /// Wraps `client` (an Owner API or Fleet API client).
    pub fn new(client: impl Into<TeslaClient>) -> Self {
        Self {
            client: client.into().as_access(),
        }
    }

    /// The client's write ability (both Tesla APIs have one).
    fn writer(&self) -> Result<&dyn GatewayControl, GatewayError> {
        self.client
            .control()
            .ok_or_else(|| unsupported_write(self.client.mode(), "control writes"))
    }
}

#[async_trait::async_trait]
impl GatewayAccess for CloudReads {
    fn mode(&self) -> AccessMode {
        self.client.mode()
    }

    fn target(&self) -> &str {
        self.client.target()
    }

    async fn connect(&self) -> Result<(), GatewayError> {
        self.client.connect().await
    }

    async fn fetch(&self, kind: DataKind) -> Result<Value, GatewayError> {
        self.client.fetch(kind).await
    }

    async fn fetch_raw(&self, path: &str) -> Result<RawBody, GatewayError> {
        match self.client.fetch_raw(path).await {
            Err(GatewayError::Unsupported { mode, what }) => {
                let bare = path.split(['?', '#']).next().unwrap_or_default();
                match mocked_document(bare) {
                    Some(document) => Ok(RawBody::Json(document.unwrap_or(Value::Null))),
                    None => Err(GatewayError::Unsupported { mode, what }),
                }
            }
            other => other,
        }
    }

    fn upstream(&self) -> UpstreamStats {
        self.client.upstream()
    }

    fn control(&self) -> Option<&dyn GatewayControl> {
        Some(self)
    }
}

/// Writes through the cloud client, with errors that never name the account.
#[async_trait::async_trait]
impl GatewayControl for CloudReads {
    async fn set_operation(
        &self,
        reserve: Option<ReserveLevel>,
        mode: Option<OperationMode>,
    ) -> Result<Value, GatewayError> {
        let control = self.writer()?;
        control.set_operation(reserve, mode).await
    }

    async fn set_grid_charging(&self, allowed: bool) -> Result<Value, GatewayError> {
        let control = self.writer()?;
        control.set_grid_charging(allowed).await
    }

    async fn set_grid_export(&self, rule: GridExportRule) -> Result<Value, GatewayError> {
        let control = self.writer()?;
        control.set_grid_export(rule).await
    }
}

/// What the link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudRole {
    /// The gateway runs in cloud mode: this is its only connection.
    Main,
    /// The hybrid cloud control connection of a local or TEDAPI gateway.
    HybridControl,
}

/// A value with the wall-clock time it was seen.
#[derive(Debug, Clone, Default)]
struct Seen {
    value: Value,
    at: Option<f64>,
}

impl Seen {
    fn set(&mut self, value: Value) {
        self.value = value;
        self.at = Some(epoch_now());
    }
}

/// The link's health and the last values it saw.
#[derive(Debug, Clone, Default)]
struct LinkRecord {
    connected: bool,
    consecutive_failures: u32,
    last_success_time: Option<f64>,
    mode: Seen,
    reserve: Seen,
    grid_charging: Seen,
    grid_export: Seen,
}

/// One gateway's cloud link: the client, whether it works, and what it last saw.
pub struct CloudLink {
    client: TeslaClient,
    reads: CloudReads,
    role: CloudRole,
    record: Mutex<LinkRecord>,
}

impl CloudLink {
    /// A link over `client` (Owner API or Fleet API) that has not connected yet.
    pub fn new(client: impl Into<TeslaClient>, role: CloudRole) -> Self {
        let client = client.into();
        Self {
            reads: CloudReads::new(client.clone()),
            client,
            role,
            record: Mutex::default(),
        }
    }

    /// The Owner API client, when the link runs over it.
    pub fn owner(&self) -> Option<&Arc<CloudClient>> {
        match &self.client {
            TeslaClient::Owner(client) => Some(client),
            TeslaClient::Fleet(_) => None,
        }
    }

    /// The Fleet API client, when the link runs over it.
    pub fn fleet(&self) -> Option<&Arc<FleetClient>> {
        match &self.client {
            TeslaClient::Fleet(client) => Some(client),
            TeslaClient::Owner(_) => None,
        }
    }

    /// The control backend's name in JSON: `cloud` (Owner API) or `fleetapi`.
    pub fn backend_name(&self) -> &'static str {
        self.kind().name()
    }

    /// The control backend this link is: the Owner API (`cloud`) or the Fleet API.
    pub fn kind(&self) -> BackendKind {
        match &self.client {
            TeslaClient::Owner(_) => BackendKind::Cloud,
            TeslaClient::Fleet(_) => BackendKind::Fleet,
        }
    }

    /// The link's writes (errors never name the account).
    pub fn control(&self) -> &dyn GatewayControl {
        &self.reads
    }

    /// Whether grid charging is allowed, as Tesla reports it (cached `site_info`).
    pub async fn grid_charging(&self) -> Result<bool, GatewayError> {
        match &self.client {
            TeslaClient::Owner(client) => client.grid_charging().await,
            TeslaClient::Fleet(client) => client.grid_charging().await,
        }
    }

    /// The grid export rule, as Tesla reports it (cached `site_info`).
    pub async fn grid_export(&self) -> Result<String, GatewayError> {
        match &self.client {
            TeslaClient::Owner(client) => client.grid_export().await,
            TeslaClient::Fleet(client) => client.grid_export().await,
        }
    }

    /// What the link is for.
    pub fn role(&self) -> CloudRole {
        self.role
    }

    fn record(&self) -> MutexGuard<'_, LinkRecord> {
        // Whole fields are replaced under the lock, so a poisoned lock still holds a usable state.
        self.record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Connects (a no-op on the network once the login and site are known, apart from a due token
    /// refresh) and records the outcome: `true` when the cloud client is live.
    pub async fn ready(&self) -> bool {
        let outcome = self.client.as_access().connect().await;
        if let Err(err) = &outcome {
            let api = match self.client {
                TeslaClient::Owner(_) => "Tesla cloud",
                TeslaClient::Fleet(_) => "Fleet API",
            };
            tracing::warn!("{api} connection failed: {}", err);
        }
        self.note(&outcome);
        self.record().connected = outcome.is_ok();
        outcome.is_ok()
    }

    /// Counts one completed cloud call: a success resets the failures and stamps the time.
    pub fn note<T>(&self, outcome: &Result<T, GatewayError>) {
        let mut record = self.record();
        match outcome {
            Ok(_) => {
                record.consecutive_failures = 0;
                record.last_success_time = Some(epoch_now());
            }
            Err(_) => record.consecutive_failures = record.consecutive_failures.saturating_add(1),
        }
    }

    /// Remembers the operation mode Tesla reported or accepted.
    pub fn saw_mode(&self, mode: &str) {
        self.record().mode.set(json!(mode));
    }

    /// Remembers the reserve (app scale) Tesla reported or accepted.
    pub fn saw_reserve(&self, percent: f64) {
        self.record().reserve.set(json!(percent));
    }

    /// Remembers the grid-charging setting.
    pub fn saw_grid_charging(&self, allowed: bool) {
        self.record().grid_charging.set(json!(allowed));
    }

    /// Remembers the grid export rule.
    pub fn saw_grid_export(&self, rule: &str) {
        self.record().grid_export.set(json!(rule));
    }

    /// Whether the last connection attempt succeeded (no I/O).
    pub fn connected(&self) -> bool {
        self.record().connected
    }

    /// The energy site in use (once connected), else `None`.
    pub fn site_id(&self) -> Option<u64> {
        match &self.client {
            TeslaClient::Owner(client) => client.selected_site().map(|site| site.id),
            TeslaClient::Fleet(client) => client.selected_site(),
        }
    }

    /// The connected site's id and name (the Fleet API's from its cached `site_info`).
    async fn site_label(&self) -> Option<(u64, String)> {
        match &self.client {
            TeslaClient::Owner(client) => client
                .selected_site()
                .map(|site| (site.id, site.site_name.unwrap_or_default())),
            TeslaClient::Fleet(client) => {
                let id = client.selected_site()?;
                let info = client.site_info_raw().await;
                self.note(&info);
                let name = info
                    .ok()
                    .and_then(|info| info["site_name"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                Some((id, name))
            }
        }
    }

    /// `healthy`, `degraded` (1–2 failures in a row) or `unavailable` (not connected, or 3+).
    pub fn state(&self) -> &'static str {
        let record = self.record();
        link_state(record.connected, record.consecutive_failures)
    }

    /// The `cloud_control` object of `/health` and `/stats` (server-api), from memory only.
    pub fn status_json(&self) -> Value {
        let record = self.record().clone();
        let state = link_state(record.connected, record.consecutive_failures);
        json!({
            "configured": true,
            "connected": record.connected,
            "state": state,
            "healthy": state == "healthy",
            "consecutive_failures": record.consecutive_failures,
            "last_success_time": record.last_success_time,
            "site_id": self.site_id(),
            "last_known_mode": record.mode.value,
            "last_known_mode_time": record.mode.at,
            "last_known_reserve": record.reserve.value,
            "last_known_reserve_time": record.reserve.at,
            "last_known_grid_charging": record.grid_charging.value,
            "last_known_grid_charging_time": record.grid_charging.at,
            "last_known_grid_export": record.grid_export.value,
            "last_known_grid_export_time": record.grid_export.at,
        })
    }

    /// Connects once in the background and logs the site like the proxy
    /// (`Connected to Site <id> (<name>)`), or why control cannot use the cloud yet.
    pub fn connect_in_background(self: &Arc<Self>, gateway_id: &str) {
        let link = Arc::clone(self);
        let gateway_id = gateway_id.to_owned();
        tokio::spawn(async move {
            if link.ready().await {
                if let Some((id, name)) = link.site_label().await {
                    tracing::info!("gateway {gateway_id}: Connected to Site {id} ({name})");
                }
            } else if link.role == CloudRole::HybridControl {
                tracing::warn!(
                    "gateway {gateway_id}: hybrid cloud control is not connected: control writes \
                     answer \"Run Setup\" until the Tesla login in the auth directory works"
                );
            }
        });
    }
}

fn link_state(connected: bool, failures: u32) -> &'static str {
    match failures {
        _ if !connected => "unavailable",
        0 => "healthy",
        n if n < UNAVAILABLE_AFTER => "degraded",
        _ => "unavailable",
    }
}

/// Wall-clock Unix seconds.
fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_states() {
        assert_eq!(link_state(false, 0), "unavailable");
        assert_eq!(link_state(true, 0), "healthy");
        assert_eq!(link_state(true, 2), "degraded");
        assert_eq!(link_state(true, 3), "unavailable");
    }
}
