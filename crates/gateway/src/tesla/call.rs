//! The authenticated call of both Tesla clients: the bearer token, a 401 → one refresh (shared by
//! concurrent callers) and one retry (the server refused before acting, so even a POST may be
//! sent again), and what every other status means. The client says how it authenticates
//! ([`Credentials`]).

use reqwest::Method;
use serde_json::Value;

use super::exchange::{Body, Exchange, Request};
use crate::cloud::auth::endpoint;
use crate::cloud::transport::Reply;
use crate::{GatewayError, Secret};

/// A bearer token, the token generation it belongs to, and the API base it is valid for.
pub(crate) struct Bearer {
    /// The access token.
    pub(crate) token: Secret,
    /// The generation the token was read at (see [`super::TokenGate`]).
    pub(crate) generation: u64,
    /// The API base URL (`https://…/`).
    pub(crate) base: String,
}

/// How a Tesla client authenticates, refreshes and reads its answers.
#[async_trait::async_trait]
pub(crate) trait Credentials: Send + Sync {
    /// The client's exchange (target, counters, 429 window).
    fn exchange(&self) -> &Exchange;

    /// The token to send now (loading or refreshing it first when needed).
    async fn bearer(&self) -> Result<Bearer, GatewayError>;

    /// Refreshes the tokens unless another caller already did since generation `seen`.
    async fn refresh(&self, seen: u64) -> Result<(), GatewayError>;

    /// The value of a 2xx answer.
    fn decode(&self, path: &str, body: &[u8]) -> Result<Value, GatewayError>;

    /// A client's own meaning of a refusal (other than the first 401); `None` = the common one.
    fn refusal(&self, _path: &str, _url: &str, _reply: &Reply) -> Option<GatewayError> {
        None
    }

    /// Told the status of every answer to a call (the Fleet API's billing).
    fn on_answer(&self, _method: &Method, _status: u16) {}

    /// One API call below the bearer's base: 401 → refresh and retry once; the decoded answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, GatewayError> {
        call(self.exchange(), self, method, path, body).await
    }
}

/// One API call: bearer token, 401 → refresh and retry once; the decoded answer.
async fn call<C: Credentials + ?Sized>(
    exchange: &Exchange,
    credentials: &C,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, GatewayError> {
    let on_answer = |status: u16| credentials.on_answer(&method, status);
    let mut retried = false;
    loop {
        let bearer = credentials.bearer().await?;
        let url = endpoint(&bearer.base, path);
        let payload = body.map_or(Body::None, Body::Json);
        let mut request = Request::new(method.clone(), &url, path, payload);
        request.bearer = Some(&bearer.token);
        request.on_answer = Some(&on_answer);
        let reply = exchange.send(request).await?;
        match reply.status {
            200..=299 => return credentials.decode(path, &reply.body),
            401 if !retried => {
                retried = true;
                credentials.refresh(bearer.generation).await?;
            }
            _ => {
                if let Some(error) = credentials.refusal(path, &url, &reply) {
                    return Err(error);
                }
                return Err(match reply.status {
                    status @ (401 | 403) => GatewayError::Unauthorized {
                        path: path.to_owned(),
                        status,
                    },
                    status => GatewayError::Status {
                        path: path.to_owned(),
                        status,
                    },
                });
            }
        }
    }
}
