//! Per-endpoint answer cache over the clients' one single-flight cache ([`crate::single_flight`];
//! gateway-protocols §5.4): concurrent callers of one endpoint share one upstream call; answers
//! live for the endpoint's TTL. Failures are not cached (as the reference), but callers that
//! waited on a failed call share its error instead of sending their own, so a failing cloud costs
//! one request per round, not one per caller.
//!
//! The cache is generic over its key: the Owner API client keys it by [`Endpoint`], the Fleet API
//! client by request path.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::GatewayError;
use crate::single_flight::{Keyed, Policy};

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

/// The cache of one cloud client, keyed by `K`: one [`crate::single_flight::Flight`] per key.
#[derive(Debug)]
pub(crate) struct AnswerCache<K = Endpoint> {
    flights: Keyed<K, Value>,
}

impl<K> Default for AnswerCache<K> {
    fn default() -> Self {
        Self {
            flights: Keyed::default(),
        }
    }
}

impl<K: Hash + Eq + Clone> AnswerCache<K> {
    /// Drops one endpoint's answer (after a write, or a site change).
    pub(crate) fn invalidate(&self, endpoint: K) {
        self.flights.get(endpoint).invalidate();
    }

    /// Drops every answer.
    pub(crate) fn clear(&self) {
        self.flights.clear();
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
        let policy = Policy {
            backdate,
            ..Policy::new(ttl, wait, target)
        };
        self.flights
            .get(endpoint)
            .get_or_fetch(now, policy, fetch)
            .await
    }
}
