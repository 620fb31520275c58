//! The original simulator's control endpoints (gateway-protocols §9.2), same paths and answers.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::bad_request;
use crate::model::scenarios::{LIVE, SCENARIOS};
use crate::sim::Sim;

/// `GET /test`: one button per scenario.
pub async fn page() -> Html<String> {
    let buttons: String = SCENARIOS
        .iter()
        .map(|s| s.name)
        .chain([LIVE])
        .map(|name| format!("<button onclick=\"run('/test/scenario/{name}')\">{name}</button>\n"))
        .collect();
    Html(format!(
        "<!DOCTYPE html>\n<html><head><title>Powerwall simulator</title></head><body>\n\
         <h1>Powerwall simulator</h1>\n<h2>Scenarios</h2>\n{buttons}\
         <h2>Grid</h2>\n<button onclick=\"run('/test/toggle-grid')\">toggle grid</button>\n\
         <pre id=\"out\"></pre>\n<script>\n\
         async function run(url) {{\n  const answer = await (await fetch(url)).text();\n  \
         const state = await (await fetch('/test/state')).text();\n  \
         document.getElementById('out').textContent = answer + '\\n' + state;\n}}\n\
         </script>\n</body></html>\n"
    ))
}

/// `GET /test/scenario`.
pub async fn active(State(sim): State<Arc<Sim>>) -> Response {
    let name = sim.snapshot().active_scenario;
    axum::Json(json!({ "active_scenario": name })).into_response()
}

/// `GET /test/scenario/<name>`: pins the scenario's values (`live` releases every pin).
pub async fn apply(State(sim): State<Arc<Sim>>, Path(name): Path<String>) -> Response {
    match sim.apply_scenario(&name) {
        Ok(()) => "OK".into_response(),
        Err(error) => {
            let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).chain([LIVE]).collect();
            bad_request(format!("{error}; known scenarios: {}", known.join(", ")))
        }
    }
}

/// `GET /test/toggle-grid`.
pub async fn toggle_grid(State(sim): State<Arc<Sim>>) -> &'static str {
    let mut world = sim.world();
    let now = world.now_ns();
    if world.site.toggle_grid(now) {
        "Grid is now connected"
    } else {
        "Grid is now disconnected"
    }
}

fn parse_number(text: &str, what: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
        .ok_or_else(|| format!("{what} must be a number, not {text:?}"))
}

/// `GET /test/battery-percentage/<N>`: pins the raw SOE at 0.95·N + 5 (so the app shows N).
pub async fn battery_percentage(
    State(sim): State<Arc<Sim>>,
    Path(value): Path<String>,
) -> Response {
    let app_pct = match parse_number(&value, "battery percentage") {
        Ok(value) => value,
        Err(message) => return bad_request(message),
    };
    let raw = 0.95 * app_pct + 5.0;
    if !(0.0..=100.0).contains(&raw) {
        return bad_request("battery percentage must be between -5.26 and 100 (raw SOE 0–100)");
    }
    let mut world = sim.world();
    let now = world.now_ns();
    world.site.pin_soe(Some(raw), now);
    world.site.active_scenario = None;
    "OK".into_response()
}

/// `GET /test/solar-power/<W>`: pins solar power (negative values allowed, as inverters at
/// night report).
pub async fn solar_power(State(sim): State<Arc<Sim>>, Path(value): Path<String>) -> Response {
    let watts = match parse_number(&value, "solar power") {
        Ok(value) => value,
        Err(message) => return bad_request(message),
    };
    if watts.abs() > 1.0e6 {
        return bad_request("solar power must be within ±1 MW");
    }
    let mut world = sim.world();
    let now = world.now_ns();
    let pins = world.site.pins;
    world
        .site
        .pin_powers(Some(watts), pins.home_w, pins.battery_w, now);
    "OK".into_response()
}

/// Any other `/test/*` path, as the original answers it.
pub async fn invalid() -> &'static str {
    "Invalid test command received."
}
