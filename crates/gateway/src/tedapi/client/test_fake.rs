//! An in-process fake TEDAPI gateway for the client tests: serves the PW2 sample
//! (`config.json`, `status.json`) or a PW3 config, records every request and the highest number
//! of requests it saw at once, and lets a test override answers.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use super::transport::{Incoming, Method, Outgoing, Transport, TransportError};
use super::*;
use crate::policy::TokioClock;
use crate::tedapi::wire::{
    QueryRole, RequestKind, TedapiReply, parse_request, payloads::GraphQlStatus, query_set,
};

pub(super) const DIN: &str = "1232100-00-E--TG123456789ABC";
pub(super) const PASSWORD: &str = "ABCDEFGHIJ";

pub(super) fn fixture(relative: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/tedapi")
        .join(relative);
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// What the fake gateway answers to one request: `None` uses the PW2 sample.
pub(super) type Override =
    Box<dyn Fn(&Outgoing) -> Option<Result<Incoming, TransportError>> + Send + Sync>;

/// A fake gateway serving `config.json` and `status.json`, recording every request and the
/// highest number of requests it saw at once.
pub(super) struct FakeGateway {
    config: Value,
    status: Value,
    components: Value,
    pub(super) log: Mutex<Vec<Outgoing>>,
    active: AtomicUsize,
    pub(super) max_active: AtomicUsize,
    override_: Mutex<Option<Override>>,
    /// A path that answers only after this long (a hanging gateway).
    slow: Mutex<Option<(String, Duration)>>,
}

impl std::fmt::Debug for FakeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeGateway")
    }
}

impl FakeGateway {
    pub(super) fn pw2() -> Arc<Self> {
        Self::with_config(fixture("config.json"))
    }

    pub(super) fn with_config(config: Value) -> Arc<Self> {
        Arc::new(Self {
            config,
            status: fixture("status.json"),
            components: fixture("pw3/components.leader.json"),
            log: Mutex::new(Vec::new()),
            active: AtomicUsize::new(0),
            max_active: AtomicUsize::new(0),
            override_: Mutex::new(None),
            slow: Mutex::new(None),
        })
    }

    pub(super) fn answer_with(&self, answer: Override) {
        *self.override_.lock().expect("lock") = Some(answer);
    }

    /// Makes requests for `path` take `delay` before they are answered.
    pub(super) fn slow_down(&self, path: &str, delay: Duration) {
        *self.slow.lock().expect("lock") = Some((path.to_owned(), delay));
    }

    /// Requests sent to `path`.
    pub(super) fn sent_to(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    pub(super) fn requests(&self) -> Vec<Outgoing> {
        self.log.lock().expect("lock").clone()
    }

    /// Requests whose body is the given query role.
    pub(super) fn queries(&self, role: QueryRole) -> usize {
        self.requests()
            .iter()
            .filter(|request| query_role(&request.body) == Some(role))
            .count()
    }

    fn sample_answer(&self, request: &Outgoing) -> Incoming {
        let ok = |body: Vec<u8>| Incoming {
            status: 200,
            retry_after: None,
            body: Bytes::from(body),
        };
        match (request.method, request.path.as_str()) {
            (Method::Get, "/") => ok(b"<html>portal</html>".to_vec()),
            (Method::Get, "/tedapi/din") => ok(format!("{DIN}\n").into_bytes()),
            (Method::Post, "/api/login/Basic") => ok(br#"{"token":"tok-1"}"#.to_vec()),
            (Method::Post, _) => {
                let received = parse_request(&request.body).expect("a TEDAPI request");
                let tail = received.external_auth;
                let reply = match received.kind() {
                    RequestKind::ReadFile(_) => TedapiReply::file(
                        DIN,
                        tail,
                        "config.json",
                        self.config.to_string().as_bytes(),
                        b"hash",
                    ),
                    // Firmware unknown, as in the golden files.
                    RequestKind::SystemInfo => TedapiReply::error(DIN, tail, 12, "unimplemented"),
                    RequestKind::Query(_) => {
                        let data = match query_role(&request.body) {
                            Some(QueryRole::Components) => &self.components,
                            _ => &self.status,
                        };
                        TedapiReply::query(
                            DIN,
                            tail,
                            GraphQlStatus::Success,
                            &data.to_string(),
                            Vec::new(),
                        )
                    }
                    RequestKind::Unsupported => TedapiReply::error(DIN, tail, 12, "no"),
                };
                ok(reply.to_body())
            }
            _ => Incoming {
                status: 404,
                retry_after: None,
                body: Bytes::new(),
            },
        }
    }
}

/// The query role of a basic request body (V2024_06).
pub(super) fn query_role(body: &[u8]) -> Option<QueryRole> {
    let received = parse_request(body).ok()?;
    let RequestKind::Query(query) = received.kind() else {
        return None;
    };
    let set = query_set(ApiVersion::V2024_06).ok()?;
    QueryRole::ALL
        .into_iter()
        .find(|role| set.for_role(*role).is_ok_and(|q| q.query == query.query))
}

#[async_trait::async_trait]
impl Transport for FakeGateway {
    async fn send(&self, request: Outgoing) -> Result<Incoming, TransportError> {
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_active.fetch_max(now, Ordering::SeqCst);
        self.log.lock().expect("lock").push(request.clone());
        // Holds the request open so overlapping requests would be seen.
        let delay = self
            .slow
            .lock()
            .expect("lock")
            .as_ref()
            .filter(|(path, _)| *path == request.path)
            .map_or(Duration::from_millis(20), |(_, delay)| *delay);
        tokio::time::sleep(delay).await;
        let answer = self
            .override_
            .lock()
            .expect("lock")
            .as_ref()
            .and_then(|answer| answer(&request))
            .unwrap_or_else(|| Ok(self.sample_answer(&request)));
        self.active.fetch_sub(1, Ordering::SeqCst);
        answer
    }
}

pub(super) fn config(auth_mode: TedapiAuthMode) -> TedapiConfig {
    TedapiConfig {
        auth_mode,
        ..TedapiConfig::new("127.0.0.1", PASSWORD)
    }
}

pub(super) fn client_over(fake: &Arc<FakeGateway>, auth_mode: TedapiAuthMode) -> Arc<TedapiClient> {
    client_with_clock(fake, config(auth_mode), Arc::new(TokioClock))
}

pub(super) fn client_with_clock(
    fake: &Arc<FakeGateway>,
    config: TedapiConfig,
    clock: Arc<dyn crate::policy::Clock>,
) -> Arc<TedapiClient> {
    let transport: Arc<dyn Transport> = Arc::clone(fake) as Arc<dyn Transport>;
    Arc::new(TedapiClient::with_transport(config, clock, transport).expect("client"))
}

pub(super) fn status(code: u16, retry_after: Option<u64>) -> Result<Incoming, TransportError> {
    Ok(Incoming {
        status: code,
        retry_after: retry_after.map(Duration::from_secs),
        body: Bytes::new(),
    })
}
