//! Customer login (`POST /api/login/Basic`), sessions, and the session check on `/api/*`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::gateway_error;
use crate::model::clock::{NANOS_PER_SEC, rfc3339_nanos, secs_to_ns};
use crate::sim::Sim;
use powerwall_gateway::tedapi::client::derived_customer_password;

/// Run-time authentication knobs (`/test/config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthKnobs {
    /// Session lifetime in simulation seconds.
    pub session_lifetime_secs: f64,
    /// Status for a missing or invalid session: 401 (default) or 403.
    pub unauthorized_status: u16,
    /// Consecutive failed logins that trigger a lockout (`None` = never).
    pub login_lockout_after: Option<u32>,
    /// How long a lockout lasts, simulation seconds.
    pub login_lockout_secs: f64,
}

impl Default for AuthKnobs {
    fn default() -> Self {
        Self {
            session_lifetime_secs: 86_400.0,
            unauthorized_status: 401,
            login_lockout_after: None,
            login_lockout_secs: 300.0,
        }
    }
}

/// The outcome of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// A live session.
    Valid,
    /// A session we issued that expired or was revoked.
    Expired,
    /// No credentials, or a token we never issued.
    Missing,
}

#[derive(Debug, Clone)]
struct Session {
    issued_ns: i128,
    revoked: bool,
    /// Issued to `installer` (gateway password): the only sessions TEDAPI bearer accepts.
    installer: bool,
}

/// Issued sessions, failed-login tracking and the knobs that govern them.
#[derive(Debug, Default)]
pub struct Sessions {
    /// Current knobs.
    pub knobs: AuthKnobs,
    sessions: HashMap<String, Session>,
    failures: u32,
    locked_until_ns: Option<i128>,
}

impl Sessions {
    /// Issues a fresh random token (88 base64 characters ending in `==`, like the gateway's),
    /// marked as an installer session when `installer` is set.
    pub fn issue_as(&mut self, now_ns: i128, installer: bool) -> String {
        let mut bytes = [0_u8; 64];
        rand::rng().fill_bytes(&mut bytes);
        let token = STANDARD.encode(bytes);
        if self.sessions.len() > 10_000 {
            // Long soak tests log in a lot; forget what can no longer be valid.
            let lifetime = secs_to_ns(self.knobs.session_lifetime_secs);
            self.sessions
                .retain(|_, s| !s.revoked && now_ns - s.issued_ns < lifetime);
        }
        self.sessions.insert(
            token.clone(),
            Session {
                issued_ns: now_ns,
                revoked: false,
                installer,
            },
        );
        self.failures = 0;
        token
    }

    /// Checks one token against the issued sessions.
    pub fn check_token(&self, token: &str, now_ns: i128) -> SessionCheck {
        match self.sessions.get(token) {
            None => SessionCheck::Missing,
            Some(session) if session.revoked => SessionCheck::Expired,
            Some(session)
                if now_ns - session.issued_ns >= secs_to_ns(self.knobs.session_lifetime_secs) =>
            {
                SessionCheck::Expired
            }
            Some(_) => SessionCheck::Valid,
        }
    }

    /// Checks a TEDAPI bearer token: only installer sessions count, a customer token is unknown.
    pub fn check_installer_token(&self, token: &str, now_ns: i128) -> SessionCheck {
        match self.sessions.get(token) {
            Some(session) if session.installer => self.check_token(token, now_ns),
            _ => SessionCheck::Missing,
        }
    }

    /// Checks a request's cookie pair or bearer token; either one valid is enough.
    pub fn check(&self, credentials: &Credentials, now_ns: i128) -> SessionCheck {
        let results = credentials
            .tokens()
            .map(|token| self.check_token(token, now_ns));
        results.fold(SessionCheck::Missing, |best, next| match (best, next) {
            (SessionCheck::Valid, _) | (_, SessionCheck::Valid) => SessionCheck::Valid,
            (SessionCheck::Expired, _) | (_, SessionCheck::Expired) => SessionCheck::Expired,
            _ => SessionCheck::Missing,
        })
    }

    /// Invalidates the sessions a request presents (logout, `expire_session` fault).
    pub fn revoke(&mut self, credentials: &Credentials) {
        for token in credentials.tokens() {
            if let Some(session) = self.sessions.get_mut(token) {
                session.revoked = true;
            }
        }
    }

    /// Invalidates every session.
    pub fn revoke_all(&mut self) {
        for session in self.sessions.values_mut() {
            session.revoked = true;
        }
    }

    /// Seconds left in a login lockout, if one is active.
    pub fn lockout_remaining_secs(&self, now_ns: i128) -> Option<u64> {
        let until = self.locked_until_ns?;
        let left = until - now_ns;
        (left > 0)
            .then(|| u64::try_from((left + NANOS_PER_SEC - 1) / NANOS_PER_SEC).unwrap_or(u64::MAX))
    }

    /// Counts a failed login and starts a lockout when the knob says so.
    pub fn record_failure(&mut self, now_ns: i128) {
        self.failures = self.failures.saturating_add(1);
        if self
            .knobs
            .login_lockout_after
            .is_some_and(|limit| self.failures >= limit)
        {
            self.locked_until_ns = Some(now_ns + secs_to_ns(self.knobs.login_lockout_secs));
            self.failures = 0;
        }
    }
}

/// The credentials a request carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `Authorization: Bearer <token>`.
    pub bearer: Option<String>,
    /// `AuthCookie`, only when `UserRecord` is present too (the gateway wants the pair).
    pub cookie: Option<String>,
}

impl Credentials {
    /// Reads bearer and cookie credentials from request headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_owned())
            });
        let mut auth_cookie = None;
        let mut user_record = false;
        let pairs = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='));
        for (name, value) in pairs {
            match name.trim() {
                "AuthCookie" if !value.is_empty() => auth_cookie = Some(value.trim().to_owned()),
                "UserRecord" if !value.is_empty() => user_record = true,
                _ => {}
            }
        }
        Self {
            bearer,
            cookie: auth_cookie.filter(|_| user_record),
        }
    }

    fn tokens(&self) -> impl Iterator<Item = &str> {
        self.bearer
            .iter()
            .chain(self.cookie.iter())
            .map(String::as_str)
    }
}

/// Login fields, from a form or a JSON body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginRequest {
    /// `username` (`customer` for the customer login).
    pub username: Option<String>,
    /// `password`.
    pub password: Option<String>,
    /// `email` (not checked).
    pub email: Option<String>,
}

/// Parses a login body whatever its `Content-Type`: JSON when it is a JSON object, otherwise
/// `application/x-www-form-urlencoded` (the reference client sends a form).
pub fn parse_login(body: &[u8]) -> LoginRequest {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
        return LoginRequest {
            username: text("username"),
            password: text("password"),
            email: text("email"),
        };
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let field = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    LoginRequest {
        username: field("username"),
        password: field("password"),
        email: field("email"),
    }
}

/// `POST /api/login/Basic`.
pub async fn login(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let request = parse_login(&body);
    let (now_ns, utc_offset) = sim.now_and_offset();
    let mut sessions = sim.sessions();
    if let Some(wait) = sessions.lockout_remaining_secs(now_ns) {
        let mut response = gateway_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "Too many failed login attempts, try again later",
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    // `installer` with the gateway password is the TEDAPI bearer login (§2.12, §10.4), unless
    // the Powerwall 2 profile knob refuses it; `customer` also accepts the last five characters
    // of the gateway password, as TEDAPI-era gateways do (§2.14).
    let installer_allowed = !sim.tedapi().knobs().installer_login_rejected;
    let gateway_password = sim.config().gateway_password.as_str();
    let role = match (request.username.as_deref(), request.password.as_deref()) {
        (Some("customer"), Some(password))
            if password == sim.customer_password()
                || (!gateway_password.is_empty()
                    && password == derived_customer_password(gateway_password)) =>
        {
            "Home_Owner"
        }
        (Some("installer"), Some(password))
            if installer_allowed && password == gateway_password =>
        {
            "Provider_Engineer"
        }
        _ => {
            sessions.record_failure(now_ns);
            return gateway_error(StatusCode::UNAUTHORIZED, "bad credentials", "Login Error");
        }
    };
    let token = sessions.issue_as(now_ns, role != "Home_Owner");
    drop(sessions);
    let email = request
        .email
        .unwrap_or_else(|| sim.default_email().to_owned());
    let body = json!({
        "email": email,
        "firstname": "Tesla",
        "lastname": "Energy",
        "roles": [role],
        "token": token,
        "provider": "Basic",
        "loginTime": rfc3339_nanos(now_ns, utc_offset),
    });
    let user_record = STANDARD.encode(body.to_string());
    let mut response = axum::Json(body).into_response();
    for cookie in [
        format!("AuthCookie={token}; Path=/"),
        format!("UserRecord={user_record}; Path=/"),
    ] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `GET /api/logout`: the presented session stops working.
pub async fn logout(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    sim.sessions().revoke(&Credentials::from_headers(&headers));
    StatusCode::NO_CONTENT.into_response()
}

/// The answer to a request without a usable session, per the `unauthorized_status` knob.
pub fn unauthorized(status: u16, check: SessionCheck) -> Response {
    if status == 403 {
        return gateway_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "User does not have adequate access rights",
        );
    }
    match check {
        SessionCheck::Expired => token_expired(),
        _ => gateway_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Authorization required",
        ),
    }
}

/// 401 for a session that existed but is no longer valid.
pub fn token_expired() -> Response {
    gateway_error(StatusCode::UNAUTHORIZED, "Token Expired", "Invalid token")
}

/// Middleware on every authenticated `/api/*` route.
pub async fn require_session(
    State(sim): State<Arc<Sim>>,
    request: Request,
    next: Next,
) -> Response {
    let credentials = Credentials::from_headers(request.headers());
    let now_ns = sim.now_ns();
    let (check, status) = {
        let sessions = sim.sessions();
        (
            sessions.check(&credentials, now_ns),
            sessions.knobs.unauthorized_status,
        )
    };
    if check == SessionCheck::Valid {
        next.run(request).await
    } else {
        unauthorized(status, check)
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
