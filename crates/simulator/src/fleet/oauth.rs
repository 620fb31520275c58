//! The Fleet flavour of Tesla's SSO: `authorize` without PKCE, and the token grants
//! `client_credentials` (partner token), `authorization_code` (client secret, audience and
//! redirect URI checked) and `refresh_token` (both tokens renewed).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::cloud::tokens::PendingCode;
use crate::model::clock::ns_to_secs;
use crate::sim::Sim;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Whether an audience names a region base: one of Tesla's, or this simulator's `/fleet/{region}`.
pub(crate) fn valid_audience(audience: &str) -> bool {
    let trimmed = audience.trim_end_matches('/');
    trimmed.starts_with("https://")
        && (trimmed.contains("fleet-api.prd.")
            || ["/fleet/na", "/fleet/eu", "/fleet/cn"]
                .iter()
                .any(|suffix| trimmed.ends_with(suffix)))
}

/// `GET /oauth2/v3/authorize` for the Fleet application: redirects with a code and the state.
pub(crate) fn authorize(sim: &Arc<Sim>, query: &HashMap<String, String>) -> Response {
    let get = |key: &str| query.get(key).map(String::as_str).unwrap_or_default();
    let problem = if get("response_type") != "code" {
        Some("response_type must be code")
    } else if get("redirect_uri").is_empty() {
        Some("redirect_uri missing")
    } else if get("state").is_empty() {
        Some("state missing")
    } else if !get("scope")
        .split(' ')
        .any(|scope| scope == "energy_device_data")
    {
        Some("scope must include energy_device_data")
    } else {
        None
    };
    if let Some(problem) = problem {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", problem);
    }
    let redirect_uri = get("redirect_uri").to_owned();
    let code = sim.cloud().fleet().registry().new_code(PendingCode {
        challenge: String::new(),
        redirect_uri: redirect_uri.clone(),
        email: sim.config().email.clone(),
    });
    let query = serde_urlencoded::to_string([("code", code.as_str()), ("state", get("state"))])
        .unwrap_or_default();
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    (
        StatusCode::FOUND,
        [(
            header::LOCATION,
            format!("{redirect_uri}{separator}{query}"),
        )],
    )
        .into_response()
}

/// `POST /oauth2/v3/token` for the Fleet application.
pub(crate) fn token(sim: &Arc<Sim>, form: &HashMap<String, String>) -> Response {
    let get = |key: &str| form.get(key).map(String::as_str).unwrap_or_default();
    let fleet = sim.cloud().fleet();
    let knobs = fleet.knobs();
    let secret_ok = get("client_secret") == knobs.client_secret;
    let now = ns_to_secs(sim.now_ns());
    match get("grant_type") {
        "client_credentials" => {
            if !secret_ok {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "bad client secret",
                );
            }
            if !valid_audience(get("audience")) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "unknown audience",
                );
            }
            let token = format!("sim-partner-{}", rand::random::<u64>());
            fleet.add_partner_token(token.clone());
            Json(json!({"access_token": token, "expires_in": 28_800, "token_type": "Bearer"}))
                .into_response()
        }
        "authorization_code" => {
            if !secret_ok {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "bad client secret",
                );
            }
            if !valid_audience(get("audience")) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "unknown audience",
                );
            }
            let mut registry = fleet.registry();
            let Some(pending) = registry.take_code(get("code")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
            };
            if get("redirect_uri") != pending.redirect_uri {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri mismatch",
                );
            }
            let issued = registry.exchange(&pending.email, now, knobs.token_lifetime_secs);
            issued_answer(issued)
        }
        "refresh_token" => {
            let issued = fleet.registry().refresh(
                get("refresh_token"),
                now,
                knobs.token_lifetime_secs,
                true,
            );
            match issued {
                Some(issued) => issued_answer(issued),
                None => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh token rejected",
                ),
            }
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", ""),
    }
}

fn issued_answer(issued: crate::cloud::tokens::Issued) -> Response {
    Json(json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "id_token": issued.id_token,
        "expires_in": issued.expires_in,
        "token_type": "Bearer",
    }))
    .into_response()
}
