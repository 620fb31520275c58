//! The poll plan: which documents are read, and how often.

use std::time::Duration;

use powerwall_gateway::{AccessMode, DataKind};
use tokio::time::Instant;

/// One line of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanEntry {
    /// The document.
    pub kind: DataKind,
    /// Read it at most this often; `None` = every poll.
    pub every: Option<Duration>,
}

/// The documents one gateway's poller reads, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct PollPlan {
    /// Entries in request order (the gateway sees them one at a time).
    pub entries: Vec<PlanEntry>,
}

impl PollPlan {
    /// The core of every plan: power and battery every poll, identity rarely.
    pub fn standard() -> Self {
        let every_poll = |kind| PlanEntry { kind, every: None };
        let every = |kind, seconds| PlanEntry {
            kind,
            every: Some(Duration::from_secs(seconds)),
        };
        Self {
            entries: vec![
                every(DataKind::Status, 60),
                every_poll(DataKind::Aggregates),
                every_poll(DataKind::Soe),
                every_poll(DataKind::GridStatus),
                every_poll(DataKind::SystemStatus),
                every(DataKind::Operation, 30),
                every(DataKind::SiteName, 600),
            ],
        }
    }

    /// The plan for an access mode, covering every legacy route: vitals every poll (TEDAPI builds
    /// them from the queries aggregates already use; the local API serves them until firmware 23.44;
    /// the cloud derives them from the `site_info` and `live_status` answers it caches anyway),
    /// fan speeds in TEDAPI modes, and `/api/solar_powerwall` (strings and alerts without vitals) in
    /// local-API modes. The cloud has no fan speeds nor Powerwall list; its poll period is at least
    /// 5 s (the settings floor it) and its own cache answers repeats within a TTL.
    pub fn for_mode(mode: AccessMode) -> Self {
        let mut plan = Self::standard();
        plan.entries.push(PlanEntry {
            kind: DataKind::Vitals,
            every: None,
        });
        if matches!(mode, AccessMode::TedapiFull | AccessMode::TedapiHybrid) {
            plan.entries.push(PlanEntry {
                kind: DataKind::FanSpeeds,
                every: None,
            });
        }
        if matches!(mode, AccessMode::Local | AccessMode::TedapiHybrid) {
            plan.entries.push(PlanEntry {
                kind: DataKind::SolarPowerwall,
                every: Some(Duration::from_secs(15)),
            });
        }
        plan
    }

    /// The entries due now, given when each kind was last attempted.
    pub fn due<'a>(
        &'a self,
        now: Instant,
        last_attempt: impl Fn(DataKind) -> Option<Instant> + 'a,
    ) -> impl Iterator<Item = DataKind> + 'a {
        self.entries.iter().filter_map(move |entry| {
            let due = match (entry.every, last_attempt(entry.kind)) {
                (Some(every), Some(last)) => now.saturating_duration_since(last) >= every,
                _ => true,
            };
            due.then_some(entry.kind)
        })
    }

    /// How long a document of `kind` waits between reads (zero for every-poll entries).
    pub fn period(&self, kind: DataKind) -> Duration {
        self.entries
            .iter()
            .find(|entry| entry.kind == kind)
            .and_then(|entry| entry.every)
            .unwrap_or(Duration::ZERO)
    }

    /// How many upstream reads `polls` polls cost at most (for tests and the bench).
    pub fn max_requests(&self, polls: u64, elapsed: Duration) -> u64 {
        self.entries
            .iter()
            .map(|entry| match entry.every {
                None => polls,
                Some(every) => (elapsed.as_secs() / every.as_secs().max(1) + 1).min(polls),
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_entries_wait_for_their_period() {
        let plan = PollPlan::standard();
        let now = Instant::now();
        let all: Vec<_> = plan.due(now, |_| None).collect();
        assert_eq!(all.len(), 7);
        let recent: Vec<_> = plan.due(now, |_| Some(now)).collect();
        assert_eq!(
            recent,
            vec![
                DataKind::Aggregates,
                DataKind::Soe,
                DataKind::GridStatus,
                DataKind::SystemStatus
            ]
        );
    }

    #[test]
    fn request_bound_counts_slow_entries_once_per_period() {
        let plan = PollPlan::standard();
        assert_eq!(plan.max_requests(1, Duration::ZERO), 7);
        assert_eq!(
            plan.max_requests(3, Duration::from_secs(10)),
            3 * 4 + 1 + 1 + 1
        );
    }

    #[test]
    fn modes_add_what_their_routes_need() {
        let kinds = |mode| -> Vec<DataKind> {
            PollPlan::for_mode(mode)
                .entries
                .iter()
                .map(|entry| entry.kind)
                .collect()
        };
        let tedapi = kinds(AccessMode::TedapiFull);
        assert!(
            tedapi.contains(&DataKind::FanSpeeds) && !tedapi.contains(&DataKind::SolarPowerwall)
        );
        let cloud = kinds(AccessMode::Cloud);
        assert!(cloud.contains(&DataKind::Vitals) && cloud.contains(&DataKind::Operation));
        assert!(
            !cloud.contains(&DataKind::FanSpeeds)
                && !cloud.contains(&DataKind::Powerwalls)
                && !cloud.contains(&DataKind::SolarPowerwall)
        );
        let local = kinds(AccessMode::Local);
        assert!(local.contains(&DataKind::SolarPowerwall) && !local.contains(&DataKind::FanSpeeds));
        assert!(local.contains(&DataKind::Vitals));
    }
}
