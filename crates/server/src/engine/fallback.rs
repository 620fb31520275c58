//! TEDAPI SolarOnly fallback detection and recovery (§8.6, §13.11, §15.36) as a pure state machine:
//! the poller asks when the next probe is due, reads the firmware, and reports the outcome here.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Probes in a row without an answer that put the proxy in fallback.
pub const FAILURES_TO_ENTER: u32 = 3;
/// First gap between recovery attempts.
pub const INITIAL_RECOVERY_INTERVAL: Duration = Duration::from_secs(60);
/// Longest gap between recovery attempts.
pub const MAX_RECOVERY_INTERVAL: Duration = Duration::from_secs(300);

/// What one firmware probe gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The gateway answered with a version.
    Answered,
    /// No version (error or empty answer).
    Failed,
    /// A cooldown held the request back: neither a failure nor an attempt (§15.36).
    HeldBack,
}

/// A change worth a log line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FallbackEvent {
    /// Three probes failed: SolarOnly fallback begins.
    Entered,
    /// A recovery attempt failed; the next one is `next` away.
    AttemptFailed {
        /// The attempt number (1-based).
        attempt: u32,
        /// The gap before the next attempt.
        next: Duration,
    },
    /// The gateway answered again.
    Recovered {
        /// Time spent in fallback.
        after: Duration,
        /// Recovery attempts it took.
        attempts: u32,
    },
}

/// Fallback state while in SolarOnly mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Active {
    since: Instant,
    since_wall: SystemTime,
    attempts: u32,
    last_attempt: Option<SystemTime>,
}

/// The detector's state.
#[derive(Debug, Clone)]
pub struct FallbackState {
    probe_interval: Duration,
    failures: u32,
    interval: Duration,
    active: Option<Active>,
    next_due: Instant,
}

/// What `/health` and `/stats` show as `fallback_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FallbackView {
    /// Whether the proxy is in SolarOnly fallback.
    pub is_fallback_mode: bool,
    /// When fallback began.
    pub fallback_since: Option<SystemTime>,
    /// Recovery attempts since then.
    pub recovery_attempts: u32,
    /// When the last recovery attempt ran.
    pub last_recovery_attempt: Option<SystemTime>,
    /// Whether the probe runs at all (`PW_TEDAPI_RECOVERY=yes` and a TEDAPI mode).
    pub recovery_enabled: bool,
}

impl FallbackState {
    /// A healthy detector whose first probe is one probe interval after `now`.
    pub fn new(probe_interval: Duration, now: Instant) -> Self {
        Self {
            probe_interval,
            failures: 0,
            interval: INITIAL_RECOVERY_INTERVAL,
            active: None,
            next_due: now + probe_interval,
        }
    }

    /// When the next probe (or recovery attempt) is due.
    pub fn next_due(&self) -> Instant {
        self.next_due
    }

    /// Whether the proxy is in SolarOnly fallback.
    pub fn in_fallback(&self) -> bool {
        self.active.is_some()
    }

    /// Enters fallback; idempotent (a second entry keeps the first `fallback_since`).
    pub fn enter(&mut self, now: Instant, wall: SystemTime) -> bool {
        if self.active.is_some() {
            return false;
        }
        self.active = Some(Active {
            since: now,
            since_wall: wall,
            attempts: 0,
            last_attempt: None,
        });
        true
    }

    /// Leaves fallback (a harmless no-op when not in it); counters and interval start again.
    pub fn leave(&mut self) -> Option<(Duration, u32)> {
        self.failures = 0;
        self.interval = INITIAL_RECOVERY_INTERVAL;
        let active = self.active.take()?;
        Some((active.since.elapsed(), active.attempts))
    }

    /// `/health/reset`: fallback cleared, probing starts again (no reconnect).
    pub fn reset(&mut self, now: Instant) {
        self.leave();
        self.next_due = now + self.probe_interval;
    }

    /// Records a probe made at `now` and schedules the next one.
    pub fn record(
        &mut self,
        outcome: ProbeOutcome,
        now: Instant,
        wall: SystemTime,
    ) -> Option<FallbackEvent> {
        let Some(active) = self.active.as_mut() else {
            return self.record_healthy(outcome, now, wall);
        };
        match outcome {
            ProbeOutcome::HeldBack => {
                self.next_due = now + self.probe_interval.max(self.interval);
                None
            }
            ProbeOutcome::Answered => {
                active.attempts += 1;
                let (since, attempts) = (active.since, active.attempts);
                self.leave();
                self.next_due = now + self.probe_interval;
                Some(FallbackEvent::Recovered {
                    after: now.saturating_duration_since(since),
                    attempts,
                })
            }
            ProbeOutcome::Failed => {
                active.attempts += 1;
                active.last_attempt = Some(wall);
                let attempt = active.attempts;
                self.interval = (self.interval * 2).min(MAX_RECOVERY_INTERVAL);
                let next = self.probe_interval.max(self.interval);
                self.next_due = now + next;
                Some(FallbackEvent::AttemptFailed { attempt, next })
            }
        }
    }

    fn record_healthy(
        &mut self,
        outcome: ProbeOutcome,
        now: Instant,
        wall: SystemTime,
    ) -> Option<FallbackEvent> {
        self.next_due = now + self.probe_interval;
        match outcome {
            ProbeOutcome::HeldBack => None,
            ProbeOutcome::Answered => {
                self.failures = 0;
                self.interval = INITIAL_RECOVERY_INTERVAL;
                None
            }
            ProbeOutcome::Failed => {
                self.failures += 1;
                if self.failures < FAILURES_TO_ENTER {
                    return None;
                }
                self.enter(now, wall);
                self.next_due = now + self.probe_interval.max(self.interval);
                Some(FallbackEvent::Entered)
            }
        }
    }

    /// The state as routes show it.
    pub fn view(&self, recovery_enabled: bool) -> FallbackView {
        FallbackView {
            is_fallback_mode: self.active.is_some(),
            fallback_since: self.active.map(|a| a.since_wall),
            recovery_attempts: self.active.map_or(0, |a| a.attempts),
            last_recovery_attempt: self.active.and_then(|a| a.last_attempt),
            recovery_enabled,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const PROBE: Duration = Duration::from_secs(5);

    fn step(state: &mut FallbackState, outcome: ProbeOutcome) -> Option<FallbackEvent> {
        let now = state.next_due();
        state.record(outcome, now, SystemTime::now())
    }

    #[tokio::test(start_paused = true)]
    async fn three_failures_enter_and_an_answer_leaves() {
        let start = Instant::now();
        let mut state = FallbackState::new(PROBE, start);
        assert_eq!(state.next_due(), start + PROBE);
        assert_eq!(step(&mut state, ProbeOutcome::Failed), None);
        assert_eq!(step(&mut state, ProbeOutcome::Failed), None);
        assert_eq!(
            step(&mut state, ProbeOutcome::Failed),
            Some(FallbackEvent::Entered)
        );
        let entered_at = start + PROBE * 3;
        let view = state.view(true);
        assert!(view.is_fallback_mode && view.fallback_since.is_some());
        assert_eq!(view.recovery_attempts, 0);
        assert_eq!(view.last_recovery_attempt, None);
        // First attempt after the initial recovery interval, then doubling up to 300 s.
        assert_eq!(state.next_due(), entered_at + INITIAL_RECOVERY_INTERVAL);
        let mut gaps = Vec::new();
        for _ in 0..4 {
            match step(&mut state, ProbeOutcome::Failed) {
                Some(FallbackEvent::AttemptFailed { next, .. }) => gaps.push(next.as_secs()),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(gaps, vec![120, 240, 300, 300]);
        assert_eq!(state.view(true).recovery_attempts, 4);
        assert!(state.view(true).last_recovery_attempt.is_some());
        // A cooldown neither counts nor doubles.
        assert_eq!(step(&mut state, ProbeOutcome::HeldBack), None);
        assert_eq!(state.view(true).recovery_attempts, 4);
        match step(&mut state, ProbeOutcome::Answered) {
            Some(FallbackEvent::Recovered { attempts, after }) => {
                assert_eq!(attempts, 5);
                assert!(after >= INITIAL_RECOVERY_INTERVAL);
            }
            other => panic!("unexpected {other:?}"),
        }
        let view = state.view(true);
        assert_eq!(
            view,
            FallbackView {
                recovery_enabled: true,
                ..FallbackView::default()
            }
        );
        // Back to probing at the probe interval with a fresh failure count.
        let now = state.next_due();
        assert_eq!(
            state.record(ProbeOutcome::Failed, now, SystemTime::now()),
            None
        );
        assert_eq!(state.next_due(), now + PROBE);
    }

    #[tokio::test(start_paused = true)]
    async fn answers_and_cooldowns_reset_or_keep_the_failure_count() {
        let mut state = FallbackState::new(PROBE, Instant::now());
        step(&mut state, ProbeOutcome::Failed);
        step(&mut state, ProbeOutcome::Failed);
        step(&mut state, ProbeOutcome::Answered);
        step(&mut state, ProbeOutcome::Failed);
        step(&mut state, ProbeOutcome::HeldBack);
        step(&mut state, ProbeOutcome::Failed);
        assert!(!state.in_fallback());
        assert_eq!(
            step(&mut state, ProbeOutcome::Failed),
            Some(FallbackEvent::Entered)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn enter_is_idempotent_and_leave_and_reset_clear_everything() {
        let start = Instant::now();
        let mut state = FallbackState::new(PROBE, start);
        assert!(state.leave().is_none(), "leaving when healthy is a no-op");
        let first = SystemTime::now() - Duration::from_secs(100);
        assert!(state.enter(start, first));
        step(&mut state, ProbeOutcome::Failed);
        assert!(!state.enter(start, SystemTime::now()));
        let view = state.view(false);
        assert_eq!(view.fallback_since, Some(first));
        assert_eq!(view.recovery_attempts, 1);
        tokio::time::advance(Duration::from_secs(7)).await;
        state.reset(Instant::now());
        assert_eq!(state.view(false), FallbackView::default());
        assert_eq!(state.next_due(), Instant::now() + PROBE);
        // After a leave, entering again starts with zero attempts.
        assert!(state.enter(Instant::now(), SystemTime::now()));
        assert_eq!(state.view(false).recovery_attempts, 0);
    }
}
