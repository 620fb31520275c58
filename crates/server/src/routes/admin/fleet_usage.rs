//! `/health` `fleet_api`: what the served gateway's Fleet API link has cost so far and will cost
//! in a month at this pace (Tesla bills every Fleet API request), from memory only.

use powerwall_gateway::fleet::FleetUsage;
use powerwall_gateway::fleet::usage::{
    COMMAND_REQUESTS_PER_USD, DATA_REQUESTS_PER_USD, MONTHLY_DISCOUNT_USD,
};
use serde_json::{Value, json};

use super::super::AppState;
use super::{round1, round2};
use crate::cloud_link::CloudRole;

/// The `fleet_api` object of the served gateway, `None` unless its cloud link runs over the Fleet
/// API (Fleet API mode, or a Fleet hybrid control link).
pub(super) fn fleet_api_json(state: &AppState) -> Option<Value> {
    let link = state.cloud_link()?;
    let client = link.fleet()?;
    let poll_interval = match link.role() {
        CloudRole::Main => Some(state.freshness().poll_interval.as_secs()),
        // A control link is not polled; it reads only for control requests.
        CloudRole::HybridControl => None,
    };
    Some(usage_json(
        &client.usage(),
        link.role(),
        link.site_id(),
        poll_interval,
        client.config().cache_ttl.as_secs(),
        client
            .config()
            .settings_ttl
            .max(client.config().cache_ttl)
            .as_secs(),
        client.cooldown_remaining().map(|left| left.as_secs_f64()),
    ))
}

/// The object itself (pure, for tests).
fn usage_json(
    usage: &FleetUsage,
    role: CloudRole,
    site_id: Option<u64>,
    poll_interval_seconds: Option<u64>,
    cache_ttl_seconds: u64,
    settings_ttl_seconds: u64,
    backoff_remaining_seconds: Option<f64>,
) -> Value {
    json!({
        "link": match role {
            CloudRole::Main => "main",
            CloudRole::HybridControl => "hybrid_control",
        },
        "site_id": site_id,
        "calls_total": usage.calls_total,
        "calls_by_kind": usage.calls_by_kind,
        "per_day_rate": round1(usage.per_day_rate),
        "projected_monthly_calls": round1(usage.projected_monthly_calls),
        "projected_monthly_cost_usd": round2(usage.projected_monthly_cost_usd),
        "projected_monthly_cost_after_discount_usd":
            round2(usage.projected_monthly_cost_after_discount_usd),
        "observed_seconds": round1(usage.observed_secs),
        "poll_interval_seconds": poll_interval_seconds,
        "cache_ttl_seconds": cache_ttl_seconds,
        "settings_ttl_seconds": settings_ttl_seconds,
        "backoff_active": backoff_remaining_seconds.is_some(),
        "backoff_remaining_seconds": backoff_remaining_seconds.map(round1),
        "pricing": {
            "data_requests_per_usd": DATA_REQUESTS_PER_USD,
            "command_requests_per_usd": COMMAND_REQUESTS_PER_USD,
            "monthly_discount_usd": MONTHLY_DISCOUNT_USD,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use powerwall_gateway::fleet::{CallCounts, project_usage};
    use std::time::Duration;

    #[test]
    fn the_object_carries_the_projection_and_the_window() {
        let counts = CallCounts {
            data: 2880,
            command: 10,
            auth: 1,
        };
        // One day at one read every 30 s: 2,880 reads, $172.80 a month before the discount.
        let usage = project_usage(counts, Duration::from_secs(86_400));
        let json = usage_json(
            &usage,
            CloudRole::Main,
            Some(7),
            Some(30),
            30,
            300,
            Some(12.34),
        );
        assert_eq!(json["link"], "main");
        assert_eq!(json["site_id"], 7);
        assert_eq!(json["calls_total"], 2890);
        assert_eq!(json["calls_by_kind"]["auth"], 1);
        assert_eq!(json["per_day_rate"], 2890.0);
        assert_eq!(json["projected_monthly_calls"], 86_700.0);
        assert_eq!(json["projected_monthly_cost_usd"], 173.1);
        assert_eq!(json["projected_monthly_cost_after_discount_usd"], 163.1);
        assert_eq!(json["poll_interval_seconds"], 30);
        assert_eq!(json["settings_ttl_seconds"], 300);
        assert_eq!(json["backoff_active"], true);
        assert_eq!(json["backoff_remaining_seconds"], 12.3);
        let quiet = usage_json(&usage, CloudRole::HybridControl, None, None, 30, 300, None);
        assert_eq!(quiet["link"], "hybrid_control");
        assert_eq!(quiet["backoff_active"], false);
        assert_eq!(quiet["backoff_remaining_seconds"], Value::Null);
        assert_eq!(quiet["poll_interval_seconds"], Value::Null);
    }
}
