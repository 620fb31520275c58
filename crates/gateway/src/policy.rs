//! Gateway-protection policy shared by every access mode: the clock, cooldowns and negative caches.
//!
//! [`GatewayGuard`] holds the state (global cooldown, per-path negative cache, re-login limiter,
//! login back-off); every rule reads time from an injected [`Clock`], so tests move time by hand.

mod guard;

pub use guard::{
    GatewayGuard, LOGIN_BACKOFF_FIRST, LOGIN_BACKOFF_MAX, MAX_PAUSE, MIN_RATE_LIMIT_PAUSE,
    NOT_FOUND_SUPPRESSION, RELOGIN_WINDOW, UNAUTHORIZED_SUPPRESSION, rate_limit_pause,
};

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Source of "now" for every time-dependent rule, so tests can move time by hand.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real clock (tokio's, so a paused test runtime also pauses it).
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to (for tests that cross network boundaries).
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    offset: Mutex<Duration>,
}

impl ManualClock {
    /// A clock frozen at the current instant.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut offset = self
            .offset
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *offset += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let offset = *self
            .offset
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.start + offset
    }
}

/// One request in flight per gateway transport: a fair queue with a single place.
///
/// Real gateways misbehave under concurrent sessions; tokio's semaphore is fair, so queued
/// requests go out in arrival order.
#[derive(Debug)]
pub struct InFlightGate(tokio::sync::Semaphore);

impl InFlightGate {
    /// A gate with one place.
    pub fn new() -> Self {
        Self(tokio::sync::Semaphore::new(1))
    }

    /// Waits at most `wait` for the place; the request may go out while the permit lives.
    ///
    /// The bound keeps a queue from forming behind a slow gateway: a caller that cannot get its
    /// turn within the request timeout fails with [`crate::GatewayError::Timeout`] instead of
    /// adding to the backlog.
    pub async fn enter(
        &self,
        target: &str,
        wait: std::time::Duration,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, crate::GatewayError> {
        match tokio::time::timeout(wait, self.0.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; this error only guards against a future change.
            Ok(Err(_)) => Err(crate::GatewayError::Unreachable {
                target: target.to_owned(),
                detail: "the client was shut down".to_owned(),
            }),
            Err(_) => Err(crate::GatewayError::Timeout {
                target: target.to_owned(),
                timeout: wait,
            }),
        }
    }
}

impl Default for InFlightGate {
    fn default() -> Self {
        Self::new()
    }
}
