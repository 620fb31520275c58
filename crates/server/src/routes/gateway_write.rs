//! `POST /api/gateways/<id>/api/<path>`: authenticated writes to one gateway (server-api §2.3).
//!
//! The token is checked first (before the body is even looked at), as `Authorization: Bearer
//! <secret>` or the bare secret, in constant time. Unlike the original, arbitrary gateway paths are
//! not relayed: only `/api/operation` (`real_mode`, `backup_reserve_percent` on the gateway's own
//! raw scale) is written, through the gateway client's own write (the gateway's controller, never
//! the hybrid cloud link, which reads back what it wrote); every other control goes through
//! `/api/gateways/<id>/control/<action>`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use powerwall_gateway::{OperationMode, ReserveLevel};
use serde_json::Value;

use super::control::token::token_matches;
use super::gateways::detail;
use super::{AppState, framing};
use crate::engine::control::{Command, ControlError};

/// Largest body accepted (an operation document is a few dozen bytes).
const MAX_BODY: usize = 4096;

/// Why a write request is refused before reaching the gateway: status and detail.
type Refusal = (StatusCode, String);

fn refusal(status: StatusCode, message: &str) -> Refusal {
    (status, message.to_owned())
}

/// Control enabled and the `Authorization` header carries the secret.
fn authorise(state: &AppState, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(secret) = state.settings().control.secret.as_ref() else {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "Control features not enabled",
        ));
    };
    let Some(given) = headers.get(header::AUTHORIZATION) else {
        return Err(refusal(
            StatusCode::UNAUTHORIZED,
            "Authorization header required",
        ));
    };
    let given = given.as_bytes();
    let token = given.strip_prefix(b"Bearer ").unwrap_or(given);
    if token_matches(token, secret.expose().as_bytes()) {
        Ok(())
    } else {
        tracing::warn!("gateway API write refused: invalid control token");
        Err(refusal(StatusCode::UNAUTHORIZED, "Invalid control token"))
    }
}

/// The operation fields of a write body, validated.
fn operation_fields(
    body: &serde_json::Map<String, Value>,
) -> Result<(Option<ReserveLevel>, Option<OperationMode>), String> {
    if let Some(key) = body
        .keys()
        .find(|key| !matches!(key.as_str(), "real_mode" | "backup_reserve_percent"))
    {
        return Err(format!(
            "unknown field {key:?}: expected real_mode and/or backup_reserve_percent"
        ));
    }
    let mode = match body.get("real_mode") {
        None => None,
        Some(Value::String(text)) => Some(OperationMode::parse(text).ok_or_else(|| {
            "real_mode must be self_consumption, backup or autonomous".to_owned()
        })?),
        Some(_) => return Err("real_mode must be a string".to_owned()),
    };
    let reserve =
        match body.get("backup_reserve_percent") {
            None => None,
            Some(value) => Some(value.as_f64().and_then(ReserveLevel::new).ok_or_else(|| {
                "backup_reserve_percent must be a number from 0 to 100".to_owned()
            })?),
        };
    if mode.is_none() && reserve.is_none() {
        return Err("nothing to write: give real_mode and/or backup_reserve_percent".to_owned());
    }
    Ok((reserve, mode))
}

/// The write handler.
pub async fn write(
    State(state): State<AppState>,
    Path((id, path)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match write_reply(&state, &id, &path, &headers, &body).await {
        Ok(response) => {
            state.stats().count_post();
            response
        }
        Err((status, message)) => {
            state.stats().count_error();
            detail(status, &message)
        }
    }
}

async fn write_reply(
    state: &AppState,
    id: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Refusal> {
    authorise(state, headers)?;
    let Some(gateway) = state.gateways().get(id) else {
        return Err((StatusCode::NOT_FOUND, format!("Gateway {id} not found")));
    };
    if body.len() > MAX_BODY {
        return Err(refusal(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err(refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body must be a JSON object",
        ));
    };
    if path.trim_matches('/') != "operation" {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            "only /api/operation is written through the gateway API; use \
             /api/gateways/<id>/control/<action> for other controls",
        ));
    }
    let (reserve, mode) =
        operation_fields(&fields).map_err(|message| (StatusCode::BAD_REQUEST, message))?;
    let Some(command) = Command::operation(reserve, mode) else {
        return Err(refusal(StatusCode::BAD_REQUEST, "nothing to write"));
    };
    match gateway.controller.apply_direct(command).await {
        Ok(outcome) => {
            tracing::info!(
                "gateway {id}: operation written through the gateway API (reserve {}, mode {})",
                reserve.map_or_else(|| "unchanged".to_owned(), |level| level.to_string()),
                mode.map_or("unchanged", OperationMode::as_str)
            );
            Ok(json_reply(&outcome.result))
        }
        // The gateway answered, with a failure: its answer is relayed as it came.
        Err(ControlError::Rejected(result)) => Ok(json_reply(&result)),
        Err(err) => {
            tracing::warn!("gateway {id}: operation write failed: {err}");
            Err(refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "API call failed or gateway offline",
            ))
        }
    }
}

/// The backend's document as compact JSON.
fn json_reply(result: &Value) -> Response {
    let bytes = serde_json::to_vec(result).unwrap_or_default();
    framing::json(bytes.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> serde_json::Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn operation_bodies() {
        let (reserve, mode) = operation_fields(&fields(
            json!({"real_mode": "backup", "backup_reserve_percent": 40}),
        ))
        .unwrap();
        assert_eq!(reserve.map(ReserveLevel::percent), Some(40.0));
        assert_eq!(mode, Some(OperationMode::Backup));
        for bad in [
            json!({}),
            json!({"real_mode": "turbo"}),
            json!({"backup_reserve_percent": 101}),
            json!({"backup_reserve_percent": "40"}),
            json!({"real_mode": "backup", "gw_pwd": "x"}),
        ] {
            assert!(operation_fields(&fields(bad.clone())).is_err(), "{bad}");
        }
    }
}
