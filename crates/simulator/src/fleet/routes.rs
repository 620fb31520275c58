//! The Fleet API endpoints: products, partner registration, energy-site reads and writes, and the
//! developer domain's public key.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::knobs::RetryStyle;
use crate::cloud::owner::{self, envelope, error};
use crate::cloud::tokens::TokenCheck;
use crate::local::auth::Credentials;
use crate::model::clock::ns_to_secs;
use crate::sim::Sim;

/// `GET /.well-known/appspecific/com.tesla.3p.public-key.pem`: the hosted key, else 404.
pub(crate) async fn public_key(State(sim): State<Arc<Sim>>) -> Response {
    match sim.cloud().fleet().public_key_pem() {
        Some(pem) => ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response(),
        None => (StatusCode::NOT_FOUND, "no public key hosted").into_response(),
    }
}

fn http_date_in(secs: u64) -> String {
    let when = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs as i64);
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    when.format(&format).unwrap_or_default()
}

/// The injected 429, when one is active.
fn rate_limited(sim: &Sim) -> Option<Response> {
    let limit = sim.cloud().fleet().take_rate_limit()?;
    let mut response = match limit.style {
        RetryStyle::Body => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": format!("Too Many Requests. Retry in {} seconds", limit.secs)})),
        )
            .into_response(),
        _ => error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
    };
    let value = match limit.style {
        RetryStyle::Seconds => Some(limit.secs.to_string()),
        RetryStyle::HttpDate => Some(http_date_in(limit.secs)),
        RetryStyle::Body | RetryStyle::Unnamed => None,
    };
    if let Some(value) = value.and_then(|value| HeaderValue::from_str(&value).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// 412 when `region` is not the account's, naming the right base URL as Tesla does.
fn wrong_region(sim: &Sim, region: &str, headers: &HeaderMap) -> Option<Response> {
    let home = sim.cloud().fleet().knobs().region;
    if region == home {
        return None;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1");
    Some(error(
        StatusCode::PRECONDITION_FAILED,
        &format!(
            "user out of region, use base URL: https://{host}/fleet/{home}, see https://developer.tesla.com/docs/fleet-api#endpoints-and-regional-requirements"
        ),
    ))
}

/// 401 for a missing, unknown or expired user token.
fn bad_token(sim: &Sim, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = Credentials::from_headers(headers).bearer else {
        return Some(error(StatusCode::UNAUTHORIZED, "missing bearer token"));
    };
    let now = ns_to_secs(sim.now_ns());
    let check = sim.cloud().fleet().registry().check(&token, now);
    (check != TokenCheck::Ok).then(|| error(StatusCode::UNAUTHORIZED, "token expired (401)"))
}

/// The checks every user endpoint makes, in Tesla's order: rate limit, region, token.
fn admit(sim: &Sim, region: &str, headers: &HeaderMap) -> Option<Response> {
    rate_limited(sim)
        .or_else(|| wrong_region(sim, region, headers))
        .or_else(|| bad_token(sim, headers))
}

/// `GET /fleet/{region}/api/1/products`.
pub(crate) async fn products(
    State(sim): State<Arc<Sim>>,
    Path(region): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = admit(&sim, &region, &headers) {
        return refusal;
    }
    let snapshot = sim.snapshot();
    let site_id = sim.cloud().site().site_id;
    let entry = json!({
        "energy_site_id": site_id,
        "resource_type": "battery",
        "site_name": sim.config().cloud_site_name,
        "id": format!("STE{site_id:08}-00001"),
        "gateway_id": snapshot.din(),
        "percentage_charged": owner::app_pct(snapshot.soe_raw_pct),
        "battery_power": snapshot.flows.battery_w,
    });
    Json(json!({"response": [entry], "count": 1})).into_response()
}

/// `POST /fleet/{region}/api/1/partner_accounts` with a partner token: needs the PEM hosted.
pub(crate) async fn partner_accounts(
    State(sim): State<Arc<Sim>>,
    Path(region): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = rate_limited(&sim).or_else(|| wrong_region(&sim, &region, &headers)) {
        return refusal;
    }
    let fleet = sim.cloud().fleet();
    let partner = Credentials::from_headers(&headers)
        .bearer
        .is_some_and(|token| fleet.is_partner_token(&token));
    if !partner {
        return error(StatusCode::UNAUTHORIZED, "a partner token is required");
    }
    let domain = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|value| value["domain"].as_str().map(str::to_owned))
        .filter(|domain| !domain.is_empty());
    let Some(domain) = domain else {
        return error(StatusCode::BAD_REQUEST, "domain is required");
    };
    if fleet.public_key_pem().is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Public key not found at https://{domain}/.well-known/appspecific/com.tesla.3p.public-key.pem"
            ),
        );
    }
    fleet.register_domain(&domain);
    envelope(json!({
        "domain": domain,
        "client_id": fleet.knobs().client_id,
        "name": "Simulated application",
        "description": "powerwall simulator",
        "account_id": "sim-account",
    }))
}

/// Checks the site id (404 for an unknown or renumbered site).
fn unknown_site(sim: &Sim, id: &str) -> Option<Response> {
    let current = sim.cloud().site().site_id;
    (id.parse::<u64>().ok() != Some(current))
        .then(|| error(StatusCode::NOT_FOUND, "site not found"))
}

fn without_pack_energy(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("energy_left");
        map.remove("total_pack_energy");
    }
    value
}

/// `GET /fleet/{region}/api/1/energy_sites/{id}/{name}`.
pub(crate) async fn site_get(
    State(sim): State<Arc<Sim>>,
    Path((region, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = admit(&sim, &region, &headers).or_else(|| unknown_site(&sim, &id)) {
        return refusal;
    }
    let snapshot = sim.snapshot();
    match name.as_str() {
        "live_status" => envelope(without_pack_energy(owner::live_status(&snapshot))),
        "site_status" => envelope(without_pack_energy(owner::site_status(&sim, &snapshot))),
        "site_info" => envelope(owner::site_info(&sim, &snapshot)),
        "backup_time_remaining" => envelope(owner::backup_time_remaining(&snapshot)),
        "history" | "calendar_history" => {
            envelope(json!({"serial_number": snapshot.din(), "time_series": []}))
        }
        _ => error(StatusCode::NOT_FOUND, "unknown endpoint"),
    }
}

/// `POST /fleet/{region}/api/1/energy_sites/{id}/{name}`: the writes, applied to the model.
pub(crate) async fn site_post(
    State(sim): State<Arc<Sim>>,
    Path((region, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = admit(&sim, &region, &headers).or_else(|| unknown_site(&sim, &id)) {
        return refusal;
    }
    owner::apply_write(&sim, &name, &body)
}
