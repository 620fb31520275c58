//! What the Fleet API costs: a count of the calls this client sent and a monthly projection
//! priced with Tesla's published pay-per-use rates.
//!
//! Figures (developer.tesla.com, "Usage Based Pricing", and docs/fleet-api/billing-and-limits,
//! read 2026): **Data** requests (polling device information: every energy `GET`) cost $1 per
//! 500; **Commands** (an action on a device: every energy `POST`) cost $1 per 1,000; vehicle wakes
//! ($1 per 50) and streaming signals do not exist for energy sites. Every request answered with a
//! status below 500 is billable; each account gets a $10 monthly discount. Token requests go to
//! Tesla's SSO, not the Fleet API, and are counted apart (not billed).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Data requests per US dollar (Tesla's "Data: 500 requests/$1").
pub const DATA_REQUESTS_PER_USD: f64 = 500.0;
/// Command requests per US dollar (Tesla's "Commands: 1,000 requests/$1").
pub const COMMAND_REQUESTS_PER_USD: f64 = 1_000.0;
/// Tesla's monthly discount per account, US dollars.
pub const MONTHLY_DISCOUNT_USD: f64 = 10.0;
/// Days in the projected month (Tesla bills calendar months; 30 is the round middle).
pub const DAYS_PER_MONTH: f64 = 30.0;
/// Shortest observation the daily rate is computed over: right after start a few calls over a few
/// seconds would project absurd figures, so the first hour counts as a whole hour.
pub const MIN_OBSERVATION: Duration = Duration::from_secs(3600);

/// What one Fleet request is billed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A read (`GET`): Tesla's "Data" category.
    Data,
    /// A write (`POST`): Tesla's "Commands" category.
    Command,
    /// A token request to Tesla's SSO (not a Fleet API call, not billed).
    Auth,
}

/// Calls per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallCounts {
    /// Billable data requests.
    pub data: u64,
    /// Billable command requests.
    pub command: u64,
    /// Token requests (not billed).
    pub auth: u64,
}

/// The calls of one client and their projected monthly cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FleetUsage {
    /// Billable Fleet API calls so far (data + commands).
    pub calls_total: u64,
    /// Calls per kind.
    pub calls_by_kind: CallCounts,
    /// Billable calls per day at the observed pace.
    pub per_day_rate: f64,
    /// Billable calls in a month at that pace.
    pub projected_monthly_calls: f64,
    /// That month's price before Tesla's discount, US dollars.
    pub projected_monthly_cost_usd: f64,
    /// That month's price after Tesla's $10 discount (never below zero), US dollars.
    pub projected_monthly_cost_after_discount_usd: f64,
    /// How long the calls were observed.
    pub observed_secs: f64,
}

/// Lock-free counters behind [`CallCounts`].
#[derive(Debug, Default)]
pub(crate) struct CallCounters {
    data: AtomicU64,
    command: AtomicU64,
    auth: AtomicU64,
}

impl CallCounters {
    /// Counts one call of `kind`.
    pub(crate) fn count(&self, kind: CallKind) {
        let counter = match kind {
            CallKind::Data => &self.data,
            CallKind::Command => &self.command,
            CallKind::Auth => &self.auth,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> CallCounts {
        CallCounts {
            data: self.data.load(Ordering::Relaxed),
            command: self.command.load(Ordering::Relaxed),
            auth: self.auth.load(Ordering::Relaxed),
        }
    }
}

/// Projects `counts`, observed over `observed`, to a month at Tesla's prices.
pub fn project_usage(counts: CallCounts, observed: Duration) -> FleetUsage {
    let days = observed.max(MIN_OBSERVATION).as_secs_f64() / 86_400.0;
    let per_day = |calls: u64| calls as f64 / days;
    let monthly_data = per_day(counts.data) * DAYS_PER_MONTH;
    let monthly_commands = per_day(counts.command) * DAYS_PER_MONTH;
    let cost = monthly_data / DATA_REQUESTS_PER_USD + monthly_commands / COMMAND_REQUESTS_PER_USD;
    let total = counts.data + counts.command;
    FleetUsage {
        calls_total: total,
        calls_by_kind: counts,
        per_day_rate: per_day(total),
        projected_monthly_calls: monthly_data + monthly_commands,
        projected_monthly_cost_usd: cost,
        projected_monthly_cost_after_discount_usd: (cost - MONTHLY_DISCOUNT_USD).max(0.0),
        observed_secs: observed.as_secs_f64(),
    }
}
