//! `GET /stats` and `GET /stats/clear` (§6.4.1, §6.4.2): the proxy's stats object, built from the
//! request counters, the settings and the latest snapshot; the request is counted afterwards.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use powerwall_gateway::{AccessMode, DataKind};
use serde_json::{Map, Value, json};

use super::super::{AppState, framing};
use super::health::PROXY_VERSION;
use super::{
    cloud_counter, connection_health_json, fallback_json, mode_text, round2, site_id_json,
    tedapi_mode,
};
use crate::clock::{epoch_whole_seconds, python_duration};
use crate::engine::Snapshot;
use crate::engine::health::EndpointStat;
use crate::json::to_python_bytes;

/// Rough bytes per rate-limit bucket or error tally (key text plus counters).
const LOG_ENTRY_BYTES: usize = 64;

/// `GET /stats`.
pub async fn stats(State(state): State<AppState>, uri: Uri) -> Response {
    let body = to_python_bytes(&Value::Object(stats_document(&state, &state.snapshot())));
    state.stats().count_get(uri.path());
    framing::json(body)
}

/// `GET /stats/clear`: `gets`, `errors` and `uri` start again; the body is the fresh object.
pub async fn clear(State(state): State<AppState>, uri: Uri) -> Response {
    state.stats().clear(epoch_whole_seconds(SystemTime::now()));
    let body = to_python_bytes(&Value::Object(stats_document(&state, &state.snapshot())));
    state.stats().count_get(uri.path());
    framing::json(body)
}

/// The stats object, keys in the proxy's order (§6.4.1).
pub(super) fn stats_document(state: &AppState, snapshot: &Snapshot) -> Map<String, Value> {
    let settings = state.settings();
    let counters = state.stats().view();
    let mode = state.gateway_mode();
    let now = SystemTime::now();
    let start = epoch_whole_seconds(state.inner.started_wall);
    let ts = epoch_whole_seconds(now);
    let mut doc = Map::new();
    doc.insert("pypowerwall".into(), json!(PROXY_VERSION));
    doc.insert("mode".into(), json!(mode_text(state)));
    doc.insert("gets".into(), json!(counters.gets));
    doc.insert("posts".into(), json!(counters.posts));
    doc.insert("errors".into(), json!(counters.errors));
    doc.insert("timeout".into(), json!(counters.timeouts));
    doc.insert("uri".into(), json!(counters.uri));
    doc.insert("ts".into(), json!(ts));
    doc.insert("start".into(), json!(start));
    doc.insert("clear".into(), json!(counters.cleared_at.unwrap_or(start)));
    doc.insert(
        "uptime".into(),
        json!(python_duration(ts.saturating_sub(start))),
    );
    doc.insert("mem".into(), json!(peak_rss_kib()));
    doc.insert("site_name".into(), site_name(snapshot));
    doc.insert("cloudmode".into(), json!(mode == AccessMode::Cloud));
    doc.insert("fleetapi".into(), json!(mode == AccessMode::Fleet));
    doc.insert("tedapi".into(), json!(tedapi_mode(mode) != "off"));
    doc.insert("pw3".into(), json!(is_pw3(snapshot)));
    doc.insert("tedapi_mode".into(), json!(tedapi_mode(mode)));
    doc.insert(
        "tedapi_api_version".into(),
        json!(settings.tedapi_api_version.label()),
    );
    doc.insert("siteid".into(), site_id_json(state));
    doc.insert("counter".into(), json!(cloud_counter(state)));
    doc.insert(
        "cf".into(),
        settings
            .config_report
            .get("PW_CACHE_FILE")
            .cloned()
            .unwrap_or_else(|| json!(".powerwall")),
    );
    doc.insert(
        "config".into(),
        Value::Object(settings.config_report.clone()),
    );
    doc.insert(
        "authmode".into(),
        json!(if settings.web.token_auth {
            "token"
        } else {
            "cookie"
        }),
    );
    if state.freshness().health_check {
        doc.insert(
            "connection_health".into(),
            connection_health_json(state, snapshot, true),
        );
    }
    doc.insert(
        "fallback_mode".into(),
        fallback_json(&snapshot.admin.fallback),
    );
    // The key set is the proxy's (§16.2); the hybrid link's `cloud_control` is in `/health`.
    doc.insert("mem_cache".into(), mem_cache(state, snapshot));
    doc
}

/// The site name of the snapshot's typed readings (`/api/site_info/site_name`).
fn site_name(snapshot: &Snapshot) -> Value {
    snapshot
        .readings
        .site_name
        .known()
        .and_then(|known| known.value.site_name.as_deref())
        .map_or(Value::Null, |name| json!(name))
}

/// A Powerwall 3 site: its inverter vitals (`TEPINV--<din>`) carry the PW3 power-conversion
/// (`PCH_*`) signals; Powerwall 2 inverters report `PINV_*` signals only.
fn is_pw3(snapshot: &Snapshot) -> bool {
    snapshot
        .documents
        .get(&DataKind::Vitals)
        .is_some_and(|document| vitals_say_pw3(&document.json))
}

fn vitals_say_pw3(vitals: &Value) -> bool {
    vitals.as_object().is_some_and(|devices| {
        devices.iter().any(|(device, block)| {
            device.starts_with("TEPINV--")
                && block
                    .as_object()
                    .is_some_and(|signals| signals.keys().any(|key| key.starts_with("PCH_")))
        })
    })
}

/// Peak resident set size in KiB (`VmHWM`), 0 when unreadable.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_vm_hwm(&status))
        .unwrap_or(0)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `mem_cache`: honest estimates of what the server holds for clients (bytes).
fn mem_cache(state: &AppState, snapshot: &Snapshot) -> Value {
    let (buckets, tallies) = snapshot.admin.network_log_entries;
    let error_bytes = buckets * LOG_ENTRY_BYTES;
    let summary_bytes = tallies * LOG_ENTRY_BYTES;
    let now = state.now();
    let degraded: Vec<_> = if state.freshness().graceful_degradation {
        snapshot.degradation_only(now).collect()
    } else {
        Vec::new()
    };
    let degradation_bytes: usize = degraded
        .iter()
        .map(|(_, document)| to_python_bytes(document.json.as_ref()).len())
        .sum();
    let rendered: Vec<usize> = snapshot
        .rendered
        .routes()
        .filter_map(|route| snapshot.rendered.get(route))
        .map(|body| body.bytes.len())
        .collect();
    let performance_bytes: usize = rendered.iter().sum();
    let endpoints = snapshot.admin.endpoints.len();
    let endpoint_bytes: usize = snapshot
        .admin
        .endpoints
        .iter()
        .map(|(key, _)| key.len() + std::mem::size_of::<EndpointStat>())
        .sum();
    let total =
        error_bytes + summary_bytes + degradation_bytes + performance_bytes + endpoint_bytes;
    json!({
        "error_counts": {"entries": buckets, "size_bytes": error_bytes},
        "network_error_summary": {"entries": tallies, "size_bytes": summary_bytes},
        "degradation_cache": {"entries": degraded.len(), "size_bytes": degradation_bytes},
        "performance_cache": {"entries": rendered.len(), "size_bytes": performance_bytes},
        "endpoint_stats": {"entries": endpoints, "size_bytes": endpoint_bytes},
        "total_cache_bytes": total,
        "total_cache_mb": round2(total as f64 / (1024.0 * 1024.0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powerwall_3_from_vitals() {
        let pw2 = json!({"TEPINV--1081100-10-U--T21J0007227": {"PINV_Fout": 60.0}, "TETHC--x": {}});
        let pw3 = json!({"TEPINV--1707000-11-J--TG12000000001Z": {"PINV_Fout": 60.0, "PCH_FanSpeed_A": 1200}});
        assert!(!vitals_say_pw3(&pw2));
        assert!(vitals_say_pw3(&pw3));
        assert!(!vitals_say_pw3(&Value::Null));
    }

    #[test]
    fn reads_peak_rss() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmHWM:\t   48652 kB\nVmRSS:\t 40000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(48652));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
        // On Linux the real file has it.
        if cfg!(target_os = "linux") {
            assert!(peak_rss_kib() > 0);
        }
    }
}
