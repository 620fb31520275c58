//! The gateway `/api/*` passthrough: the ALLOWLIST, the DISABLED path and the constant problems.

use axum::response::Response;
use bytes::Bytes;
use powerwall_gateway::{DataKind, RawBody};
use serde_json::Value;

use super::super::{AppState, framing};
use crate::json::to_python_bytes;

/// Gateway paths the proxy relays (§3.4, exact, in source order; matched on the path only).
pub const ALLOWLIST: [&str; 26] = [
    "/api/status",
    "/api/site_info/site_name",
    "/api/meters/site",
    "/api/meters/solar",
    "/api/sitemaster",
    "/api/powerwalls",
    "/api/customer/registration",
    "/api/system_status",
    "/api/system_status/grid_status",
    "/api/system/update/status",
    "/api/site_info",
    "/api/system_status/grid_faults",
    "/api/operation",
    "/api/site_info/grid_codes",
    "/api/solars",
    "/api/solars/brands",
    "/api/customer",
    "/api/meters",
    "/api/installer",
    "/api/networks",
    "/api/system/networks",
    "/api/meters/readings",
    "/api/synchrometer/ct_voltage_references",
    "/api/troubleshooting/problems",
    "/api/auth/toggle/supported",
    "/api/solar_powerwall",
];

/// Gateway paths that are refused whatever the query (§3.5).
pub const DISABLED: [&str; 1] = ["/api/customer/registration"];

/// Whether `/api/gateways/<id><path>` may be read: an ALLOWLIST path that is not DISABLED, or one
/// of the `/api/*` routes rendered from the poll (meter aggregates, SOE).
pub fn gateway_api_readable(path: &str) -> bool {
    (ALLOWLIST.contains(&path) && !DISABLED.contains(&path))
        || matches!(path, "/api/meters/aggregates" | "/api/system_status/soe")
}

/// The path the web app polls constantly; answered without the gateway (§6.5.3).
pub const PROBLEMS: &str = "/api/troubleshooting/problems";

/// `GET /api/troubleshooting/problems`: `{"problems": []}`.
pub fn problems(state: &AppState, path: &str) -> Response {
    state.stats().count_get(path);
    framing::json(Bytes::from_static(br#"{"problems": []}"#))
}

/// `GET /api/customer/registration`: refused, never forwarded.
pub fn disabled(state: &AppState, path: &str) -> Response {
    state.stats().count_get(path);
    framing::json(Bytes::from_static(
        br#"{"status": "404 Response - API Disabled"}"#,
    ))
}

/// An ALLOWLIST path: the poller's fresh copy when it reads that document anyway, else an
/// on-demand read; `null` when there is nothing to give.
pub async fn passthrough(state: &AppState, path: &str) -> Response {
    let body = match polled_copy(state, path) {
        Some(body) => Some(body),
        None => state
            .on_demand()
            .fetch(path, state.fail_fast_active())
            .await
            .as_ref()
            .and_then(render_raw),
    };
    match body {
        Some(body) => {
            state.stats().count_get(path);
            framing::json(body)
        }
        None => {
            state.stats().count_no_data();
            framing::null()
        }
    }
}

/// The snapshot's copy of `path` when the poll plan reads it and it is still fresh.
fn polled_copy(state: &AppState, path: &str) -> Option<Bytes> {
    let kind = DataKind::ALL
        .into_iter()
        .find(|kind| *kind != DataKind::Vitals && kind.local_path() == path)?;
    let snapshot = state.snapshot();
    let document = snapshot.documents.get(&kind)?;
    (state.now() <= document.expires_at).then(|| to_python_bytes(document.json.as_ref()))
}

/// A gateway answer as the proxy relays it: JSON re-serialised, text as a JSON string; an empty
/// or binary answer is no data.
pub fn render_raw(raw: &RawBody) -> Option<Bytes> {
    match raw {
        RawBody::Json(value) => Some(to_python_bytes(value)),
        RawBody::Text(text) if text.trim().is_empty() => None,
        RawBody::Text(text) => Some(to_python_bytes(&Value::String(text.clone()))),
        RawBody::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) if !text.trim().is_empty() => {
                Some(to_python_bytes(&Value::String(text.to_owned())))
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lists_match_the_contract() {
        assert_eq!(ALLOWLIST.len(), 26);
        assert!(DISABLED.iter().all(|path| ALLOWLIST.contains(path)));
        assert!(ALLOWLIST.contains(&PROBLEMS));
        assert!(!ALLOWLIST.contains(&"/api/meters/aggregates"));
        assert!(!ALLOWLIST.contains(&"/api/system_status/soe"));
    }

    #[test]
    fn raw_answers_render_like_the_proxy() {
        let json = RawBody::Json(serde_json::json!({"a": 1, "b": [1, 2]}));
        assert_eq!(render_raw(&json).unwrap(), r#"{"a": 1, "b": [1, 2]}"#);
        let text = RawBody::Text("TIMEOUT!".to_owned());
        assert_eq!(render_raw(&text).unwrap(), r#""TIMEOUT!""#);
        assert_eq!(render_raw(&RawBody::Text("  ".to_owned())), None);
        assert_eq!(
            render_raw(&RawBody::Bytes(Bytes::from_static(&[0xff, 0x00]))),
            None
        );
    }
}
