//! The poll plan: which documents are read, and how often.

use std::time::Duration;

use powerwall_gateway::tedapi::client::POLLED_DOCUMENTS;
use powerwall_gateway::{AccessMode, DataKind, QueryActivity, QueryTiers, Tier};
use tokio::time::Instant;

/// One line of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanEntry {
    /// The document.
    pub kind: DataKind,
    /// Read it at most this often; `None` = every poll.
    pub every: Option<Duration>,
    /// The tier that period comes from (shown in `/health`).
    pub tier: Tier,
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
        let every_poll = |kind| PlanEntry {
            kind,
            every: None,
            tier: Tier::Fast,
        };
        let every = |kind, seconds| PlanEntry {
            kind,
            every: Some(Duration::from_secs(seconds)),
            tier: Tier::Slow,
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

    /// The plan for an access mode, covering every legacy route, with the slower documents on
    /// the tiers' periods (README "Poll tiers").
    ///
    /// - TEDAPI: every document every poll. The client tiers its queries itself and builds all
    ///   documents of a poll from one set of answers, so a document costs no request of its own
    ///   and every poll is one point in time.
    /// - Local API: each document is its own gateway path. Power, SOE and grid status every poll;
    ///   battery blocks (`/api/system_status`), vitals, strings (`/api/solar_powerwall`) and the
    ///   operation at the detail tier; `/api/status` at the slow tier; the site name at the config
    ///   tier.
    /// - Hybrid: the local API's plan, plus vitals and fans over TEDAPI at the detail tier.
    /// - Cloud and Fleet: the standard plan plus vitals every poll (their clients cache per
    ///   endpoint; no fans nor Powerwall list there).
    pub fn for_mode(mode: AccessMode, tiers: QueryTiers) -> Self {
        let every_poll = |kind| PlanEntry {
            kind,
            every: None,
            tier: Tier::Fast,
        };
        let every = |kind, tier| PlanEntry {
            kind,
            every: tiers.period(tier),
            tier,
        };
        let local = || {
            vec![
                every(DataKind::Status, Tier::Slow),
                every_poll(DataKind::Aggregates),
                every_poll(DataKind::Soe),
                every_poll(DataKind::GridStatus),
                every(DataKind::SystemStatus, Tier::Detail),
                every(DataKind::Operation, Tier::Detail),
                every(DataKind::SiteName, Tier::Config),
                every(DataKind::Vitals, Tier::Detail),
                every(DataKind::SolarPowerwall, Tier::Detail),
            ]
        };
        let entries = match mode {
            AccessMode::TedapiFull | AccessMode::V1r => {
                POLLED_DOCUMENTS.into_iter().map(every_poll).collect()
            }
            AccessMode::Local => local(),
            AccessMode::TedapiHybrid => {
                let mut entries = local();
                entries.push(every(DataKind::FanSpeeds, Tier::Detail));
                entries
            }
            AccessMode::Cloud | AccessMode::Fleet => {
                let mut plan = Self::standard();
                plan.entries.push(every_poll(DataKind::Vitals));
                return plan;
            }
        };
        Self { entries }
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

    /// The client's per-query activity with the tier and period of each local-API path this
    /// plan reads (TEDAPI clients name their own tiers; logins run on connect only).
    pub fn activity(&self, mut rows: Vec<QueryActivity>) -> Vec<QueryActivity> {
        for row in rows.iter_mut().filter(|row| row.tier.is_none()) {
            let entry = self
                .entries
                .iter()
                .find(|entry| entry.kind.local_path() == row.query);
            let (tier, period) = match entry {
                Some(entry) => (entry.tier, entry.every),
                None => (Tier::Connect, None),
            };
            row.tier = Some(tier);
            row.period = row.period.or(period);
        }
        rows
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
        let tiers = QueryTiers::default();
        let kinds = |mode| -> Vec<DataKind> {
            PollPlan::for_mode(mode, tiers)
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
        let hybrid = kinds(AccessMode::TedapiHybrid);
        assert!(hybrid.contains(&DataKind::FanSpeeds) && hybrid.contains(&DataKind::Vitals));
    }

    #[test]
    fn tedapi_reads_every_document_every_poll() {
        let plan = PollPlan::for_mode(AccessMode::TedapiFull, QueryTiers::default());
        let now = Instant::now();
        assert_eq!(
            plan.due(now, |_| Some(now)).count(),
            plan.entries.len(),
            "a TEDAPI poll builds every document from one set of answers"
        );
    }

    /// Local API at a 5 s poll: power, SOE and grid every poll (36/min) plus the slower paths
    /// stay within issue 18's 48 requests per minute.
    #[test]
    fn local_plan_stays_within_the_request_budget() {
        let plan = PollPlan::for_mode(AccessMode::Local, QueryTiers::default());
        let per_poll: Vec<_> = plan
            .entries
            .iter()
            .filter(|entry| entry.every.is_none())
            .map(|entry| entry.kind)
            .collect();
        assert_eq!(
            per_poll,
            vec![DataKind::Aggregates, DataKind::Soe, DataKind::GridStatus]
        );
        // 12 polls in a minute; every slower entry at most twice (30 s tier).
        let most = plan.max_requests(12, Duration::from_secs(59));
        assert!(most <= 48, "{most} requests per minute");
    }
}
