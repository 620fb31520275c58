//! Fault injection per path, switchable at run time (gateway-protocols §10.8).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::local::auth::{self, Credentials};
use crate::local::gateway_error;
use crate::sim::Sim;

/// Longest accepted injected delay (10 minutes): long enough for any client timeout.
const MAX_DELAY_MS: u64 = 600_000;
/// Largest body the `malformed` fault buffers before truncating.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `status` with a JSON error body (and `Retry-After` when `retry_after` is set).
    Status,
    /// Wait `delay_ms` (real time), then answer normally.
    Delay,
    /// Close the connection without any response.
    Drop,
    /// Invalidate the requester's session and answer 401 "Token Expired".
    ExpireSession,
    /// Answer 200 with the normal body cut in half.
    Malformed,
}

/// A fault as posted to `/test/faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Exact request path, `*` for every gateway path, or a prefix ending in `*`.
    pub path: String,
    /// What to do.
    pub kind: FaultKind,
    /// HTTP status for `status` faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds to send with a `status` fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Delay for `delay` faults, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// How many matching requests to affect; absent = until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl FaultSpec {
    fn new(path: &str, kind: FaultKind) -> Self {
        Self {
            path: path.to_owned(),
            kind,
            status: None,
            retry_after: None,
            delay_ms: None,
            times: None,
        }
    }

    /// Answer `status` on `path` until cleared.
    pub fn status(path: &str, status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::new(path, FaultKind::Status)
        }
    }

    /// Wait `delay_ms` before answering requests for `path`.
    pub fn delay(path: &str, delay_ms: u64) -> Self {
        Self {
            delay_ms: Some(delay_ms),
            ..Self::new(path, FaultKind::Delay)
        }
    }

    /// Close connections asking for `path` without a response.
    pub fn drop_connection(path: &str) -> Self {
        Self::new(path, FaultKind::Drop)
    }

    /// Expire the requester's session on `path`.
    pub fn expire_session(path: &str) -> Self {
        Self::new(path, FaultKind::ExpireSession)
    }

    /// Truncate the answers for `path`.
    pub fn malformed(path: &str) -> Self {
        Self::new(path, FaultKind::Malformed)
    }

    /// Limits the fault to the next `times` matching requests.
    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }

    /// Adds a `Retry-After` header (seconds) to a status fault.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Checks the fields the kind needs.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.path == "*" || self.path.starts_with('/')) {
            return Err("path must start with '/' or be '*'".to_owned());
        }
        if self.times == Some(0) {
            return Err("times must be at least 1 (omit it for a permanent fault)".to_owned());
        }
        match self.kind {
            FaultKind::Status => match self.status {
                Some(status) if (200..=599).contains(&status) => Ok(()),
                Some(status) => Err(format!(
                    "status {status} is not an HTTP status from 200 to 599"
                )),
                None => Err("a status fault needs \"status\"".to_owned()),
            },
            FaultKind::Delay => match self.delay_ms {
                Some(delay) if delay <= MAX_DELAY_MS => Ok(()),
                Some(_) => Err(format!("delay_ms must be at most {MAX_DELAY_MS}")),
                None => Err("a delay fault needs \"delay_ms\"".to_owned()),
            },
            FaultKind::Drop | FaultKind::ExpireSession | FaultKind::Malformed => Ok(()),
        }
    }

    fn matches(&self, path: &str) -> bool {
        match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        }
    }
}

/// An active fault as listed by `GET /test/faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveFault {
    /// Id returned when it was added.
    pub id: u64,
    /// What was asked for.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Requests it will still affect (`null` = until cleared).
    pub remaining: Option<u32>,
    /// Requests it has affected so far.
    pub hits: u64,
}

/// Active faults, oldest first; the oldest matching fault wins.
#[derive(Debug, Default)]
pub struct FaultTable {
    next_id: u64,
    faults: Vec<ActiveFault>,
}

impl FaultTable {
    /// Adds a validated fault and returns its id.
    pub fn add(&mut self, spec: FaultSpec) -> Result<u64, String> {
        spec.validate()?;
        self.next_id += 1;
        self.faults.push(ActiveFault {
            id: self.next_id,
            remaining: spec.times,
            spec,
            hits: 0,
        });
        Ok(self.next_id)
    }

    /// Takes the fault to apply to a request for `path`, if any, consuming one of its `times`.
    pub fn take(&mut self, path: &str) -> Option<FaultSpec> {
        let index = self
            .faults
            .iter()
            .position(|fault| fault.spec.matches(path))?;
        let fault = &mut self.faults[index];
        fault.hits += 1;
        let spec = fault.spec.clone();
        if let Some(remaining) = &mut fault.remaining {
            *remaining -= 1;
            if *remaining == 0 {
                self.faults.remove(index);
            }
        }
        Some(spec)
    }

    /// Active faults.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.faults.clone()
    }

    /// Removes one fault; false when no fault has that id.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.faults.len();
        self.faults.retain(|fault| fault.id != id);
        self.faults.len() != before
    }

    /// Removes every fault.
    pub fn clear(&mut self) {
        self.faults.clear();
    }
}

/// Middleware applying the first matching fault to a gateway request.
pub async fn inject(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let Some(fault) = sim.faults().take(request.uri().path()) else {
        return next.run(request).await;
    };
    tracing::debug!(path = %request.uri().path(), kind = ?fault.kind, "injecting fault");
    match fault.kind {
        FaultKind::Status => status_response(&fault),
        FaultKind::Delay => {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms.unwrap_or_default())).await;
            next.run(request).await
        }
        FaultKind::Drop => dropped_connection(),
        FaultKind::ExpireSession => {
            sim.sessions()
                .revoke(&Credentials::from_headers(request.headers()));
            auth::token_expired()
        }
        FaultKind::Malformed => truncate(next.run(request).await).await,
    }
}

fn status_response(fault: &FaultSpec) -> Response {
    let status = fault
        .status
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = gateway_error(
        status,
        status.canonical_reason().unwrap_or("Error"),
        "Injected fault",
    );
    if let Some(secs) = fault.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// A response whose body fails on its first poll: hyper then abandons the connection before
/// flushing the head, so the client sees the connection close with no response at all.
fn dropped_connection() -> Response {
    let failure = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected drop",
        ))
    });
    Response::new(Body::from_stream(failure))
}

async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let cut = if bytes.len() > 1 {
        bytes.slice(..bytes.len() / 2)
    } else {
        Bytes::from_static(b"{")
    };
    parts.status = StatusCode::OK;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str, kind: FaultKind) -> FaultSpec {
        FaultSpec {
            path: path.to_owned(),
            kind,
            status: Some(503),
            retry_after: None,
            delay_ms: Some(10),
            times: None,
        }
    }

    #[test]
    fn times_are_consumed_and_oldest_wins() {
        let mut table = FaultTable::default();
        let first = table
            .add(FaultSpec {
                times: Some(2),
                ..spec("/api/status", FaultKind::Status)
            })
            .unwrap();
        let second = table.add(spec("*", FaultKind::Drop)).unwrap();
        assert_eq!((first, second), (1, 2));
        assert_eq!(
            table.take("/api/status").map(|f| f.kind),
            Some(FaultKind::Status)
        );
        assert_eq!(
            table.take("/api/status").map(|f| f.kind),
            Some(FaultKind::Status)
        );
        assert_eq!(
            table.take("/api/status").map(|f| f.kind),
            Some(FaultKind::Drop)
        );
        assert_eq!(table.list().len(), 1);
        table.clear();
        assert_eq!(table.take("/api/status"), None);
    }

    #[test]
    fn prefix_patterns() {
        let fault = spec("/api/system_status*", FaultKind::Malformed);
        assert!(fault.matches("/api/system_status/soe"));
        assert!(fault.matches("/api/system_status"));
        assert!(!fault.matches("/api/status"));
    }

    #[test]
    fn validation_names_the_missing_field() {
        let mut bad = spec("/api/status", FaultKind::Status);
        bad.status = None;
        assert!(bad.validate().unwrap_err().contains("status"));
        bad.status = Some(42);
        assert!(bad.validate().is_err());
        assert!(spec("api/status", FaultKind::Drop).validate().is_err());
        let mut zero = spec("*", FaultKind::Drop);
        zero.times = Some(0);
        assert!(zero.validate().is_err());
    }
}
