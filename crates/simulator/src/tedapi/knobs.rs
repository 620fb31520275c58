//! Run-time state of the TEDAPI persona: its `/test/config` knobs and the in-flight tracker
//! behind `GET /test/tedapi` (clients must keep one TEDAPI request in flight, §2.10).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::gzip::{GZIP_FIRMWARE, firmware_at_least};
use crate::local::gateway_error;
use crate::sim::Sim;

/// How `/tedapi/*` bodies are gzipped (knob `tedapi_gzip`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GzipKnob {
    /// Follow the firmware: gzip without a header from 25.42.2 on (the default).
    #[default]
    Auto,
    /// Never gzip.
    Off,
    /// Gzip without `Content-Encoding` (the 25.42.2 quirk).
    NoHeader,
    /// Gzip with `Content-Encoding: gzip`.
    Header,
}

impl GzipKnob {
    /// The effective mode for a firmware version (`Auto` resolved).
    pub fn resolve(self, firmware: &str) -> GzipKnob {
        match self {
            GzipKnob::Auto if firmware_at_least(firmware, GZIP_FIRMWARE) => GzipKnob::NoHeader,
            GzipKnob::Auto => GzipKnob::Off,
            other => other,
        }
    }
}

/// TEDAPI knobs, set through `POST /test/config` next to the auth knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TedapiKnobs {
    /// Gzip mode of `/tedapi/din` and the POST answers.
    pub tedapi_gzip: GzipKnob,
    /// "Signing keys rotated": the bundled signed queries are rejected too.
    pub tedapi_keys_rotated: bool,
    /// Powerwall 2 profile (§2.12, §10.4): the installer login is refused with 401, so the
    /// bearer variant cannot start.
    pub installer_login_rejected: bool,
    /// Powerwall 3 profile (§10.4): `/tedapi/*` requests carrying a bearer token are refused
    /// with the 403 "adequate access rights" answer (Basic auth still works).
    pub tedapi_bearer_rejected: bool,
    /// What `GET /` answers on the Powerwall 3 topologies, which have no portal (§2.2, §2.9):
    /// 404 (default) or 403, depending on the firmware being imitated.
    pub pw3_portal_status: u16,
}

impl Default for TedapiKnobs {
    fn default() -> Self {
        Self {
            tedapi_gzip: GzipKnob::default(),
            tedapi_keys_rotated: false,
            installer_login_rejected: false,
            tedapi_bearer_rejected: false,
            pw3_portal_status: 404,
        }
    }
}

/// Current and highest number of TEDAPI requests being handled at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TedapiConcurrency {
    /// Requests between arrival and a produced response body right now.
    pub tedapi_in_flight: u64,
    /// The high-water mark since start or the last `/test/counter/reset`.
    pub tedapi_max_in_flight: u64,
}

/// Knobs and in-flight counts; atomics so that tracking never takes a lock on the hot path.
#[derive(Debug, Default)]
pub struct TedapiState {
    knobs: Mutex<TedapiKnobs>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// Decrements the in-flight count when the request is done or abandoned (client gone).
struct InFlight<'a>(&'a TedapiState);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl TedapiState {
    /// The knobs in force.
    pub fn knobs(&self) -> TedapiKnobs {
        *self
            .knobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the knobs.
    pub fn set_knobs(&self, knobs: TedapiKnobs) {
        *self
            .knobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = knobs;
    }

    fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(self)
    }

    /// Current and highest in-flight counts.
    pub fn concurrency(&self) -> TedapiConcurrency {
        TedapiConcurrency {
            tedapi_in_flight: self.in_flight.load(Ordering::SeqCst),
            tedapi_max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
        }
    }

    /// Restarts the high-water mark from the requests still in flight (they end later and
    /// must not drive the count below zero, so the current count is kept).
    pub fn reset_max(&self) {
        let now = self.in_flight.load(Ordering::SeqCst);
        self.max_in_flight.store(now, Ordering::SeqCst);
    }
}

/// Whether a path belongs to the TEDAPI persona.
pub fn is_tedapi_path(path: &str) -> bool {
    path == "/tedapi" || path.starts_with("/tedapi/")
}

/// Outermost middleware: counts a `/tedapi/*` request from arrival (before faults and auth)
/// until its response, body included, has been produced.
pub async fn track_in_flight(
    State(sim): State<Arc<Sim>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_tedapi_path(request.uri().path()) {
        return next.run(request).await;
    }
    let _guard = sim.tedapi().enter();
    next.run(request).await
}

/// `GET /` on a Powerwall 3 topology: no web portal, so the knob's 403 or 404 instead of the
/// local persona's page (the client's PW3 probe, §2.9). Other requests pass through.
pub async fn pw3_portal(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let is_portal = request.method() == axum::http::Method::GET && request.uri().path() == "/";
    if !is_portal || !sim.config().topology.is_pw3() {
        return next.run(request).await;
    }
    if sim.tedapi().knobs().pw3_portal_status == 403 {
        return gateway_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "User does not have adequate access rights",
        );
    }
    gateway_error(
        StatusCode::NOT_FOUND,
        "Not Found",
        "The requested resource was not found",
    )
}

/// Takes the `tedapi_*` keys out of a `/test/config` body and validates them against the
/// knobs in force; the rest is left for the auth knobs (all-or-nothing is the caller's job).
pub fn take_knobs(
    map: &mut Map<String, Value>,
    current: TedapiKnobs,
) -> Result<TedapiKnobs, String> {
    let mut next = current;
    if let Some(value) = map.remove("tedapi_gzip") {
        next.tedapi_gzip = serde_json::from_value(value)
            .map_err(|_| "tedapi_gzip must be \"auto\", \"off\", \"no_header\" or \"header\"")?;
    }
    if let Some(value) = map.remove("tedapi_keys_rotated") {
        next.tedapi_keys_rotated = value
            .as_bool()
            .ok_or("tedapi_keys_rotated must be true or false")?;
    }
    if let Some(value) = map.remove("installer_login_rejected") {
        next.installer_login_rejected = value
            .as_bool()
            .ok_or("installer_login_rejected must be true or false")?;
    }
    if let Some(value) = map.remove("tedapi_bearer_rejected") {
        next.tedapi_bearer_rejected = value
            .as_bool()
            .ok_or("tedapi_bearer_rejected must be true or false")?;
    }
    if let Some(value) = map.remove("pw3_portal_status") {
        next.pw3_portal_status = value
            .as_u64()
            .filter(|status| matches!(status, 403 | 404))
            .and_then(|status| u16::try_from(status).ok())
            .ok_or("pw3_portal_status must be 403 or 404")?;
    }
    Ok(next)
}

/// The knobs as JSON fields, to merge into the `/test/config` answer.
pub fn knobs_json(knobs: TedapiKnobs) -> Map<String, Value> {
    match serde_json::to_value(knobs) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// `GET /test/tedapi`: in-flight counts and knobs.
pub async fn status(State(sim): State<Arc<Sim>>) -> Response {
    let state = sim.tedapi();
    let concurrency = state.concurrency();
    axum::Json(json!({
        "tedapi_in_flight": concurrency.tedapi_in_flight,
        "tedapi_max_in_flight": concurrency.tedapi_max_in_flight,
        "knobs": state.knobs(),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_water_mark_follows_guards() {
        let state = TedapiState::default();
        let first = state.enter();
        let second = state.enter();
        assert_eq!(state.concurrency().tedapi_max_in_flight, 2);
        drop(first);
        state.reset_max();
        assert_eq!(state.concurrency().tedapi_max_in_flight, 1);
        drop(second);
        assert_eq!(
            state.concurrency(),
            TedapiConcurrency {
                tedapi_in_flight: 0,
                tedapi_max_in_flight: 1
            }
        );
    }

    #[test]
    fn knobs_parse_and_resolve() {
        let mut map = Map::new();
        map.insert("tedapi_gzip".into(), json!("header"));
        map.insert("session_lifetime_secs".into(), json!(5));
        let knobs = take_knobs(&mut map, TedapiKnobs::default()).unwrap();
        assert_eq!(knobs.tedapi_gzip, GzipKnob::Header);
        assert_eq!(map.len(), 1, "auth keys are left in place");
        map.insert("tedapi_gzip".into(), json!("sometimes"));
        assert!(take_knobs(&mut map, knobs).is_err());
        assert_eq!(GzipKnob::Auto.resolve("25.42.2 x"), GzipKnob::NoHeader);
        assert_eq!(GzipKnob::Auto.resolve("23.28.2 x"), GzipKnob::Off);
        assert_eq!(GzipKnob::Header.resolve("23.28.2 x"), GzipKnob::Header);
    }
}
