//! The client library's error type and what a caller should do about each error.

use std::time::Duration;

/// What a caller should do after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient (network, timeout, 5xx): try again at the normal pace, backing off if it persists.
    Retry,
    /// The session is no longer valid: log in again (at most once per cooldown).
    Relogin,
    /// The gateway asked us to back off: send nothing until the cooldown ends.
    CoolDown,
    /// Retrying will not help without a change (wrong password, bad configuration, unsupported).
    GiveUp,
}

/// Everything that can go wrong talking to a gateway.
///
/// Cheap to clone (the one I/O cause is shared), so every caller of a single-flight fetch gets the
/// error itself.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// TCP/TLS connection failed or was dropped.
    #[error("cannot reach the gateway at {target}: {detail}")]
    Unreachable {
        /// Host (and port) we tried.
        target: String,
        /// What the transport said.
        detail: String,
    },
    /// No answer within the configured timeout.
    #[error("the gateway at {target} did not answer within {timeout:?}")]
    Timeout {
        /// Host (and port) we tried.
        target: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// The gateway rejected the credentials at login.
    #[error("the gateway at {target} rejected the login (HTTP {status}): check {credential}")]
    LoginRejected {
        /// Host (and port) we tried.
        target: String,
        /// HTTP status of the login answer.
        status: u16,
        /// The setting to check, e.g. `PW_PASSWORD (the customer password)`.
        credential: &'static str,
    },
    /// The login answer lacked the cookie or token the auth mode needs.
    #[error("the gateway at {target} accepted the login but sent no {missing}")]
    LoginIncomplete {
        /// Host (and port) we tried.
        target: String,
        /// What was missing (`AuthCookie/UserRecord cookies` or `token`).
        missing: &'static str,
    },
    /// A recent login was rejected: no login is sent until the back-off ends.
    #[error(
        "not logging in to the gateway at {target}: the last login was rejected (HTTP {status}); next attempt in {remaining:?}"
    )]
    LoginBackoff {
        /// Host (and port) we tried.
        target: String,
        /// HTTP status of the last rejected login (200 when the answer lacked the cookie/token).
        status: u16,
        /// Time left before the next login may be sent.
        remaining: Duration,
    },
    /// The session was rejected and a re-login is not allowed yet (or did not help).
    #[error("the gateway rejected our session for {path} (HTTP {status})")]
    Unauthorized {
        /// The request path.
        path: String,
        /// 401 or 403.
        status: u16,
    },
    /// The gateway answered 429 or 503 and a cooldown has started.
    #[error(
        "the gateway is rate limiting ({path} answered HTTP {status}); pausing requests for {retry_after:?}"
    )]
    RateLimited {
        /// The request path.
        path: String,
        /// 429 or 503.
        status: u16,
        /// How long nothing will be sent.
        retry_after: Duration,
    },
    /// A cooldown is running: the request was not sent.
    #[error("not asking the gateway: cooling down for another {remaining:?}")]
    CoolingDown {
        /// Time left in the cooldown.
        remaining: Duration,
    },
    /// The path recently failed in a way that repeats (404, 403, 503): the request was not sent.
    #[error(
        "not asking the gateway for {path}: it answered HTTP {status} recently (retry in {remaining:?})"
    )]
    Suppressed {
        /// The request path.
        path: String,
        /// The status that put it in the negative cache.
        status: u16,
        /// Time left before it is asked again.
        remaining: Duration,
    },
    /// Any other non-success HTTP status.
    #[error("the gateway answered HTTP {status} for {path}")]
    Status {
        /// The request path.
        path: String,
        /// The HTTP status.
        status: u16,
    },
    /// The answer could not be decoded.
    #[error("malformed answer for {path}: {detail}")]
    Malformed {
        /// The request path.
        path: String,
        /// What was wrong.
        detail: String,
    },
    /// The gateway answered with no content where a document was expected.
    #[error("the gateway returned an empty answer for {path}")]
    Empty {
        /// The request path.
        path: String,
    },
    /// This mode or firmware cannot provide the data.
    #[error("{what} is not available in {mode} mode")]
    Unsupported {
        /// The access mode.
        mode: &'static str,
        /// What was asked for.
        what: String,
    },
    /// The settings cannot work (bad host text, unwritable cache directory, ...).
    #[error("configuration error: {0}")]
    Config(String),
    /// The auth cache file could not be read or written.
    #[error("auth cache file {path}: {source}")]
    AuthCache {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
}

impl GatewayError {
    /// What a caller should do about this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Unreachable { .. }
            | Self::Timeout { .. }
            | Self::Status { .. }
            | Self::Malformed { .. }
            | Self::Empty { .. }
            | Self::AuthCache { .. } => ErrorClass::Retry,
            Self::Unauthorized { .. } => ErrorClass::Relogin,
            Self::RateLimited { .. }
            | Self::CoolingDown { .. }
            | Self::Suppressed { .. }
            | Self::LoginBackoff { .. } => ErrorClass::CoolDown,
            Self::LoginRejected { .. }
            | Self::LoginIncomplete { .. }
            | Self::Unsupported { .. }
            | Self::Config(_) => ErrorClass::GiveUp,
        }
    }

    /// How long to wait before the gateway may be asked again, when the error says.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::CoolingDown { remaining }
            | Self::Suppressed { remaining, .. }
            | Self::LoginBackoff { remaining, .. } => Some(*remaining),
            _ => None,
        }
    }

    /// Whether the error says the gateway as a whole is unavailable (network, credentials,
    /// cooldown, configuration), as opposed to one document being missing or malformed: after
    /// such an error a poll stops asking.
    pub fn is_link_failure(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Timeout { .. }
                | Self::LoginRejected { .. }
                | Self::LoginIncomplete { .. }
                | Self::LoginBackoff { .. }
                | Self::Unauthorized { .. }
                | Self::RateLimited { .. }
                | Self::CoolingDown { .. }
                | Self::Config(_)
        )
    }

    /// What a client of the server may be shown (the multi-gateway API, pages): the failure and
    /// what to check, without the transport's cause chain, file paths or configuration text,
    /// which stay in the log line (`Display`).
    pub fn public_message(&self) -> String {
        match self {
            Self::Unreachable { target, .. } => format!("cannot reach the gateway at {target}"),
            Self::Malformed { path, .. } => format!("malformed answer for {path}"),
            Self::Config(_) => "configuration error: see the server log".to_owned(),
            Self::AuthCache { .. } => {
                "the auth cache file cannot be read or written: see the server log".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// Whether the request never left this process (a cooldown or negative cache held it back).
    pub fn was_held_back(&self) -> bool {
        matches!(
            self,
            Self::CoolingDown { .. } | Self::Suppressed { .. } | Self::LoginBackoff { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn public_messages_leave_causes_and_paths_in_the_log() {
        let unreachable = GatewayError::Unreachable {
            target: "10.0.0.5".into(),
            detail: "error sending request for url (https://10.0.0.5/api): tls handshake eof"
                .into(),
        };
        assert_eq!(
            unreachable.public_message(),
            "cannot reach the gateway at 10.0.0.5"
        );
        assert!(unreachable.to_string().contains("tls handshake"));
        let cache = GatewayError::AuthCache {
            path: "/home/owner/.powerwall".into(),
            source: Arc::new(std::io::Error::other("denied")),
        };
        assert!(!cache.public_message().contains("/home/owner"));
        let config = GatewayError::Config("no Tesla login in /data/.pypowerwall.auth".into());
        assert!(!config.public_message().contains("/data"));
        let rejected = GatewayError::LoginRejected {
            target: "10.0.0.5".into(),
            status: 401,
            credential: "PW_PASSWORD (the customer password)",
        };
        assert_eq!(rejected.public_message(), rejected.to_string());
        // Clones share the cause: every single-flight caller gets the error itself.
        assert!(matches!(cache.clone(), GatewayError::AuthCache { .. }));
    }
}
