//! `GET /health` and `GET /health/reset`: answered from memory, instantly, whatever the gateway is doing.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use powerwall_gateway::{DataKind, Tier};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::super::{AppState, framing};
use super::fleet_usage::fleet_api_json;
use super::{
    cloud_control_json, connection_health_json, fallback_json, mode_text, round1, tedapi_mode,
};
use crate::clock::{local_iso_micros, local_iso_seconds};
use crate::engine::Snapshot;
use crate::engine::snapshot::LinkState;
use crate::json::to_python_bytes;

/// The `<library> Proxy <build>` text the proxy's clients display.
pub const PROXY_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " Proxy rs",
    env!("CARGO_PKG_VERSION")
);

/// The proxy's degradation-cache key for a document (its own path for the others we keep).
fn cache_key(kind: DataKind) -> &'static str {
    match kind {
        DataKind::Aggregates => "/aggregates:json",
        DataKind::Soe => "/soe:json",
        DataKind::Vitals => "/vitals:json",
        DataKind::SolarPowerwall => "/strings:json",
        other => other.local_path(),
    }
}

/// `GET /health`.
pub async fn health(State(state): State<AppState>, uri: Uri) -> Response {
    let body = to_python_bytes(&health_document(&state, &state.snapshot()));
    state.stats().count_get(uri.path());
    framing::json(body)
}

/// `GET /health/reset`: the poller resets and reports what it cleared.
pub async fn reset(State(state): State<AppState>, uri: Uri) -> Response {
    let body = match state.engine().reset_health().await {
        Some(report) => json!({
            "status": "reset_complete",
            "health_counters_reset": report.health_counters_reset,
            "cache_cleared": report.cache_cleared,
            "cache_entries_removed": report.cache_entries_removed,
            "endpoint_stats_cleared": report.endpoint_stats_cleared,
        }),
        None => json!({
            "status": "reset_failed",
            "error": "the poller did not answer in time; try again",
        }),
    };
    let body = to_python_bytes(&body);
    state.stats().count_get(uri.path());
    framing::json(body)
}

fn seconds_since(now: Instant, then: Option<Instant>) -> Value {
    then.map(|t| json!(round1(now.saturating_duration_since(t).as_secs_f64())))
        .unwrap_or(Value::Null)
}

fn health_document(state: &AppState, snapshot: &Snapshot) -> Value {
    let now = state.now();
    let freshness = state.freshness();
    let stats = state.stats().view();
    let mut doc = Map::new();
    doc.insert("pypowerwall".into(), json!(PROXY_VERSION));
    let mode = state.gateway_mode();
    doc.insert("mode".into(), json!(mode_text(state)));
    doc.insert("tedapi_mode".into(), json!(tedapi_mode(mode)));
    doc.insert(
        "pypowerwall_cache_expire".into(),
        json!(freshness.poll_interval.as_secs()),
    );
    doc.insert(
        "degradation_cache_ttl_seconds".into(),
        json!(freshness.cache_ttl.as_secs()),
    );
    doc.insert(
        "graceful_degradation".into(),
        json!(freshness.graceful_degradation),
    );
    doc.insert("fail_fast_mode".into(), json!(freshness.fail_fast));
    doc.insert("health_check_enabled".into(), json!(freshness.health_check));
    doc.insert(
        "startup_time".into(),
        json!(local_iso_seconds(state.inner.started_wall)),
    );
    doc.insert(
        "current_time".into(),
        json!(local_iso_micros(SystemTime::now())),
    );
    doc.insert("transports".into(), transports(state, snapshot));
    doc.insert(
        "proxy_stats".into(),
        json!({
            "total_gets": stats.gets,
            "total_posts": stats.posts,
            "total_errors": stats.errors,
            "total_timeouts": stats.timeouts,
        }),
    );
    if freshness.health_check {
        doc.insert(
            "connection_health".into(),
            connection_health_json(state, snapshot, false),
        );
    }
    doc.insert(
        "fallback_mode".into(),
        fallback_json(&snapshot.admin.fallback),
    );
    if freshness.graceful_degradation {
        let endpoints: Map<String, Value> = snapshot
            .degradation_only(now)
            .map(|(kind, document)| {
                let age = now.saturating_duration_since(document.fetched_at);
                (
                    cache_key(kind).to_owned(),
                    json!({
                        "age_seconds": round1(age.as_secs_f64()),
                        "is_expired": age >= freshness.cache_ttl,
                    }),
                )
            })
            .collect();
        doc.insert(
            "cached_data".into(),
            json!({"cache_size": endpoints.len(), "endpoints": endpoints}),
        );
    }
    if !snapshot.admin.endpoints.is_empty() {
        doc.insert(
            "endpoint_statistics".into(),
            endpoint_statistics(snapshot, now),
        );
    }
    doc.insert("cloud_control".into(), cloud_control_json(state));
    if let Some(fleet_api) = fleet_api_json(state) {
        doc.insert("fleet_api".into(), fleet_api);
    }
    doc.insert("capabilities".into(), state.capabilities().to_json());
    doc.insert("gateway".into(), gateway_block(state, snapshot, now));
    Value::Object(doc)
}

/// `endpoint_statistics`: poll outcomes of `/aggregates`, `/soe`, `/vitals`, `/strings`.
fn endpoint_statistics(snapshot: &Snapshot, now: Instant) -> Value {
    let entries: Map<String, Value> = snapshot
        .admin
        .endpoints
        .iter()
        .map(|(source, stat)| {
            let mut entry = Map::new();
            entry.insert("total_calls".into(), json!(stat.total_calls));
            entry.insert("successful_calls".into(), json!(stat.successful_calls));
            entry.insert("failed_calls".into(), json!(stat.failed_calls));
            entry.insert(
                "success_rate_percent".into(),
                json!(stat.success_rate_percent()),
            );
            if stat.last_success.is_some() {
                entry.insert(
                    "last_success_age_seconds".into(),
                    seconds_since(now, stat.last_success),
                );
            }
            if stat.last_failure.is_some() {
                entry.insert(
                    "last_failure_age_seconds".into(),
                    seconds_since(now, stat.last_failure),
                );
            }
            (source.to_owned(), Value::Object(entry))
        })
        .collect();
    Value::Object(entries)
}

/// `transports`: the Wi-Fi TEDAPI link when one is in use (empty in plain local mode).
fn transports(state: &AppState, snapshot: &Snapshot) -> Value {
    let mut transports = Map::new();
    if let "full" | "hybrid" = tedapi_mode(state.gateway_mode()) {
        let ok = snapshot.health.state == LinkState::Connected;
        transports.insert(
            "wifi_tedapi".into(),
            json!({
                "active": true,
                "status": if ok { "ok" } else { "unavailable" },
                "host": state.gateway_target(),
            }),
        );
    }
    if state.settings().control.enabled() {
        if let Some(link) = state.cloud_link() {
            // §15 item 16: a link that is not connected says so instead of claiming "ok".
            let block = if link.connected() {
                json!({"active": true, "status": "ok", "mode": link.backend_name()})
            } else {
                json!({"active": false, "status": "failed"})
            };
            transports.insert("cloud_control".into(), block);
        }
    }
    Value::Object(transports)
}

/// Our addition: what the link to the gateway is doing, in words an owner can act on.
fn gateway_block(state: &AppState, snapshot: &Snapshot, now: Instant) -> Value {
    let health = &snapshot.health;
    let data_age: Map<String, Value> = snapshot
        .documents
        .iter()
        .map(|(kind, document)| {
            let age = now
                .saturating_duration_since(document.fetched_at)
                .as_secs_f64();
            (kind.local_path().to_owned(), json!(round1(age)))
        })
        .collect();
    json!({
        "host": state.gateway_target(),
        "mode": state.gateway_mode().name(),
        "state": health.state,
        "last_error": health.last_error,
        "last_error_age_seconds": seconds_since(now, health.last_error_at),
        "last_success_age_seconds": seconds_since(now, health.last_success_at),
        "next_attempt_in_seconds": health
            .next_attempt_at
            .map(|at| json!(round1(at.saturating_duration_since(now).as_secs_f64())))
            .unwrap_or(Value::Null),
        "upstream_requests": health.upstream.requests,
        "upstream_logins": health.upstream.logins,
        "upstream_errors": health.upstream.errors,
        "data_age_seconds": data_age,
        "plan": plan_block(snapshot, state.freshness().poll_interval, now),
    })
}

/// The poll plan as the gateway sees it (issue 18): per query its tier, period, last fetch and
/// requests per minute over the last 5 minutes, plus the total rate.
fn plan_block(snapshot: &Snapshot, poll_interval: std::time::Duration, now: Instant) -> Value {
    let rows = &snapshot.admin.plan;
    let queries: Vec<Value> = rows
        .iter()
        .map(|row| {
            let period = match (row.period, row.tier) {
                (Some(period), _) => Some(period),
                (None, Some(Tier::Fast)) => Some(poll_interval),
                (None, _) => None,
            };
            json!({
                "query": row.query,
                "tier": row.tier,
                "period_seconds": period.map(|period| period.as_secs_f64()),
                "last_fetch_age_seconds": seconds_since(now, row.last_fetch),
                "requests_last_5_minutes": row.requests_in_window,
                "requests_per_minute": round1(row.per_minute),
            })
        })
        .collect();
    let total: f64 = rows.iter().map(|row| row.per_minute).sum();
    json!({
        "requests_per_minute": round1(total),
        "queries": queries,
    })
}
