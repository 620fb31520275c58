//! The POST algorithm (gateway-protocols §1.5) and the local backend's control writes (§7).
//!
//! `POST /api/operation` overwrites the whole document, so a missing reserve or mode is back-filled
//! from the current `/api/operation` (one GET, only when a field is missing). The reserve is sent
//! exactly as the caller gave it: the gateway's field is raw scale, and the reference proxy passes
//! the app-scale number from `/control/reserve` through unchanged (so `value=50` writes raw 50,
//! which the app shows as 47.4 %). Writes go through the same session, in-flight gate, cooldown
//! and counters as reads; a 401 renews the session once. This client keeps no positive cache, so
//! there is no cached `/api/operation` to invalidate here: the caller re-reads it after a write.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Map, Value};

use super::LocalClient;
use super::request::{Attempt, Outcome, Reply, apply_failure, classify, decode_body};
use super::session::Session;
use crate::control::{OperationMode, ReserveLevel};
use crate::{DataKind, GatewayError, RawBody};

/// The path of the operation document (read and write).
pub const OPERATION_PATH: &str = "/api/operation";

/// Builds the full-overwrite `POST /api/operation` body: the given fields, the missing ones taken
/// from `current` (the gateway's `/api/operation`, raw reserve as it stands). `Err` names the field
/// that could not be back-filled.
pub(crate) fn operation_body(
    reserve: Option<ReserveLevel>,
    mode: Option<OperationMode>,
    current: Option<&Value>,
) -> Result<Value, String> {
    let from_current = |field: &str| {
        current
            .and_then(|document| document.get(field))
            .filter(|value| !value.is_null())
            .cloned()
            .ok_or_else(|| format!("the current {OPERATION_PATH} has no {field} to keep"))
    };
    let reserve = match reserve {
        Some(level) => level.to_json(),
        None => {
            let value = from_current("backup_reserve_percent")?;
            if !value.is_number() {
                return Err(format!(
                    "the current backup_reserve_percent is not a number: {value}"
                ));
            }
            value
        }
    };
    let mode = match mode {
        Some(mode) => Value::from(mode.as_str()),
        None => {
            let value = from_current("real_mode")?;
            if !value.is_string() {
                return Err(format!("the current real_mode is not a string: {value}"));
            }
            value
        }
    };
    let mut body = Map::new();
    body.insert("backup_reserve_percent".to_owned(), reserve);
    body.insert("real_mode".to_owned(), mode);
    Ok(Value::Object(body))
}

/// What a POST answer means (§1.5): only 401 renews the session; a failure never puts the path in
/// the negative cache (that would stop the reads of the same path), but a 429 still pauses
/// everything.
pub(crate) fn classify_post(status: StatusCode, attempt: Attempt) -> Outcome {
    match status.as_u16() {
        200..=299 => Outcome::Success,
        401 if attempt == Attempt::First => Outcome::RenewSession,
        429 => classify(status, None, attempt),
        _ => Outcome::Failed,
    }
}

/// The result document of a successful POST: JSON as sent, other text as a JSON string.
pub(crate) fn post_result(path: &str, reply: Reply) -> Result<Value, GatewayError> {
    let content_type = reply
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    match decode_body(path, content_type.as_deref(), reply.body, false)? {
        RawBody::Json(document) => Ok(document),
        RawBody::Text(text) => Ok(serde_json::from_str(&text).unwrap_or(Value::String(text))),
        RawBody::Bytes(_) => Err(GatewayError::Malformed {
            path: path.to_owned(),
            detail: "expected JSON, got binary content".to_owned(),
        }),
    }
}

impl LocalClient {
    /// `POST /api/operation` with the full-overwrite body; answers the gateway's result.
    pub(crate) async fn write_operation(
        &self,
        reserve: Option<ReserveLevel>,
        mode: Option<OperationMode>,
    ) -> Result<Value, GatewayError> {
        if reserve.is_none() && mode.is_none() {
            return Err(GatewayError::Config(
                "an operation write needs a reserve or a mode".to_owned(),
            ));
        }
        let current = if reserve.is_none() || mode.is_none() {
            Some(self.fetch_operation_for_backfill().await?)
        } else {
            None
        };
        let body = operation_body(reserve, mode, current.as_ref()).map_err(|detail| {
            GatewayError::Malformed {
                path: OPERATION_PATH.to_owned(),
                detail,
            }
        })?;
        let result = self.post_json(OPERATION_PATH, &body).await?;
        tracing::debug!(path = OPERATION_PATH, %body, "operation written");
        Ok(result)
    }

    async fn fetch_operation_for_backfill(&self) -> Result<Value, GatewayError> {
        use crate::GatewayAccess;
        self.fetch(DataKind::Operation).await
    }

    /// One JSON POST by the §1.5 rules.
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Result<Value, GatewayError> {
        self.guard.admit(path)?;
        let session = self.session().await?;
        let first = self.send_post(path, &session, body).await?;
        let (reply, attempt) = match classify_post(first.status, Attempt::First) {
            Outcome::RenewSession => {
                let renewed = self
                    .renew_session(&session, path, first.status.as_u16())
                    .await?;
                (self.send_post(path, &renewed, body).await?, Attempt::Retry)
            }
            _ => (first, Attempt::First),
        };
        match classify_post(reply.status, attempt) {
            Outcome::Success => post_result(path, reply),
            Outcome::RateLimited { .. } => {
                let outcome = classify(reply.status, reply.retry_after(), attempt);
                Err(apply_failure(&self.guard, path, reply.status, outcome))
            }
            _ if matches!(reply.status.as_u16(), 401 | 403) => Err(GatewayError::Unauthorized {
                path: path.to_owned(),
                status: reply.status.as_u16(),
            }),
            _ => Err(GatewayError::Status {
                path: path.to_owned(),
                status: reply.status.as_u16(),
            }),
        }
    }

    async fn send_post(
        &self,
        path: &str,
        session: &Session,
        body: &Value,
    ) -> Result<Reply, GatewayError> {
        let (name, value) = session.header();
        let request = self
            .http
            .post(self.url(path))
            .header(name, value)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.to_string());
        self.exchange(request, path, false).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn level(percent: u64) -> Option<ReserveLevel> {
        ReserveLevel::whole(percent)
    }

    #[test]
    fn body_sends_given_fields_without_reading() {
        let body = operation_body(level(50), Some(OperationMode::Backup), None).expect("complete");
        assert_eq!(
            body.to_string(),
            r#"{"backup_reserve_percent":50,"real_mode":"backup"}"#
        );
    }

    #[test]
    fn body_backfills_missing_fields_from_the_current_document() {
        let current = json!({
            "real_mode": "self_consumption",
            "backup_reserve_percent": 23.975388,
            "freq_shift_load_shed_soe": 65,
        });
        let body = operation_body(level(50), None, Some(&current)).expect("back-filled");
        assert_eq!(
            body,
            json!({"backup_reserve_percent": 50, "real_mode": "self_consumption"})
        );
        // The raw reserve is kept exactly as the gateway reported it.
        let body =
            operation_body(None, Some(OperationMode::Autonomous), Some(&current)).expect("ok");
        assert_eq!(
            body.to_string(),
            r#"{"backup_reserve_percent":23.975388,"real_mode":"autonomous"}"#
        );
        // The reserve is sent as given (no scale conversion): 0 stays 0, never `false`.
        let body = operation_body(level(0), None, Some(&current)).expect("ok");
        assert_eq!(body["backup_reserve_percent"], json!(0));
    }

    #[test]
    fn body_refuses_to_guess_a_missing_field() {
        let cases = [
            (None, json!({"backup_reserve_percent": 20})),
            (
                None,
                json!({"real_mode": null, "backup_reserve_percent": 20}),
            ),
            (None, json!({"real_mode": 3, "backup_reserve_percent": 20})),
        ];
        for (reserve, current) in cases {
            let err = operation_body(reserve, None, Some(&current)).expect_err("no mode");
            assert!(err.contains("real_mode"), "{err}");
        }
        let err = operation_body(None, Some(OperationMode::Backup), Some(&json!({})))
            .expect_err("no reserve");
        assert!(err.contains("backup_reserve_percent"), "{err}");
        let err = operation_body(
            None,
            Some(OperationMode::Backup),
            Some(&json!({"backup_reserve_percent": "20"})),
        )
        .expect_err("not a number");
        assert!(err.contains("not a number"), "{err}");
        assert!(operation_body(level(1), None, None).is_err());
    }

    #[test]
    fn post_statuses() {
        let status = |code| StatusCode::from_u16(code).expect("valid");
        assert_eq!(classify_post(status(200), Attempt::First), Outcome::Success);
        assert_eq!(
            classify_post(status(401), Attempt::First),
            Outcome::RenewSession
        );
        assert_eq!(classify_post(status(401), Attempt::Retry), Outcome::Failed);
        for code in [403, 404, 400, 500, 503] {
            assert_eq!(
                classify_post(status(code), Attempt::First),
                Outcome::Failed,
                "{code}"
            );
        }
        assert!(matches!(
            classify_post(status(429), Attempt::First),
            Outcome::RateLimited { .. }
        ));
    }

    fn reply(content_type: &str, body: &'static str) -> Reply {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Ok(value) = content_type.parse() {
            headers.insert(CONTENT_TYPE, value);
        }
        Reply {
            status: StatusCode::OK,
            headers,
            body: bytes::Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn post_results() {
        let doc = post_result(
            OPERATION_PATH,
            reply("application/json", r#"{"real_mode":"backup"}"#),
        )
        .expect("json");
        assert_eq!(doc, json!({"real_mode": "backup"}));
        let doc = post_result(OPERATION_PATH, reply("text/plain", r#"{"a":1}"#)).expect("text");
        assert_eq!(doc, json!({"a": 1}));
        let doc = post_result(OPERATION_PATH, reply("text/plain", "Updated")).expect("text");
        assert_eq!(doc, json!("Updated"));
        let err = post_result(OPERATION_PATH, reply("application/json", "")).expect_err("empty");
        assert!(matches!(err, GatewayError::Empty { .. }), "{err}");
        let err =
            post_result(OPERATION_PATH, reply("application/json", "{")).expect_err("malformed");
        assert!(matches!(err, GatewayError::Malformed { .. }), "{err}");
    }

    #[tokio::test]
    async fn local_writes_need_a_field_and_respect_the_guard() {
        use crate::local::LocalConfig;
        use crate::{GatewayAccess, GatewayControl, GridExportRule};
        let client = LocalClient::new(LocalConfig::new("127.0.0.1:9", "ABCDE")).expect("valid");
        let err = client.set_operation(None, None).await.expect_err("empty");
        assert!(matches!(err, GatewayError::Config(_)), "{err}");
        let err = client.set_grid_charging(true).await.expect_err("local");
        assert!(
            matches!(err, GatewayError::Unsupported { mode: "local", .. }),
            "{err}"
        );
        let err = client
            .set_grid_export(GridExportRule::PvOnly)
            .await
            .expect_err("local");
        assert!(matches!(err, GatewayError::Unsupported { .. }), "{err}");
        client.guard().start_cooldown(None);
        let err = client
            .set_operation(level(50), Some(OperationMode::Backup))
            .await
            .expect_err("cooling down");
        assert!(matches!(err, GatewayError::CoolingDown { .. }), "{err}");
        assert_eq!(client.upstream().requests, 0);
    }
}
