//! Owner API endpoints (gateway-protocols §5.4) rendered from the physical model, app scale for
//! SOE and reserve, every answer in the `{"response": …}` envelope.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::tokens::TokenCheck;
use crate::local::auth::Credentials;
use crate::model::clock::ns_to_secs;
use crate::model::reading::Snapshot;
use crate::model::site::{Operation, RealMode};
use crate::sim::Sim;

/// The site's time zone name (the model keeps a fixed offset; −8 h by default).
const TIME_ZONE: &str = "America/Los_Angeles";

/// Raw gateway percent to the app's scale (the app hides the bottom 5 %).
pub(crate) fn app_pct(raw: f64) -> f64 {
    ((raw - 5.0) / 0.95).max(0.0)
}

/// `{"response": value}`.
pub(crate) fn envelope(value: Value) -> Response {
    Json(json!({"response": value})).into_response()
}

/// A Tesla-like error answer.
pub(crate) fn error(status: StatusCode, text: &str) -> Response {
    (
        status,
        Json(json!({"response": null, "error": text, "error_description": ""})),
    )
        .into_response()
}

/// 401 for a missing, unknown or expired token; 403 for a cold-started login under the knob.
/// `None` when the request may proceed, else the refusal.
fn check_token(sim: &Sim, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = Credentials::from_headers(headers).bearer else {
        return Some(error(StatusCode::UNAUTHORIZED, "missing bearer token"));
    };
    let now = ns_to_secs(sim.now_ns());
    let cloud = sim.cloud();
    // Bound first: the registry guard must not live through the knob lookup below.
    let check = cloud.registry().check(&token, now);
    match check {
        TokenCheck::Ok => None,
        TokenCheck::Cold if !cloud.knobs().cold_refresh_403 => None,
        TokenCheck::Cold => Some(error(
            StatusCode::FORBIDDEN,
            "token not authorized for owner-api",
        )),
        TokenCheck::Invalid => Some(error(StatusCode::UNAUTHORIZED, "invalid bearer token")),
    }
}

fn site_name(sim: &Sim) -> String {
    sim.config().cloud_site_name.clone()
}

fn battery_entry(sim: &Sim, snapshot: &Snapshot, site_id: u64) -> Value {
    json!({
        "energy_site_id": site_id,
        "resource_type": "battery",
        "site_name": site_name(sim),
        "id": format!("STE{site_id:08}-00001"),
        "gateway_id": snapshot.din(),
        "energy_left": snapshot.remaining_wh(),
        "total_pack_energy": snapshot.full_pack_energy_wh(),
        "percentage_charged": app_pct(snapshot.soe_raw_pct),
        "battery_power": snapshot.flows.battery_w,
    })
}

/// `GET /api/1/products`: one vehicle-free list with the battery site.
pub(crate) async fn products(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    if let Some(response) = check_token(&sim, &headers) {
        return response;
    }
    let snapshot = sim.snapshot();
    let site_id = sim.cloud().site().site_id;
    let entry = battery_entry(&sim, &snapshot, site_id);
    Json(json!({"response": [entry], "count": 1})).into_response()
}

/// `live_status` of the Owner API (the Fleet persona drops its pack energies).
pub(crate) fn live_status(snapshot: &Snapshot) -> Value {
    let connected = snapshot.grid_connected();
    json!({
        "solar_power": snapshot.flows.solar_w,
        "energy_left": snapshot.remaining_wh(),
        "total_pack_energy": snapshot.full_pack_energy_wh(),
        "percentage_charged": app_pct(snapshot.soe_raw_pct),
        "backup_capable": true,
        "battery_power": snapshot.flows.battery_w,
        "load_power": snapshot.flows.home_w,
        "grid_status": if connected { "Active" } else { "Inactive" },
        "grid_services_active": false,
        "grid_power": snapshot.flows.site_w,
        "grid_services_power": 0,
        "generator_power": 0,
        "island_status": if connected { "on_grid" } else { "off_grid" },
        "storm_mode_active": false,
        "timestamp": snapshot.now_text(),
        "wall_connectors": [],
    })
}

/// `site_status` of the Owner API (the Fleet persona drops its pack energies).
pub(crate) fn site_status(sim: &Sim, snapshot: &Snapshot) -> Value {
    json!({
        "resource_type": "battery",
        "site_name": site_name(sim),
        "gateway_id": snapshot.din(),
        "energy_left": snapshot.remaining_wh(),
        "total_pack_energy": snapshot.full_pack_energy_wh(),
        "percentage_charged": app_pct(snapshot.soe_raw_pct),
        "battery_type": "ac_powerwall",
        "backup_capable": true,
        "battery_power": snapshot.flows.battery_w,
        "storm_mode_enabled": false,
    })
}

/// `site_info`, shared by the Owner and Fleet personas.
pub(crate) fn site_info(sim: &Sim, snapshot: &Snapshot) -> Value {
    let cloud = sim.cloud().site().clone();
    let inverters: Vec<Value> = snapshot
        .topology
        .inverters
        .iter()
        .map(|inverter| json!({"device_id": inverter.id.serial_number, "din": inverter.id.din(), "is_active": true}))
        .collect();
    json!({
        "id": snapshot.din(),
        "site_name": site_name(sim),
        // The app shows whole percent.
        "backup_reserve_percent": app_pct(snapshot.operation.backup_reserve_percent).round(),
        "default_real_mode": snapshot.operation.real_mode.as_str(),
        "installation_date": "2023-01-15T10:00:00-08:00",
        "user_settings": {"storm_mode_enabled": false},
        "components": {
            "solar": !inverters.is_empty(),
            "solar_type": "pv_panel",
            "battery": true,
            "grid": true,
            "backup": true,
            "gateway": "teg",
            "load_meter": true,
            "tou_capable": true,
            "storm_mode_capable": true,
            "battery_type": "ac_powerwall",
            "configurable": true,
            "grid_services_enabled": false,
            "inverters": inverters,
            "disallow_charge_from_grid_with_solar_installed": cloud.disallow_grid_charging,
            "customer_preferred_export_rule": cloud.export_rule,
            "non_export_configured": false,
        },
        "version": snapshot.firmware,
        "battery_count": snapshot.topology.packs.len(),
        "tariff_content": {"utility": "Simulated Power & Light"},
        "tariff_id": "SIM-TOU",
        "nameplate_power": snapshot.topology.max_discharge_w,
        "nameplate_energy": snapshot.full_pack_energy_wh(),
        "installation_time_zone": TIME_ZONE,
        "off_grid_vehicle_charging_reserve_percent": 0,
        "max_site_meter_power_ac": 1_000_000_000,
        "min_site_meter_power_ac": -1_000_000_000,
    })
}

/// `backup_time_remaining`: energy above the reserve at the present load.
pub(crate) fn backup_time_remaining(snapshot: &Snapshot) -> Value {
    let load = snapshot.flows.home_w.max(1.0);
    let left = snapshot.remaining_wh()
        * (1.0 - snapshot.operation.backup_reserve_percent / 100.0).max(0.0);
    json!({"time_remaining_hours": left / load})
}

/// Checks the token and the site id (404 for an unknown or renumbered site).
fn admit(sim: &Sim, headers: &HeaderMap, id: &str) -> Option<Response> {
    if let Some(refusal) = check_token(sim, headers) {
        return Some(refusal);
    }
    let current = sim.cloud().site().site_id;
    (id.parse::<u64>().ok() != Some(current))
        .then(|| error(StatusCode::NOT_FOUND, "site not found"))
}

/// `GET /api/1/energy_sites/{id}/{name}`.
pub(crate) async fn site_get(
    State(sim): State<Arc<Sim>>,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = admit(&sim, &headers, &id) {
        return response;
    }
    let snapshot = sim.snapshot();
    match name.as_str() {
        "live_status" => envelope(live_status(&snapshot)),
        "site_status" => envelope(site_status(&sim, &snapshot)),
        "site_info" => envelope(site_info(&sim, &snapshot)),
        "backup_time_remaining" => envelope(backup_time_remaining(&snapshot)),
        "tariff_rate" => envelope(json!({"code": "SIM-TOU", "utility": "Simulated Power & Light"})),
        _ => error(StatusCode::NOT_FOUND, "unknown endpoint"),
    }
}

fn updated() -> Response {
    envelope(json!({"code": 201, "message": "Updated"}))
}

/// `POST /api/1/energy_sites/{id}/{name}`: the writes, applied to the model.
pub(crate) async fn site_post(
    State(sim): State<Arc<Sim>>,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = admit(&sim, &headers, &id) {
        return response;
    }
    apply_write(&sim, &name, &body)
}

/// Applies one site write to the model (shared by the Owner and Fleet personas).
pub(crate) fn apply_write(sim: &Sim, name: &str, body: &[u8]) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return error(StatusCode::BAD_REQUEST, "body must be JSON");
    };
    match name {
        "backup" => {
            let Some(app) = body["backup_reserve_percent"]
                .as_f64()
                .filter(|p| (0.0..=100.0).contains(p))
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "backup_reserve_percent must be 0-100",
                );
            };
            let current = sim.snapshot().operation;
            sim.set_operation(Operation {
                backup_reserve_percent: app * 0.95 + 5.0,
                ..current
            });
            updated()
        }
        "operation" => {
            let Some(mode) = body["default_real_mode"].as_str().and_then(RealMode::parse) else {
                return error(StatusCode::BAD_REQUEST, "unknown default_real_mode");
            };
            let current = sim.snapshot().operation;
            sim.set_operation(Operation {
                real_mode: mode,
                ..current
            });
            updated()
        }
        "grid_import_export" => {
            let charging = body["disallow_charge_from_grid_with_solar_installed"].as_bool();
            let rule = body["customer_preferred_export_rule"].as_str();
            if rule.is_some_and(|rule| !["battery_ok", "pv_only", "never"].contains(&rule))
                || (charging.is_none() && rule.is_none())
            {
                return error(StatusCode::BAD_REQUEST, "nothing valid to set");
            }
            {
                let cloud = sim.cloud();
                let mut site = cloud.site();
                if let Some(disallow) = charging {
                    site.disallow_grid_charging = disallow;
                }
                if let Some(rule) = rule {
                    site.export_rule = rule.to_owned();
                }
            }
            if sim.cloud().knobs().write_empty_body {
                return StatusCode::OK.into_response();
            }
            updated()
        }
        "time_of_use_settings" | "storm_mode" | "off_grid_vehicle_charging_reserve" => updated(),
        _ => error(StatusCode::NOT_FOUND, "unknown endpoint"),
    }
}
