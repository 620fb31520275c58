//! Per-endpoint answer cache with single flight (gateway-protocols §5.4): concurrent callers of
//! one endpoint share one upstream call; answers live for the endpoint's TTL. Failures are not
//! cached (as the reference), but callers that waited on a failed call share its error instead of
//! sending their own, so a failing cloud costs one request per round, not one per caller.
//!
//! The cache is generic over its key: the Owner API client keys it by [`Endpoint`], the Fleet API
//! client by request path.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::GatewayError;

/// The cached Owner API reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `site_status` ("SITE_SUMMARY").
    SiteStatus,
    /// `live_status` ("SITE_DATA").
    LiveStatus,
    /// `site_info` ("SITE_CONFIG").
    SiteInfo,
    /// `backup_time_remaining`.
    BackupTimeRemaining,
    /// `tariff_rate` ("SITE_TARIFF").
    TariffRate,
}

impl Endpoint {
    /// The path below `api/1/energy_sites/{id}/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SiteStatus => "site_status",
            Self::LiveStatus => "live_status",
            Self::SiteInfo => "site_info",
            Self::BackupTimeRemaining => "backup_time_remaining",
            Self::TariffRate => "tariff_rate",
        }
    }
}

impl From<crate::tesla::SiteDocument> for Endpoint {
    fn from(document: crate::tesla::SiteDocument) -> Self {
        use crate::tesla::SiteDocument;
        match document {
            SiteDocument::LiveStatus => Self::LiveStatus,
            SiteDocument::SiteInfo => Self::SiteInfo,
            SiteDocument::SiteStatus => Self::SiteStatus,
            SiteDocument::BackupTimeRemaining => Self::BackupTimeRemaining,
        }
    }
}

#[derive(Debug, Default)]
struct SlotState {
    value: Option<(Instant, Arc<Value>)>,
    /// Outcome of the last finished call, shared with the callers that waited for it.
    last: Option<(u64, Result<Arc<Value>, GatewayError>)>,
    finished: u64,
}

#[derive(Debug, Default)]
struct Slot {
    flight: tokio::sync::Mutex<()>,
    state: Mutex<SlotState>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // Whole values are swapped in, so a poisoned lock still holds a consistent state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The cache of one cloud client, keyed by `K`.
#[derive(Debug)]
pub(crate) struct AnswerCache<K = Endpoint> {
    slots: Mutex<HashMap<K, Arc<Slot>>>,
}

impl<K> Default for AnswerCache<K> {
    fn default() -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone> AnswerCache<K> {
    fn slot(&self, endpoint: K) -> Arc<Slot> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(slots.entry(endpoint).or_default())
    }

    /// Drops one endpoint's answer (after a write, or a site change).
    pub(crate) fn invalidate(&self, endpoint: K) {
        self.slot(endpoint).lock().value = None;
    }

    /// Drops every answer.
    pub(crate) fn clear(&self) {
        let slots: Vec<Arc<Slot>> = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .cloned()
            .collect();
        for slot in slots {
            slot.lock().value = None;
        }
    }

    /// The fresh answer, or the outcome of one call shared by every concurrent caller. A caller
    /// that waits longer than `wait` for another's call gets the last answer whatever its age
    /// (as the reference serves its cache on a lock timeout), or a timeout error.
    pub(crate) async fn get_or_fetch<F, Fut>(
        &self,
        endpoint: K,
        now: impl Fn() -> Instant,
        ttl: Duration,
        wait: Duration,
        target: &str,
        fetch: F,
    ) -> Result<Arc<Value>, GatewayError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value, GatewayError>>,
    {
        self.get_or_fetch_backdated(endpoint, now, ttl, Duration::ZERO, wait, target, fetch)
            .await
    }

    /// As [`Self::get_or_fetch`], with a new answer stamped `backdate` earlier than it arrived, so
    /// answers fetched together do not all expire together (the Fleet client's jitter).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn get_or_fetch_backdated<F, Fut>(
        &self,
        endpoint: K,
        now: impl Fn() -> Instant,
        ttl: Duration,
        backdate: Duration,
        wait: Duration,
        target: &str,
        fetch: F,
    ) -> Result<Arc<Value>, GatewayError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value, GatewayError>>,
    {
        let slot = self.slot(endpoint);
        if let Some(value) = fresh(&slot.lock(), now(), ttl) {
            return Ok(value);
        }
        let seen = slot.lock().finished;
        let Ok(_flight) = tokio::time::timeout(wait, slot.flight.lock()).await else {
            let state = slot.lock();
            return state
                .value
                .as_ref()
                .map(|(_, value)| Arc::clone(value))
                .ok_or_else(|| GatewayError::Timeout {
                    target: target.to_owned(),
                    timeout: wait,
                });
        };
        {
            let state = slot.lock();
            if let Some(value) = fresh(&state, now(), ttl) {
                return Ok(value);
            }
            if let Some((finished, outcome)) = &state.last {
                if *finished != seen {
                    // Another caller finished a call while we waited: share its outcome.
                    return match outcome {
                        Ok(value) => Ok(Arc::clone(value)),
                        Err(error) => Err(error.clone()),
                    };
                }
            }
        }
        let outcome = fetch().await.map(Arc::new);
        let mut state = slot.lock();
        state.finished += 1;
        let finished = state.finished;
        match &outcome {
            Ok(value) => {
                let arrived = now();
                let stamp = arrived.checked_sub(backdate).unwrap_or(arrived);
                state.value = Some((stamp, Arc::clone(value)));
                state.last = Some((finished, Ok(Arc::clone(value))));
            }
            Err(error) => state.last = Some((finished, Err(error.clone()))),
        }
        outcome
    }
}

fn fresh(state: &SlotState, now: Instant, ttl: Duration) -> Option<Arc<Value>> {
    let (stamp, value) = state.value.as_ref()?;
    (now.saturating_duration_since(*stamp) < ttl).then(|| Arc::clone(value))
}
