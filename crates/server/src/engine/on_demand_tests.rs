//! Unit tests of `on_demand.rs`.

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
