//! On-demand reads of gateway paths the poll plan does not cover (passthrough routes).
//!
//! [`SingleFlight`] is the protective cache in front of every such read:
//! - one upstream call per key at a time (N concurrent callers share it);
//! - successes are served for `fresh_for` (`PW_CACHE_EXPIRE`), then refreshed on demand;
//! - failures are not retried for `retry_after_failure` plus up to 50 % jitter, so many paths
//!   that failed together do not retry together;
//! - no caller waits longer than `wait_at_most` (`PW_TIMEOUT`): it then gets the last value (while
//!   younger than `serve_stale_for`) or nothing; the upstream call itself keeps running in the
//!   background (bounded by `upstream_limit`) so later callers can still use its answer;
//! - at most `max_entries` keys are remembered (least recently used, idle ones evicted first);
//! - fail-fast: while the link is degraded, callers are answered at once from what is cached, and
//!   one probe call is let through every `probe_every` (`PW_CACHE_TTL`) so the link can recover.
//!
//! [`OnDemand`] applies it to [`GatewayAccess::fetch_raw`].

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use powerwall_gateway::{GatewayAccess, GatewayError, RawBody};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::settings::Freshness;

/// The knobs of a [`SingleFlight`] cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDemandConfig {
    /// A success is served without asking again for this long (`PW_CACHE_EXPIRE`).
    pub fresh_for: Duration,
    /// A success may stand in for a failed or slow refresh while younger than this.
    pub serve_stale_for: Duration,
    /// A failed key is not asked again for this long (plus up to 50 % jitter).
    pub retry_after_failure: Duration,
    /// The longest a caller waits for an upstream answer (`PW_TIMEOUT`).
    pub wait_at_most: Duration,
    /// The longest an upstream call may run in the background before it counts as failed.
    pub upstream_limit: Duration,
    /// While degraded, one probe call goes upstream this often (`PW_CACHE_TTL`).
    pub probe_every: Duration,
    /// Most keys remembered at once.
    pub max_entries: usize,
}

impl OnDemandConfig {
    /// The configuration the settings imply.
    pub fn for_gateway(freshness: &Freshness, timeout: Duration) -> Self {
        let fresh_for = freshness.poll_interval;
        Self {
            fresh_for,
            serve_stale_for: freshness.max_age(),
            retry_after_failure: fresh_for.max(Duration::from_secs(1)),
            wait_at_most: timeout,
            // TEDAPI reads may legitimately take a few round trips; never hold a key forever.
            upstream_limit: (timeout * 4).max(Duration::from_secs(10)),
            probe_every: freshness.cache_ttl.max(Duration::from_secs(1)),
            max_entries: 256,
        }
    }
}

/// What a finished upstream call left: the value, or `None` after a failure.
type Outcome<V> = Option<Option<V>>;

/// What an upstream call produced, with how long the cache should lean on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<V> {
    /// A value, kept fresh for the given time instead of `fresh_for` when set.
    Value(V, Option<Duration>),
    /// A failure (for the log); the key is not asked again for the given time when set, else
    /// for `retry_after_failure` plus jitter.
    Failed(String, Option<Duration>),
}

/// One remembered key.
struct Entry<V> {
    /// The last success, when it arrived, and until when it is fresh.
    value: Option<(V, Instant, Instant)>,
    /// No new upstream call before this (after a failure).
    retry_at: Option<Instant>,
    /// The call under way, if any.
    flight: Option<watch::Receiver<Outcome<V>>>,
    /// Failures in a row (feeds the jitter).
    failures: u32,
    /// Last time a caller asked (for eviction).
    last_used: Instant,
}

impl<V> Entry<V> {
    fn new(now: Instant) -> Self {
        Self {
            value: None,
            retry_at: None,
            flight: None,
            failures: 0,
            last_used: now,
        }
    }
}

struct Inner<V> {
    entries: HashMap<String, Entry<V>>,
    /// When the last fail-fast probe went through.
    last_probe: Option<Instant>,
}

/// A per-key single-flight cache with a negative cache, a wait bound and fail-fast.
pub struct SingleFlight<V> {
    config: OnDemandConfig,
    inner: Arc<Mutex<Inner<V>>>,
    jitter: RandomState,
}

impl<V: Clone + Send + Sync + 'static> SingleFlight<V> {
    /// An empty cache.
    pub fn new(config: OnDemandConfig) -> Self {
        Self {
            config,
            inner: Arc::new(Mutex::new(Inner {
                entries: HashMap::new(),
                last_probe: None,
            })),
            jitter: RandomState::new(),
        }
    }

    /// The knobs in use.
    pub fn config(&self) -> &OnDemandConfig {
        &self.config
    }

    /// Number of keys remembered now.
    pub fn len(&self) -> usize {
        lock(&self.inner).entries.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value for `key`: cached while fresh, else from `fetch` (shared with concurrent
    /// callers), else the last value while young enough; `None` when there is nothing to give.
    ///
    /// `degraded` turns on fail-fast: no upstream call except one probe per `probe_every`.
    pub async fn get<F, Fut, E>(&self, key: &str, degraded: bool, fetch: F) -> Option<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        E: Display + Send + 'static,
    {
        self.get_answer(key, degraded, move || {
            let call = fetch();
            async move {
                match call.await {
                    Ok(value) => Answer::Value(value, None),
                    Err(err) => Answer::Failed(err.to_string(), None),
                }
            }
        })
        .await
    }

    /// Like [`get`](Self::get), with the fetch deciding how long its answer holds.
    pub async fn get_answer<F, Fut>(&self, key: &str, degraded: bool, fetch: F) -> Option<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Answer<V>> + Send + 'static,
    {
        let mut flight = {
            let now = Instant::now();
            let mut inner = lock(&self.inner);
            if let Some(entry) = inner.entries.get_mut(key) {
                entry.last_used = now;
                if let Some((value, _, fresh_until)) = &entry.value
                    && now < *fresh_until
                {
                    return Some(value.clone());
                }
                if let Some(flight) = &entry.flight {
                    flight.clone()
                } else if entry.retry_at.is_some_and(|at| now < at) {
                    return self.stale(entry, now);
                } else if degraded && !take_probe(&mut inner, now, self.config.probe_every) {
                    return inner
                        .entries
                        .get(key)
                        .and_then(|entry| self.stale(entry, now));
                } else {
                    self.launch(&mut inner, key, now, fetch)
                }
            } else if degraded && !take_probe(&mut inner, now, self.config.probe_every) {
                return None;
            } else if !make_room(&mut inner, self.config.max_entries) {
                tracing::debug!("on-demand cache full of calls under way; not asking for {key}");
                return None;
            } else {
                self.launch(&mut inner, key, now, fetch)
            }
        };
        let waited = tokio::time::timeout(
            self.config.wait_at_most,
            flight.wait_for(|outcome| outcome.is_some()),
        )
        .await;
        if let Ok(Ok(outcome)) = waited
            && let Some(Some(value)) = outcome.clone()
        {
            return Some(value);
        }
        let now = Instant::now();
        let inner = lock(&self.inner);
        inner
            .entries
            .get(key)
            .and_then(|entry| self.stale(entry, now))
    }

    /// The last success of `entry` while it may still be served.
    fn stale(&self, entry: &Entry<V>, now: Instant) -> Option<V> {
        entry
            .value
            .as_ref()
            .filter(|(_, at, _)| now.saturating_duration_since(*at) < self.config.serve_stale_for)
            .map(|(value, _, _)| value.clone())
    }

    /// Starts the upstream call for `key` in the background and returns its outcome channel.
    fn launch<F, Fut>(
        &self,
        inner: &mut Inner<V>,
        key: &str,
        now: Instant,
        fetch: F,
    ) -> watch::Receiver<Outcome<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Answer<V>> + Send + 'static,
    {
        let (sender, receiver) = watch::channel(None);
        let entry = inner
            .entries
            .entry(key.to_owned())
            .or_insert_with(|| Entry::new(now));
        entry.flight = Some(receiver.clone());
        let call = fetch();
        let shared = Arc::clone(&self.inner);
        let limit = self.config.upstream_limit;
        let base = self.config.retry_after_failure;
        let fresh_for = self.config.fresh_for;
        let key = key.to_owned();
        let jitter_seed = self.jitter.hash_one((&key, entry.failures));
        tokio::spawn(async move {
            let answer = match tokio::time::timeout(limit, call).await {
                Ok(answer) => answer,
                Err(_) => Answer::Failed(format!("no answer within {limit:?}"), None),
            };
            let done = Instant::now();
            let value = {
                let mut inner = lock(&shared);
                let entry = inner.entries.get_mut(&key);
                match answer {
                    Answer::Value(value, hold) => {
                        if let Some(entry) = entry {
                            entry.flight = None;
                            let fresh_until = done + hold.unwrap_or(fresh_for);
                            entry.value = Some((value.clone(), done, fresh_until));
                            entry.retry_at = None;
                            entry.failures = 0;
                        }
                        Some(value)
                    }
                    Answer::Failed(why, hold) => {
                        tracing::debug!("on-demand read of {key} failed: {why}");
                        if let Some(entry) = entry {
                            entry.flight = None;
                            entry.failures = entry.failures.saturating_add(1);
                            let wait = hold.unwrap_or_else(|| jittered(base, jitter_seed));
                            entry.retry_at = Some(done + wait);
                        }
                        None
                    }
                }
            };
            sender.send_replace(Some(value));
        });
        receiver
    }
}

/// `base` plus a share of up to half of it picked by `seed`.
fn jittered(base: Duration, seed: u64) -> Duration {
    let fraction = (seed % 1000) as f64 / 2000.0;
    base + base.mul_f64(fraction)
}

/// Takes the fail-fast probe slot if it is free.
fn take_probe<V>(inner: &mut Inner<V>, now: Instant, every: Duration) -> bool {
    let free = inner
        .last_probe
        .is_none_or(|last| now.saturating_duration_since(last) >= every);
    if free {
        inner.last_probe = Some(now);
    }
    free
}

/// Frees one slot when full by dropping the least recently used key with no call under way.
fn make_room<V>(inner: &mut Inner<V>, max_entries: usize) -> bool {
    if inner.entries.len() < max_entries.max(1) {
        return true;
    }
    let victim = inner
        .entries
        .iter()
        .filter(|(_, entry)| entry.flight.is_none())
        .min_by_key(|(_, entry)| entry.last_used)
        .map(|(key, _)| key.clone());
    match victim {
        Some(key) => {
            inner.entries.remove(&key);
            true
        }
        None => false,
    }
}

fn lock<V>(inner: &Mutex<Inner<V>>) -> MutexGuard<'_, Inner<V>> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// "Send nothing to the gateway before …": set when the gateway rate-limits, read by every
/// path that reaches the gateway outside its client (the web passthrough).
#[derive(Debug, Default)]
pub struct GatewayPause {
    until: Mutex<Option<Instant>>,
}

impl GatewayPause {
    /// Pauses for `duration` from now (never shortens a longer pause).
    pub fn hold(&self, duration: Duration) {
        let end = Instant::now() + duration;
        let mut until = self
            .until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if until.is_none_or(|current| current < end) {
            *until = Some(end);
        }
    }

    /// Whether a pause is running.
    pub fn active(&self) -> bool {
        let until = self
            .until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        until.is_some_and(|end| Instant::now() < end)
    }
}

/// On-demand reads of gateway paths through the gateway client, behind a [`SingleFlight`] cache.
pub struct OnDemand {
    access: Arc<dyn GatewayAccess>,
    cache: SingleFlight<RawBody>,
    pause: Arc<GatewayPause>,
}

impl OnDemand {
    /// A fetcher for `access` with these knobs.
    pub fn new(access: Arc<dyn GatewayAccess>, config: OnDemandConfig) -> Self {
        Self {
            access,
            cache: SingleFlight::new(config),
            pause: Arc::new(GatewayPause::default()),
        }
    }

    /// Reads `path` (no query string) from the gateway, at most once per `fresh_for`, and never
    /// waiting longer than `wait_at_most`; `None` when nothing usable is available.
    ///
    /// A failure the client holds back for a known time (negative cache, cooldown) is not asked
    /// again before that time; a rate limit also sets the shared [`GatewayPause`].
    pub async fn fetch(&self, path: &str, degraded: bool) -> Option<RawBody> {
        let access = Arc::clone(&self.access);
        let pause = Arc::clone(&self.pause);
        let owned = path.to_owned();
        self.cache
            .get_answer(path, degraded, move || async move {
                match access.fetch_raw(&owned).await {
                    Ok(raw) => Answer::Value(raw, None),
                    Err(err) => {
                        if let GatewayError::RateLimited { retry_after, .. }
                        | GatewayError::CoolingDown {
                            remaining: retry_after,
                        } = &err
                        {
                            pause.hold(*retry_after);
                        }
                        let hold = err.retry_after();
                        Answer::Failed(err.to_string(), hold)
                    }
                }
            })
            .await
    }

    /// The pause shared with the other gateway paths.
    pub fn pause(&self) -> &Arc<GatewayPause> {
        &self.pause
    }

    /// The cache behind it.
    pub fn cache(&self) -> &SingleFlight<RawBody> {
        &self.cache
    }
}

#[cfg(test)]
#[path = "on_demand_tests.rs"]
mod tests;
