//! Counts every gateway API request (everything outside `/test`) and keeps a short request log,
//! so tests can assert how often and how a client talked to the gateway.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use crate::local::auth::Credentials;
use crate::model::clock::ns_to_secs;
use crate::sim::Sim;
use crate::tedapi::label::{Labelled, label};

const LOG_CAPACITY: usize = 1_000;

/// Request counts: the total, per `METHOD /path[?query]` and per TEDAPI query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CounterSnapshot {
    /// Every gateway request, including logins and requests answered with an injected fault.
    pub api_total: u64,
    /// Per method and path; the query string is part of the key when present.
    pub by_path: BTreeMap<String, u64>,
    /// Per what was asked: TEDAPI requests by payload (`config`, `device_controller_full`,
    /// `components <DIN>`, `din`, …), every other request under its `by_path` key, so the values
    /// add up to `api_total`.
    pub by_query: BTreeMap<String, u64>,
}

/// One logged request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Credentials presented: `none`, `cookie`, `bearer` or `cookie+bearer`.
    pub auth: &'static str,
    /// Simulation time of arrival, Unix seconds.
    pub at: f64,
}

/// Counts and the most recent requests.
#[derive(Debug, Default)]
pub struct RequestCounter {
    counts: CounterSnapshot,
    log: VecDeque<RequestRecord>,
}

impl RequestCounter {
    /// Records one request; `label` names a TEDAPI request's payload (`None`: count it under
    /// its path in `by_query` too).
    pub fn record(&mut self, record: RequestRecord, label: Option<String>) {
        let key = match &record.query {
            Some(query) => format!("{} {}?{query}", record.method, record.path),
            None => format!("{} {}", record.method, record.path),
        };
        self.counts.api_total += 1;
        *self
            .counts
            .by_query
            .entry(label.unwrap_or_else(|| key.clone()))
            .or_default() += 1;
        *self.counts.by_path.entry(key).or_default() += 1;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(record);
    }

    /// Current counts.
    pub fn snapshot(&self) -> CounterSnapshot {
        self.counts.clone()
    }

    /// Zeroes counts and log; returns the zeroed counts.
    pub fn reset(&mut self) -> CounterSnapshot {
        *self = Self::default();
        self.snapshot()
    }

    /// Logged requests, oldest first.
    pub fn log(&self) -> Vec<RequestRecord> {
        self.log.iter().cloned().collect()
    }
}

fn auth_kind(credentials: &Credentials) -> &'static str {
    match (credentials.cookie.is_some(), credentials.bearer.is_some()) {
        (false, false) => "none",
        (true, false) => "cookie",
        (false, true) => "bearer",
        (true, true) => "cookie+bearer",
    }
}

/// Middleware counting each gateway request on arrival (before faults or auth can answer).
/// TEDAPI bodies are read here to label the query, then handed on unchanged.
pub async fn count(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let record = RequestRecord {
        method: request.method().as_str().to_owned(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        auth: auth_kind(&Credentials::from_headers(request.headers())),
        at: ns_to_secs(sim.now_ns()),
    };
    match label(request).await {
        Labelled::Pass(request, label) => {
            sim.counter().record(record, label);
            next.run(request).await
        }
        Labelled::Refused(response, label) => {
            sim.counter().record(record, Some(label));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(method: &str, path: &str, query: Option<&str>) -> RequestRecord {
        RequestRecord {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.map(str::to_owned),
            auth: "none",
            at: 0.0,
        }
    }

    #[test]
    fn counts_by_method_path_and_query() {
        let mut counter = RequestCounter::default();
        counter.record(record("GET", "/api/status", None), None);
        counter.record(record("GET", "/api/status", None), None);
        counter.record(record("GET", "/api/status", Some("x=1")), None);
        counter.record(record("POST", "/api/login/Basic", None), None);
        let snapshot = counter.snapshot();
        assert_eq!(snapshot.api_total, 4);
        assert_eq!(snapshot.by_path["GET /api/status"], 2);
        assert_eq!(snapshot.by_path["GET /api/status?x=1"], 1);
        assert_eq!(snapshot.by_path["POST /api/login/Basic"], 1);
        assert_eq!(snapshot.by_query, snapshot.by_path);
        assert_eq!(counter.log().len(), 4);
        assert_eq!(counter.reset(), CounterSnapshot::default());
        assert!(counter.log().is_empty());
    }

    #[test]
    fn tedapi_requests_count_by_query_too() {
        let mut counter = RequestCounter::default();
        let label = |text: &str| Some(text.to_owned());
        counter.record(record("POST", "/tedapi/v1", None), label("config"));
        counter.record(record("POST", "/tedapi/v1", None), label("components"));
        counter.record(record("POST", "/tedapi/v1", None), label("components"));
        counter.record(record("GET", "/api/status", None), None);
        let snapshot = counter.snapshot();
        assert_eq!(snapshot.by_path["POST /tedapi/v1"], 3);
        assert_eq!(snapshot.by_query["config"], 1);
        assert_eq!(snapshot.by_query["components"], 2);
        assert_eq!(snapshot.by_query["GET /api/status"], 1);
        assert!(!snapshot.by_query.contains_key("POST /tedapi/v1"));
        assert_eq!(snapshot.by_query.values().sum::<u64>(), snapshot.api_total);
    }
}
