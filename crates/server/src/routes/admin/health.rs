//! `GET /health`: answers from memory, instantly, whatever the gateway is doing.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use powerwall_gateway::{AccessMode, DataKind};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::super::{AppState, framing};
use crate::clock::{epoch_seconds, local_iso_micros, local_iso_seconds};
use crate::engine::Snapshot;
use crate::engine::snapshot::LinkState;
use crate::json::to_python_bytes;

/// The `<library> Proxy <build>` text the proxy's clients display.
pub const PROXY_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " Proxy rs",
    env!("CARGO_PKG_VERSION")
);

/// The degradation-cache keys of the proxy and the document each stands for.
const CACHED_ENDPOINTS: [(&str, DataKind); 2] = [
    ("/aggregates:json", DataKind::Aggregates),
    ("/soe:json", DataKind::Soe),
];

/// `GET /health`.
pub async fn health(State(state): State<AppState>, uri: Uri) -> Response {
    let body = to_python_bytes(&health_document(&state, &state.snapshot()));
    state.stats().count_get(uri.path());
    framing::json(body)
}

fn seconds_since(now: Instant, then: Option<Instant>) -> Value {
    then.map(|t| json!(round1(now.saturating_duration_since(t).as_secs_f64())))
        .unwrap_or(Value::Null)
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn health_document(state: &AppState, snapshot: &Snapshot) -> Value {
    let now = state.now();
    let freshness = state.freshness();
    let stats = state.stats().view();
    let health = &snapshot.health;
    let mut doc = Map::new();
    doc.insert("pypowerwall".into(), json!(PROXY_VERSION));
    let mode = state.inner.gateway_mode;
    doc.insert("mode".into(), json!(proxy_mode_text(mode)));
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
        let last_success = health.last_success_wall.unwrap_or(state.inner.started_wall);
        doc.insert(
            "connection_health".into(),
            json!({
                "consecutive_failures": health.consecutive_failures,
                "total_failures": health.total_failures,
                "total_successes": health.total_successes,
                "is_degraded": health.is_degraded(),
                "last_success_time": epoch_seconds(last_success),
                "last_success_age_seconds": round1(
                    SystemTime::now().duration_since(last_success).map(|d| d.as_secs_f64()).unwrap_or(0.0)
                ),
            }),
        );
    }
    doc.insert(
        "fallback_mode".into(),
        json!({
            "is_fallback_mode": false,
            "fallback_since": null,
            "fallback_duration_seconds": null,
            "recovery_attempts": 0,
            "last_recovery_attempt": null,
            "recovery_enabled": false,
        }),
    );
    if freshness.graceful_degradation {
        let mut endpoints = Map::new();
        for (key, kind) in CACHED_ENDPOINTS {
            if let Some(document) = snapshot.documents.get(&kind) {
                let age = now.saturating_duration_since(document.fetched_at);
                endpoints.insert(
                    key.into(),
                    json!({"age_seconds": round1(age.as_secs_f64()), "is_expired": age >= freshness.cache_ttl}),
                );
            }
        }
        doc.insert(
            "cached_data".into(),
            json!({"cache_size": endpoints.len(), "endpoints": endpoints}),
        );
    }
    doc.insert("gateway".into(), gateway_block(state, snapshot, now));
    Value::Object(doc)
}

/// The proxy's `mode` text: `Local`, `Local (full)`, `Local (hybrid)`.
fn proxy_mode_text(mode: AccessMode) -> String {
    match tedapi_mode(mode) {
        "off" => "Local".to_owned(),
        sub_mode => format!("Local ({sub_mode})"),
    }
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

/// `transports`: the Wi-Fi TEDAPI link when one is in use (empty in plain local mode).
fn transports(state: &AppState, snapshot: &Snapshot) -> Value {
    match tedapi_mode(state.inner.gateway_mode) {
        "full" | "hybrid" => {
            let ok = snapshot.health.state == LinkState::Connected;
            json!({"wifi_tedapi": {
                "active": true,
                "status": if ok { "ok" } else { "unavailable" },
                "host": state.inner.gateway_target,
            }})
        }
        _ => json!({}),
    }
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
        "host": state.inner.gateway_target,
        "mode": state.inner.gateway_mode.name(),
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
    })
}
