//! Fleet API access mode: Tesla's official cloud API for energy sites (gateway-protocols §6, §7).
//!
//! One [`FleetClient`] per `.pypowerwall.fleetapi` file (written by the setup steps of
//! [`setup`]). Requests go to `{AUDIENCE}/{path}` with the user's bearer token; a 401 refreshes
//! the tokens once (concurrent 401s share one refresh, the file is rewritten) and retries; a 429
//! opens a shared back-off window; reads are cached per path with a jittered TTL and single
//! flight. Answers are mapped to the local API's shapes with the cloud mode's functions
//! (`cloud::convert`), with the Fleet differences of §6.3. Every call is counted and priced
//! ([`FleetClient::usage`]), because unlike the gateway the Fleet API bills per request.

mod client;
pub mod file;
mod keys;
pub mod setup;
pub mod usage;
mod write;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

pub use file::{FLEET_FILE, FleetTokenFile, fleet_file_path};
pub use setup::Region;
pub use usage::{CallCounts, CallKind, FleetUsage, project_usage};

pub use crate::tesla::SiteDocument as FleetEndpoint;

#[cfg(test)]
use crate::DataKind;
use crate::cloud::cache::AnswerCache;
use crate::cloud::transport;
use crate::policy::{Clock, TokioClock};
use crate::tesla::exchange::{Exchange, Service};
use crate::tesla::site::{self as core, SiteDocument, TeslaSite};
use crate::tesla::{SiteSlot, TokenGate};
use crate::{AccessMode, GatewayError, ReserveLevel};
use usage::CallCounters;

/// Tesla's SSO base (token refresh).
pub const DEFAULT_AUTH_URL: &str = "https://auth.tesla.com/";
/// Per-request timeout (the facade's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout of a token refresh (the reference's 60 s).
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(60);
/// TTL of cached reads (`pwcacheexpire`).
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5);
/// TTL of the site's settings (`site_info`, `site_status`): they change when someone changes a
/// setting, and our own writes drop the cached `site_info` at once, so reading them at the poll
/// rate would triple the bill for numbers that stay the same (a deliberate deviation from the
/// reference, which reads every endpoint at `pwcacheexpire`).
pub const DEFAULT_SETTINGS_TTL: Duration = Duration::from_secs(300);
/// Longest random back-dating of a cached answer's stamp (§6.2: `min(TTL/4, 10 s)`).
pub const MAX_CACHE_JITTER: Duration = Duration::from_secs(10);
/// Longest pause a 429 may impose on the Fleet client (§6.2 clamps to 60 s).
pub const MAX_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);
/// Slowest sensible poll of the Fleet API. Tesla serves energy data from its own cache, refreshed
/// every few tens of seconds at best (its Discovery plan even limited energy reads to one per
/// site per 5 minutes), and every read is billed ($1 per 500): polling faster than every 30 s
/// returns the same numbers and only adds cost (at 30 s, one endpoint costs about $173 a month).
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// Whether a `PW_FLEETAPI_HTTP` value forces HTTP/1.1: `1.1`, `1`, `http1.1` or `http/1.1`
/// (case and surrounding spaces ignored); anything else keeps HTTP/2.
pub fn http1_forced(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1.1" | "1" | "http1.1" | "http/1.1"
    )
}

/// Settings of one Fleet client.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Directory of `.pypowerwall.fleetapi` (`PW_AUTH_PATH`).
    pub auth_dir: PathBuf,
    /// Energy site id (`PW_SITEID`); `None` = the file's `site_id`, else the first energy product.
    pub site_id: Option<u64>,
    /// Tesla SSO base for token refreshes (tests point it at the simulator).
    pub auth_url: String,
    /// Overrides the region base stored in the file (`AUDIENCE`); tests and demos use it.
    pub api_url: Option<String>,
    /// PEM of a CA to trust instead of the system roots (the simulator's test CA).
    pub ca_pem: Option<String>,
    /// Per-request timeout (`PW_TIMEOUT`).
    pub timeout: Duration,
    /// TTL of cached reads (`PW_CACHE_EXPIRE`).
    pub cache_ttl: Duration,
    /// TTL of `site_info` and `site_status` (never shorter than `cache_ttl`).
    pub settings_ttl: Duration,
    /// Speak HTTP/1.1 only (`PW_FLEETAPI_HTTP`, see [`http1_forced`]).
    pub force_http1: bool,
}

impl FleetConfig {
    /// Settings with Tesla's endpoints and the reference's defaults.
    pub fn new(auth_dir: impl Into<PathBuf>) -> Self {
        Self {
            auth_dir: auth_dir.into(),
            site_id: None,
            auth_url: DEFAULT_AUTH_URL.to_owned(),
            api_url: None,
            ca_pem: None,
            timeout: DEFAULT_TIMEOUT,
            cache_ttl: DEFAULT_CACHE_TTL,
            settings_ttl: DEFAULT_SETTINGS_TTL,
            force_http1: false,
        }
    }
}

/// A client of one Fleet API energy site; safe to share and call concurrently.
#[derive(Debug)]
pub struct FleetClient {
    config: FleetConfig,
    /// HTTP/2 preferred (HTTP/1.1 when forced, else as the fallback), counters, 429 window.
    exchange: Exchange,
    clock: Arc<dyn Clock>,
    started: Instant,
    calls: CallCounters,
    /// The token file, loaded on first use.
    file: Mutex<Option<FleetTokenFile>>,
    tokens: TokenGate,
    site: SiteSlot<u64>,
    cache: AnswerCache<String>,
}

impl FleetClient {
    /// A client on the real clock. Validates the settings; sends nothing and reads no file.
    pub fn new(config: FleetConfig) -> Result<Self, GatewayError> {
        Self::with_clock(config, Arc::new(TokioClock))
    }

    /// A client whose caches, back-off window and usage projection read `clock` (for tests).
    pub fn with_clock(config: FleetConfig, clock: Arc<dyn Clock>) -> Result<Self, GatewayError> {
        crate::tesla::check_https("auth", &config.auth_url)?;
        if let Some(api) = &config.api_url {
            crate::tesla::check_https("Fleet API", api)?;
        }
        let ca = config.ca_pem.as_deref();
        let http = transport::cloud_client_with(config.timeout, ca, config.force_http1)?;
        let fallback = match config.force_http1 {
            true => None,
            false => Some(transport::cloud_client_with(config.timeout, ca, true)?),
        };
        let target = config
            .api_url
            .as_deref()
            .and_then(|url| reqwest::Url::parse(url).ok())
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| "fleet-api".to_owned());
        let service = Service {
            name: "Fleet API",
            paused: "Fleet",
            pause: client::fleet_rate_limit_pause,
            tesla_user_agent: None,
        };
        let exchange = Exchange::new(
            http,
            fallback,
            target,
            config.timeout,
            service,
            clock.clone(),
        );
        let started = clock.now();
        Ok(Self {
            exchange,
            started,
            clock,
            config,
            calls: CallCounters::default(),
            file: Mutex::new(None),
            tokens: TokenGate::default(),
            site: SiteSlot::default(),
            cache: AnswerCache::default(),
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// The selected site id, if connect chose one.
    pub fn selected_site(&self) -> Option<u64> {
        self.site.get()
    }

    /// Time left in the 429 back-off window.
    pub fn cooldown_remaining(&self) -> Option<Duration> {
        self.exchange.backoff.remaining()
    }

    /// The calls sent so far and their projected monthly cost.
    pub fn usage(&self) -> FleetUsage {
        let observed = self.clock.now().saturating_duration_since(self.started);
        project_usage(self.calls.snapshot(), observed)
    }

    /// One energy-site document as Tesla sent it (the unwrapped `response`), cached.
    pub async fn site_document(&self, endpoint: FleetEndpoint) -> Result<Value, GatewayError> {
        Ok((*self.cached(endpoint).await?).clone())
    }

    /// `site_info` as Tesla sent it (`/fleetapi/info`).
    pub async fn site_info_raw(&self) -> Result<Value, GatewayError> {
        self.site_document(FleetEndpoint::SiteInfo).await
    }

    /// `live_status` as Tesla sent it (`/fleetapi/status`).
    pub async fn live_status_raw(&self) -> Result<Value, GatewayError> {
        self.site_document(FleetEndpoint::LiveStatus).await
    }

    /// Backup time remaining in hours (`time_remaining_hours` when truthy, else 0.0).
    pub async fn time_remaining(&self) -> Result<f64, GatewayError> {
        core::time_remaining(self).await
    }

    /// Whether charging from the grid is allowed (from `site_info`).
    pub async fn grid_charging(&self) -> Result<bool, GatewayError> {
        core::grid_charging(self).await
    }

    /// The grid export rule (from `site_info`).
    pub async fn grid_export(&self) -> Result<String, GatewayError> {
        core::grid_export(self).await
    }

    /// The tariff: `site_info.tariff_content` (the Fleet mode makes no `tariff_rate` call).
    pub async fn tariff(&self) -> Result<Value, GatewayError> {
        Ok(tariff(&*self.cached(FleetEndpoint::SiteInfo).await?))
    }
}

/// `site_info.tariff_content`, `{}` when absent.
pub fn tariff(site_info: &Value) -> Value {
    match &site_info["tariff_content"] {
        Value::Null => json!({}),
        other => other.clone(),
    }
}

/// One document in the local API's shape from the Fleet answers (gateway-protocols §6.3): the
/// cloud mapping, except that SOE comes from `live_status` and `site_status` has no pack energy.
#[cfg(test)]
pub(crate) fn map_document(
    kind: DataKind,
    live: &Value,
    site_info: &Value,
    site_status: &Value,
    now_unix: u64,
) -> Value {
    core::map_document(
        kind,
        FleetClient::SOE,
        live,
        site_info,
        site_status,
        now_unix,
    )
}

#[async_trait::async_trait]
impl TeslaSite for FleetClient {
    const ACCESS: AccessMode = AccessMode::Fleet;
    const MODE: &'static str = "fleetapi";
    const SOURCE: &'static str = "Fleet API";
    const SOE: SiteDocument = SiteDocument::LiveStatus;

    async fn connect_site(&self) -> Result<(), GatewayError> {
        self.site().await.map(|_| ())
    }

    async fn document(&self, which: SiteDocument) -> Result<Arc<Value>, GatewayError> {
        self.cached(which).await
    }

    async fn tariff(&self) -> Result<Value, GatewayError> {
        FleetClient::tariff(self).await
    }

    /// Answers Tesla's parsed JSON answer.
    async fn command(&self, name: &str, body: Value) -> Result<Value, GatewayError> {
        FleetClient::command(self, name, body).await
    }

    /// The reserve is forwarded as given.
    fn reserve_value(level: ReserveLevel) -> Value {
        level.to_json()
    }
}
