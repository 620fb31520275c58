//! Unit tests of `poller.rs`: the poll timing on tokio's paused clock against a fake gateway
//! that records every poll (period, tiers, refresh, back-off, Retry-After, readings' freshness).

use super::*;
use crate::engine::readings::Tracked;
use powerwall_gateway::{QueryTiers, UpstreamStats};
use powerwall_model::Freshness as Age;
use serde_json::json;
use std::sync::Mutex;

/// One poll as the fake gateway saw it.
#[derive(Debug, Clone, PartialEq)]
struct SeenPoll {
    /// Time since the poller started.
    at: Duration,
    kinds: Vec<DataKind>,
    refresh: bool,
}

/// A gateway that answers every document at once, records each poll, and fails on demand.
struct FakeGateway {
    mode: AccessMode,
    started: Instant,
    polls: Mutex<Vec<SeenPoll>>,
    failure: Mutex<Option<GatewayError>>,
}

impl FakeGateway {
    fn fail_with(&self, err: Option<GatewayError>) {
        *self.failure.lock().unwrap() = err;
    }

    fn polls(&self) -> Vec<SeenPoll> {
        self.polls.lock().unwrap().clone()
    }

    /// When each poll happened, in whole seconds since the start.
    fn poll_times(&self) -> Vec<u64> {
        self.polls().iter().map(|poll| poll.at.as_secs()).collect()
    }
}

#[async_trait::async_trait]
impl GatewayAccess for FakeGateway {
    fn mode(&self) -> AccessMode {
        self.mode
    }
    fn target(&self) -> &str {
        "fake"
    }
    async fn connect(&self) -> Result<(), GatewayError> {
        Ok(())
    }
    async fn fetch(&self, _kind: DataKind) -> Result<serde_json::Value, GatewayError> {
        Err(GatewayError::Config("the poller polls".to_owned()))
    }
    async fn fetch_raw(&self, _path: &str) -> Result<RawBody, GatewayError> {
        Err(GatewayError::Config("the poller polls".to_owned()))
    }
    fn upstream(&self) -> UpstreamStats {
        UpstreamStats::default()
    }
    async fn poll(&self, request: PollRequest<'_>) -> powerwall_gateway::PollAnswers {
        self.polls.lock().unwrap().push(SeenPoll {
            at: Instant::now() - self.started,
            kinds: request.kinds.to_vec(),
            refresh: request.refresh,
        });
        if let Some(err) = self.failure.lock().unwrap().clone() {
            // A link failure: nothing after the first request is asked.
            return vec![(request.kinds[0], Err(err))];
        }
        request
            .kinds
            .iter()
            .map(|&kind| (kind, Ok(document(kind))))
            .collect()
    }
}

/// The fake's answer for `kind`: power and battery level typed, the rest empty.
fn document(kind: DataKind) -> serde_json::Value {
    match kind {
        DataKind::Aggregates => json!({"site": {"instant_power": -1200.5}}),
        DataKind::Soe => json!({"percentage": 55.0}),
        _ => json!({}),
    }
}

/// Poll period of the timing tests.
const PERIOD: Duration = Duration::from_secs(5);
/// `PW_CACHE_TTL` of the timing tests: data is served up to TTL + period = 35 s.
const TTL: Duration = Duration::from_secs(30);

/// A running poller over a fake gateway, with its snapshots and command inbox.
struct Running {
    fake: Arc<FakeGateway>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    commands: mpsc::Sender<EngineCommand>,
    started: Instant,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Waits (on the paused clock) until `secs` after the start.
    async fn until(&self, secs: u64) {
        tokio::time::sleep_until(self.started + Duration::from_secs(secs)).await;
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a poller in `mode` with the plan of that mode, a 5 s period and degradation on.
fn start(mode: AccessMode, failure: Option<GatewayError>) -> Running {
    start_with_ttl(mode, failure, TTL)
}

/// [`start`] with another `PW_CACHE_TTL`.
fn start_with_ttl(mode: AccessMode, failure: Option<GatewayError>, ttl: Duration) -> Running {
    let started = Instant::now();
    let fake = Arc::new(FakeGateway {
        mode,
        started,
        polls: Mutex::new(Vec::new()),
        failure: Mutex::new(failure),
    });
    let freshness = Freshness {
        poll_interval: PERIOD,
        cache_ttl: ttl,
        graceful_degradation: true,
        health_check: true,
        fail_fast: false,
    };
    let diagnostics = Diagnostics {
        suppress_network_errors: true,
        network_error_rate_limit: 5,
        tedapi_recovery: false,
        tedapi_probe_interval: Duration::from_secs(30),
    };
    let presentation = Presentation {
        neg_solar: true,
        site_zero_threshold_w: 0,
    };
    let (publisher, snapshots) = watch::channel(Arc::new(Snapshot::empty()));
    let (commands, inbox) = mpsc::channel(4);
    let access: Arc<dyn GatewayAccess> = fake.clone();
    let plan = PollPlan::for_mode(mode, QueryTiers::with_fast(PERIOD));
    let poller = Poller::new(
        access,
        plan,
        freshness,
        presentation,
        diagnostics,
        publisher,
        inbox,
    );
    Running {
        fake,
        snapshots,
        commands,
        started,
        task: tokio::spawn(poller.run()),
    }
}

fn unreachable() -> GatewayError {
    GatewayError::Unreachable {
        target: "fake".into(),
        detail: "connection refused".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn polls_happen_every_poll_period() {
    let poller = start(AccessMode::TedapiFull, None);
    poller.until(21).await;
    assert_eq!(poller.fake.poll_times(), [0, 5, 10, 15, 20]);
    let plan = PollPlan::for_mode(AccessMode::TedapiFull, QueryTiers::with_fast(PERIOD));
    let every: Vec<DataKind> = plan.entries.iter().map(|entry| entry.kind).collect();
    for poll in poller.fake.polls() {
        assert_eq!(poll.kinds, every, "TEDAPI reads every document every poll");
        assert!(!poll.refresh);
    }
    let snapshot = poller.snapshot();
    assert_eq!(snapshot.health.state, LinkState::Connected);
    assert_eq!(
        snapshot.health.next_attempt_at,
        Some(poller.started + Duration::from_secs(25))
    );
}

#[tokio::test(start_paused = true)]
async fn local_slower_tiers_are_read_only_when_their_period_has_passed() {
    let poller = start(AccessMode::Local, None);
    poller.until(301).await;
    let polls = poller.fake.polls();
    assert_eq!(polls.len(), 61, "one poll every 5 s");
    let plan = PollPlan::for_mode(AccessMode::Local, QueryTiers::with_fast(PERIOD));
    for entry in &plan.entries {
        let asked: Vec<u64> = polls
            .iter()
            .filter(|poll| poll.kinds.contains(&entry.kind))
            .map(|poll| poll.at.as_secs())
            .collect();
        // Power, SOE and grid every poll; detail every 30 s, slow every 60 s, config every 300 s.
        let every = entry.every.unwrap_or(PERIOD).as_secs();
        let want: Vec<u64> = (0..=300).step_by(every as usize).collect();
        assert_eq!(asked, want, "{:?} every {every} s", entry.kind);
    }
    // Entries keep the plan's order within a poll.
    assert_eq!(
        polls[6].kinds,
        [
            DataKind::Aggregates,
            DataKind::Soe,
            DataKind::GridStatus,
            DataKind::SystemStatus,
            DataKind::Operation,
            DataKind::Vitals,
            DataKind::SolarPowerwall,
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_refresh_command_polls_at_once_then_the_period_restarts() {
    let poller = start(AccessMode::Local, None);
    poller.until(7).await;
    poller
        .commands
        .send(EngineCommand::Refresh(vec![DataKind::Operation]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    let refresh = poller.fake.polls().last().cloned().unwrap();
    assert_eq!(
        refresh,
        SeenPoll {
            at: Duration::from_secs(7),
            kinds: vec![DataKind::Operation],
            refresh: true,
        }
    );
    poller.until(13).await;
    // The regular poll due at 10 s waits a full period after the refresh.
    assert_eq!(poller.fake.poll_times(), [0, 5, 7, 12]);
    assert!(!poller.fake.polls()[3].refresh);
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_gateway_is_retried_with_exponential_back_off_capped_at_a_minute() {
    let poller = start(AccessMode::TedapiFull, Some(unreachable()));
    poller.until(16).await;
    let snapshot = poller.snapshot();
    assert_eq!(snapshot.health.state, LinkState::Unreachable);
    assert_eq!(
        snapshot.health.next_attempt_at,
        Some(poller.started + Duration::from_secs(35))
    );
    poller.until(200).await;
    // Pauses of 5, 10, 20, 40 s, then at most 60 s.
    assert_eq!(poller.fake.poll_times(), [0, 5, 15, 35, 75, 135, 195]);
    poller.fake.fail_with(None);
    poller.until(261).await;
    // The gateway answers at the next attempt; the period is back to 5 s.
    assert_eq!(
        poller.fake.poll_times(),
        [0, 5, 15, 35, 75, 135, 195, 255, 260]
    );
    assert_eq!(poller.snapshot().health.state, LinkState::Connected);
}

#[tokio::test(start_paused = true)]
async fn a_429_delays_the_next_poll_by_its_retry_after() {
    let poller = start(AccessMode::TedapiFull, None);
    poller.until(1).await;
    poller.fake.fail_with(Some(GatewayError::RateLimited {
        path: "/tedapi/v1".into(),
        status: 429,
        retry_after: Duration::from_secs(120),
    }));
    poller.until(6).await;
    poller.fake.fail_with(None);
    let snapshot = poller.snapshot();
    assert_eq!(snapshot.health.state, LinkState::CoolingDown);
    assert_eq!(
        snapshot.health.next_attempt_at,
        Some(poller.started + Duration::from_secs(125))
    );
    poller.until(131).await;
    assert_eq!(poller.fake.poll_times(), [0, 5, 125, 130]);
    // A retry_after shorter than the period never polls faster than the period.
    poller.fake.fail_with(Some(GatewayError::RateLimited {
        path: "/tedapi/v1".into(),
        status: 429,
        retry_after: Duration::from_secs(1),
    }));
    poller.until(141).await;
    assert_eq!(poller.fake.poll_times(), [0, 5, 125, 130, 135, 140]);
}

#[tokio::test(start_paused = true)]
async fn readings_go_fresh_then_stale_then_missing_while_the_link_stays_down() {
    // Data is served up to 22 + 5 = 27 s after its read: between two 5 s republications.
    let ttl = Duration::from_secs(22);
    let poller = start_with_ttl(AccessMode::TedapiFull, None, ttl);
    let aggregates = |poller: &Running| {
        let snapshot = poller.snapshot();
        let freshness = snapshot
            .readings
            .aggregates
            .at(Instant::now(), true)
            .freshness;
        (
            snapshot.documents.contains_key(&DataKind::Aggregates),
            freshness,
        )
    };
    poller.until(2).await;
    assert_eq!(aggregates(&poller), (true, Age::Fresh));
    poller.fake.fail_with(Some(unreachable()));
    // The read at 5 s fails: the data stays inside the period (fresh until 5 s after its read),
    // then is served stale by graceful degradation.
    poller.until(6).await;
    let snapshot = poller.snapshot();
    let known = snapshot.readings.aggregates.known().unwrap();
    assert_eq!(known.fetched_at, poller.started);
    assert_eq!(known.fresh_until, Some(poller.started + PERIOD));
    assert_eq!(known.expires_at, poller.started + ttl + PERIOD);
    assert_eq!(aggregates(&poller), (true, Age::Stale));
    assert_eq!(
        snapshot
            .readings
            .aggregates
            .at(Instant::now(), false)
            .freshness,
        Age::Missing,
        "without degradation stale data is not served"
    );
    poller.until(26).await;
    assert_eq!(aggregates(&poller), (true, Age::Stale));
    // Past TTL + period without a success the reading is missing at once; the document leaves
    // the snapshot at the next republication (30 s), though the next attempt (back-off after the
    // failures at 5, 10 and 20 s) is only at 40 s: the poller republishes every period.
    poller.until(28).await;
    assert_eq!(aggregates(&poller), (true, Age::Missing));
    poller.until(31).await;
    assert_eq!(poller.fake.poll_times(), [0, 5, 10, 20]);
    let snapshot = poller.snapshot();
    assert!(snapshot.documents.is_empty(), "{:?}", snapshot.documents);
    assert_eq!(snapshot.readings.aggregates, Tracked::Missing);
    assert_eq!(snapshot.readings.soe, Tracked::Missing);
    assert!(snapshot.rendered.get("/aggregates").is_none());
}

/// Documents a poll never got to (the link failed on its first request) stay due: after the
/// outage the slower local paths are read at the first poll that reaches the gateway, not a
/// whole tier period later.
#[tokio::test(start_paused = true)]
async fn documents_left_out_by_a_failed_poll_stay_due() {
    let poller = start(AccessMode::Local, Some(unreachable()));
    poller.until(1).await;
    poller.fake.fail_with(None);
    // Back-off after one failure: the next attempt is one period later.
    poller.until(6).await;
    let polls = poller.fake.polls();
    assert_eq!(poller.fake.poll_times(), [0, 5]);
    assert_eq!(polls[1].kinds, polls[0].kinds, "everything is still due");
    assert!(polls[1].kinds.contains(&DataKind::SystemStatus));
    assert!(
        poller
            .snapshot()
            .documents
            .contains_key(&DataKind::SystemStatus)
    );
}
