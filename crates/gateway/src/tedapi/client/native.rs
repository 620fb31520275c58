//! The gateway's classic API over the customer login (gateway-protocols §2.14): the lifetime
//! energy counters of `/api/meters/aggregates`, merged into TEDAPI aggregates (§3.6).
//!
//! Best effort by design: a failing classic API costs the aggregates document at most one
//! bounded attempt (`timeout`), then nothing is sent for [`NATIVE_RETRY_AFTER_FAILURE`]. The
//! login and the read go through the client's one-request gate and [`crate::policy::GatewayGuard`]
//! like every TEDAPI request, and are counted, but their failures never touch the guard: the
//! classic API being refused says nothing about the gateway password or TEDAPI.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::connect::LOGIN_PATH;
use super::transport::{Incoming, Method, Outgoing, bearer_authorization};
use super::{TedapiClient, query};
use crate::GatewayError;

/// The classic API path whose energy counters are merged.
pub const NATIVE_AGGREGATES_PATH: &str = "/api/meters/aggregates";
/// The email of the customer login (the reference's fixed placeholder).
pub const CUSTOMER_EMAIL: &str = "nobody@nowhere.com";
/// How long a customer token is reused (gateway tokens live about an hour).
pub const CUSTOMER_TOKEN_REUSE: Duration = Duration::from_secs(3000);
/// How long after a failure the classic API is left alone.
pub const NATIVE_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(300);
/// The sections an answer must carry as objects to be accepted.
const REQUIRED_SECTIONS: [&str; 4] = ["site", "battery", "load", "solar"];
/// Content type of the customer login (a form, unlike the TEDAPI requests).
const FORM: &str = "application/x-www-form-urlencoded";

/// The customer password TEDAPI-era gateways accept: the last five characters of the gateway
/// password (all of it when shorter).
pub fn derived_customer_password(gateway_password: &str) -> &str {
    let start = gateway_password
        .char_indices()
        .rev()
        .nth(4)
        .map_or(0, |(index, _)| index);
    &gateway_password[start..]
}

/// The form-encoded customer login body; `clientInfo` goes out as the reference's form encoder
/// renders a nested object: its key only (`clientInfo=timezone`).
pub fn customer_login_body(password: &str) -> Vec<u8> {
    let fields = [
        ("username", "customer"),
        ("password", password),
        ("email", CUSTOMER_EMAIL),
        ("clientInfo", "timezone"),
    ];
    serde_urlencoded::to_string(fields)
        .unwrap_or_default()
        .into_bytes()
}

/// Whether an answer has the four sections as objects.
fn acceptable(document: &Value) -> bool {
    REQUIRED_SECTIONS
        .iter()
        .all(|name| document.get(name).is_some_and(Value::is_object))
}

/// The customer token and the failure back-off.
#[derive(Debug, Default)]
pub(crate) struct NativeState {
    token: Mutex<Option<(Instant, Arc<str>)>>,
    failed_at: Mutex<Option<Instant>>,
}

impl NativeState {
    fn token(&self) -> MutexGuard<'_, Option<(Instant, Arc<str>)>> {
        // Whole values are swapped in and out, so a poisoned lock is still consistent.
        self.token
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn failed_at(&self) -> MutexGuard<'_, Option<Instant>> {
        self.failed_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl TedapiClient {
    /// The gateway's own aggregates, when the classic API answers: from the cache while younger
    /// than `ttl`, else one bounded attempt unless a recent failure says to leave it alone. Never
    /// an error: after a failure the last answer is kept a while (lifetime counters only grow,
    /// so a few minutes' old counter beats none).
    pub(crate) async fn native_aggregates(&self, ttl: Duration) -> Option<Arc<Value>> {
        if let Some(cached) = self.documents.native.fresh(self.clock.now(), ttl) {
            return Some(cached);
        }
        let kept = || {
            self.documents.native.last_within(
                self.clock.now(),
                ttl.saturating_mul(3) + NATIVE_RETRY_AFTER_FAILURE,
            )
        };
        if self.native_backing_off() {
            return kept();
        }
        let bound = self.config.timeout;
        let attempt = self.documents.native.get_or_fetch(
            || self.clock.now(),
            self.policy(ttl),
            || self.fetch_native(),
        );
        match tokio::time::timeout(bound, attempt).await {
            Ok(Ok(document)) => Some(document),
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "gateway classic API unavailable: no lifetime energy");
                kept()
            }
            Err(_) => {
                tracing::debug!(timeout = ?bound, "gateway classic API too slow: no lifetime energy");
                self.native_failed();
                kept()
            }
        }
    }

    fn native_backing_off(&self) -> bool {
        let now = self.clock.now();
        self.native.failed_at().is_some_and(|failed| {
            now.saturating_duration_since(failed) < NATIVE_RETRY_AFTER_FAILURE
        })
    }

    fn native_failed(&self) {
        *self.native.failed_at() = Some(self.clock.now());
    }

    /// One attempt (run single-flight under the cache slot): log in if needed, read, and after a
    /// 401/403 log in again once and read again.
    async fn fetch_native(&self) -> Result<Value, GatewayError> {
        if self.native_backing_off() {
            return Err(GatewayError::Suppressed {
                path: NATIVE_AGGREGATES_PATH.to_owned(),
                status: 0,
                remaining: NATIVE_RETRY_AFTER_FAILURE,
            });
        }
        let outcome = self.read_native().await;
        match &outcome {
            Ok(_) => *self.native.failed_at() = None,
            Err(_) => self.native_failed(),
        }
        outcome
    }

    async fn read_native(&self) -> Result<Value, GatewayError> {
        let token = self.customer_token().await?;
        let mut answer = self.get_native(&token).await?;
        if matches!(answer.status, 401 | 403) {
            tracing::debug!(
                status = answer.status,
                "customer token refused: logging in again"
            );
            *self.native.token() = None;
            let token = self.customer_token().await?;
            answer = self.get_native(&token).await?;
        }
        if !(200..300).contains(&answer.status) {
            return Err(GatewayError::Status {
                path: NATIVE_AGGREGATES_PATH.to_owned(),
                status: answer.status,
            });
        }
        let document: Value =
            serde_json::from_slice(&answer.body).map_err(|err| GatewayError::Malformed {
                path: NATIVE_AGGREGATES_PATH.to_owned(),
                detail: err.to_string(),
            })?;
        if !acceptable(&document) {
            return Err(GatewayError::Malformed {
                path: NATIVE_AGGREGATES_PATH.to_owned(),
                detail: "site, battery, load and solar must be objects".to_owned(),
            });
        }
        Ok(document)
    }

    async fn get_native(&self, token: &str) -> Result<Incoming, GatewayError> {
        let request = Outgoing {
            method: Method::Get,
            path: NATIVE_AGGREGATES_PATH.to_owned(),
            query: query::ENERGY.to_owned(),
            authorization: bearer_authorization(token),
            content_type: super::OCTET_STREAM,
            body: Vec::new(),
        };
        self.exchange(request, false).await
    }

    /// The customer token: reused while younger than [`CUSTOMER_TOKEN_REUSE`], else a login.
    async fn customer_token(&self) -> Result<Arc<str>, GatewayError> {
        let now = self.clock.now();
        let reusable = self
            .native
            .token()
            .as_ref()
            .filter(|(issued, _)| now.saturating_duration_since(*issued) < CUSTOMER_TOKEN_REUSE)
            .map(|(_, token)| Arc::clone(token));
        if let Some(token) = reusable {
            return Ok(token);
        }
        let configured = self
            .config
            .customer_password
            .as_ref()
            .map(|secret| secret.expose())
            .filter(|password| !password.is_empty());
        let password = configured
            .unwrap_or_else(|| derived_customer_password(self.config.gateway_password.expose()));
        let login = Outgoing {
            method: Method::Post,
            path: LOGIN_PATH.to_owned(),
            query: query::ENERGY_LOGIN.to_owned(),
            authorization: String::new(),
            content_type: FORM,
            body: customer_login_body(password),
        };
        let answer = self.exchange(login, true).await?;
        if !(200..300).contains(&answer.status) {
            return Err(GatewayError::LoginRejected {
                target: self.target.clone(),
                status: answer.status,
                credential: "the customer password (default: the last 5 characters of PW_GW_PWD)",
            });
        }
        let token = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|body| body.get("token")?.as_str().map(str::to_owned))
            .filter(|token| !token.is_empty())
            .ok_or_else(|| GatewayError::LoginIncomplete {
                target: self.target.clone(),
                missing: "token",
            })?;
        let token: Arc<str> = token.into();
        *self.native.token() = Some((self.clock.now(), Arc::clone(&token)));
        Ok(token)
    }
}
