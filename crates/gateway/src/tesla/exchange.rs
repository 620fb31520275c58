//! One HTTP exchange with Tesla's cloud: counted, refused during the 429 back-off window, and
//! opening that window on a 429. Nothing here retries, except the Fleet API's one HTTP/1.1 retry
//! of a GET (or of a request that never connected) when a fallback client is given.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::time::Instant;

use super::lock;
use crate::cloud::transport::{Reply, transport_error};
use crate::policy::Clock;
use crate::{GatewayError, Secret, UpstreamCounters};

/// The 429 back-off window: while it is open nothing is sent.
#[derive(Debug)]
pub(crate) struct Backoff {
    clock: Arc<dyn Clock>,
    until: Mutex<Option<Instant>>,
}

impl Backoff {
    /// A closed window on `clock`.
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            until: Mutex::new(None),
        }
    }

    /// Time left in the window.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        let now = self.clock.now();
        let until = *lock(&self.until);
        until.filter(|until| now < *until).map(|until| until - now)
    }

    /// Opens (or lengthens, never shortens) the window for `pause`.
    pub(crate) fn start(&self, pause: Duration) {
        let until = self.clock.now() + pause;
        let mut slot = lock(&self.until);
        *slot = Some(slot.map_or(until, |old| old.max(until)));
    }
}

/// What tells the two services apart on the wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Service {
    /// Who answered, in the 429 warning ("Tesla cloud", "Fleet API").
    pub(crate) name: &'static str,
    /// What is paused, in the 429 warning ("cloud", "Fleet").
    pub(crate) paused: &'static str,
    /// The pause a 429 asks for (from its headers and body, at a wall-clock time).
    pub(crate) pause: fn(&HeaderMap, &[u8], SystemTime) -> Duration,
    /// `X-Tesla-User-Agent`, when the service wants one.
    pub(crate) tesla_user_agent: Option<&'static str>,
}

/// A request body.
pub(crate) enum Body<'a> {
    /// No body (`Content-Type: application/json` all the same, as the reference).
    None,
    /// JSON.
    Json(&'a Value),
    /// `application/x-www-form-urlencoded`.
    Form(&'a [(&'static str, String)]),
}

/// One request to send.
pub(crate) struct Request<'a> {
    /// The method.
    pub(crate) method: Method,
    /// The full URL.
    pub(crate) url: &'a str,
    /// The body.
    pub(crate) body: Body<'a>,
    /// The bearer token, if any.
    pub(crate) bearer: Option<&'a Secret>,
    /// The path named in errors and logs (never the URL's query).
    pub(crate) path: &'a str,
    /// Counted as a login instead of a request.
    pub(crate) login: bool,
    /// A timeout other than the client's.
    pub(crate) timeout: Option<Duration>,
    /// Told the status of every answer (the Fleet API's billing).
    pub(crate) on_answer: Option<&'a (dyn Fn(u16) + Sync)>,
}

impl<'a> Request<'a> {
    /// A request counted as a request, on the client's timeout, told to nobody.
    pub(crate) fn new(method: Method, url: &'a str, path: &'a str, body: Body<'a>) -> Self {
        Self {
            method,
            url,
            body,
            bearer: None,
            path,
            login: false,
            timeout: None,
            on_answer: None,
        }
    }
}

/// The HTTP side of a Tesla cloud client: its clients, counters and back-off window.
#[derive(Debug)]
pub(crate) struct Exchange {
    http: reqwest::Client,
    /// HTTP/1.1 only: tried once more after a failed exchange (Fleet API).
    fallback: Option<reqwest::Client>,
    target: String,
    timeout: Duration,
    service: Service,
    /// Every request, login and error sent through here.
    pub(crate) counters: UpstreamCounters,
    /// The 429 back-off window.
    pub(crate) backoff: Backoff,
}

impl Exchange {
    /// An exchange over `http` (and `fallback`) to `target`, on `clock`.
    pub(crate) fn new(
        http: reqwest::Client,
        fallback: Option<reqwest::Client>,
        target: String,
        timeout: Duration,
        service: Service,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            fallback,
            target,
            timeout,
            service,
            counters: UpstreamCounters::default(),
            backoff: Backoff::new(clock),
        }
    }

    /// The host the client talks to.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Sends one request (counted), honouring and starting the 429 back-off window.
    pub(crate) async fn send(&self, request: Request<'_>) -> Result<Reply, GatewayError> {
        if let Some(remaining) = self.backoff.remaining() {
            return Err(GatewayError::CoolingDown { remaining });
        }
        let Request {
            method,
            url,
            body,
            bearer,
            path,
            login,
            timeout,
            on_answer,
        } = request;
        let build = |client: &reqwest::Client| {
            let mut builder = client.request(method.clone(), url);
            if let Some(agent) = self.service.tesla_user_agent {
                builder = builder.header("X-Tesla-User-Agent", agent);
            }
            builder = builder.header(reqwest::header::ACCEPT, "application/json");
            if let Some(token) = bearer {
                builder = builder.bearer_auth(token.expose());
            }
            if let Some(timeout) = timeout {
                builder = builder.timeout(timeout);
            }
            match &body {
                Body::None => builder.header(reqwest::header::CONTENT_TYPE, "application/json"),
                Body::Json(value) => builder.json(value),
                Body::Form(pairs) => builder.form(pairs),
            }
        };
        if login {
            self.counters.login();
        } else {
            self.counters.request();
        }
        let response = match (build(&self.http).send().await, &self.fallback) {
            (Err(err), Some(fallback)) if method == Method::GET || err.is_connect() => {
                tracing::debug!(
                    path,
                    "{} exchange failed; trying HTTP/1.1",
                    self.service.name
                );
                self.counters.request();
                build(fallback).send().await
            }
            (outcome, _) => outcome,
        };
        let response = response.map_err(|err| self.failed(&err))?;
        let status = response.status().as_u16();
        if let Some(on_answer) = on_answer {
            on_answer(status);
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|err| self.failed(&err))?;
        if status >= 400 {
            self.counters.error();
        }
        if status == 429 {
            let pause = (self.service.pause)(&headers, &body, SystemTime::now());
            self.backoff.start(pause);
            tracing::warn!(
                path,
                ?pause,
                "{} answered 429: pausing {} requests",
                self.service.name,
                self.service.paused
            );
            return Err(GatewayError::RateLimited {
                path: path.to_owned(),
                status,
                retry_after: pause,
            });
        }
        Ok(Reply { status, body })
    }

    fn failed(&self, err: &reqwest::Error) -> GatewayError {
        self.counters.error();
        transport_error(&self.target, self.timeout, err)
    }
}
