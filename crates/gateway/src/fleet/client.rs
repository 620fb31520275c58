//! The Fleet side of the Fleet client (gateway-protocols §6.2; the request path itself is
//! [`crate::tesla`]): tokens from the file and their refresh, billing, the region base, site
//! selection, and the jittered per-path cache with single flight.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde_json::Value;

use super::REFRESH_TIMEOUT;
use super::usage::CallKind;
use super::{FleetClient, FleetEndpoint, FleetTokenFile, MAX_CACHE_JITTER, MAX_RATE_LIMIT_PAUSE};
use crate::GatewayError;
use crate::cloud::auth::{endpoint, parse_token_answer};
use crate::cloud::transport::{Reply, rate_limit_delay};
use crate::tesla::call::{Bearer, Credentials};
use crate::tesla::exchange::{Body, Exchange, Request};
use crate::tesla::lock;

/// The pause a Fleet 429 asks for: `Retry-After` (seconds or HTTP date), else a body saying
/// "retry … N seconds", else 10 s; clamped to [0, 60] s.
pub fn fleet_rate_limit_pause(
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Duration {
    rate_limit_delay(headers, body, now).min(MAX_RATE_LIMIT_PAUSE)
}

/// A random back-dating in `0..min(ttl/4, 10 s)`, so paths cached together expire apart.
pub(crate) fn cache_jitter(ttl: Duration) -> Duration {
    use ring::rand::SecureRandom;
    let span = (ttl / 4).min(MAX_CACHE_JITTER);
    let mut bytes = [0u8; 8];
    if span.is_zero() || ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        return Duration::ZERO;
    }
    let fraction = u64::from_le_bytes(bytes) as f64 / (u64::MAX as f64 + 1.0);
    span.mul_f64(fraction)
}

/// The `response` member of a `{"response": …}` answer.
fn response_member(path: &str, answer: Value) -> Result<Value, GatewayError> {
    match answer {
        Value::Object(mut map) if map.contains_key("response") => {
            Ok(map.remove("response").unwrap_or_default())
        }
        _ => Err(GatewayError::Malformed {
            path: path.to_owned(),
            detail: "no \"response\" member".to_owned(),
        }),
    }
}

/// The energy-site ids of a product list (`response` array), in list order.
pub fn energy_site_ids(products: &Value) -> Vec<u64> {
    super::setup::energy_sites(products)
        .into_iter()
        .map(|site| site.id)
        .collect()
}

/// The configured site (it must be in the list) or the first energy site.
pub fn choose_site_id(ids: &[u64], configured: Option<u64>) -> Result<u64, GatewayError> {
    match configured {
        Some(id) if ids.contains(&id) => Ok(id),
        Some(id) => {
            let known: Vec<String> = ids.iter().map(u64::to_string).collect();
            Err(GatewayError::Config(format!(
                "energy site {id} is not in this Fleet API account (sites: {}); fix PW_SITEID or \
                 site_id in {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
                super::FLEET_FILE
            )))
        }
        None => ids.first().copied().ok_or_else(|| {
            GatewayError::Config("this Fleet API account has no energy site".to_owned())
        }),
    }
}

impl FleetClient {
    /// The token file (loaded on first use).
    fn token_file(&self) -> Result<FleetTokenFile, GatewayError> {
        if let Some(file) = lock(&self.file).clone() {
            return Ok(file);
        }
        let file = FleetTokenFile::read(&self.config.auth_dir)?.ok_or_else(|| {
            GatewayError::Config(format!(
                "no Fleet API setup in {}: run the Fleet setup",
                super::fleet_file_path(&self.config.auth_dir).display()
            ))
        })?;
        if file.access_token.is_empty() && file.refresh_token.is_empty() {
            return Err(GatewayError::Config(format!(
                "{} holds no token: run the Fleet setup",
                super::FLEET_FILE
            )));
        }
        *lock(&self.file) = Some(file.clone());
        Ok(file)
    }

    /// The region base: the configured override, else the file's `AUDIENCE`.
    fn audience(&self, file: &FleetTokenFile) -> Result<String, GatewayError> {
        match &self.config.api_url {
            Some(url) => Ok(url.clone()),
            None if file.audience.is_empty() => Err(GatewayError::Config(format!(
                "{} names no AUDIENCE (region URL): run the Fleet setup",
                super::FLEET_FILE
            ))),
            None => Ok(file.audience.clone()),
        }
    }

    /// Refreshes the tokens unless another caller already did since `seen`; both new tokens are
    /// required and the file is rewritten.
    async fn refresh_tokens(&self, seen: u64) -> Result<(), GatewayError> {
        const PATH: &str = "/oauth2/v3/token";
        let Some(_refreshing) = self.tokens.begin(seen).await else {
            return Ok(());
        };
        let mut file = self.token_file()?;
        if file.refresh_token.is_empty() {
            return Err(GatewayError::Config(format!(
                "{} has no refresh token: run the Fleet setup",
                super::FLEET_FILE
            )));
        }
        let form = [
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", file.client_id.clone()),
            ("refresh_token", file.refresh_token.expose().to_owned()),
        ];
        let url = endpoint(&self.config.auth_url, PATH);
        self.exchange.counters.login();
        let bill = |status: u16| self.bill(CallKind::Auth, status);
        let mut request = Request::new(Method::POST, &url, PATH, Body::Form(&form));
        request.timeout = Some(REFRESH_TIMEOUT);
        request.on_answer = Some(&bill);
        let reply = self.exchange.send(request).await?;
        match reply.status {
            200..=299 => {}
            400 | 401 | 403 => {
                return Err(GatewayError::LoginRejected {
                    target: self.config.auth_url.clone(),
                    status: reply.status,
                    credential: "the Fleet API refresh token; run the Fleet setup again",
                });
            }
            status => {
                return Err(GatewayError::Status {
                    path: PATH.to_owned(),
                    status,
                });
            }
        }
        let answer = parse_token_answer(PATH, &reply.body)?;
        let Some(refresh_token) = answer.refresh_token else {
            return Err(GatewayError::Malformed {
                path: PATH.to_owned(),
                detail: "the refresh answer lacks a refresh_token".to_owned(),
            });
        };
        file.access_token = answer.access_token;
        file.refresh_token = refresh_token;
        let written = file.write(&self.config.auth_dir);
        *lock(&self.file) = Some(file);
        self.tokens.bump();
        written
    }

    /// Counts a billable answer: Tesla bills every answer below 500.
    fn bill(&self, kind: CallKind, status: u16) {
        if status < 500 {
            self.calls.count(kind);
        }
    }

    /// The account's energy-site ids (`GET api/1/products`, never cached).
    pub async fn site_ids(&self) -> Result<Vec<u64>, GatewayError> {
        const PATH: &str = "api/1/products";
        let answer = self.call(Method::GET, PATH, None).await?;
        Ok(energy_site_ids(&answer["response"]))
    }

    /// The selected site, chosen on first use: the configured id, the file's `site_id`, else the
    /// first product with an `energy_site_id`; a configured id must be in the product list.
    pub async fn site(&self) -> Result<u64, GatewayError> {
        self.site
            .get_or_choose(|| async {
                let configured = match self.config.site_id {
                    Some(id) => Some(id),
                    None => self.token_file()?.site_id,
                };
                choose_site_id(&self.site_ids().await?, configured)
            })
            .await
    }

    /// `api/1/energy_sites/{site}/{name}`.
    pub(crate) async fn site_path(&self, name: &str) -> Result<String, GatewayError> {
        Ok(format!("api/1/energy_sites/{}/{name}", self.site().await?))
    }

    /// A cached site read: fresh answer, else one shared upstream call (unwrapped `response`).
    pub(crate) async fn cached(&self, which: FleetEndpoint) -> Result<Arc<Value>, GatewayError> {
        let path = self.site_path(which.name()).await?;
        let ttl = if which.is_settings() {
            self.config.settings_ttl.max(self.config.cache_ttl)
        } else {
            self.config.cache_ttl
        };
        self.cached_path(path, ttl).await
    }

    /// A GET of `path` through the cache for `ttl`; paths with a query are never cached.
    pub(crate) async fn cached_path(
        &self,
        path: String,
        ttl: Duration,
    ) -> Result<Arc<Value>, GatewayError> {
        let fetch = |path: String| async move {
            let answer = self.call(Method::GET, &path, None).await?;
            response_member(&path, answer)
        };
        if path.contains('?') {
            return fetch(path).await.map(Arc::new);
        }
        let clock = Arc::clone(&self.clock);
        let wait = Duration::from_secs(120) + 4 * self.config.timeout.max(Duration::from_secs(1));
        self.cache
            .get_or_fetch_backdated(
                path.clone(),
                move || clock.now(),
                ttl,
                cache_jitter(ttl),
                wait,
                self.exchange.target(),
                || fetch(path),
            )
            .await
    }

    /// Drops a cached site read (after a write).
    pub(crate) async fn invalidate(&self, which: FleetEndpoint) {
        if let Ok(path) = self.site_path(which.name()).await {
            self.cache.invalidate(path);
        }
    }

    /// A history read (`history` / `calendar_history` with the caller's query), never cached.
    pub async fn history(&self, calendar: bool, query: &str) -> Result<Value, GatewayError> {
        let name = if calendar {
            "calendar_history"
        } else {
            "history"
        };
        let path = format!(
            "{}?{}",
            self.site_path(name).await?,
            query.trim_start_matches('?')
        );
        // A query is never cached, whatever the TTL.
        Ok((*self.cached_path(path, self.config.cache_ttl).await?).clone())
    }
}

#[async_trait::async_trait]
impl Credentials for FleetClient {
    fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    async fn bearer(&self) -> Result<Bearer, GatewayError> {
        let generation = self.tokens.generation();
        let file = self.token_file()?;
        Ok(Bearer {
            base: self.audience(&file)?,
            token: file.access_token,
            generation,
        })
    }

    async fn refresh(&self, seen: u64) -> Result<(), GatewayError> {
        self.refresh_tokens(seen).await
    }

    fn decode(&self, path: &str, body: &[u8]) -> Result<Value, GatewayError> {
        serde_json::from_slice(body).map_err(|err| GatewayError::Malformed {
            path: path.to_owned(),
            detail: format!("invalid JSON: {err}"),
        })
    }

    /// HTTP 412: the account lives in another region than the base asked.
    fn refusal(&self, _path: &str, url: &str, reply: &Reply) -> Option<GatewayError> {
        if reply.status != 412 {
            return None;
        }
        let detail: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
        let message = detail["error"].as_str().unwrap_or("user out of region");
        Some(GatewayError::Config(format!(
            "the Fleet API at {url} refused this account's region (HTTP 412: {message}); set \
             AUDIENCE in {} to the account's region URL",
            super::FLEET_FILE
        )))
    }

    fn on_answer(&self, method: &Method, status: u16) {
        let kind = if method == Method::GET {
            CallKind::Data
        } else {
            CallKind::Command
        };
        self.bill(kind, status);
    }
}
