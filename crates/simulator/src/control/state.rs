//! The JSON control surface: state, clock, firmware, sessions, knobs, counters and faults.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use powerwall_model::GridState;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::faults::FaultSpec;
use super::{bad_request, parse_body};
use crate::local::auth::AuthKnobs;
use crate::model::clock::{ns_to_secs, rfc3339_nanos};
use crate::model::reading::SiteReading;
use crate::model::site::RealMode;
use crate::sim::Sim;
use crate::tedapi::knobs;

/// `GET /test/state`.
pub async fn get_state(State(sim): State<Arc<Sim>>) -> axum::Json<SiteReading> {
    axum::Json(sim.reading())
}

/// A validated `POST /test/state` body; `Some(None)` releases a pin.
#[derive(Debug, Default, PartialEq)]
struct StatePatch {
    solar_w: Option<Option<f64>>,
    home_w: Option<Option<f64>>,
    battery_w: Option<Option<f64>>,
    soe_raw_pct: Option<Option<f64>>,
    grid: Option<GridState>,
    reserve_raw_pct: Option<f64>,
    real_mode: Option<RealMode>,
}

fn pin_value(key: &str, value: &Value, range: (f64, f64)) -> Result<Option<f64>, String> {
    match value {
        Value::Null => Ok(None),
        other => other
            .as_f64()
            .filter(|v| v.is_finite() && (range.0..=range.1).contains(v))
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "{key} must be null or a number from {} to {}",
                    range.0, range.1
                )
            }),
    }
}

fn parse_patch(map: &Map<String, Value>) -> Result<StatePatch, String> {
    const POWER: (f64, f64) = (-1.0e6, 1.0e6);
    let mut patch = StatePatch::default();
    for (key, value) in map {
        match key.as_str() {
            "solar_w" => patch.solar_w = Some(pin_value(key, value, POWER)?),
            "home_w" => patch.home_w = Some(pin_value(key, value, POWER)?),
            "battery_w" => patch.battery_w = Some(pin_value(key, value, POWER)?),
            "soe_raw_pct" => patch.soe_raw_pct = Some(pin_value(key, value, (0.0, 100.0))?),
            "reserve_raw_pct" => {
                patch.reserve_raw_pct = Some(
                    pin_value(key, value, (0.0, 100.0))?
                        .ok_or("reserve_raw_pct must be a number from 0 to 100")?,
                );
            }
            "grid_status" => {
                let grid = value.as_str().map(GridState::from_gateway_text);
                match grid {
                    Some(GridState::Other(_)) | None => {
                        return Err("grid_status must be one of SystemGridConnected, SystemIslandedActive, \
                                    SystemTransitionToGrid, SystemTransitionToIsland, SystemIslandedReady, \
                                    SystemMicroGridFaulted, SystemWaitForUser"
                            .to_owned());
                    }
                    Some(state) => patch.grid = Some(state),
                }
            }
            "real_mode" => {
                patch.real_mode = Some(
                    value
                        .as_str()
                        .and_then(RealMode::parse)
                        .ok_or("real_mode must be self_consumption, backup or autonomous")?,
                );
            }
            "site_w" => {
                return Err(
                    "site_w is derived (home_w − battery_w − solar_w); pin those instead"
                        .to_owned(),
                );
            }
            other => return Err(format!("unknown key {other:?}")),
        }
    }
    Ok(patch)
}

/// `POST /test/state`: pins or releases values, sets grid state, reserve and mode.
pub async fn post_state(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let map: Map<String, Value> = match parse_body(&body) {
        Ok(map) => map,
        Err(message) => return bad_request(message),
    };
    let patch = match parse_patch(&map) {
        Ok(patch) => patch,
        Err(message) => return bad_request(message),
    };
    let mut world = sim.world();
    let now = world.now_ns();
    let site = &mut world.site;
    let pins = site.pins;
    if patch.solar_w.is_some() || patch.home_w.is_some() || patch.battery_w.is_some() {
        site.pin_powers(
            patch.solar_w.unwrap_or(pins.solar_w),
            patch.home_w.unwrap_or(pins.home_w),
            patch.battery_w.unwrap_or(pins.battery_w),
            now,
        );
    }
    if let Some(soe) = patch.soe_raw_pct {
        site.pin_soe(soe, now);
    }
    if let Some(grid) = patch.grid.clone() {
        site.set_grid(grid, now);
    }
    if patch.reserve_raw_pct.is_some() || patch.real_mode.is_some() {
        let mut operation = site.operation.clone();
        operation.backup_reserve_percent = patch
            .reserve_raw_pct
            .unwrap_or(operation.backup_reserve_percent);
        operation.real_mode = patch.real_mode.unwrap_or(operation.real_mode);
        site.set_operation(operation, now);
    }
    if patch != StatePatch::default() {
        site.active_scenario = None;
    }
    axum::Json(SiteReading::from(&world.snapshot())).into_response()
}

/// `/test/clock` body or query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    freeze: Option<bool>,
    advance_secs: Option<f64>,
    set_epoch: Option<f64>,
}

/// `GET|POST /test/clock`: optional freeze, set and advance (JSON body or query string).
pub async fn clock(
    State(sim): State<Arc<Sim>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let request: ClockRequest = if !body.iter().all(u8::is_ascii_whitespace) {
        match parse_body(&body) {
            Ok(request) => request,
            Err(message) => return bad_request(message),
        }
    } else {
        match serde_urlencoded::from_str(query.as_deref().unwrap_or_default()) {
            Ok(request) => request,
            Err(error) => return bad_request(format!("invalid query: {error}")),
        }
    };
    if request
        .set_epoch
        .is_some_and(|epoch| !epoch.is_finite() || !(0.0..=4.0e9).contains(&epoch))
    {
        return bad_request("set_epoch must be Unix seconds between 0 and 4e9");
    }
    if request
        .advance_secs
        .is_some_and(|secs| !secs.is_finite() || secs.abs() > 6.4e8)
    {
        return bad_request("advance_secs must be finite and within ±20 years");
    }
    let mut world = sim.world();
    if request.freeze == Some(true) {
        world.clock.freeze();
    }
    if let Some(epoch) = request.set_epoch {
        world.clock.set(epoch);
    }
    if let Some(secs) = request.advance_secs {
        world.clock.advance(secs);
    }
    if request.freeze == Some(false) {
        world.clock.unfreeze();
    }
    let now = world.now_ns();
    if now < world.site.updated_ns() {
        // Going back in time must not integrate anything; restart the integration here.
        world.site.advance_to(now);
    }
    let text = rfc3339_nanos(now, world.site.utc_offset_secs);
    axum::Json(
        json!({ "now": ns_to_secs(now), "frozen": world.clock.is_frozen(), "now_rfc3339": text }),
    )
    .into_response()
}

fn firmware_answer(sim: &Sim) -> Response {
    let reading = sim.reading();
    axum::Json(
        json!({ "firmware": reading.firmware, "vitals_supported": reading.vitals_supported }),
    )
    .into_response()
}

/// `GET /test/firmware`.
pub async fn get_firmware(State(sim): State<Arc<Sim>>) -> Response {
    firmware_answer(&sim)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FirmwareRequest {
    version: String,
}

/// `POST /test/firmware` `{"version": "23.44.0 9064fc6a"}`.
pub async fn post_firmware(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let request: FirmwareRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(message) => return bad_request(message),
    };
    match sim.set_firmware(&request.version) {
        Ok(()) => firmware_answer(&sim),
        Err(error) => bad_request(error.to_string()),
    }
}

/// `GET|POST /test/sessions/revoke`.
pub async fn revoke_sessions(State(sim): State<Arc<Sim>>) -> Response {
    sim.revoke_sessions();
    axum::Json(json!({ "revoked": true })).into_response()
}

/// `GET /test/config`.
pub async fn get_config(State(sim): State<Arc<Sim>>) -> Response {
    config_answer(&sim, sim.sessions().knobs.clone())
}

/// The auth knobs and the TEDAPI knobs as one object.
fn config_answer(sim: &Sim, auth: AuthKnobs) -> Response {
    let mut map = match serde_json::to_value(auth) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    map.extend(knobs::knobs_json(sim.tedapi().knobs()));
    axum::Json(Value::Object(map)).into_response()
}

fn apply_config(knobs: &mut AuthKnobs, map: &Map<String, Value>) -> Result<(), String> {
    let mut next = knobs.clone();
    for (key, value) in map {
        match key.as_str() {
            "login_lockout_after" => {
                next.login_lockout_after = match value {
                    Value::Null => None,
                    other => Some(
                        other
                            .as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .filter(|n| *n > 0)
                            .ok_or("login_lockout_after must be null or a positive integer")?,
                    ),
                };
            }
            "login_lockout_secs" | "session_lifetime_secs" => {
                let secs = value
                    .as_f64()
                    .filter(|secs| secs.is_finite() && *secs >= 0.0 && *secs <= 3.2e9)
                    .ok_or_else(|| format!("{key} must be a number of seconds ≥ 0"))?;
                if key == "login_lockout_secs" {
                    next.login_lockout_secs = secs;
                } else {
                    next.session_lifetime_secs = secs;
                }
            }
            "unauthorized_status" => {
                next.unauthorized_status = match value.as_u64() {
                    Some(401) => 401,
                    Some(403) => 403,
                    _ => return Err("unauthorized_status must be 401 or 403".to_owned()),
                };
            }
            other => return Err(format!("unknown knob {other:?}")),
        }
    }
    *knobs = next;
    Ok(())
}

/// `POST /test/config`: authentication knobs; answers the knobs now in force.
pub async fn post_config(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let mut map: Map<String, Value> = match parse_body(&body) {
        Ok(map) => map,
        Err(message) => return bad_request(message),
    };
    // Both halves are validated before either is applied (all-or-nothing).
    let tedapi = match knobs::take_knobs(&mut map, sim.tedapi().knobs()) {
        Ok(tedapi) => tedapi,
        Err(message) => return bad_request(message),
    };
    let auth = {
        let mut sessions = sim.sessions();
        if let Err(message) = apply_config(&mut sessions.knobs, &map) {
            return bad_request(message);
        }
        sessions.knobs.clone()
    };
    sim.tedapi().set_knobs(tedapi);
    config_answer(&sim, auth)
}

/// `GET|POST /test/reboot`: uptime restarts from zero.
pub async fn reboot(State(sim): State<Arc<Sim>>) -> Response {
    let mut world = sim.world();
    let now = world.now_ns();
    world.site.reboot(now);
    axum::Json(json!({ "rebooted": true, "boot": ns_to_secs(now) })).into_response()
}

/// `GET /test/counter`.
pub async fn counter(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(sim.counter_snapshot()).into_response()
}

/// `GET|POST /test/counter/reset`: zeroes the counters (and the request log).
pub async fn counter_reset(State(sim): State<Arc<Sim>>) -> Response {
    sim.tedapi().reset_max();
    axum::Json(sim.counter().reset()).into_response()
}

/// `GET /test/requests`: the most recent gateway requests, oldest first.
pub async fn requests(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(json!({ "requests": sim.counter().log() })).into_response()
}

/// `GET /test/faults`.
pub async fn list_faults(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(json!({ "faults": sim.faults().list() })).into_response()
}

/// `POST /test/faults`: adds a fault, answers `{"id": n}`.
pub async fn add_fault(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let spec: FaultSpec = match parse_body(&body) {
        Ok(spec) => spec,
        Err(message) => return bad_request(message),
    };
    match sim.add_fault(spec) {
        Ok(id) => axum::Json(json!({ "id": id })).into_response(),
        Err(error) => bad_request(error.to_string()),
    }
}

/// `DELETE /test/faults` and `GET /test/faults/clear`.
pub async fn clear_faults(State(sim): State<Arc<Sim>>) -> Response {
    sim.clear_faults();
    axum::Json(json!({ "faults": [] })).into_response()
}

/// `DELETE /test/faults/<id>`.
pub async fn remove_fault(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return bad_request("fault id must be an integer");
    };
    if sim.faults().remove(id) {
        axum::Json(json!({ "removed": id })).into_response()
    } else {
        bad_request(format!("no active fault with id {id}"))
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
