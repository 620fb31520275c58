//! Cloud access mode: the Tesla Owner API (gateway-protocols §5).
//!
//! One [`CloudClient`] per Tesla account and energy site. It logs in through Tesla's SSO (OAuth2
//! authorization code with PKCE, or pasted tokens; see [`CloudClient::authorize_request`],
//! [`CloudClient::login_with_code`], [`CloudClient::login_with_tokens`]), keeps the tokens in the
//! reference's `.pypowerwall.auth` file, picks the site (`.pypowerwall.site`), and answers every
//! document it can in the local API's shapes. Reads are cached per endpoint with single flight;
//! a 429 opens a back-off window; a 401 refreshes the token once; a 404 triggers stale-site
//! recovery. Writes (reserve, mode, grid charging, grid export) go to the Owner API for real.

pub mod auth;
pub(crate) mod cache;
mod client;
pub mod convert;
pub mod files;
mod setup;
pub mod sites;
pub mod transport;
pub(crate) mod write;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

pub use auth::{AuthorizeRequest, CLIENT_ID, DEFAULT_REDIRECT_URI, Pkce, SCOPE};
pub use cache::Endpoint;
pub use client::{SITE_RECOVERY_WINDOW, needs_refresh};
pub use files::{AUTH_FILE, AuthEntry, SITE_FILE, StoredTokens};
pub use sites::EnergySite;

use crate::policy::{Clock, TokioClock};
use crate::tesla::exchange::{Exchange, Service};
use crate::tesla::site::{self as core, SiteDocument, TeslaSite};
use crate::tesla::{SiteSlot, TokenGate};
use crate::{AccessMode, DataKind, GatewayError, ReserveLevel};
use cache::AnswerCache;

/// Tesla's SSO base.
pub const DEFAULT_AUTH_URL: &str = "https://auth.tesla.com/";
/// The Owner API base.
pub const DEFAULT_OWNER_API_URL: &str = "https://owner-api.teslamotors.com/";
/// TTL of the live endpoints (`pwcacheexpire`).
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5);
/// TTL of `site_info` (the reference's 59 s).
pub const DEFAULT_SITE_INFO_TTL: Duration = Duration::from_secs(59);
/// Per-request timeout of the reference.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Token lifetime assumed when an answer names none (Tesla's typical 8 h).
pub const DEFAULT_EXPIRES_IN: u64 = 28_800;

/// Settings of one cloud client.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// Account email (`PW_EMAIL`): the key in the auth file; empty = the file's first account.
    pub email: String,
    /// Directory of `.pypowerwall.auth` and `.pypowerwall.site` (`PW_AUTH_PATH`).
    pub auth_dir: PathBuf,
    /// Energy site id (`PW_SITEID`); `None` = the site file, else the first site.
    pub site_id: Option<u64>,
    /// Tesla SSO base (`https://auth.tesla.com/`; tests point it at the simulator).
    pub auth_url: String,
    /// Owner API base (`https://owner-api.teslamotors.com/`; tests point it at the simulator).
    pub owner_api_url: String,
    /// Redirect URI of the interactive login.
    pub redirect_uri: String,
    /// PEM of a CA to trust *instead of* the system roots (the simulator's test CA).
    pub ca_pem: Option<String>,
    /// Per-request timeout (`PW_TIMEOUT`).
    pub timeout: Duration,
    /// TTL of the live endpoints (`PW_CACHE_EXPIRE`).
    pub cache_ttl: Duration,
    /// TTL of `site_info`.
    pub site_info_ttl: Duration,
}

impl CloudConfig {
    /// Settings with Tesla's endpoints and the reference's defaults.
    pub fn new(email: impl Into<String>, auth_dir: impl Into<PathBuf>) -> Self {
        Self {
            email: email.into(),
            auth_dir: auth_dir.into(),
            site_id: None,
            auth_url: DEFAULT_AUTH_URL.to_owned(),
            owner_api_url: DEFAULT_OWNER_API_URL.to_owned(),
            redirect_uri: DEFAULT_REDIRECT_URI.to_owned(),
            ca_pem: None,
            timeout: DEFAULT_TIMEOUT,
            cache_ttl: DEFAULT_CACHE_TTL,
            site_info_ttl: DEFAULT_SITE_INFO_TTL,
        }
    }
}

/// A client of one Tesla account's energy site; safe to share and call concurrently.
#[derive(Debug)]
pub struct CloudClient {
    config: CloudConfig,
    /// HTTP, counters and the 429 back-off window.
    exchange: Exchange,
    clock: Arc<dyn Clock>,
    /// The account's tokens, loaded from the auth file on first use.
    account: Mutex<Option<AuthEntry>>,
    tokens: TokenGate,
    site: SiteSlot<EnergySite>,
    cache: AnswerCache,
    last_recovery: Mutex<Option<tokio::time::Instant>>,
    recovery_lock: tokio::sync::Mutex<()>,
    live_counter: AtomicU64,
}

impl CloudClient {
    /// A client on the real clock. Validates the settings; sends nothing and reads no file.
    pub fn new(config: CloudConfig) -> Result<Self, GatewayError> {
        Self::with_clock(config, Arc::new(TokioClock))
    }

    /// A client whose caches and back-off windows read `clock` (for tests).
    pub fn with_clock(config: CloudConfig, clock: Arc<dyn Clock>) -> Result<Self, GatewayError> {
        crate::tesla::check_https("auth", &config.auth_url)?;
        crate::tesla::check_https("Owner API", &config.owner_api_url)?;
        if !config.email.is_empty() && !valid_email(&config.email) {
            return Err(GatewayError::Config(format!(
                "cloud mode needs an account email like name@example.com, not {:?}",
                config.email
            )));
        }
        let http = transport::cloud_client(config.timeout, config.ca_pem.as_deref())?;
        let target = reqwest::Url::parse(&config.owner_api_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        let service = Service {
            name: "Tesla cloud",
            paused: "cloud",
            pause: transport::rate_limit_delay,
            tesla_user_agent: Some(transport::TESLA_USER_AGENT),
        };
        let exchange = Exchange::new(http, None, target, config.timeout, service, clock.clone());
        Ok(Self {
            exchange,
            clock,
            config,
            account: Mutex::new(None),
            tokens: TokenGate::default(),
            site: SiteSlot::default(),
            cache: AnswerCache::default(),
            last_recovery: Mutex::new(None),
            recovery_lock: tokio::sync::Mutex::new(()),
            live_counter: AtomicU64::new(0),
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// The selected site, if connect chose one.
    pub fn selected_site(&self) -> Option<EnergySite> {
        self.site.get()
    }

    /// Time left in the 429 back-off window.
    pub fn cooldown_remaining(&self) -> Option<Duration> {
        self.exchange.backoff.remaining()
    }

    /// Backup time remaining in hours (`backup_time_remaining`; 0.0 when missing).
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

    /// `/api/tesla/tariff_rate`: the unwrapped tariff (a JSON string inside is parsed).
    pub async fn tariff(&self) -> Result<Value, GatewayError> {
        let tariff = self.cached(Endpoint::TariffRate).await?;
        Ok(match &*tariff {
            Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| json!(text)),
            other => other.clone(),
        })
    }
}

/// What a gateway path means to a Tesla cloud client (Owner or Fleet API) in `fetch_raw`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawPath<'a> {
    /// `/api/devices/vitals`: the protobuf has no cloud source (JSON `null`, as the reference).
    Vitals,
    /// `/api/tesla/tariff_rate`: the site's tariff.
    Tariff,
    /// A document the client maps from cloud data.
    Document(DataKind),
    /// Anything else (the bare path, without query or fragment).
    Unknown(&'a str),
}

impl<'a> RawPath<'a> {
    /// Classifies `path`, ignoring its query and fragment.
    pub(crate) fn classify(path: &'a str) -> Self {
        let bare = path.split(['?', '#']).next().unwrap_or_default();
        match bare {
            "/api/devices/vitals" => Self::Vitals,
            "/api/tesla/tariff_rate" => Self::Tariff,
            _ => DataKind::ALL
                .into_iter()
                .find(|kind| *kind != DataKind::Vitals && kind.local_path() == bare)
                .map_or(Self::Unknown(bare), Self::Document),
        }
    }
}

/// `^\S+@\S+\.\S+$` of the reference.
fn valid_email(email: &str) -> bool {
    if email.chars().any(char::is_whitespace) {
        return false;
    }
    match email.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain
                    .split_once('.')
                    .is_some_and(|(left, right)| !left.is_empty() && !right.is_empty())
        }
        None => false,
    }
}

#[async_trait::async_trait]
impl TeslaSite for CloudClient {
    const ACCESS: AccessMode = AccessMode::Cloud;
    const MODE: &'static str = "cloud";
    const SOURCE: &'static str = "cloud";
    const SOE: SiteDocument = SiteDocument::SiteStatus;

    async fn connect_site(&self) -> Result<(), GatewayError> {
        self.access_token().await?;
        self.site().await.map(|_| ())
    }

    async fn document(&self, which: SiteDocument) -> Result<Arc<Value>, GatewayError> {
        self.cached(which.into()).await
    }

    async fn tariff(&self) -> Result<Value, GatewayError> {
        CloudClient::tariff(self).await
    }

    /// Answers the command's message (`{"code": 200|201, "message": …}`).
    async fn command(&self, name: &str, body: Value) -> Result<Value, GatewayError> {
        CloudClient::command(self, name, body)
            .await
            .map(Value::from)
    }

    /// The reference sends `int(level)`: truncated, app scale.
    fn reserve_value(level: ReserveLevel) -> Value {
        Value::from(level.percent().trunc() as u64)
    }

    async fn din(&self) -> Result<Option<Value>, GatewayError> {
        let site = self.site().await?;
        Ok(Some(site.gateway_id.map_or(Value::Null, Value::from)))
    }
}

/// Whether `email` has the form cloud mode accepts (`^\S+@\S+\.\S+$`, as the reference).
pub fn is_valid_email(email: &str) -> bool {
    valid_email(email)
}

impl CloudClient {
    /// The raw Owner API object of one cached endpoint (`site_status`, `live_status`,
    /// `site_info`, …), through the same cache and single flight as every read.
    pub async fn raw_document(&self, endpoint: Endpoint) -> Result<Arc<Value>, GatewayError> {
        self.cached(endpoint).await
    }

    /// The `counter` the next `live_status` request carries, minus one (0..=63; `/stats`).
    pub fn live_status_counter(&self) -> u64 {
        self.live_counter.load(std::sync::atomic::Ordering::Relaxed) % 64
    }
}
