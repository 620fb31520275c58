//! `/test/cloud…` and `/test/fleet…`: the cloud personas' knobs over HTTP, so the binary's users
//! (manual demos, other languages' tests) have what the Rust handle offers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{bad_request, parse_body};
use crate::fleet::FleetRateLimit;
use crate::sim::Sim;

/// `current` with the fields of `patch` (a JSON object) replaced; unknown fields are refused.
fn patched<T: Serialize + DeserializeOwned>(current: &T, patch: &[u8]) -> Result<T, String> {
    let patch: Value = parse_body(patch)?;
    let Value::Object(patch) = patch else {
        return Err("the body must be a JSON object of knobs".to_owned());
    };
    let mut merged =
        serde_json::to_value(current).map_err(|error| format!("cannot show the knobs: {error}"))?;
    if let Value::Object(fields) = &mut merged {
        fields.extend(patch);
    }
    serde_json::from_value(merged).map_err(|error| format!("invalid knobs: {error}"))
}

/// `GET /test/cloud`: both personas' knobs and state.
pub async fn status(State(sim): State<Arc<Sim>>) -> Response {
    let cloud = sim.cloud();
    let fleet = cloud.fleet();
    axum::Json(json!({
        "site_id": cloud.site().site_id,
        "knobs": cloud.knobs(),
        "fleet": {
            "knobs": fleet.knobs(),
            "public_key_hosted": fleet.public_key_pem().is_some(),
            "partner_domains": fleet.partner_domains(),
        },
    }))
    .into_response()
}

/// `POST /test/cloud/knobs` `{"token_lifetime_secs": 60, …}`: changes the Owner API knobs given.
pub async fn set_cloud_knobs(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    match patched(&sim.cloud().knobs(), &body) {
        Ok(knobs) => {
            sim.cloud().set_knobs(knobs.clone());
            axum::Json(json!({ "knobs": knobs })).into_response()
        }
        Err(message) => bad_request(message),
    }
}

/// `POST /test/fleet/knobs` `{"region": "eu", …}`: changes the Fleet knobs given.
pub async fn set_fleet_knobs(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let fleet = sim.cloud().fleet();
    match patched(&fleet.knobs(), &body) {
        Ok(knobs) => {
            fleet.set_knobs(knobs.clone());
            axum::Json(json!({ "knobs": knobs })).into_response()
        }
        Err(message) => bad_request(message),
    }
}

/// `POST /test/cloud/expire-tokens`: every issued Owner and Fleet access token expires (the next
/// call answers 401 and the client must refresh).
pub async fn expire_tokens(State(sim): State<Arc<Sim>>) -> Response {
    sim.cloud().registry().expire_access_tokens();
    sim.cloud().fleet().registry().expire_access_tokens();
    axum::Json(json!({ "expired": true })).into_response()
}

/// `POST /test/cloud/renumber-site`: the site gets a new id (same gateway), the old id answers 404.
pub async fn renumber_site(State(sim): State<Arc<Sim>>) -> Response {
    let site_id = sim.cloud().renumber();
    axum::Json(json!({ "site_id": site_id })).into_response()
}

/// `POST /test/fleet/rate-limit` `{"style": "seconds"|"http_date"|"body"|"unnamed", "secs": 30,
/// "times": 3}`: the next `times` Fleet answers are 429; `DELETE` (or `{}`) stops it.
pub async fn set_fleet_rate_limit(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let limit: Value = match parse_body(&body) {
        Ok(limit) => limit,
        Err(message) => return bad_request(message),
    };
    if limit.as_object().is_some_and(serde_json::Map::is_empty) {
        return clear_fleet_rate_limit(State(sim)).await;
    }
    match serde_json::from_value::<FleetRateLimit>(limit) {
        Ok(limit) => {
            sim.cloud().fleet().set_rate_limit(Some(limit.clone()));
            axum::Json(json!({ "rate_limit": limit })).into_response()
        }
        Err(error) => bad_request(format!("invalid rate limit: {error}")),
    }
}

/// `DELETE /test/fleet/rate-limit`: normal service.
pub async fn clear_fleet_rate_limit(State(sim): State<Arc<Sim>>) -> Response {
    sim.cloud().fleet().set_rate_limit(None);
    axum::Json(json!({ "rate_limit": null })).into_response()
}

/// `GET /test/fleet/public-key`: the hosted developer public key, else 404.
pub async fn fleet_public_key(State(sim): State<Arc<Sim>>) -> Response {
    match sim.cloud().fleet().public_key_pem() {
        Some(pem) => pem.into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "no public key hosted").into_response(),
    }
}

/// `POST /test/fleet/public-key` with the PEM as body: hosts it on the cloud listener, as a user
/// uploads it to the developer domain (manual Fleet setup demos).
pub async fn host_fleet_public_key(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let Ok(pem) = String::from_utf8(body.to_vec()) else {
        return bad_request("the body must be the PEM text");
    };
    if !pem.contains("-----BEGIN PUBLIC KEY-----") {
        return bad_request("the body must be a PEM public key (-----BEGIN PUBLIC KEY-----)");
    }
    sim.cloud().fleet().set_public_key_pem(Some(pem));
    axum::Json(json!({ "hosted": true })).into_response()
}

/// `DELETE /test/fleet/public-key`: the key URL answers 404 again.
pub async fn unhost_fleet_public_key(State(sim): State<Arc<Sim>>) -> Response {
    sim.cloud().fleet().set_public_key_pem(None);
    axum::Json(json!({ "hosted": false })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::CloudKnobs;

    #[test]
    fn a_patch_changes_only_the_fields_given() {
        let current = CloudKnobs::default();
        let knobs: CloudKnobs = patched(&current, br#"{"token_lifetime_secs": 60}"#).unwrap();
        assert_eq!(knobs.token_lifetime_secs, 60);
        assert_eq!(
            CloudKnobs {
                token_lifetime_secs: current.token_lifetime_secs,
                ..knobs
            },
            current
        );
        assert!(patched(&current, br#"{"no_such_knob": true}"#).is_err());
        assert!(patched(&current, b"[1]").is_err());
        assert_eq!(patched(&current, b"").unwrap(), current);
    }
}
