//! `GET /oauth2/v3/authorize` (auto-approves the configured account) and
//! `POST /oauth2/v3/token` (JSON or form; authorization_code with PKCE, refresh_token).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::tokens::PendingCode;
use crate::model::clock::ns_to_secs;
use crate::sim::Sim;

/// The Owner API's public client id.
const CLIENT_ID: &str = "ownerapi";

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Validates the authorize parameters and redirects with a code and the state.
pub(crate) async fn authorize(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let get = |key: &str| query.get(key).map(String::as_str).unwrap_or_default();
    if get("client_id") == sim.cloud().fleet().knobs().client_id {
        return crate::fleet::oauth::authorize(&sim, &query);
    }
    let problem = if get("client_id") != CLIENT_ID {
        Some("unknown client_id")
    } else if get("response_type") != "code" {
        Some("response_type must be code")
    } else if get("redirect_uri").is_empty() {
        Some("redirect_uri missing")
    } else if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
        Some("PKCE with S256 required")
    } else if get("state").is_empty() {
        Some("state missing")
    } else {
        None
    };
    if let Some(problem) = problem {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", problem);
    }
    let redirect_uri = get("redirect_uri").to_owned();
    let code = sim.cloud().registry().new_code(PendingCode {
        challenge: get("code_challenge").to_owned(),
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

/// Reads a JSON or form body into string fields.
fn fields(headers: &HeaderMap, body: &Bytes) -> Option<HashMap<String, String>> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"));
    if json {
        let value: Value = serde_json::from_slice(body).ok()?;
        let map = value.as_object()?;
        Some(
            map.iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect(),
        )
    } else {
        serde_urlencoded::from_bytes(body).ok()
    }
}

/// Issues tokens for a code (PKCE checked) or a refresh token.
pub(crate) async fn token(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = fields(&headers, &body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unreadable body",
        );
    };
    let get = |key: &str| form.get(key).map(String::as_str).unwrap_or_default();
    if get("client_id") == sim.cloud().fleet().knobs().client_id {
        return crate::fleet::oauth::token(&sim, &form);
    }
    if get("client_id") != CLIENT_ID {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    }
    let knobs = sim.cloud().knobs();
    let now = ns_to_secs(sim.now_ns());
    let cloud = sim.cloud();
    let mut registry = cloud.registry();
    let issued = match get("grant_type") {
        "authorization_code" => {
            let Some(pending) = registry.take_code(get("code")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
            };
            let digest =
                ring::digest::digest(&ring::digest::SHA256, get("code_verifier").as_bytes());
            if URL_SAFE_NO_PAD.encode(digest.as_ref()) != pending.challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
            if get("redirect_uri") != pending.redirect_uri {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri mismatch",
                );
            }
            registry.exchange(&pending.email, now, knobs.token_lifetime_secs)
        }
        "refresh_token" => {
            let refreshed = if knobs.invalid_grant {
                None
            } else {
                registry.refresh(
                    get("refresh_token"),
                    now,
                    knobs.token_lifetime_secs,
                    knobs.rotate_refresh_token,
                )
            };
            match refreshed {
                Some(issued) => issued,
                None => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "refresh token rejected",
                    );
                }
            }
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", ""),
    };
    Json(json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "id_token": issued.id_token,
        "expires_in": issued.expires_in,
        "state": Value::Null,
        "token_type": "Bearer",
    }))
    .into_response()
}
