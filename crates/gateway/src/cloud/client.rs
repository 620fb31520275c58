//! The Owner API side of the cloud client (the request path itself is [`crate::tesla`]): tokens
//! (load, cold refresh, shared refresh after a 401), site URLs with stale-site recovery, and the
//! per-endpoint cache.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;

use super::CloudClient;
use super::auth::{CLIENT_ID, TokenAnswer, endpoint, parse_token_answer};
use super::cache::Endpoint;
use super::files::{self, AuthEntry, StoredTokens};
use super::sites::{EnergySite, energy_sites, recover_site, select_site};
use super::transport::{Reply, unwrap_envelope};
use crate::tesla::call::{Bearer, Credentials};
use crate::tesla::exchange::{Body, Exchange, Request};
pub(crate) use crate::tesla::{lock, unix_now};
use crate::{GatewayError, Secret};

/// At most one stale-site recovery per this window (gateway-protocols §5.3).
pub const SITE_RECOVERY_WINDOW: Duration = Duration::from_secs(60);
/// Refresh this long before the stored expiry, so a request never carries a token that expires
/// on the way.
const EXPIRY_MARGIN_SECS: f64 = 60.0;
/// `live_status` takes a `counter` cycling through 1..=64.
const LIVE_COUNTER_CYCLE: u64 = 64;

/// Whether a stored access token must be refreshed before use.
pub fn needs_refresh(tokens: &StoredTokens, now: f64) -> bool {
    tokens.access_token.is_empty()
        || (tokens.expires_at > 0.0 && now >= tokens.expires_at - EXPIRY_MARGIN_SECS)
}

impl CloudClient {
    /// The account's tokens: loaded from the auth file on first use, refreshed first when the
    /// access token is empty (a "cold" start) or expired.
    pub(crate) async fn access_token(&self) -> Result<(Secret, u64), GatewayError> {
        let generation = self.tokens.generation();
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
            self.refresh_tokens(generation).await?;
            let entry = lock(&self.account).clone();
            let token = entry
                .map(|entry| entry.tokens.access_token)
                .unwrap_or_default();
            return Ok((token, self.tokens.generation()));
        }
        Ok((entry.tokens.access_token, generation))
    }

    /// Refreshes the tokens unless another caller already did since `seen` (concurrent 401s share
    /// one refresh); the new tokens are written to the auth file.
    pub(crate) async fn refresh_tokens(&self, seen: u64) -> Result<(), GatewayError> {
        let Some(_refreshing) = self.tokens.begin(seen).await else {
            return Ok(());
        };
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
        let mut request = Request::new(Method::POST, &url, PATH, Body::Form(&form));
        request.login = true;
        let reply = self.exchange.send(request).await?;
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
        self.tokens.bump();
        written
    }

    /// The account's energy sites (`GET api/1/products`, never cached).
    pub async fn sites(&self) -> Result<Vec<EnergySite>, GatewayError> {
        let products = self.call(Method::GET, "api/1/products", None).await?;
        Ok(energy_sites(&products))
    }

    /// The selected site, choosing it on first use (configured id, site file, else the first).
    pub async fn site(&self) -> Result<EnergySite, GatewayError> {
        self.site
            .get_or_choose(|| async {
                let configured = self
                    .config
                    .site_id
                    .or_else(|| files::read_site(&self.config.auth_dir));
                select_site(&self.sites().await?, configured)
            })
            .await
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
        match self.call(method.clone(), &path, body.as_ref()).await {
            Err(GatewayError::Status { status: 404, .. }) => {
                let Some(recovered) = self.recover(&site).await? else {
                    return Err(GatewayError::Status { path, status: 404 });
                };
                let path = site_path(recovered.id, name, query);
                self.call(method, &path, body.as_ref()).await
            }
            other => other,
        }
    }

    async fn recover(&self, stale: &EnergySite) -> Result<Option<EnergySite>, GatewayError> {
        let _recovering = self.recovery_lock.lock().await;
        if let Some(current) = self.site.get() {
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
        self.site.set(Some(site.clone()));
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
                self.exchange.target(),
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

#[async_trait::async_trait]
impl Credentials for CloudClient {
    fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    async fn bearer(&self) -> Result<Bearer, GatewayError> {
        let (token, generation) = self.access_token().await?;
        Ok(Bearer {
            token,
            generation,
            base: self.config.owner_api_url.clone(),
        })
    }

    async fn refresh(&self, seen: u64) -> Result<(), GatewayError> {
        self.refresh_tokens(seen).await
    }

    fn decode(&self, path: &str, body: &[u8]) -> Result<Value, GatewayError> {
        unwrap_envelope(path, body)
    }

    fn refusal(&self, path: &str, _url: &str, reply: &Reply) -> Option<GatewayError> {
        if reply.status == 403 {
            tracing::warn!(
                path,
                "Tesla refused the token (403): log in again with setup (a session started from \
                 a refresh token alone is refused)"
            );
        }
        None
    }
}
