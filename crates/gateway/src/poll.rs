//! One poll as one point in time (DESIGN.md "Data flow"): the request the engine makes, the
//! answers it gets back, the tiers that say how often each gateway query runs, and the activity
//! log behind `/health`'s plan (per query: period, last fetch, requests per minute).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::policy::Clock;
use crate::{DataKind, GatewayError};

/// The window over which `/health` reports requests per minute.
pub const ACTIVITY_WINDOW: Duration = Duration::from_secs(300);

/// What the engine asks of one poll.
#[derive(Debug, Clone, Copy)]
pub struct PollRequest<'a> {
    /// The documents due now, in the order the gateway should see their requests.
    pub kinds: &'a [DataKind],
    /// A refresh after a write: re-read the queries these documents need even when their tier
    /// says they are still current.
    pub refresh: bool,
}

/// The documents of one poll, in request order. After a failure of the link as a whole the
/// remaining documents are left out (nothing more was asked of the gateway).
pub type PollAnswers = Vec<(DataKind, Result<Value, GatewayError>)>;

/// How often each group of gateway queries runs (issue 18's tiers; README "Poll tiers").
///
/// The fast tier is the poll period itself (`PW_CACHE_EXPIRE`): power, SOE, grid status. A
/// document built from a slower tier keeps the last answer between refreshes, so its keys and
/// value types never change from one poll to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryTiers {
    /// Fast tier: the poll period.
    pub fast: Duration,
    /// Detail tier (`PW_POLL_DETAIL`): TEDAPI full controller query (remote meters, PVAC, PW2
    /// fans), PW3 per-unit components (strings, per-unit vitals, temperatures, fans); local-API
    /// battery blocks, vitals, strings and operation.
    pub detail: Duration,
    /// Slow tier (`PW_POLL_SLOW`): firmware, lifetime energy counters, `/api/status`.
    pub slow: Duration,
    /// Config tier (`PW_POLL_CONFIG`): TEDAPI `config.json` (site, reserve, mode), site name.
    pub config: Duration,
}

/// Default detail tier.
pub const DEFAULT_DETAIL_PERIOD: Duration = Duration::from_secs(30);
/// Default slow tier.
pub const DEFAULT_SLOW_PERIOD: Duration = Duration::from_secs(60);
/// Default config tier.
pub const DEFAULT_CONFIG_PERIOD: Duration = Duration::from_secs(300);

impl Default for QueryTiers {
    fn default() -> Self {
        Self::with_fast(Duration::from_secs(5))
    }
}

impl QueryTiers {
    /// The default slower tiers around a poll period of `fast`.
    pub fn with_fast(fast: Duration) -> Self {
        Self {
            fast,
            detail: DEFAULT_DETAIL_PERIOD,
            slow: DEFAULT_SLOW_PERIOD,
            config: DEFAULT_CONFIG_PERIOD,
        }
        .normalized()
    }

    /// Each tier at least as long as the one before it (a slower tier never runs faster).
    pub fn normalized(self) -> Self {
        let detail = self.detail.max(self.fast);
        let slow = self.slow.max(detail);
        Self {
            fast: self.fast,
            detail,
            slow,
            config: self.config.max(self.fast),
        }
    }

    /// The period of `tier`.
    pub fn period(&self, tier: Tier) -> Option<Duration> {
        match tier {
            Tier::Fast => Some(self.fast),
            Tier::Detail => Some(self.detail),
            Tier::Slow => Some(self.slow),
            Tier::Config => Some(self.config),
            Tier::Connect => None,
        }
    }
}

/// The tier a query belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Every poll.
    Fast,
    /// [`QueryTiers::detail`].
    Detail,
    /// [`QueryTiers::slow`].
    Slow,
    /// [`QueryTiers::config`].
    Config,
    /// Sent when connecting or logging in, not on a schedule.
    Connect,
}

/// What `/health` shows of one query of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryActivity {
    /// The query's name (`status`, `controller`, `components`, `/api/meters/aggregates`, …).
    pub query: String,
    /// Its tier, when the client knows it (the engine fills it in for local-API paths).
    pub tier: Option<Tier>,
    /// How often it runs (`None`: on connect or on demand only).
    pub period: Option<Duration>,
    /// When it was last sent.
    pub last_fetch: Option<Instant>,
    /// Requests sent within the last [`ACTIVITY_WINDOW`].
    pub requests_in_window: u64,
    /// Those requests per minute (over the window, or over the time since start when shorter).
    pub per_minute: f64,
}

/// Per-query request times over the last [`ACTIVITY_WINDOW`]; cheap (a poll sends a handful of
/// requests, so a window holds at most a few hundred instants).
#[derive(Debug)]
pub struct ActivityLog {
    clock: Arc<dyn Clock>,
    started: Instant,
    queries: Mutex<BTreeMap<String, QueryTimes>>,
}

#[derive(Debug, Default)]
struct QueryTimes {
    recent: VecDeque<Instant>,
    last: Option<Instant>,
}

impl ActivityLog {
    /// An empty log reading `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let started = clock.now();
        Self {
            clock,
            started,
            queries: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records one request of `query`, sent now.
    pub fn record(&self, query: &str) {
        let now = self.clock.now();
        let mut queries = self.lock();
        let times = queries.entry(query.to_owned()).or_default();
        times.recent.push_back(now);
        times.last = Some(now);
        prune(&mut times.recent, now);
    }

    /// Every query seen so far, with `tier_of` naming tiers and periods.
    pub fn report(
        &self,
        tier_of: impl Fn(&str) -> (Option<Tier>, Option<Duration>),
    ) -> Vec<QueryActivity> {
        let now = self.clock.now();
        let span = now
            .saturating_duration_since(self.started)
            .clamp(Duration::from_secs(60), ACTIVITY_WINDOW);
        let mut queries = self.lock();
        queries
            .iter_mut()
            .map(|(query, times)| {
                prune(&mut times.recent, now);
                let requests = times.recent.len() as u64;
                let (tier, period) = tier_of(query);
                QueryActivity {
                    query: query.clone(),
                    tier,
                    period,
                    last_fetch: times.last,
                    requests_in_window: requests,
                    per_minute: requests as f64 * 60.0 / span.as_secs_f64(),
                }
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, QueryTimes>> {
        // Each update leaves the map consistent, so a poisoned lock is still usable.
        self.queries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn prune(recent: &mut VecDeque<Instant>, now: Instant) {
    while recent
        .front()
        .is_some_and(|sent| now.saturating_duration_since(*sent) > ACTIVITY_WINDOW)
    {
        recent.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ManualClock;

    #[test]
    fn slower_tiers_never_run_faster_than_the_poll() {
        let tiers = QueryTiers {
            fast: Duration::from_secs(10),
            detail: Duration::from_secs(2),
            slow: Duration::from_secs(5),
            config: Duration::from_secs(1),
        }
        .normalized();
        assert_eq!(tiers.detail, Duration::from_secs(10));
        assert_eq!(tiers.slow, Duration::from_secs(10));
        assert_eq!(tiers.config, Duration::from_secs(10));
        assert_eq!(tiers.period(Tier::Connect), None);
    }

    #[test]
    fn activity_counts_the_last_five_minutes_per_query() {
        let clock = Arc::new(ManualClock::new());
        let log = ActivityLog::new(clock.clone());
        for _ in 0..12 {
            log.record("status");
            clock.advance(Duration::from_secs(5));
        }
        log.record("config");
        let report = log.report(|query| match query {
            "status" => (Some(Tier::Fast), Some(Duration::from_secs(5))),
            _ => (Some(Tier::Config), Some(Duration::from_secs(300))),
        });
        let status = report
            .iter()
            .find(|row| row.query == "status")
            .expect("status row");
        assert_eq!(status.requests_in_window, 12);
        // One minute since start: the rate is over that minute, not over five.
        assert!(
            (status.per_minute - 12.0).abs() < 1e-9,
            "{}",
            status.per_minute
        );
        clock.advance(Duration::from_secs(400));
        let report = log.report(|_| (None, None));
        let status = report
            .iter()
            .find(|row| row.query == "status")
            .expect("status row");
        assert_eq!(status.requests_in_window, 0);
        assert!(status.last_fetch.is_some());
    }
}
