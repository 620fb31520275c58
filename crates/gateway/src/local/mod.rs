//! Local legacy access mode: the gateway's `/api/*` with the customer password (gateway-protocols §1).
//!
//! One [`LocalClient`] per gateway. It sends one request at a time, logs in with the customer
//! password (cookie or bearer mode), keeps the session in an optional auth cache file, and applies
//! the shared protection rules ([`crate::policy::GatewayGuard`]). It keeps no positive cache: the
//! server owns caching.

mod auth;
mod cache_file;
mod catalogue;
#[cfg(test)]
mod fuzz_tests;
mod host;
mod request;
mod session;
mod vitals;
pub mod vitals_wire;
mod write;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use auth::{AuthMode, LOGIN_PATH};
pub use cache_file::prepare_cache_dir;
pub use catalogue::{ENDPOINTS, STATUS_PATH, VITALS_PATH};
pub use host::GatewayHost;
pub use vitals::decode_vitals;
pub use write::OPERATION_PATH;

use crate::http::{GatewayHttpSettings, gateway_client};
use crate::policy::{Clock, GatewayGuard, InFlightGate, TokioClock};
use crate::{
    AccessMode, DataKind, GatewayAccess, GatewayControl, GatewayError, GridExportRule,
    OperationMode, RawBody, ReserveLevel, Secret, UpstreamCounters, UpstreamStats,
    unsupported_write,
};

/// The email sent at login when none is configured (the reference's default).
pub const DEFAULT_EMAIL: &str = "nobody@nowhere.com";
/// The reference's default timezone.
pub const DEFAULT_TIMEZONE: &str = "America/Los_Angeles";
/// The reference's default connect/read timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The reference's default keep-alive pool size.
pub const DEFAULT_POOL_MAX_IDLE: usize = 10;

/// Settings of one local-mode client.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// `host` or `host:port` (IPv4, hostname, or IPv6 literal, bracketed when a port follows);
    /// default port 443.
    pub host: String,
    /// The customer password.
    pub password: Secret,
    /// Email sent at login.
    pub email: String,
    /// Timezone of the site (kept for settings parity; the form-encoded login body cannot carry it).
    pub timezone: String,
    /// Cookie or bearer-token session.
    pub auth_mode: AuthMode,
    /// Auth cache file; `None` keeps the session in memory only.
    pub cache_file: Option<PathBuf>,
    /// Connect timeout and read timeout (each).
    pub timeout: Duration,
    /// Idle keep-alive connections kept; 0 disables keep-alive.
    pub pool_max_idle: usize,
}

impl LocalConfig {
    /// Settings with the reference's defaults for everything but host and password.
    pub fn new(host: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            host: host.into(),
            password: password.into(),
            email: DEFAULT_EMAIL.to_owned(),
            timezone: DEFAULT_TIMEZONE.to_owned(),
            auth_mode: AuthMode::Cookie,
            cache_file: None,
            timeout: DEFAULT_TIMEOUT,
            pool_max_idle: DEFAULT_POOL_MAX_IDLE,
        }
    }
}

/// A client of one gateway's local API; safe to share and call concurrently.
#[derive(Debug)]
pub struct LocalClient {
    config: LocalConfig,
    target: String,
    base_url: String,
    http: reqwest::Client,
    guard: GatewayGuard,
    counters: UpstreamCounters,
    /// One HTTP exchange (login included) in flight at a time.
    in_flight: InFlightGate,
    session: Mutex<session::SessionState>,
    /// Serialises session establishment so concurrent callers share one login.
    login_lock: tokio::sync::Mutex<()>,
    /// Firmware version that showed vitals are gone; set once, for the life of the client.
    vitals_removed_by: OnceLock<String>,
    /// Requests per path over the last minutes (`/health` plan; the engine knows the periods).
    activity: crate::poll::ActivityLog,
}

impl LocalClient {
    /// A client on the real clock. Validates the settings; sends nothing and touches no file.
    pub fn new(config: LocalConfig) -> Result<Self, GatewayError> {
        Self::with_clock(config, Arc::new(TokioClock))
    }

    /// A client whose cooldowns and back-offs read `clock` (for tests).
    pub fn with_clock(config: LocalConfig, clock: Arc<dyn Clock>) -> Result<Self, GatewayError> {
        let host = GatewayHost::parse(&config.host)?;
        if config.password.is_empty() {
            return Err(GatewayError::Config(
                "local mode needs the customer password".to_owned(),
            ));
        }
        if let Some(path) = &config.cache_file {
            if path.file_name().is_none() {
                return Err(GatewayError::Config(format!(
                    "auth cache file {} names no file",
                    path.display()
                )));
            }
        }
        let http = gateway_client(GatewayHttpSettings {
            timeout: config.timeout,
            pool_max_idle: config.pool_max_idle,
        })?;
        Ok(Self {
            target: config.host.trim().to_owned(),
            base_url: host.base_url(),
            config,
            http,
            activity: crate::poll::ActivityLog::new(Arc::clone(&clock)),
            guard: GatewayGuard::new(clock),
            counters: UpstreamCounters::default(),
            in_flight: InFlightGate::new(),
            session: Mutex::new(session::SessionState::default()),
            login_lock: tokio::sync::Mutex::new(()),
            vitals_removed_by: OnceLock::new(),
        })
    }

    /// The protection state (cooldown, negative cache, login back-off) of this gateway.
    pub fn guard(&self) -> &GatewayGuard {
        &self.guard
    }

    /// Whether `/api/devices/vitals` was found missing and is no longer asked for.
    pub fn vitals_disabled(&self) -> bool {
        self.vitals_removed_by.get().is_some()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn fetch_vitals(&self) -> Result<serde_json::Value, GatewayError> {
        let malformed = |detail: String| GatewayError::Malformed {
            path: VITALS_PATH.to_owned(),
            detail,
        };
        match self.read(VITALS_PATH).await? {
            RawBody::Bytes(bytes) => decode_vitals(&bytes)
                .map(serde_json::Value::Object)
                .map_err(|err| malformed(format!("invalid protobuf: {err}"))),
            _ => Err(malformed("expected a protobuf body".to_owned())),
        }
    }
}

#[async_trait::async_trait]
impl GatewayAccess for LocalClient {
    fn mode(&self) -> AccessMode {
        AccessMode::Local
    }

    fn target(&self) -> &str {
        &self.target
    }

    async fn connect(&self) -> Result<(), GatewayError> {
        self.session().await.map(|_| ())
    }

    async fn fetch(&self, kind: DataKind) -> Result<serde_json::Value, GatewayError> {
        match kind {
            DataKind::Vitals => return self.fetch_vitals().await,
            DataKind::FanSpeeds => {
                return Err(GatewayError::Unsupported {
                    mode: "local",
                    what: "fan speeds (TEDAPI only)".to_owned(),
                });
            }
            _ => {}
        }
        let path = kind.local_path();
        match self.read(path).await? {
            RawBody::Json(document) => Ok(document),
            // Some answers lack the JSON content type; accept them when they parse.
            RawBody::Text(text) => {
                serde_json::from_str(&text).map_err(|err| GatewayError::Malformed {
                    path: path.to_owned(),
                    detail: format!("expected JSON: {err}"),
                })
            }
            RawBody::Bytes(_) => Err(GatewayError::Malformed {
                path: path.to_owned(),
                detail: "expected JSON, got binary content".to_owned(),
            }),
        }
    }

    async fn fetch_raw(&self, path: &str) -> Result<RawBody, GatewayError> {
        request::check_path(path)?;
        self.read(path).await
    }

    fn upstream(&self) -> UpstreamStats {
        self.counters.snapshot()
    }

    fn plan_activity(&self) -> Vec<crate::poll::QueryActivity> {
        self.activity.report(|_| (None, None))
    }

    fn control(&self) -> Option<&dyn GatewayControl> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl GatewayControl for LocalClient {
    /// `POST /api/operation`, full overwrite, the level sent as given (raw scale field).
    async fn set_operation(
        &self,
        reserve: Option<ReserveLevel>,
        mode: Option<OperationMode>,
    ) -> Result<serde_json::Value, GatewayError> {
        self.write_operation(reserve, mode).await
    }

    /// The local API has no grid-charging write.
    async fn set_grid_charging(&self, allowed: bool) -> Result<serde_json::Value, GatewayError> {
        let _ = allowed;
        Err(unsupported_write(
            AccessMode::Local,
            "setting grid charging",
        ))
    }

    /// The local API has no grid-export write.
    async fn set_grid_export(
        &self,
        rule: GridExportRule,
    ) -> Result<serde_json::Value, GatewayError> {
        let _ = rule;
        Err(unsupported_write(
            AccessMode::Local,
            "setting the grid export rule",
        ))
    }
}

#[cfg(test)]
mod tests;
