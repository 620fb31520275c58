//! Session lifecycle: the cached session, first login, and the limited re-login after a 401/403.

use std::fmt;

use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::LocalClient;
use super::auth::{Credential, LOGIN_PATH, credential_from_login, login_form_body, missing_text};
use super::cache_file;
use super::request::{Attempt, apply_failure, classify};
use crate::GatewayError;

/// The header that proves the current session, with a generation number so a request that was
/// rejected can tell whether someone else has already logged in again.
#[derive(Clone)]
pub(crate) struct Session {
    name: HeaderName,
    value: HeaderValue,
    generation: u64,
}

impl Session {
    /// The auth header to send (its value is marked sensitive).
    pub(crate) fn header(&self) -> (HeaderName, HeaderValue) {
        (self.name.clone(), self.value.clone())
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Session({}: ***, generation {})",
            self.name, self.generation
        )
    }
}

/// What the client knows about its session.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    current: Option<Session>,
    generations: u64,
    cache_file_checked: bool,
}

impl LocalClient {
    fn current_session(&self) -> Option<Session> {
        self.session_state().current.clone()
    }

    fn session_state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        // Only plain assignments happen under this lock, so a poisoned state is still consistent.
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current session: from memory, else from the auth cache file (first time only), else
    /// from a login.
    pub(crate) async fn session(&self) -> Result<Session, GatewayError> {
        if let Some(session) = self.current_session() {
            return Ok(session);
        }
        let _login = self.login_lock.lock().await;
        if let Some(session) = self.current_session() {
            return Ok(session);
        }
        let check_cache_file =
            !std::mem::replace(&mut self.session_state().cache_file_checked, true);
        if let (true, Some(path)) = (check_cache_file, self.config.cache_file.clone()) {
            if let Some(credential) = cache_file::load(path, self.config.auth_mode).await {
                if let Some(session) = self.install(&credential) {
                    tracing::debug!(target = %self.target, "using the session from the auth cache file");
                    return Ok(session);
                }
            }
        }
        self.login().await
    }

    /// After `rejected` drew a 401/403 on `path`: a session someone else renewed meanwhile, or a
    /// re-login if the limiter allows one, else `Unauthorized`.
    pub(crate) async fn renew_session(
        &self,
        rejected: &Session,
        path: &str,
        status: u16,
    ) -> Result<Session, GatewayError> {
        let _login = self.login_lock.lock().await;
        if let Some(current) = self.current_session() {
            if current.generation != rejected.generation {
                return Ok(current);
            }
        }
        if !self.guard.try_claim_relogin() {
            tracing::warn!(
                path,
                status,
                "session rejected; a re-login was made less than a minute ago, not logging in again"
            );
            return Err(GatewayError::Unauthorized {
                path: path.to_owned(),
                status,
            });
        }
        tracing::info!(path, status, "session rejected; logging in again");
        self.login().await
    }

    /// `POST /api/login/Basic`; the caller holds `login_lock`. Never logs the answer.
    async fn login(&self) -> Result<Session, GatewayError> {
        let target = self.target.clone();
        self.guard.admit_login(&target)?;
        let request = self
            .http
            .post(self.url(LOGIN_PATH))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(login_form_body(&self.config.password, &self.config.email));
        let reply = self.exchange(request, LOGIN_PATH, true).await?;
        match reply.status.as_u16() {
            200..=299 => {}
            status @ (401 | 403) => {
                let backoff = self.guard.login_rejected(status);
                tracing::debug!(target, status, ?backoff, "the gateway rejected the login");
                return Err(GatewayError::LoginRejected {
                    target,
                    status,
                    credential: "PW_PASSWORD (the customer password)",
                });
            }
            _ => {
                let outcome = classify(reply.status, reply.retry_after(), Attempt::Retry);
                return Err(apply_failure(
                    &self.guard,
                    LOGIN_PATH,
                    reply.status,
                    outcome,
                ));
            }
        }
        let mode = self.config.auth_mode;
        let Some(session) = credential_from_login(mode, &reply.headers, &reply.body)
            .ok()
            .and_then(|credential| {
                self.install(&credential)
                    .map(|session| (credential, session))
            })
        else {
            let backoff = self.guard.login_rejected(reply.status.as_u16());
            tracing::warn!(target, ?backoff, %mode, "the login answer lacked the session");
            return Err(GatewayError::LoginIncomplete {
                target,
                missing: missing_text(mode),
            });
        };
        let (credential, session) = session;
        self.guard.login_succeeded();
        tracing::info!(target, %mode, "logged in to the gateway");
        if let Some(path) = self.config.cache_file.clone() {
            cache_file::store(path, &credential).await;
        }
        Ok(session)
    }

    /// Makes `credential` the current session under a new generation number.
    fn install(&self, credential: &Credential) -> Option<Session> {
        let (name, value) = credential.header()?;
        let mut state = self.session_state();
        state.generations += 1;
        let session = Session {
            name,
            value,
            generation: state.generations,
        };
        state.current = Some(session.clone());
        Some(session)
    }
}
