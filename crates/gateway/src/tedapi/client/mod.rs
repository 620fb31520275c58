//! The TEDAPI access mode: protobuf over HTTPS with the gateway password (gateway-protocols §2).
//!
//! One [`TedapiClient`] per gateway. It sends one request at a time (the bearer login included),
//! caches every TEDAPI query for `cache_ttl` with one upstream exchange per query however many
//! callers ask at once, and applies the shared protection rules ([`GatewayGuard`]): 429/503 pause
//! everything, a rejected gateway password backs off. Answers are converted to local-API shapes by
//! [`crate::tedapi::convert`], so the server renders the same routes as in local mode.

mod connect;
mod documents;
mod native;
mod plan;
pub mod query;
mod transport;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

pub use connect::{DIN_PATH, LOGIN_PATH, config_says_pw3, login_body};
pub use native::{
    CUSTOMER_EMAIL, CUSTOMER_TOKEN_REUSE, NATIVE_AGGREGATES_PATH, NATIVE_RETRY_AFTER_FAILURE,
    customer_login_body, derived_customer_password,
};
pub use transport::{BASIC_USER, OCTET_STREAM};

use self::documents::Documents;
use self::transport::{HttpTransport, Transport, basic_authorization};
use super::convert::BootEstimate;
use super::wire::ApiVersion;
use crate::http::{GatewayHttpSettings, gateway_client};
use crate::local::GatewayHost;
use crate::policy::{Clock, GatewayGuard, InFlightGate, TokioClock};
use crate::poll::{ActivityLog, PollAnswers, PollRequest, QueryActivity, QueryTiers};
use crate::{
    AccessMode, DataKind, GatewayAccess, GatewayError, RawBody, Secret, UpstreamCounters,
    UpstreamStats,
};

/// The documents a TEDAPI poll builds, all from one set of answers (the server reads every one of
/// them each poll: they cost no request of their own).
pub const POLLED_DOCUMENTS: [DataKind; 9] = [
    DataKind::Status,
    DataKind::Aggregates,
    DataKind::Soe,
    DataKind::GridStatus,
    DataKind::SystemStatus,
    DataKind::Operation,
    DataKind::SiteName,
    DataKind::Vitals,
    DataKind::FanSpeeds,
];

/// The gateway's address on its own Wi-Fi, where TEDAPI answers (§2.1).
pub const GATEWAY_WIFI_HOST: &str = "192.168.91.1";
/// The reference's default timeout and cache lifetime (`PW_TIMEOUT`, `PW_CACHE_EXPIRE`).
pub const DEFAULT_TEDAPI_TIMEOUT: Duration = Duration::from_secs(5);
/// The reference's default cache lifetime of TEDAPI documents.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5);
/// The timezone sent in the bearer login (the reference's default).
pub const DEFAULT_TIMEZONE: &str = "America/Los_Angeles";

/// How TEDAPI requests authenticate (§2.1, §2.12).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TedapiAuthMode {
    /// HTTP Basic `Tesla_Energy_Device:<gateway password>` on every request (the default).
    #[default]
    Basic,
    /// Installer login once, then `Authorization: Bearer` and `AuthEnvelope` bodies.
    Bearer,
}

impl TedapiAuthMode {
    /// `"bearer"` (any case, spaces ignored) → `Bearer`, `"basic"` or blank → `Basic`; else `None`
    /// (the reference rejects unknown auth modes, §8.6).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "basic" => Some(Self::Basic),
            "bearer" => Some(Self::Bearer),
            _ => None,
        }
    }
}

/// Settings of one TEDAPI client.
#[derive(Debug, Clone)]
pub struct TedapiConfig {
    /// `host` or `host:port`, normally `192.168.91.1`.
    pub host: String,
    /// The gateway password printed next to the QR code.
    pub gateway_password: Secret,
    /// Which signed query set to send.
    pub api_version: ApiVersion,
    /// Basic (default) or bearer authentication.
    pub auth_mode: TedapiAuthMode,
    /// Connect timeout and read timeout (each).
    pub timeout: Duration,
    /// Idle keep-alive connections kept; 0 disables keep-alive.
    pub pool_max_idle: usize,
    /// Lifetime of a cached TEDAPI answer served to passthrough reads (`PW_CACHE_EXPIRE`).
    pub cache_ttl: Duration,
    /// How often each query runs in polls (fast = the poll period).
    pub tiers: QueryTiers,
    /// Customer password of the gateway's classic API (§2.14); `None` or empty uses the last
    /// five characters of the gateway password, as TEDAPI-era gateways do.
    pub customer_password: Option<Secret>,
}

impl TedapiConfig {
    /// Settings with the reference's defaults for everything but host and gateway password.
    pub fn new(host: impl Into<String>, gateway_password: impl Into<Secret>) -> Self {
        Self {
            host: host.into(),
            gateway_password: gateway_password.into(),
            api_version: ApiVersion::default(),
            auth_mode: TedapiAuthMode::Basic,
            timeout: DEFAULT_TEDAPI_TIMEOUT,
            pool_max_idle: crate::local::DEFAULT_POOL_MAX_IDLE,
            cache_ttl: DEFAULT_CACHE_TTL,
            tiers: QueryTiers::with_fast(DEFAULT_CACHE_TTL),
            customer_password: None,
        }
    }
}

/// A TEDAPI client of one gateway; safe to share and call concurrently.
#[derive(Debug)]
pub struct TedapiClient {
    config: TedapiConfig,
    target: String,
    transport: Arc<dyn Transport>,
    guard: GatewayGuard,
    clock: Arc<dyn Clock>,
    counters: UpstreamCounters,
    /// One HTTP exchange (login included) in flight at a time.
    in_flight: InFlightGate,
    /// The precomputed Basic `Authorization` value.
    basic_header: String,
    /// The gateway DIN: learned at connect, never changes.
    din: OnceLock<String>,
    /// Serialises the connect sequence so concurrent callers share one.
    connect_lock: tokio::sync::Mutex<()>,
    /// The bearer token (bearer mode only).
    token: Mutex<Option<Arc<str>>>,
    /// Serialises bearer logins so concurrent callers share one.
    login_lock: tokio::sync::Mutex<()>,
    /// Whether the `GET /` probe said Powerwall 3 (§2.9).
    probe_pw3: AtomicBool,
    /// Cached TEDAPI answers, one single-flight slot per query.
    documents: Documents,
    /// The boot estimate of the last `/api/status`, kept so `start_time` does not jitter.
    boot: Mutex<Option<BootEstimate>>,
    /// Customer token and failure back-off of the classic API (§2.14).
    native: native::NativeState,
    /// Requests per query over the last minutes (`/health` plan).
    activity: ActivityLog,
}

impl TedapiClient {
    /// A client on the real clock. Validates the settings; sends nothing.
    pub fn new(config: TedapiConfig) -> Result<Self, GatewayError> {
        Self::with_clock(config, Arc::new(TokioClock))
    }

    /// A client whose caches, cooldowns and back-offs read `clock` (for tests).
    pub fn with_clock(config: TedapiConfig, clock: Arc<dyn Clock>) -> Result<Self, GatewayError> {
        let host = GatewayHost::parse(&config.host)?;
        let http = gateway_client(GatewayHttpSettings {
            timeout: config.timeout,
            pool_max_idle: config.pool_max_idle,
        })?;
        let transport = Arc::new(HttpTransport {
            http,
            base_url: host.base_url(),
        });
        Self::with_transport(config, clock, transport)
    }

    /// A client over any transport (tests inject a fake).
    fn with_transport(
        config: TedapiConfig,
        clock: Arc<dyn Clock>,
        transport: Arc<dyn Transport>,
    ) -> Result<Self, GatewayError> {
        GatewayHost::parse(&config.host)?;
        if config.gateway_password.is_empty() {
            return Err(GatewayError::Config(
                "TEDAPI mode needs the gateway password (PW_GW_PWD)".to_owned(),
            ));
        }
        Ok(Self {
            target: config.host.trim().to_owned(),
            basic_header: basic_authorization(config.gateway_password.expose()),
            config,
            transport,
            guard: GatewayGuard::new(Arc::clone(&clock)),
            activity: ActivityLog::new(Arc::clone(&clock)),
            clock,
            counters: UpstreamCounters::default(),
            in_flight: InFlightGate::new(),
            din: OnceLock::new(),
            connect_lock: tokio::sync::Mutex::new(()),
            token: Mutex::new(None),
            login_lock: tokio::sync::Mutex::new(()),
            probe_pw3: AtomicBool::new(false),
            documents: Documents::default(),
            boot: Mutex::new(None),
            native: native::NativeState::default(),
        })
    }

    /// The protection state (cooldown, login back-off) of this gateway.
    pub fn guard(&self) -> &GatewayGuard {
        &self.guard
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &TedapiConfig {
        &self.config
    }

    /// The gateway DIN, once connected.
    pub fn din(&self) -> Option<&str> {
        self.din.get().map(String::as_str)
    }
}

#[async_trait::async_trait]
impl GatewayAccess for TedapiClient {
    fn mode(&self) -> AccessMode {
        AccessMode::TedapiFull
    }

    fn target(&self) -> &str {
        &self.target
    }

    async fn connect(&self) -> Result<(), GatewayError> {
        self.connect_sequence().await
    }

    async fn fetch(&self, kind: DataKind) -> Result<Value, GatewayError> {
        let mut answers = self
            .poll_documents(PollRequest {
                kinds: &[kind],
                refresh: false,
            })
            .await;
        match answers.pop() {
            Some((_, answer)) => answer,
            None => Err(GatewayError::Empty {
                path: kind.local_path().to_owned(),
            }),
        }
    }

    async fn poll(&self, request: PollRequest<'_>) -> PollAnswers {
        self.poll_documents(request).await
    }

    fn plan_activity(&self) -> Vec<QueryActivity> {
        let tiers = self.config.tiers;
        self.activity.report(|name| {
            let tier = query::tier_of(name);
            (Some(tier), tiers.period(tier))
        })
    }

    async fn fetch_raw(&self, path: &str) -> Result<RawBody, GatewayError> {
        self.raw_document(path).await
    }

    fn upstream(&self) -> UpstreamStats {
        self.counters.snapshot()
    }
}

#[cfg(test)]
mod test_fake;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_native;
#[cfg(test)]
mod tests_poll;
