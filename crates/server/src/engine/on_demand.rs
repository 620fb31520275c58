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

use crate::settings::Settings;

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
    pub fn from_settings(settings: &Settings) -> Self {
        let fresh_for = settings.freshness.poll_interval;
        let timeout = settings.gateway_timeout;
        Self {
            fresh_for,
            serve_stale_for: settings.freshness.max_age(),
            retry_after_failure: fresh_for.max(Duration::from_secs(1)),
            wait_at_most: timeout,
            // TEDAPI reads may legitimately take a few round trips; never hold a key forever.
            upstream_limit: (timeout * 4).max(Duration::from_secs(10)),
            probe_every: settings.freshness.cache_ttl.max(Duration::from_secs(1)),
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
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use powerwall_gateway::{AccessMode, DataKind, UpstreamStats};
    use serde_json::json;

    use super::*;

    /// A gateway that counts raw reads, answers after `delay`, and fails while `failing`.
    #[derive(Default)]
    struct FakeGateway {
        calls: AtomicU64,
        delay_ms: AtomicU64,
        failing: AtomicBool,
    }

    #[async_trait::async_trait]
    impl GatewayAccess for FakeGateway {
        fn mode(&self) -> AccessMode {
            AccessMode::Local
        }
        fn target(&self) -> &str {
            "fake"
        }
        async fn connect(&self) -> Result<(), GatewayError> {
            Ok(())
        }
        async fn fetch(&self, _kind: DataKind) -> Result<serde_json::Value, GatewayError> {
            Err(GatewayError::Config("not used".to_owned()))
        }
        async fn fetch_raw(&self, path: &str) -> Result<RawBody, GatewayError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let delay = self.delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if self.failing.load(Ordering::SeqCst) {
                return Err(GatewayError::Config("down".to_owned()));
            }
            Ok(RawBody::Json(json!({"path": path, "call": call})))
        }
        fn upstream(&self) -> UpstreamStats {
            UpstreamStats::default()
        }
    }

    fn config() -> OnDemandConfig {
        OnDemandConfig {
            fresh_for: Duration::from_secs(5),
            serve_stale_for: Duration::from_secs(35),
            retry_after_failure: Duration::from_secs(5),
            wait_at_most: Duration::from_secs(5),
            upstream_limit: Duration::from_secs(20),
            probe_every: Duration::from_secs(30),
            max_entries: 4,
        }
    }

    fn setup(config: OnDemandConfig) -> (Arc<FakeGateway>, OnDemand) {
        let fake = Arc::new(FakeGateway::default());
        let access: Arc<dyn GatewayAccess> = fake.clone();
        (fake, OnDemand::new(access, config))
    }

    fn call_number(body: &Option<RawBody>) -> u64 {
        match body {
            Some(RawBody::Json(value)) => value["call"].as_u64().unwrap(),
            other => panic!("expected JSON, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn many_concurrent_callers_share_one_upstream_call() {
        let (fake, on_demand) = setup(config());
        fake.delay_ms.store(300, Ordering::SeqCst);
        let callers = (0..50).map(|_| on_demand.fetch("/api/sitemaster", false));
        let answers = futures_util::future::join_all(callers).await;
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
        assert!(answers.iter().all(|answer| call_number(answer) == 1));
        // Within the freshness window: still one call; after it, one more.
        assert_eq!(
            call_number(&on_demand.fetch("/api/sitemaster", false).await),
            1
        );
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(
            call_number(&on_demand.fetch("/api/sitemaster", false).await),
            2
        );
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        // A different path is its own flight.
        on_demand.fetch("/api/powerwalls", false).await;
        assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_negatively_cached_with_jitter_and_stale_values_stand_in() {
        let (fake, on_demand) = setup(config());
        assert_eq!(call_number(&on_demand.fetch("/api/status", false).await), 1);
        fake.failing.store(true, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(6)).await;
        // The refresh fails: the last value (6 s old) stands in.
        assert_eq!(call_number(&on_demand.fetch("/api/status", false).await), 1);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        // During the negative window nothing goes upstream.
        for _ in 0..10 {
            assert_eq!(call_number(&on_demand.fetch("/api/status", false).await), 1);
        }
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        // After base + max jitter (7.5 s) one retry goes out.
        tokio::time::advance(Duration::from_millis(7_600)).await;
        on_demand.fetch("/api/status", false).await;
        assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
        // Past the stale limit the failure means no data.
        tokio::time::advance(Duration::from_secs(40)).await;
        assert_eq!(on_demand.fetch("/api/status", false).await, None);
    }

    #[test]
    fn jitter_stays_within_half_the_base() {
        let base = Duration::from_secs(10);
        for seed in [0, 1, 499, 999, 1000, u64::MAX] {
            let delay = jittered(base, seed);
            assert!(
                delay >= base && delay < base + base / 2,
                "{seed}: {delay:?}"
            );
        }
        let states = RandomState::new();
        let spread: std::collections::BTreeSet<_> = (0..20)
            .map(|i| jittered(base, states.hash_one((format!("/p{i}"), 0u32))))
            .collect();
        assert!(spread.len() > 1, "paths must not all retry together");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_gateway_is_bounded_by_the_timeout() {
        let (fake, on_demand) = setup(config());
        fake.delay_ms.store(60_000, Ordering::SeqCst);
        let started = Instant::now();
        assert_eq!(on_demand.fetch("/api/networks", false).await, None);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        // The call still runs (one in flight): another caller joins it instead of sending again.
        assert_eq!(on_demand.fetch("/api/networks", false).await, None);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
        // The background bound (20 s) ends it as a failure; then the negative window applies.
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(on_demand.fetch("/api/networks", false).await, None);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_refresh_serves_the_last_value_at_the_bound() {
        let (fake, on_demand) = setup(config());
        assert_eq!(call_number(&on_demand.fetch("/api/meters", false).await), 1);
        tokio::time::advance(Duration::from_secs(6)).await;
        fake.delay_ms.store(60_000, Ordering::SeqCst);
        let started = Instant::now();
        assert_eq!(call_number(&on_demand.fetch("/api/meters", false).await), 1);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn fail_fast_answers_at_once_and_probes_once_per_interval() {
        let (fake, on_demand) = setup(config());
        assert_eq!(
            call_number(&on_demand.fetch("/api/site_info", false).await),
            1
        );
        tokio::time::advance(Duration::from_secs(6)).await;
        // Degraded: the first call is the probe.
        assert_eq!(
            call_number(&on_demand.fetch("/api/site_info", true).await),
            2
        );
        tokio::time::advance(Duration::from_secs(6)).await;
        // No probe slot: answered from the cache (6 s old) without a call.
        assert_eq!(
            call_number(&on_demand.fetch("/api/site_info", true).await),
            2
        );
        assert_eq!(on_demand.fetch("/api/other", true).await, None);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(25)).await;
        assert_eq!(
            call_number(&on_demand.fetch("/api/site_info", true).await),
            3
        );
        assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_number_of_remembered_paths_is_bounded() {
        let (fake, on_demand) = setup(config());
        for i in 0..10 {
            on_demand.fetch(&format!("/p{i}"), false).await;
        }
        assert_eq!(on_demand.cache().len(), 4);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 10);
        // Full of calls under way: a new path is refused rather than growing the map.
        fake.delay_ms.store(60_000, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(6)).await;
        let slow = (10..14).map(|i| on_demand.fetch_owned(format!("/q{i}")));
        let _ = futures_util::future::join_all(slow).await;
        assert_eq!(on_demand.fetch("/r", false).await, None);
        assert_eq!(on_demand.cache().len(), 4);
    }

    impl OnDemand {
        async fn fetch_owned(&self, path: String) -> Option<RawBody> {
            self.fetch(&path, false).await
        }
    }
}
