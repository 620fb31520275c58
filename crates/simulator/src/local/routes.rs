//! Routes of the local persona.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde_json::Value;

use super::auth;
use super::documents;
use super::fixtures::Fixtures;
use super::gateway_error;
use crate::model::reading::Snapshot;
use crate::model::site::{Operation, RealMode};
use crate::sim::Sim;

type Render = fn(&Snapshot, &Fixtures) -> Value;
type Pick = fn(&Fixtures) -> &Value;

/// A GET rendered from a fresh snapshot.
fn live(render: Render) -> MethodRouter<Arc<Sim>> {
    get(move |State(sim): State<Arc<Sim>>| async move {
        let snapshot = sim.snapshot();
        axum::Json(render(&snapshot, sim.fixtures())).into_response()
    })
}

/// A GET answered with a captured document as is.
fn fixed(pick: Pick) -> MethodRouter<Arc<Sim>> {
    get(move |State(sim): State<Arc<Sim>>| async move {
        axum::Json(pick(sim.fixtures()).clone()).into_response()
    })
}

/// The local persona's router; `sim` is needed up front for the session layer.
pub fn router(sim: Arc<Sim>) -> Router<Arc<Sim>> {
    let protected = Router::new()
        .route("/api/logout", get(auth::logout))
        .route("/api/meters/aggregates", live(documents::aggregates))
        .route("/api/system_status/soe", live(|s, _| documents::soe(s)))
        .route(
            "/api/system_status/grid_status",
            live(|s, _| documents::grid_status(s)),
        )
        .route("/api/system_status", live(documents::system_status))
        .route("/api/operation", get(operation_get).post(operation_post))
        .route("/api/site_info", fixed(|f| &f.site_info))
        .route("/api/site_info/site_name", fixed(|f| &f.site_name))
        .route(
            "/api/site_info/grid_codes",
            live(|_, f| documents::grid_codes(f)),
        )
        .route("/api/sitemaster", fixed(|f| &f.sitemaster))
        .route("/api/powerwalls", live(documents::powerwalls))
        .route("/api/solar_powerwall", live(documents::solar_powerwall))
        .route("/api/meters", fixed(|f| &f.meters))
        .route("/api/meters/site", live(documents::meters_site))
        .route("/api/meters/solar", fixed(|f| &f.meters_solar))
        .route(
            "/api/meters/readings",
            live(|_, _| Value::Object(serde_json::Map::new())),
        )
        .route("/api/networks", fixed(|f| &f.networks))
        .route("/api/system/networks", fixed(|f| &f.networks))
        .route("/api/customer", fixed(|f| &f.customer))
        .route(
            "/api/customer/registration",
            fixed(|f| &f.customer_registration),
        )
        .route("/api/installer", fixed(|f| &f.installer))
        .route(
            "/api/auth/toggle/supported",
            fixed(|f| &f.auth_toggle_supported),
        )
        .route("/api/system/update/status", live(documents::update_status))
        .route("/api/system_status/grid_faults", fixed(|f| &f.grid_faults))
        .route("/api/troubleshooting/problems", fixed(|f| &f.problems))
        .route(
            "/api/synchrometer/ct_voltage_references",
            fixed(|f| &f.ct_voltage_references),
        )
        .route("/api/solars", fixed(|f| &f.solars))
        .route("/api/solars/brands", fixed(|f| &f.solars_brands))
        .route("/api/devices/vitals", get(vitals))
        .route_layer(middleware::from_fn_with_state(sim, auth::require_session));
    Router::new()
        .route("/", get(index))
        .route("/api/login/Basic", post(auth::login))
        // Real gateways answer /api/status without a session (the network scanner relies on it).
        .route("/api/status", live(documents::status))
        .merge(protected)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn index() -> Html<&'static str> {
    Html(concat!(
        "<!DOCTYPE html><html><head><title>Tesla Energy Gateway</title></head>",
        "<body><h1>Tesla Energy Gateway</h1><p>powerwall-simulator</p></body></html>"
    ))
}

async fn not_found() -> Response {
    gateway_error(
        StatusCode::NOT_FOUND,
        "Not Found",
        "The requested resource was not found",
    )
}

async fn method_not_allowed() -> Response {
    gateway_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        "The method is not allowed for the requested resource",
    )
}

async fn vitals(State(sim): State<Arc<Sim>>) -> Response {
    let snapshot = sim.snapshot();
    if !snapshot.has_vitals() {
        // Firmware 23.44.0 removed the endpoint; this is the original simulator's answer.
        return gateway_error(
            StatusCode::NOT_FOUND,
            "File Not Found",
            "Firmware does not support vitals API",
        );
    }
    let body = sim.vitals().render(&snapshot);
    ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
}

async fn operation_get(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(documents::operation(&sim.snapshot())).into_response()
}

fn bad_operation(message: &str) -> Response {
    gateway_error(StatusCode::BAD_REQUEST, "Bad Request", message)
}

/// Validates a `POST /api/operation` body against the current settings (full overwrite:
/// `real_mode` and `backup_reserve_percent` are both required).
pub fn parse_operation(body: &[u8], current: &Operation) -> Result<Operation, String> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err("body must be a JSON object".to_owned());
    };
    let real_mode = match map.get("real_mode") {
        None => return Err("real_mode is required".to_owned()),
        Some(Value::String(text)) => RealMode::parse(text).ok_or_else(|| {
            format!("real_mode must be self_consumption, backup or autonomous, not {text:?}")
        })?,
        Some(_) => return Err("real_mode must be a string".to_owned()),
    };
    let reserve = match map.get("backup_reserve_percent") {
        None => return Err("backup_reserve_percent is required".to_owned()),
        Some(value) => value
            .as_f64()
            .filter(|reserve| (0.0..=100.0).contains(reserve))
            .ok_or_else(|| "backup_reserve_percent must be a number from 0 to 100".to_owned())?,
    };
    Ok(Operation {
        real_mode,
        backup_reserve_percent: reserve,
        freq_shift_load_shed_soe: map
            .get("freq_shift_load_shed_soe")
            .cloned()
            .unwrap_or_else(|| current.freq_shift_load_shed_soe.clone()),
        freq_shift_load_shed_delta_f: map
            .get("freq_shift_load_shed_delta_f")
            .cloned()
            .unwrap_or_else(|| current.freq_shift_load_shed_delta_f.clone()),
    })
}

async fn operation_post(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let current = sim.snapshot().operation;
    match parse_operation(&body, &current) {
        Ok(operation) => {
            axum::Json(documents::operation(&sim.set_operation(operation))).into_response()
        }
        Err(message) => bad_operation(&message),
    }
}
