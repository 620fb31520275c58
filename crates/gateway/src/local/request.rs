//! The GET algorithm (gateway-protocols §1.4, proxy-api §8.1) without a positive cache: the server
//! owns caching. Status handling and body decoding are pure functions; the network glue is thin.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};

use super::LocalClient;
use super::catalogue::{STATUS_PATH, VITALS_PATH};
use super::session::Session;
use crate::policy::{
    GatewayGuard, NOT_FOUND_SUPPRESSION, UNAUTHORIZED_SUPPRESSION, rate_limit_pause,
};
use crate::{GatewayError, RawBody};

/// Whether an answer came to the first request or to the one retry after a re-login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The first request for the path.
    First,
    /// The retry after a 401/403 and a re-login.
    Retry,
}

/// What a status means for the gateway-protection state (the §8.1 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 2xx: decode the body.
    Success,
    /// 401/403 on the first attempt: re-login (if the limiter allows) and retry once.
    RenewSession,
    /// 401/403 again after the re-login: suppress the path.
    SessionRejected,
    /// 404: suppress the path.
    NotFound,
    /// 429: pause every request.
    RateLimited {
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// 503: suppress the path.
    Unavailable {
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Any other status: an error, nothing remembered.
    Failed,
}

/// Classifies a gateway answer (redirects are not followed, so a 3xx is a failure).
pub(crate) fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    attempt: Attempt,
) -> Outcome {
    match status.as_u16() {
        200..=299 => Outcome::Success,
        401 | 403 if attempt == Attempt::First => Outcome::RenewSession,
        401 | 403 => Outcome::SessionRejected,
        404 => Outcome::NotFound,
        429 => Outcome::RateLimited { retry_after },
        503 => Outcome::Unavailable { retry_after },
        _ => Outcome::Failed,
    }
}

/// Records a failed answer in the guard and returns the error the caller sees.
pub(crate) fn apply_failure(
    guard: &GatewayGuard,
    path: &str,
    status: StatusCode,
    outcome: Outcome,
) -> GatewayError {
    let path_owned = path.to_owned();
    let code = status.as_u16();
    match outcome {
        Outcome::Success | Outcome::Failed => GatewayError::Status {
            path: path_owned,
            status: code,
        },
        Outcome::RenewSession => GatewayError::Unauthorized {
            path: path_owned,
            status: code,
        },
        Outcome::SessionRejected => {
            guard.suppress(path, code, UNAUTHORIZED_SUPPRESSION);
            GatewayError::Unauthorized {
                path: path_owned,
                status: code,
            }
        }
        Outcome::NotFound => {
            guard.suppress(path, code, NOT_FOUND_SUPPRESSION);
            GatewayError::Status {
                path: path_owned,
                status: code,
            }
        }
        Outcome::RateLimited { retry_after } => {
            let pause = guard.start_cooldown(retry_after);
            // The caller reports the returned error; this line is for tracing the decision.
            tracing::debug!(path, ?pause, "gateway answered 429: pausing all requests");
            GatewayError::RateLimited {
                path: path_owned,
                status: code,
                retry_after: pause,
            }
        }
        Outcome::Unavailable { retry_after } => {
            let pause = rate_limit_pause(retry_after);
            guard.suppress(path, code, pause);
            tracing::warn!(path, ?pause, "gateway answered 503: pausing this path");
            GatewayError::RateLimited {
                path: path_owned,
                status: code,
                retry_after: pause,
            }
        }
    }
}

/// Decodes a 2xx body: raw paths (vitals) stay bytes; JSON by content type; other text as text;
/// binary content types (or non-UTF-8 bodies) as bytes. An empty body is an error.
pub(crate) fn decode_body(
    path: &str,
    content_type: Option<&str>,
    body: Bytes,
    raw: bool,
) -> Result<RawBody, GatewayError> {
    if body.is_empty() || (!raw && body.iter().all(u8::is_ascii_whitespace)) {
        return Err(GatewayError::Empty {
            path: path.to_owned(),
        });
    }
    if raw {
        return Ok(RawBody::Bytes(body));
    }
    let content_type = content_type.unwrap_or_default().to_ascii_lowercase();
    if content_type.contains("application/json") {
        return serde_json::from_slice(&body)
            .map(RawBody::Json)
            .map_err(|err| GatewayError::Malformed {
                path: path.to_owned(),
                detail: format!("invalid JSON: {err}"),
            });
    }
    let binary = [
        "application/octet-stream",
        "protobuf",
        "image/",
        "application/zip",
        "application/gzip",
    ];
    if binary.iter().any(|marker| content_type.contains(marker)) {
        return Ok(RawBody::Bytes(body));
    }
    match std::str::from_utf8(&body) {
        Ok(text) => Ok(RawBody::Text(text.to_owned())),
        Err(_) => Ok(RawBody::Bytes(body)),
    }
}

/// A passthrough path must stay on the gateway: absolute, printable ASCII, no spaces or fragment.
pub(crate) fn check_path(path: &str) -> Result<(), GatewayError> {
    let reason = if !path.starts_with('/') {
        Some("it must start with '/'")
    } else if path.starts_with("//") {
        Some("it must not start with '//'")
    } else if !path.bytes().all(|b| b.is_ascii_graphic()) {
        Some("it may contain only printable ASCII without spaces")
    } else if path.contains('#') {
        Some("it must not contain '#'")
    } else {
        None
    };
    match reason {
        Some(why) => Err(GatewayError::Config(format!(
            "invalid gateway path {path:?}: {why}"
        ))),
        None => Ok(()),
    }
}

/// One complete HTTP exchange: status, headers and the whole body.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The `Retry-After` delay, read against the wall clock.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        crate::http::retry_after(&self.headers, SystemTime::now())
    }

    fn content_type(&self) -> Option<&str> {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
    }
}

impl LocalClient {
    /// Reads a path by the §1.4 rules; a 404 on vitals checks whether the firmware dropped them.
    pub(crate) async fn read(&self, path: &str) -> Result<RawBody, GatewayError> {
        let result = self.get(path).await;
        if path == VITALS_PATH && matches!(result, Err(GatewayError::Status { status: 404, .. })) {
            if let Some(unsupported) = self.switch_off_vitals_if_removed().await {
                return Err(unsupported);
            }
        }
        result
    }

    async fn get(&self, path: &str) -> Result<RawBody, GatewayError> {
        if path == VITALS_PATH {
            if let Some(unsupported) = self.vitals_unsupported() {
                return Err(unsupported);
            }
        }
        // Cooldown and negative cache first: a held-back request sends nothing, not even a login.
        self.guard.admit(path)?;
        let session = self.session().await?;
        let first = self.send_get(path, &session).await?;
        let (reply, attempt) = match classify(first.status, None, Attempt::First) {
            Outcome::RenewSession => {
                let renewed = self
                    .renew_session(&session, path, first.status.as_u16())
                    .await?;
                (self.send_get(path, &renewed).await?, Attempt::Retry)
            }
            _ => (first, Attempt::First),
        };
        match classify(reply.status, reply.retry_after(), attempt) {
            Outcome::Success => {
                let content_type = reply.content_type().map(str::to_owned);
                decode_body(
                    path,
                    content_type.as_deref(),
                    reply.body,
                    path == VITALS_PATH,
                )
            }
            failure => Err(apply_failure(&self.guard, path, reply.status, failure)),
        }
    }

    async fn send_get(&self, path: &str, session: &Session) -> Result<Reply, GatewayError> {
        let (name, value) = session.header();
        let request = self.http.get(self.url(path)).header(name, value);
        self.exchange(request, path, false).await
    }

    /// Sends one request while holding the client's single in-flight permit, counting it.
    pub(crate) async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        path: &str,
        login: bool,
    ) -> Result<Reply, GatewayError> {
        let _permit = self
            .in_flight
            .enter(&self.target, self.config.timeout)
            .await?;
        // A cooldown may have started while this request waited for its turn.
        self.guard.admit(path)?;
        if login {
            self.counters.login();
        } else {
            self.counters.request();
        }
        self.activity.record(path.split('?').next().unwrap_or(path));
        let received = async {
            let response = request.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Reply {
                status,
                headers,
                body,
            })
        }
        .await;
        match received {
            Ok(reply) => {
                tracing::debug!(path, status = reply.status.as_u16(), "gateway answered");
                if !reply.status.is_success() {
                    self.counters.error();
                }
                Ok(reply)
            }
            Err(err) => {
                self.counters.error();
                Err(self.transport_error(&err))
            }
        }
    }

    fn transport_error(&self, err: &reqwest::Error) -> GatewayError {
        let target = self.target.clone();
        if err.is_timeout() {
            return GatewayError::Timeout {
                target,
                timeout: self.config.timeout,
            };
        }
        GatewayError::Unreachable {
            target,
            detail: crate::http::error_detail(err),
        }
    }

    /// After a vitals 404: reads the firmware version and, if it parses, switches vitals off for the
    /// life of the client (any parseable version counts, as in the reference; firmware 23.44.0 dropped them).
    async fn switch_off_vitals_if_removed(&self) -> Option<GatewayError> {
        let status = match self.get(STATUS_PATH).await {
            Ok(RawBody::Json(status)) => status,
            Ok(_) => return None,
            Err(err) => {
                tracing::debug!(error = %err, "cannot read the firmware version after a vitals 404");
                return None;
            }
        };
        let firmware = powerwall_model::GatewayStatus::from_json(&status)
            .ok()?
            .firmware()?;
        firmware.vint()?;
        if self
            .vitals_removed_by
            .set(firmware.as_str().to_owned())
            .is_ok()
        {
            tracing::info!(
                firmware = firmware.as_str(),
                "the gateway has no /api/devices/vitals; vitals are off"
            );
        }
        self.vitals_unsupported()
    }

    pub(crate) fn vitals_unsupported(&self) -> Option<GatewayError> {
        self.vitals_removed_by
            .get()
            .map(|firmware| GatewayError::Unsupported {
                mode: "local",
                what: format!(
                    "{VITALS_PATH} (removed in firmware 23.44.0; this gateway runs {firmware})"
                ),
            })
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
