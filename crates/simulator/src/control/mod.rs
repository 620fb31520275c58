//! The control API under `/test` (no auth): the original simulator's endpoints (§9.2) plus a JSON
//! surface for state, clock, firmware, sessions, knobs, counters and faults.
//!
//! Every `/test` answer carries `Access-Control-Allow-Origin: *` (the original's scenario page is
//! driven from a browser). Bad input is a 400 with `{"error": "..."}`.

pub mod cloud;
pub mod counter;
pub mod faults;
pub mod scenarios;
pub mod state;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::sim::Sim;

/// 400 with a JSON message.
pub fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": message.into() })),
    )
        .into_response()
}

/// Parses a JSON control body whatever its `Content-Type`; an empty body means `{}`.
/// The error is the message for a 400.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|error| format!("invalid JSON body: {error}"))
}

async fn allow_any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// The `/test` router.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/test", get(scenarios::page))
        .route("/test/", get(scenarios::page))
        .route("/test/scenario", get(scenarios::active))
        .route("/test/scenario/{name}", get(scenarios::apply))
        .route("/test/toggle-grid", get(scenarios::toggle_grid))
        .route(
            "/test/battery-percentage/{value}",
            get(scenarios::battery_percentage),
        )
        .route("/test/solar-power/{value}", get(scenarios::solar_power))
        .route("/test/state", get(state::get_state).post(state::post_state))
        .route("/test/clock", get(state::clock).post(state::clock))
        .route(
            "/test/firmware",
            get(state::get_firmware).post(state::post_firmware),
        )
        .route(
            "/test/sessions/revoke",
            get(state::revoke_sessions).post(state::revoke_sessions),
        )
        .route(
            "/test/config",
            get(state::get_config).post(state::post_config),
        )
        .route("/test/reboot", get(state::reboot).post(state::reboot))
        .route("/test/counter", get(state::counter))
        .route(
            "/test/counter/reset",
            get(state::counter_reset).post(state::counter_reset),
        )
        .route("/test/requests", get(state::requests))
        .route("/test/tedapi", get(crate::tedapi::knobs::status))
        .route(
            "/test/faults",
            get(state::list_faults)
                .post(state::add_fault)
                .delete(state::clear_faults),
        )
        .route(
            "/test/faults/clear",
            get(state::clear_faults).post(state::clear_faults),
        )
        .route("/test/faults/{id}", delete(state::remove_fault))
        .route("/test/cloud", get(cloud::status))
        .route("/test/cloud/knobs", post(cloud::set_cloud_knobs))
        .route("/test/cloud/expire-tokens", post(cloud::expire_tokens))
        .route("/test/cloud/renumber-site", post(cloud::renumber_site))
        .route("/test/fleet/knobs", post(cloud::set_fleet_knobs))
        .route(
            "/test/fleet/rate-limit",
            post(cloud::set_fleet_rate_limit).delete(cloud::clear_fleet_rate_limit),
        )
        .route(
            "/test/fleet/public-key",
            get(cloud::fleet_public_key)
                .post(cloud::host_fleet_public_key)
                .delete(cloud::unhost_fleet_public_key),
        )
        .route(
            "/test/{*rest}",
            get(scenarios::invalid).post(scenarios::invalid),
        )
        .route_layer(middleware::map_response(allow_any_origin))
}
