//! Proxy administration: `/stats`, `/stats/clear`, `/health`, `/health/reset`, `/help`.
//!
//! Every answer comes from memory (request counters, settings and the latest snapshot): none of
//! these routes waits on the gateway.

mod fleet_usage;
mod health;
mod help;
mod stats;

use std::time::SystemTime;

use axum::Router;
use axum::routing::get;
use powerwall_gateway::AccessMode;
use serde_json::{Value, json};

use super::AppState;
use crate::clock::epoch_seconds;
use crate::cloud_link::{CloudLink, CloudRole};
use crate::engine::Snapshot;
use crate::engine::fallback::FallbackView;

/// The administration routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/health/reset", get(health::reset))
        .route("/stats", get(stats::stats))
        .route("/stats/clear", get(stats::clear))
        .route("/help", get(help::help))
}

/// One decimal, as the proxy rounds ages.
fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Two decimals.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The proxy's `tedapi_mode`.
fn tedapi_mode(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::TedapiFull => "full",
        AccessMode::TedapiHybrid => "hybrid",
        AccessMode::V1r => "v1r",
        AccessMode::Local | AccessMode::Cloud | AccessMode::Fleet => "off",
    }
}

/// The proxy's `mode` text: `Local`, `Local (full)`, `Local (hybrid+control)`, `Cloud`, `FleetAPI`.
fn proxy_mode_text(mode: AccessMode, control: bool) -> String {
    match mode {
        AccessMode::Cloud => return "Cloud".to_owned(),
        AccessMode::Fleet => return "FleetAPI".to_owned(),
        _ => {}
    }
    match tedapi_mode(mode) {
        "off" => "Local".to_owned(),
        sub_mode if control => format!("Local ({sub_mode}+control)"),
        sub_mode => format!("Local ({sub_mode})"),
    }
}

/// `mode` for this server.
fn mode_text(state: &AppState) -> String {
    proxy_mode_text(state.gateway_mode(), state.settings().control.enabled())
}

/// The cloud link of a cloud-mode gateway (not a hybrid control connection).
fn main_cloud_link(state: &AppState) -> Option<&std::sync::Arc<CloudLink>> {
    state
        .cloud_link()
        .filter(|link| link.role() == CloudRole::Main)
}

/// `siteid`: in cloud mode the energy site in use (the configured id until connected); `null` in
/// local modes.
fn site_id_json(state: &AppState) -> Value {
    match state.gateway_mode() {
        AccessMode::Cloud | AccessMode::Fleet => main_cloud_link(state)
            .and_then(|link| link.site_id())
            .map(Value::from)
            .unwrap_or_else(|| json!(state.settings().site_id)),
        _ => Value::Null,
    }
}

/// `counter`: the cloud's live-status request counter (0..63), 0 in local and Fleet API modes
/// (the Fleet API's live status takes no counter).
fn cloud_counter(state: &AppState) -> u64 {
    main_cloud_link(state)
        .and_then(|link| link.owner())
        .map_or(0, |client| client.live_status_counter())
}

/// `cloud_control` (server-api): the hybrid cloud control connection's health and last values,
/// `null` when the gateway has none.
fn cloud_control_json(state: &AppState) -> Value {
    state
        .cloud_link()
        .filter(|link| link.role() == CloudRole::HybridControl)
        .map_or(Value::Null, |link| link.status_json())
}

/// Seconds from `then` to now (wall clock), never negative.
fn wall_age(then: SystemTime) -> f64 {
    SystemTime::now()
        .duration_since(then)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `fallback_mode` (§6.4.1, §8.6).
fn fallback_json(view: &FallbackView) -> Value {
    json!({
        "is_fallback_mode": view.is_fallback_mode,
        "fallback_since": view.fallback_since.map(epoch_seconds),
        "fallback_duration_seconds": view.fallback_since.map(|since| round1(wall_age(since))),
        "recovery_attempts": view.recovery_attempts,
        "last_recovery_attempt": view.last_recovery_attempt.map(epoch_seconds),
        "recovery_enabled": view.recovery_enabled,
    })
}

/// `connection_health`; `/health` shows the age of the last success, `/stats` the cache size.
fn connection_health_json(state: &AppState, snapshot: &Snapshot, for_stats: bool) -> Value {
    let health = &snapshot.health;
    let last_success = health.last_success_wall.unwrap_or(state.inner.started_wall);
    let mut block = json!({
        "consecutive_failures": health.consecutive_failures,
        "total_failures": health.total_failures,
        "total_successes": health.total_successes,
        "is_degraded": health.is_degraded(),
        "last_success_time": epoch_seconds(last_success),
    });
    if let Value::Object(map) = &mut block {
        if for_stats {
            map.insert(
                "cache_size".into(),
                json!(degradation_cache_size(state, snapshot)),
            );
        } else {
            map.insert(
                "last_success_age_seconds".into(),
                json!(round1(wall_age(last_success))),
            );
        }
    }
    block
}

/// Documents served only because of graceful degradation (0 when it is off).
fn degradation_cache_size(state: &AppState, snapshot: &Snapshot) -> usize {
    if !state.freshness().graceful_degradation {
        return 0;
    }
    snapshot.degradation_only(state.now()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_texts() {
        assert_eq!(proxy_mode_text(AccessMode::Local, true), "Local");
        assert_eq!(
            proxy_mode_text(AccessMode::TedapiFull, false),
            "Local (full)"
        );
        assert_eq!(
            proxy_mode_text(AccessMode::TedapiHybrid, true),
            "Local (hybrid+control)"
        );
        assert_eq!(proxy_mode_text(AccessMode::Fleet, false), "FleetAPI");
    }

    #[test]
    fn fallback_block_shapes() {
        let quiet = fallback_json(&FallbackView::default());
        assert_eq!(quiet["is_fallback_mode"], false);
        assert!(quiet["fallback_since"].is_null() && quiet["fallback_duration_seconds"].is_null());
        assert_eq!(quiet["recovery_attempts"], 0);
        let since = SystemTime::now() - std::time::Duration::from_secs(100);
        let active = fallback_json(&FallbackView {
            is_fallback_mode: true,
            fallback_since: Some(since),
            recovery_attempts: 2,
            last_recovery_attempt: None,
            recovery_enabled: true,
        });
        assert_eq!(active["is_fallback_mode"], true);
        let duration = active["fallback_duration_seconds"].as_f64().unwrap_or(-1.0);
        assert!((100.0..101.0).contains(&duration), "{duration}");
        assert_eq!(active["recovery_attempts"], 2);
    }
}
