//! Cached TEDAPI queries (gateway-protocols §2.10): one slot per query, each holding its answer
//! for `cache_ttl`, with one upstream exchange for any number of concurrent callers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::transport::Method;
use super::{TedapiClient, query};
use crate::GatewayError;
use crate::tedapi::convert::FirmwareInfo;
use crate::tedapi::wire::{QueryRole, TedapiRequest, TedapiResponse, parse_response};

/// One cached query: the last answer with its time, and the last failure.
///
/// Single flight: the fetch runs while the slot's flight lock is held, so callers that arrive
/// meanwhile wait and then take the outcome of that one exchange, failure included, instead of
/// sending their own (a dead gateway costs one timeout per round, not one per caller). A waiter
/// waits at most its bounded wait (proxy-api §8.1: `PW_TIMEOUT`), then takes the last answer
/// whatever its age, or a timeout error when there never was one.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    /// Held while a fetch runs.
    flight: tokio::sync::Mutex<()>,
    /// The cached outcome; a plain lock held only to copy in or out, never across an await.
    state: Mutex<SlotState<T>>,
    /// Completed fetches; a waiter that sees it move knows its question was just answered.
    attempts: AtomicU64,
}

#[derive(Debug)]
struct SlotState<T> {
    value: Option<(Instant, Arc<T>)>,
    last_error: Option<GatewayError>,
    /// When the last fetch failed (cleared by a success).
    failed_at: Option<Instant>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            flight: tokio::sync::Mutex::new(()),
            state: Mutex::new(SlotState {
                value: None,
                last_error: None,
                failed_at: None,
            }),
            attempts: AtomicU64::new(0),
        }
    }
}

/// How long a caller waits for another caller's fetch of the same query, and whom to blame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockWait<'a> {
    /// The longest wait (`PW_TIMEOUT`).
    pub(crate) timeout: Duration,
    /// The gateway, named in the timeout error.
    pub(crate) target: &'a str,
}

impl<T> Slot<T> {
    fn lock_state(&self) -> std::sync::MutexGuard<'_, SlotState<T>> {
        // Every update swaps whole values, so a poisoned lock still holds a consistent state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached answer if it is younger than `ttl`, without waiting for a running fetch.
    pub(crate) fn fresh(&self, now: Instant, ttl: Duration) -> Option<Arc<T>> {
        fresh_value(&self.lock_state(), now, ttl)
    }

    /// The last answer if it is younger than `max_age` (a slower tier's answer kept through a
    /// failed refresh).
    pub(crate) fn last_within(&self, now: Instant, max_age: Duration) -> Option<Arc<T>> {
        let state = self.lock_state();
        let (stamp, value) = state.value.as_ref()?;
        (now.saturating_duration_since(*stamp) <= max_age).then(|| Arc::clone(value))
    }

    /// The last failure if the last fetch failed less than `within` ago (a slower tier does
    /// not ask again before its period is over, whether its last answer came or not).
    pub(crate) fn recent_failure(&self, now: Instant, within: Duration) -> Option<GatewayError> {
        let state = self.lock_state();
        let failed_at = state.failed_at?;
        if now.saturating_duration_since(failed_at) >= within {
            return None;
        }
        state.last_error.clone()
    }

    /// The last answer whatever its age (firmware facts survive a failed refresh, §3.1).
    pub(crate) fn last(&self) -> Option<Arc<T>> {
        self.lock_state()
            .value
            .as_ref()
            .map(|(_, value)| Arc::clone(value))
    }

    /// The cached answer if fresh, else the outcome of one fetch shared by every waiting caller;
    /// a caller that waits longer than `wait` for another caller's fetch gets the stale answer
    /// (or a timeout error when there is none) instead.
    pub(crate) async fn get_or_fetch<F, Fut>(
        &self,
        now: impl Fn() -> Instant,
        ttl: Duration,
        wait: LockWait<'_>,
        fetch: F,
    ) -> Result<Arc<T>, GatewayError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, GatewayError>>,
    {
        if let Some(value) = self.fresh(now(), ttl) {
            return Ok(value);
        }
        let seen = self.attempts.load(Ordering::Acquire);
        let Ok(_flight) = tokio::time::timeout(wait.timeout, self.flight.lock()).await else {
            tracing::debug!(
                timeout = ?wait.timeout,
                "another caller is still fetching this query: serving the last answer"
            );
            return self.last().ok_or_else(|| GatewayError::Timeout {
                target: wait.target.to_owned(),
                timeout: wait.timeout,
            });
        };
        if self.attempts.load(Ordering::Acquire) != seen {
            // Another caller fetched while we waited: share its outcome.
            let state = self.lock_state();
            if let Some(error) = &state.last_error {
                return Err(error.clone());
            }
            if let Some((_, value)) = &state.value {
                return Ok(Arc::clone(value));
            }
        }
        if let Some(value) = self.fresh(now(), ttl) {
            return Ok(value);
        }
        let outcome = fetch().await;
        let mut state = self.lock_state();
        let result = match outcome {
            Ok(value) => {
                let value = Arc::new(value);
                state.value = Some((now(), Arc::clone(&value)));
                state.last_error = None;
                state.failed_at = None;
                Ok(value)
            }
            Err(error) => {
                state.last_error = Some(error.clone());
                state.failed_at = Some(now());
                Err(error)
            }
        };
        self.attempts.fetch_add(1, Ordering::Release);
        result
    }
}

fn fresh_value<T>(state: &SlotState<T>, now: Instant, ttl: Duration) -> Option<Arc<T>> {
    let (stamp, value) = state.value.as_ref()?;
    (now.saturating_duration_since(*stamp) < ttl).then(|| Arc::clone(value))
}

/// The cache of one client: a slot per query kind, and one per Powerwall for components.
#[derive(Debug, Default)]
pub(crate) struct Documents {
    pub(crate) config: Slot<Value>,
    pub(crate) status: Slot<Value>,
    pub(crate) controller: Slot<Value>,
    pub(crate) firmware: Slot<FirmwareInfo>,
    /// The gateway-level components query (PW3).
    pub(crate) components: Slot<Value>,
    /// Components per Powerwall DIN (PW3); the map only grows by the DINs of `config.json`.
    pub(crate) devices: Mutex<HashMap<String, Arc<Slot<Value>>>>,
    /// The gateway's own `/api/meters/aggregates` over the customer login (§2.14).
    pub(crate) native: Slot<Value>,
}

impl Documents {
    /// The slot of one Powerwall's components query.
    pub(crate) fn device(&self, din: &str) -> Arc<Slot<Value>> {
        let mut devices = self
            .devices
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(devices.entry(din.to_owned()).or_default())
    }
}

impl TedapiClient {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The bounded wait for another caller's fetch of the same query (proxy-api §8.1).
    pub(crate) fn lock_wait(&self) -> LockWait<'_> {
        LockWait {
            timeout: self.config.timeout,
            target: &self.target,
        }
    }

    /// Sends one TEDAPI request (basic or bearer framing) and parses the answer.
    pub(crate) async fn send_tedapi(
        &self,
        request: &TedapiRequest,
        name: &str,
    ) -> Result<TedapiResponse, GatewayError> {
        let path = request.path();
        let body = match self.config.auth_mode {
            super::TedapiAuthMode::Basic => request.to_basic_body(),
            super::TedapiAuthMode::Bearer => request.to_bearer_body(),
        };
        let answer = self.request(Method::Post, &path, name, body).await?;
        parse_response(&answer).map_err(|err| err.into_gateway_error(&path))
    }

    /// Sends a GraphQL query and returns its JSON document.
    async fn query(&self, request: TedapiRequest, name: &str) -> Result<Value, GatewayError> {
        let path = request.path();
        let answer = self
            .send_tedapi(&request, name)
            .await?
            .into_query()
            .map_err(|err| err.into_gateway_error(&path))?;
        if !answer.errors.is_empty() {
            // V2026_06 firmware reports rejected fields here; V2024_06 may be the way out (§2.7).
            tracing::warn!(
                path,
                errors = ?answer.errors,
                "the gateway reported GraphQL errors (try TEDAPI API version V2024_06)"
            );
        }
        answer.json().map_err(|err| err.into_gateway_error(&path))
    }

    /// `config.json`, cached for `ttl`.
    pub(crate) async fn config_document(&self, ttl: Duration) -> Result<Arc<Value>, GatewayError> {
        let din = self.gateway_din().await?;
        self.config_for(&din, ttl).await
    }

    /// `config.json` of the gateway `din`, cached for `ttl` (the connect sequence calls it
    /// directly).
    pub(crate) async fn config_for(
        &self,
        din: &str,
        ttl: Duration,
    ) -> Result<Arc<Value>, GatewayError> {
        self.documents
            .config
            .get_or_fetch(
                || self.now(),
                ttl,
                self.lock_wait(),
                || async {
                    let request = TedapiRequest::config(din);
                    let path = request.path();
                    let file = self
                        .send_tedapi(&request, query::CONFIG)
                        .await?
                        .into_config()
                        .map_err(|err| err.into_gateway_error(&path))?;
                    file.json().map_err(|err| err.into_gateway_error(&path))
                },
            )
            .await
    }

    /// The DeviceController answer to the basic (`Full = false`) or full query, cached for `ttl`.
    pub(crate) async fn controller_document(
        &self,
        full: bool,
        ttl: Duration,
    ) -> Result<Arc<Value>, GatewayError> {
        let din = self.gateway_din().await?;
        let (slot, role, name) = if full {
            (
                &self.documents.controller,
                QueryRole::DeviceControllerFull,
                query::CONTROLLER,
            )
        } else {
            (
                &self.documents.status,
                QueryRole::DeviceControllerBasic,
                query::STATUS,
            )
        };
        let version = self.config.api_version;
        slot.get_or_fetch(
            || self.now(),
            ttl,
            self.lock_wait(),
            || async {
                let request = TedapiRequest::query(version, role, &din)?;
                self.query(request, name).await
            },
        )
        .await
    }

    /// Firmware version and git hash from the system-info request, cached for `ttl`; after a
    /// failure the last answer is kept by the caller ([`Slot::last`]).
    pub(crate) async fn firmware(&self, ttl: Duration) -> Result<Arc<FirmwareInfo>, GatewayError> {
        let din = self.gateway_din().await?;
        self.firmware_for(&din, ttl).await
    }

    /// The system info of the gateway `din`, cached for `ttl` (the connect sequence calls it
    /// directly).
    pub(crate) async fn firmware_for(
        &self,
        din: &str,
        ttl: Duration,
    ) -> Result<Arc<FirmwareInfo>, GatewayError> {
        self.documents
            .firmware
            .get_or_fetch(
                || self.now(),
                ttl,
                self.lock_wait(),
                || async {
                    let request = TedapiRequest::system_info(din);
                    let path = request.path();
                    let info = self
                        .send_tedapi(&request, query::FIRMWARE)
                        .await?
                        .into_system_info()
                        .map_err(|err| err.into_gateway_error(&path))?;
                    let version = info.firmware_version_text().map(str::to_owned);
                    let git_hash = info
                        .firmware_version
                        .as_ref()
                        .filter(|firmware| !firmware.githash.is_empty())
                        .map(|firmware| hex(&firmware.githash));
                    Ok(FirmwareInfo { version, git_hash })
                },
            )
            .await
    }

    /// A components query (PW3) called `name`, cached in `slot` for `ttl`.
    pub(crate) async fn components(
        &self,
        slot: &Slot<Value>,
        request: TedapiRequest,
        name: &str,
        ttl: Duration,
    ) -> Result<Arc<Value>, GatewayError> {
        slot.get_or_fetch(
            || self.now(),
            ttl,
            self.lock_wait(),
            || self.query(request, name),
        )
        .await
    }
}

/// The git hash as text: ASCII when printable (real gateways send hex digits as text), else hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.bytes().all(|byte| byte.is_ascii_graphic()) => text.to_owned(),
        _ => bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
    }
}
