//! Connection health (§8.3 with the fixes of §15.30-31) and per-source poll statistics (§6.4.3
//! `endpoint_statistics`). Pure state: the poller feeds outcomes, snapshots carry copies.

use std::collections::BTreeMap;
use std::time::SystemTime;

use tokio::time::Instant;

use super::snapshot::LinkHealth;

/// Failures in a row that make the link degraded.
pub const DEGRADE_AFTER_FAILURES: u64 = 5;
/// Successes in a row that end a degraded period.
pub const RECOVER_AFTER_SUCCESSES: u64 = 3;
/// Most sources kept in the endpoint statistics (least recently active evicted).
const MAX_ENDPOINTS: usize = 100;

/// A change of the degraded flag, for the poller to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthTransition {
    /// The link just became degraded.
    Degraded,
    /// The link just left the degraded state.
    Recovered,
}

impl LinkHealth {
    /// Records one successful upstream read.
    pub fn success(&mut self, now: Instant, wall: SystemTime) -> Option<HealthTransition> {
        self.total_successes += 1;
        self.consecutive_failures = 0;
        self.consecutive_successes += 1;
        self.last_success_at = Some(now);
        self.last_success_wall = Some(wall);
        if self.degraded && self.consecutive_successes >= RECOVER_AFTER_SUCCESSES {
            self.degraded = false;
            return Some(HealthTransition::Recovered);
        }
        None
    }

    /// Records one failed upstream request (timeout, refused, 5xx, 429).
    pub fn failure(&mut self) -> Option<HealthTransition> {
        self.total_failures += 1;
        self.consecutive_failures += 1;
        self.consecutive_successes = 0;
        if !self.degraded && self.consecutive_failures >= DEGRADE_AFTER_FAILURES {
            self.degraded = true;
            return Some(HealthTransition::Degraded);
        }
        None
    }

    /// `/health/reset`: counters to zero, not degraded, last success = now.
    pub fn reset_counters(&mut self, wall: SystemTime) {
        self.consecutive_failures = 0;
        self.consecutive_successes = 0;
        self.total_failures = 0;
        self.total_successes = 0;
        self.degraded = false;
        self.last_success_wall = Some(wall);
    }
}

/// Poll outcomes of one data source (`/aggregates`, `/soe`, `/vitals`, `/strings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointStat {
    /// Reads attempted.
    pub total_calls: u64,
    /// Reads that returned data.
    pub successful_calls: u64,
    /// Reads that returned nothing.
    pub failed_calls: u64,
    /// When a read last returned data.
    pub last_success: Option<Instant>,
    /// When a read last failed.
    pub last_failure: Option<Instant>,
    /// When this source was last read (for eviction).
    pub last_active: Instant,
}

impl EndpointStat {
    /// Percentage of successful reads, two decimals.
    pub fn success_rate_percent(&self) -> f64 {
        if self.total_calls == 0 {
            return 0.0;
        }
        let rate = self.successful_calls as f64 * 100.0 / self.total_calls as f64;
        (rate * 100.0).round() / 100.0
    }
}

/// Statistics per source, keyed by the proxy's route name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointTable {
    entries: BTreeMap<&'static str, EndpointStat>,
}

impl EndpointTable {
    /// Records one read of `source`.
    pub fn record(&mut self, source: &'static str, ok: bool, now: Instant) {
        if !self.entries.contains_key(source) && self.entries.len() >= MAX_ENDPOINTS {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, stat)| stat.last_active)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                self.entries.remove(oldest);
            }
        }
        let stat = self.entries.entry(source).or_insert(EndpointStat {
            total_calls: 0,
            successful_calls: 0,
            failed_calls: 0,
            last_success: None,
            last_failure: None,
            last_active: now,
        });
        stat.total_calls += 1;
        stat.last_active = now;
        if ok {
            stat.successful_calls += 1;
            stat.last_success = Some(now);
        } else {
            stat.failed_calls += 1;
            stat.last_failure = Some(now);
        }
    }

    /// Empties the table, returning how many sources it held.
    pub fn clear(&mut self) -> usize {
        let removed = self.entries.len();
        self.entries.clear();
        removed
    }

    /// Sources in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &EndpointStat)> + '_ {
        self.entries.iter().map(|(key, stat)| (*key, stat))
    }

    /// Number of sources.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no source was read since start or the last reset.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn degraded_after_five_failures_and_back_after_three_successes() {
        let mut health = LinkHealth::starting();
        let now = Instant::now();
        for _ in 0..4 {
            assert_eq!(health.failure(), None);
        }
        assert_eq!(health.failure(), Some(HealthTransition::Degraded));
        assert!(health.is_degraded());
        assert_eq!(health.failure(), None, "entering is reported once");
        assert_eq!(health.success(now, SystemTime::now()), None);
        assert_eq!(health.success(now, SystemTime::now()), None);
        assert!(health.is_degraded());
        // A failure in between restarts the count of successes.
        health.failure();
        assert_eq!(health.success(now, SystemTime::now()), None);
        assert_eq!(health.success(now, SystemTime::now()), None);
        assert_eq!(
            health.success(now, SystemTime::now()),
            Some(HealthTransition::Recovered)
        );
        assert!(!health.is_degraded());
        assert_eq!(health.total_failures, 7);
        assert_eq!(health.total_successes, 5);
        assert_eq!(health.consecutive_failures, 0);
        health.reset_counters(SystemTime::now());
        assert_eq!(health.total_failures + health.total_successes, 0);
    }

    #[test]
    fn endpoint_table_counts_and_clears() {
        let mut table = EndpointTable::default();
        let now = Instant::now();
        table.record("/aggregates", true, now);
        table.record("/aggregates", true, now);
        table.record("/aggregates", false, now);
        table.record("/soe", true, now);
        let (_, aggregates) = table.iter().next().unwrap();
        assert_eq!(aggregates.total_calls, 3);
        assert_eq!(aggregates.failed_calls, 1);
        assert_eq!(aggregates.success_rate_percent(), 66.67);
        assert_eq!(table.clear(), 2);
        assert!(table.is_empty());
    }
}
