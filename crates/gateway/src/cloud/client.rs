//! The request path of the cloud client: tokens (load, cold refresh, 401 → refresh once), the
//! 429 back-off window, site URLs with stale-site recovery, and the per-endpoint cache.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;

use super::CloudClient;
use super::auth::{CLIENT_ID, TokenAnswer, endpoint, parse_token_answer};
use super::cache::Endpoint;
use super::files::{self, AuthEntry, StoredTokens};
use super::sites::{EnergySite, energy_sites, recover_site, select_site};
use super::transport::{
    Reply, TESLA_USER_AGENT, rate_limit_delay, transport_error, unwrap_envelope,
};
use crate::{GatewayError, Secret};

/// At most one stale-site recovery per this window (gateway-protocols §5.3).
pub const SITE_RECOVERY_WINDOW: Duration = Duration::from_secs(60);
/// Refresh this long before the stored expiry, so a request never carries a token that expires
/// on the way.
const EXPIRY_MARGIN_SECS: f64 = 60.0;
/// `live_status` takes a `counter` cycling through 1..=64.
const LIVE_COUNTER_CYCLE: u64 = 64;

/// A request body.
pub(crate) enum Body {
    /// No body.
    None,
    /// JSON.
    Json(Value),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(&'static str, String)>),
}

/// Wall-clock Unix seconds (token expiry is wall-clock by nature).
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs_f64())
        .unwrap_or(0.0)
}

/// Whether a stored access token must be refreshed before use.
pub fn needs_refresh(tokens: &StoredTokens, now: f64) -> bool {
    tokens.access_token.is_empty()
        || (tokens.expires_at > 0.0 && now >= tokens.expires_at - EXPIRY_MARGIN_SECS)
}

impl CloudClient {
    /// Sends one request (counted), honouring and starting the 429 back-off window.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        body: Body,
        bearer: Option<&Secret>,
        path: &str,
        login: bool,
    ) -> Result<Reply, GatewayError> {
        if let Some(remaining) = self.cooldown_remaining() {
            return Err(GatewayError::CoolingDown { remaining });
        }
        let mut request = self
            .http
            .request(method, url)
            .header("X-Tesla-User-Agent", TESLA_USER_AGENT)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token.expose());
        }
        request = match body {
            Body::None => request.header(reqwest::header::CONTENT_TYPE, "application/json"),
            Body::Json(value) => request.json(&value),
            Body::Form(pairs) => request.form(&pairs),
        };
        if login {
            self.counters.login();
        } else {
            self.counters.request();
        }
        let timeout = self.config.timeout;
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                self.counters.error();
                return Err(transport_error(&self.target, timeout, &err));
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(err) => {
                self.counters.error();
                return Err(transport_error(&self.target, timeout, &err));
            }
        };
        if status >= 400 {
            self.counters.error();
        }
        if status == 429 {
            let pause = rate_limit_delay(&headers, &body, SystemTime::now());
            self.start_cooldown(pause);
            tracing::warn!(
                path,
                ?pause,
                "Tesla cloud answered 429: pausing cloud requests"
            );
            return Err(GatewayError::RateLimited {
                path: path.to_owned(),
                status,
                retry_after: pause,
            });
        }
        Ok(Reply { status, body })
    }

    /// Time left in the 429 back-off window.
    pub fn cooldown_remaining(&self) -> Option<Duration> {
        let now = self.clock.now();
        let until = *lock(&self.cooldown_until);
        until.filter(|until| now < *until).map(|until| until - now)
    }

    fn start_cooldown(&self, pause: Duration) {
        let until = self.clock.now() + pause;
        let mut slot = lock(&self.cooldown_until);
        *slot = Some(slot.map_or(until, |old| old.max(until)));
    }

    /// The account's tokens: loaded from the auth file on first use, refreshed first when the
    /// access token is empty (a "cold" start) or expired.
    pub(crate) async fn access_token(&self) -> Result<(Secret, u64), GatewayError> {
        let generation = self.token_generation.load(Ordering::Acquire);
        // Bound first: a guard in the match scrutinee would live through the arms.
        let loaded = lock(&self.account).clone();
        let entry = match loaded {
            Some(entry) => entry,
            None => {
                let entry = files::read_auth(&self.config.auth_dir, &self.config.email)?
                    .ok_or_else(|| {
                        // Never the account email: errors reach logs and /health.
                        GatewayError::Config(format!(
                            "no Tesla login for the configured account (PW_EMAIL) in {}: run \
                             setup",
                            files::auth_path(&self.config.auth_dir).display()
                        ))
                    })?;
                *lock(&self.account) = Some(entry.clone());
                entry
            }
        };
        if entry.tokens.refresh_token.is_empty() && entry.tokens.access_token.is_empty() {
            return Err(GatewayError::Config(
                "the Tesla login holds no token: run setup".to_owned(),
            ));
        }
        if needs_refresh(&entry.tokens, unix_now()) {
            self.refresh(generation).await?;
            let entry = lock(&self.account).clone();
            let token = entry
                .map(|entry| entry.tokens.access_token)
                .unwrap_or_default();
            return Ok((token, self.token_generation.load(Ordering::Acquire)));
        }
        Ok((entry.tokens.access_token, generation))
    }

    /// Refreshes the tokens unless another caller already did since `seen` (concurrent 401s share
    /// one refresh); the new tokens are written to the auth file.
    pub(crate) async fn refresh(&self, seen: u64) -> Result<(), GatewayError> {
        let _refreshing = self.refresh_lock.lock().await;
        if self.token_generation.load(Ordering::Acquire) != seen {
            return Ok(());
        }
        let Some(mut entry) = lock(&self.account).clone() else {
            return Err(GatewayError::Config(
                "no Tesla login loaded: run setup".to_owned(),
            ));
        };
        if entry.tokens.refresh_token.is_empty() {
            return Err(GatewayError::Config(
                "the Tesla login has no refresh token: run setup".to_owned(),
            ));
        }
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            (
                "refresh_token",
                entry.tokens.refresh_token.expose().to_owned(),
            ),
            ("client_id", CLIENT_ID.to_owned()),
        ];
        let answer = self.token_request(form).await?;
        apply_answer(&mut entry.tokens, answer, unix_now());
        if !super::auth::jwt_has_owner_audience(entry.tokens.access_token.expose()) {
            tracing::warn!("the refreshed Tesla token does not name the Owner API audience");
        }
        self.store_account(entry)?;
        Ok(())
    }

    /// `POST <auth>/oauth2/v3/token`, form-encoded as the runtime sends it.
    pub(crate) async fn token_request(
        &self,
        form: Vec<(&'static str, String)>,
    ) -> Result<TokenAnswer, GatewayError> {
        const PATH: &str = "/oauth2/v3/token";
        let url = endpoint(&self.config.auth_url, PATH);
        let reply = self
            .send(Method::POST, &url, Body::Form(form), None, PATH, true)
            .await?;
        match reply.status {
            200..=299 => parse_token_answer(PATH, &reply.body),
            400 | 401 | 403 => Err(GatewayError::LoginRejected {
                target: self.config.auth_url.clone(),
                status: reply.status,
                credential: "the Tesla login (refresh token or code); run setup again",
            }),
            status => Err(GatewayError::Status {
                path: PATH.to_owned(),
                status,
            }),
        }
    }

    /// Replaces the account's tokens in memory and in the auth file.
    pub(crate) fn store_account(&self, entry: AuthEntry) -> Result<(), GatewayError> {
        let written = files::write_auth(&self.config.auth_dir, &entry);
        *lock(&self.account) = Some(entry);
        self.token_generation.fetch_add(1, Ordering::AcqRel);
        written
    }

    /// One Owner API call: bearer token, 401 → refresh and retry once, envelope unwrapped.
    pub(crate) async fn owner_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, GatewayError> {
        let url = endpoint(&self.config.owner_api_url, path);
        let mut retried = false;
        loop {
            let (token, generation) = self.access_token().await?;
            let payload = body.clone().map_or(Body::None, Body::Json);
            let reply = self
                .send(method.clone(), &url, payload, Some(&token), path, false)
                .await?;
            match reply.status {
                200..=299 => return unwrap_envelope(path, &reply.body),
                401 if !retried => {
                    retried = true;
                    self.refresh(generation).await?;
                }
                401 | 403 => {
                    if reply.status == 403 {
                        tracing::warn!(
                            path,
                            "Tesla refused the token (403): log in again with setup (a session \
                             started from a refresh token alone is refused)"
                        );
                    }
                    return Err(GatewayError::Unauthorized {
                        path: path.to_owned(),
                        status: reply.status,
                    });
                }
                status => {
                    return Err(GatewayError::Status {
                        path: path.to_owned(),
                        status,
                    });
                }
            }
        }
    }

    /// The account's energy sites (`GET api/1/products`, never cached).
    pub async fn sites(&self) -> Result<Vec<EnergySite>, GatewayError> {
        let products = self.owner_call(Method::GET, "api/1/products", None).await?;
        Ok(energy_sites(&products))
    }

    /// The selected site, choosing it on first use (configured id, site file, else the first).
    pub async fn site(&self) -> Result<EnergySite, GatewayError> {
        if let Some(site) = lock(&self.site).clone() {
            return Ok(site);
        }
        let _connecting = self.connect_lock.lock().await;
        if let Some(site) = lock(&self.site).clone() {
            return Ok(site);
        }
        let configured = self
            .config
            .site_id
            .or_else(|| files::read_site(&self.config.auth_dir));
        let site = select_site(&self.sites().await?, configured)?;
        *lock(&self.site) = Some(site.clone());
        Ok(site)
    }

    /// A call to `api/1/energy_sites/{id}/<name>`; a 404 triggers stale-site recovery (at most
    /// once per minute) and one retry on the recovered site.
    pub(crate) async fn site_call(
        &self,
        method: Method,
        name: &str,
        query: &str,
        body: Option<Value>,
    ) -> Result<Value, GatewayError> {
        let site = self.site().await?;
        let path = site_path(site.id, name, query);
        match self.owner_call(method.clone(), &path, body.clone()).await {
            Err(GatewayError::Status { status: 404, .. }) => {
                let Some(recovered) = self.recover(&site).await? else {
                    return Err(GatewayError::Status { path, status: 404 });
                };
                let path = site_path(recovered.id, name, query);
                self.owner_call(method, &path, body).await
            }
            other => other,
        }
    }

    async fn recover(&self, stale: &EnergySite) -> Result<Option<EnergySite>, GatewayError> {
        let _recovering = self.recovery_lock.lock().await;
        if let Some(current) = lock(&self.site).clone() {
            if current.id != stale.id {
                // Another caller recovered while we waited.
                return Ok(Some(current));
            }
        }
        let now = self.clock.now();
        {
            let mut last = lock(&self.last_recovery);
            if last.is_some_and(|at: Instant| now.duration_since(at) < SITE_RECOVERY_WINDOW) {
                return Ok(None);
            }
            *last = Some(now);
        }
        let sites = self.sites().await?;
        let Some(site) = recover_site(stale, &sites) else {
            tracing::warn!(
                site = stale.id,
                "energy site answered 404 and no replacement is clear"
            );
            return Ok(None);
        };
        if site.id == stale.id {
            return Ok(None);
        }
        tracing::warn!(
            old = stale.id,
            new = site.id,
            "energy site was renumbered: switching"
        );
        if let Err(error) = files::write_site(&self.config.auth_dir, site.id) {
            tracing::warn!(%error, "cannot persist the new energy site id");
        }
        *lock(&self.site) = Some(site.clone());
        self.cache.clear();
        Ok(Some(site))
    }

    /// A cached site read: fresh answer, else one shared upstream call.
    pub(crate) async fn cached(&self, which: Endpoint) -> Result<Arc<Value>, GatewayError> {
        let ttl = match which {
            Endpoint::SiteInfo => self.config.site_info_ttl,
            _ => self.config.cache_ttl,
        };
        let clock = Arc::clone(&self.clock);
        self.cache
            .get_or_fetch(
                which,
                move || clock.now(),
                ttl,
                self.config.timeout,
                &self.target,
                || async move {
                    let query = match which {
                        Endpoint::LiveStatus => {
                            let n = self.live_counter.fetch_add(1, Ordering::Relaxed)
                                % LIVE_COUNTER_CYCLE
                                + 1;
                            format!("counter={n}&language=en")
                        }
                        Endpoint::TariffRate => String::new(),
                        _ => "language=en".to_owned(),
                    };
                    self.site_call(Method::GET, which.name(), &query, None)
                        .await
                },
            )
            .await
    }
}

fn site_path(id: u64, name: &str, query: &str) -> String {
    if query.is_empty() {
        format!("api/1/energy_sites/{id}/{name}")
    } else {
        format!("api/1/energy_sites/{id}/{name}?{query}")
    }
}

/// Applies a token answer; the old refresh token stays when the answer has none.
pub(crate) fn apply_answer(tokens: &mut StoredTokens, answer: TokenAnswer, now: f64) {
    tokens.access_token = answer.access_token;
    if let Some(refresh) = answer.refresh_token {
        tokens.refresh_token = refresh;
    }
    if let Some(id_token) = answer.id_token {
        tokens.id_token = id_token;
    }
    tokens.expires_in = if answer.expires_in > 0 {
        answer.expires_in
    } else {
        super::DEFAULT_EXPIRES_IN
    };
    tokens.expires_at = now.trunc() + tokens.expires_in as f64;
    tokens.token_type = answer.token_type;
}

pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update swaps whole values, so a poisoned lock still holds a consistent state.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
