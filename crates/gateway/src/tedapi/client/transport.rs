//! One TEDAPI HTTP exchange (gateway-protocols §2.1, §2.2, §2.12; proxy-api §8.1): credentials,
//! the single in-flight permit, counting, and what each status means for [`GatewayGuard`].
//!
//! The wire is behind the small [`Transport`] trait so tests can replace it with a fake that
//! records requests and concurrency; everything protective lives above it, in the client.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

use super::{TedapiAuthMode, TedapiClient};
use crate::GatewayError;
use crate::policy::GatewayGuard;

/// The Basic-auth user of TEDAPI requests (the password is the gateway password).
pub const BASIC_USER: &str = "Tesla_Energy_Device";
/// Content type of every TEDAPI request, the bearer login included (§2.12 quirk).
pub const OCTET_STREAM: &str = "application/octet-stream";

/// HTTP method of an exchange (TEDAPI uses only these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

/// A request as it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    /// Path on the gateway, e.g. `/tedapi/v1`.
    pub(crate) path: String,
    /// What the request asks for (`status`, `config`, `components <DIN>`, …): its line in
    /// `/health`'s plan.
    pub(crate) query: String,
    /// The `Authorization` header value (a credential: never printed).
    pub(crate) authorization: String,
    /// The `Content-Type` header value ([`OCTET_STREAM`] on every TEDAPI request).
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("authorization", &"***")
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A complete answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Incoming {
    pub(crate) status: u16,
    /// `Retry-After`, already read against the wall clock.
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Bytes,
}

/// Why an exchange produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TransportError {
    /// Connect or read timeout.
    Timeout,
    /// Any other transport failure, with the cause chain.
    Unreachable(String),
}

/// Sends one request and returns the whole answer; no retries of any kind.
#[async_trait::async_trait]
pub(crate) trait Transport: Send + Sync + fmt::Debug + 'static {
    async fn send(&self, request: Outgoing) -> Result<Incoming, TransportError>;
}

/// The real transport: the crate's one gateway HTTP client.
#[derive(Debug)]
pub(crate) struct HttpTransport {
    pub(crate) http: reqwest::Client,
    /// `https://host[:port]`.
    pub(crate) base_url: String,
}

#[async_trait::async_trait]
impl Transport for HttpTransport {
    async fn send(&self, request: Outgoing) -> Result<Incoming, TransportError> {
        let url = format!("{}{}", self.base_url, request.path);
        let builder = match request.method {
            Method::Get => self.http.get(url),
            Method::Post => self.http.post(url).body(request.body),
        };
        let mut builder = builder.header(CONTENT_TYPE, request.content_type);
        if !request.authorization.is_empty() {
            builder = builder.header(AUTHORIZATION, request.authorization);
        }
        let received = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let retry_after = crate::http::retry_after(response.headers(), SystemTime::now());
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Incoming {
                status,
                retry_after,
                body,
            })
        }
        .await;
        received.map_err(|err| {
            if err.is_timeout() {
                return TransportError::Timeout;
            }
            let mut detail = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                detail.push_str(": ");
                detail.push_str(&cause.to_string());
                source = cause.source();
            }
            TransportError::Unreachable(detail)
        })
    }
}

/// `Authorization` value of Basic auth with the gateway password.
pub(crate) fn basic_authorization(gateway_password: &str) -> String {
    let pair = format!("{BASIC_USER}:{gateway_password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `Authorization` value of the bearer variant.
pub(crate) fn bearer_authorization(token: &str) -> String {
    format!("Bearer {token}")
}

/// Which kind of request a non-2xx status answers, for [`status_error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// A request authenticated with Basic auth (the gateway password itself).
    Basic,
    /// The bearer login (`POST /api/login/Basic`).
    BearerLogin,
    /// A request carrying a bearer token.
    Bearer,
}

/// Records a non-2xx answer in the guard and returns the error the caller sees.
///
/// 429/503 pause every TEDAPI request for `max(300 s, Retry-After)`; a 401/403 to the gateway
/// password (Basic auth or the bearer login) is a wrong password and starts the login back-off,
/// so a wrong password is not retried at the poll rate; a 401/403 to a bearer token asks for a
/// re-login; anything else is a plain status error.
pub(crate) fn status_error(
    guard: &GatewayGuard,
    target: &str,
    path: &str,
    answer: &Incoming,
    sent: Sent,
) -> GatewayError {
    let status = answer.status;
    match (status, sent) {
        (429 | 503, _) => {
            let pause = guard.start_cooldown(answer.retry_after);
            tracing::warn!(path, status, ?pause, "TEDAPI busy: pausing all requests");
            GatewayError::RateLimited {
                path: path.to_owned(),
                status,
                retry_after: pause,
            }
        }
        (401 | 403, Sent::Basic | Sent::BearerLogin) => {
            let backoff = guard.login_rejected(status);
            // The caller reports the returned error; this line traces the decision.
            tracing::debug!(path, status, ?backoff, "gateway password rejected");
            GatewayError::LoginRejected {
                target: target.to_owned(),
                status,
                credential: "PW_GW_PWD (the gateway password)",
            }
        }
        (401 | 403, Sent::Bearer) => GatewayError::Unauthorized {
            path: path.to_owned(),
            status,
        },
        _ => GatewayError::Status {
            path: path.to_owned(),
            status,
        },
    }
}

impl TedapiClient {
    /// Sends one request while holding the client's single in-flight permit, counting it.
    ///
    /// The guard is consulted after the permit is granted, because a cooldown may have started
    /// while this request waited for its turn. Any status comes back as an answer.
    pub(crate) async fn exchange(
        &self,
        request: Outgoing,
        login: bool,
    ) -> Result<Incoming, GatewayError> {
        let _permit = self
            .in_flight
            .enter(&self.target, self.config.timeout)
            .await?;
        self.guard.admit(&request.path)?;
        if login || self.config.auth_mode == TedapiAuthMode::Basic {
            // Every Basic request presents the password, so its back-off applies to all of them.
            self.guard.admit_login(&self.target)?;
        }
        if login {
            self.counters.login();
        } else {
            self.counters.request();
        }
        self.activity.record(&request.query);
        let path = request.path.clone();
        match self.transport.send(request).await {
            Ok(answer) => {
                tracing::debug!(path, status = answer.status, "TEDAPI answered");
                if !(200..300).contains(&answer.status) {
                    self.counters.error();
                }
                Ok(answer)
            }
            Err(err) => {
                self.counters.error();
                Err(match err {
                    TransportError::Timeout => GatewayError::Timeout {
                        target: self.target.clone(),
                        timeout: self.config.timeout,
                    },
                    TransportError::Unreachable(detail) => GatewayError::Unreachable {
                        target: self.target.clone(),
                        detail,
                    },
                })
            }
        }
    }

    /// Sends an authenticated TEDAPI request and returns the 2xx body; in bearer mode a 401/403
    /// leads to one re-login (at most one per [`crate::policy::RELOGIN_WINDOW`]) and one resend
    /// of the identical bytes.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Vec<u8>,
    ) -> Result<Bytes, GatewayError> {
        let (authorization, sent) = match self.config.auth_mode {
            TedapiAuthMode::Basic => (self.basic_header.clone(), Sent::Basic),
            TedapiAuthMode::Bearer => (bearer_authorization(&self.token().await?), Sent::Bearer),
        };
        let outgoing = Outgoing {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            authorization,
            content_type: OCTET_STREAM,
            body,
        };
        let answer = self.exchange(outgoing.clone(), false).await?;
        if (200..300).contains(&answer.status) {
            if sent == Sent::Basic {
                self.guard.login_succeeded();
            }
            return Ok(answer.body);
        }
        let error = status_error(&self.guard, &self.target, path, &answer, sent);
        if !matches!(error, GatewayError::Unauthorized { .. }) || !self.guard.try_claim_relogin() {
            return Err(error);
        }
        tracing::info!(path, "bearer token rejected: logging in again");
        self.drop_token();
        let retry = Outgoing {
            authorization: bearer_authorization(&self.token().await?),
            ..outgoing
        };
        let answer = self.exchange(retry, false).await?;
        if (200..300).contains(&answer.status) {
            return Ok(answer.body);
        }
        Err(status_error(&self.guard, &self.target, path, &answer, sent))
    }
}
