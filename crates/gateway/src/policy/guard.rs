//! The protection state of one gateway: global cooldown, per-path negative cache, re-login
//! limiter and login back-off (proxy-api §8.1, gateway-protocols §1.4).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::Clock;
use crate::GatewayError;

/// Shortest pause after a 429 (or of a path after a 503), whatever `Retry-After` says.
pub const MIN_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(300);
/// Longest pause a `Retry-After` may impose (protects against absurd or hostile values).
pub const MAX_PAUSE: Duration = Duration::from_secs(3600);
/// How long a path that answered 404 is not asked again.
pub const NOT_FOUND_SUPPRESSION: Duration = Duration::from_secs(600);
/// How long a path that answered 401/403 after a re-login is not asked again.
pub const UNAUTHORIZED_SUPPRESSION: Duration = Duration::from_secs(600);
/// At most one re-login (after a 401/403) per this window.
pub const RELOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Wait after the first rejected login; doubles with each further rejection.
pub const LOGIN_BACKOFF_FIRST: Duration = Duration::from_secs(30);
/// Longest wait between rejected logins.
pub const LOGIN_BACKOFF_MAX: Duration = Duration::from_secs(600);

/// Bound on negative-cache entries: passthrough paths come from clients, so the map must not grow
/// without limit.
const MAX_SUPPRESSED_PATHS: usize = 1024;

/// The pause after a 429/503: `max(300 s, Retry-After)`, capped at one hour.
pub fn rate_limit_pause(retry_after: Option<Duration>) -> Duration {
    retry_after
        .unwrap_or(Duration::ZERO)
        .max(MIN_RATE_LIMIT_PAUSE)
        .min(MAX_PAUSE)
}

/// The wait after `rejections` consecutive rejected logins: 30 s, 60 s, 120 s, ... up to 10 min.
pub(crate) fn login_backoff(rejections: u32) -> Duration {
    let doublings = rejections.saturating_sub(1).min(16);
    LOGIN_BACKOFF_FIRST
        .saturating_mul(1u32 << doublings)
        .min(LOGIN_BACKOFF_MAX)
}

#[derive(Debug, Clone, Copy)]
struct Suppression {
    until: Instant,
    status: u16,
}

#[derive(Debug, Default)]
struct GuardState {
    cooldown_until: Option<Instant>,
    suppressed: HashMap<String, Suppression>,
    last_relogin: Option<Instant>,
    rejected_logins: u32,
    login_blocked: Option<Suppression>,
}

/// Protection state shared by all requests to one gateway, driven only by its [`Clock`].
#[derive(Debug)]
pub struct GatewayGuard {
    clock: Arc<dyn Clock>,
    state: Mutex<GuardState>,
}

impl GatewayGuard {
    /// A guard with nothing suppressed, reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Mutex::new(GuardState::default()),
        }
    }

    /// The current instant of the guard's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, GuardState> {
        // The state stays consistent at every await-free step, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a request for `path` may be sent now: the global cooldown first, then the path's
    /// negative-cache entry. An `Err` means nothing may be sent.
    pub fn admit(&self, path: &str) -> Result<(), GatewayError> {
        let now = self.now();
        let mut state = self.lock();
        if let Some(until) = state.cooldown_until {
            if now < until {
                return Err(GatewayError::CoolingDown {
                    remaining: until - now,
                });
            }
            state.cooldown_until = None;
        }
        if let Some(entry) = state.suppressed.get(path).copied() {
            if now < entry.until {
                return Err(GatewayError::Suppressed {
                    path: path.to_owned(),
                    status: entry.status,
                    remaining: entry.until - now,
                });
            }
            state.suppressed.remove(path);
        }
        Ok(())
    }

    /// Time left in the global cooldown, if one is running.
    pub fn cooldown_remaining(&self) -> Option<Duration> {
        let now = self.now();
        self.lock()
            .cooldown_until
            .filter(|until| now < *until)
            .map(|until| until - now)
    }

    /// Starts the global pause after a 429 (never shortening a running one); returns its length.
    pub fn start_cooldown(&self, retry_after: Option<Duration>) -> Duration {
        let pause = rate_limit_pause(retry_after);
        let until = self.now() + pause;
        let mut state = self.lock();
        state.cooldown_until = Some(state.cooldown_until.map_or(until, |old| old.max(until)));
        pause
    }

    /// Puts `path` in the negative cache for `duration` (never shortening an existing entry).
    pub fn suppress(&self, path: &str, status: u16, duration: Duration) {
        let now = self.now();
        let until = now + duration;
        let mut state = self.lock();
        if state.suppressed.len() >= MAX_SUPPRESSED_PATHS && !state.suppressed.contains_key(path) {
            state.suppressed.retain(|_, entry| now < entry.until);
            if state.suppressed.len() >= MAX_SUPPRESSED_PATHS {
                let soonest = state
                    .suppressed
                    .iter()
                    .min_by_key(|(_, entry)| entry.until)
                    .map(|(key, _)| key.clone());
                if let Some(key) = soonest {
                    state.suppressed.remove(&key);
                }
            }
        }
        let entry = state
            .suppressed
            .entry(path.to_owned())
            .or_insert(Suppression { until, status });
        if entry.until <= until {
            *entry = Suppression { until, status };
        }
    }

    /// The status and remaining time of `path`'s negative-cache entry, if it is suppressed.
    pub fn suppression(&self, path: &str) -> Option<(u16, Duration)> {
        let now = self.now();
        self.lock()
            .suppressed
            .get(path)
            .filter(|entry| now < entry.until)
            .map(|entry| (entry.status, entry.until - now))
    }

    /// Claims the one re-login allowed per [`RELOGIN_WINDOW`]; `false` when one was made within it.
    pub fn try_claim_relogin(&self) -> bool {
        let now = self.now();
        let mut state = self.lock();
        let allowed = state
            .last_relogin
            .is_none_or(|last| now.duration_since(last) >= RELOGIN_WINDOW);
        if allowed {
            state.last_relogin = Some(now);
        }
        allowed
    }

    /// Whether a login may be sent now; during the back-off after a rejected login it may not.
    pub fn admit_login(&self, target: &str) -> Result<(), GatewayError> {
        let now = self.now();
        let state = self.lock();
        match state.login_blocked {
            Some(block) if now < block.until => Err(GatewayError::LoginBackoff {
                target: target.to_owned(),
                status: block.status,
                remaining: block.until - now,
            }),
            _ => Ok(()),
        }
    }

    /// Records a rejected login (`status` 200 when the answer lacked the session) and returns the
    /// back-off before the next login may be sent.
    pub fn login_rejected(&self, status: u16) -> Duration {
        let now = self.now();
        let mut state = self.lock();
        state.rejected_logins = state.rejected_logins.saturating_add(1);
        let backoff = login_backoff(state.rejected_logins);
        state.login_blocked = Some(Suppression {
            until: now + backoff,
            status,
        });
        backoff
    }

    /// Records a successful login: the back-off starts again from its first step.
    pub fn login_succeeded(&self) {
        let mut state = self.lock();
        state.rejected_logins = 0;
        state.login_blocked = None;
    }
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
