//! One poller per gateway: reads the poll plan one request at a time and publishes snapshots.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use powerwall_gateway::{DataKind, ErrorClass, GatewayAccess, GatewayError};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::EngineCommand;
use super::plan::PollPlan;
use super::render::render;
use super::snapshot::{Document, LinkHealth, LinkState, Snapshot};
use crate::settings::{Freshness, Presentation};

/// Longest pause between attempts while the gateway is unreachable.
const MAX_UNREACHABLE_BACKOFF: Duration = Duration::from_secs(60);
/// First pause after the gateway rejects our credentials (a real gateway locks out after repeats).
const LOGIN_FAILED_BACKOFF: Duration = Duration::from_secs(30);
/// Longest pause after repeated credential rejections.
const MAX_LOGIN_FAILED_BACKOFF: Duration = Duration::from_secs(600);

/// The poller's private, mutable state; only snapshots leave it.
pub struct Poller {
    access: Arc<dyn GatewayAccess>,
    plan: PollPlan,
    freshness: Freshness,
    presentation: Presentation,
    documents: BTreeMap<DataKind, Document>,
    last_attempt: BTreeMap<DataKind, Instant>,
    health: LinkHealth,
    failed_polls: u32,
    logged_error: Option<String>,
    sequence: u64,
    publisher: watch::Sender<Arc<Snapshot>>,
    inbox: mpsc::Receiver<EngineCommand>,
}

/// How one poll ended.
enum PollOutcome {
    /// At least the link worked (individual documents may have failed).
    Reached,
    /// The link failed: stop asking and wait.
    Failed(GatewayError),
}

impl Poller {
    /// A poller that will publish on `publisher`.
    pub fn new(
        access: Arc<dyn GatewayAccess>,
        plan: PollPlan,
        freshness: Freshness,
        presentation: Presentation,
        publisher: watch::Sender<Arc<Snapshot>>,
        inbox: mpsc::Receiver<EngineCommand>,
    ) -> Self {
        Self {
            access,
            plan,
            freshness,
            presentation,
            documents: BTreeMap::new(),
            last_attempt: BTreeMap::new(),
            health: LinkHealth::starting(),
            failed_polls: 0,
            logged_error: None,
            sequence: 0,
            publisher,
            inbox,
        }
    }

    /// Polls until the task is aborted.
    pub async fn run(mut self) {
        let mut wanted = self.due_now();
        loop {
            let outcome = self.poll_once(wanted).await;
            let delay = self.next_delay(&outcome);
            let wake = Instant::now() + delay;
            self.health.next_attempt_at = Some(wake);
            self.publish();
            wanted = self.wait_until(wake).await;
        }
    }

    /// The documents of the plan that are due now.
    fn due_now(&self) -> Vec<DataKind> {
        self.plan
            .due(Instant::now(), |kind| self.last_attempt.get(&kind).copied())
            .collect()
    }

    /// Waits for `wake`, republishing once per poll period (so data past its age leaves the
    /// snapshot even during a long back-off) and serving commands. Returns what to read next.
    async fn wait_until(&mut self, wake: Instant) -> Vec<DataKind> {
        loop {
            let tick = wake.min(Instant::now() + self.freshness.poll_interval);
            tokio::select! {
                () = tokio::time::sleep_until(tick) => {
                    if Instant::now() >= wake {
                        return self.due_now();
                    }
                    self.publish();
                }
                command = self.inbox.recv() => match command {
                    Some(EngineCommand::ResetHealth) => {
                        self.reset_health();
                        self.publish();
                    }
                    Some(EngineCommand::Refresh(kinds)) => return kinds,
                    // Every handle is gone: nothing can command us any more; keep polling.
                    None => {
                        tokio::time::sleep_until(wake).await;
                        return self.due_now();
                    }
                },
            }
        }
    }

    /// `/health/reset`: the counters start again; the link state stays what it is.
    fn reset_health(&mut self) {
        self.health.consecutive_failures = 0;
        self.health.total_failures = 0;
        self.health.total_successes = 0;
        self.health.last_success_wall = Some(SystemTime::now());
    }

    /// Reads `kinds` one request at a time.
    async fn poll_once(&mut self, kinds: Vec<DataKind>) -> PollOutcome {
        let mut reached = false;
        for kind in kinds {
            self.last_attempt.insert(kind, Instant::now());
            match self.access.fetch(kind).await {
                Ok(json) => {
                    reached = true;
                    self.record_success(kind, json);
                }
                Err(err) if is_link_failure(&err) => {
                    self.record_failure(&err);
                    return PollOutcome::Failed(err);
                }
                Err(err) => {
                    // The link works; this one document is unavailable (404, held back, malformed).
                    reached = true;
                    tracing::debug!(path = kind.local_path(), "gateway read failed: {err}");
                }
            }
        }
        if reached {
            self.record_link_up();
        }
        PollOutcome::Reached
    }

    fn record_success(&mut self, kind: DataKind, json: serde_json::Value) {
        let now = Instant::now();
        let expires_at = now + self.freshness.max_age() + self.plan.period(kind);
        self.documents.insert(
            kind,
            Document {
                json: Arc::new(json),
                fetched_at: now,
                fetched_wall: SystemTime::now(),
                expires_at,
            },
        );
        self.health.total_successes += 1;
        self.health.consecutive_failures = 0;
        self.health.last_success_at = Some(now);
        self.health.last_success_wall = Some(SystemTime::now());
    }

    fn record_link_up(&mut self) {
        if self.health.state != LinkState::Connected && self.logged_error.is_some() {
            tracing::info!("gateway {} is answering again", self.access.target());
        }
        self.logged_error = None;
        self.failed_polls = 0;
        self.health.state = LinkState::Connected;
    }

    fn record_failure(&mut self, err: &GatewayError) {
        self.failed_polls = self.failed_polls.saturating_add(1);
        self.health.total_failures += 1;
        self.health.consecutive_failures += 1;
        if let GatewayError::LoginBackoff { .. } = err {
            // The client is pacing logins after a rejection: keep the rejection as the story.
            self.health.state = LinkState::LoginFailed;
            if self.health.last_error.is_none() {
                self.health.last_error = Some(err.to_string());
                self.health.last_error_at = Some(Instant::now());
            }
            return;
        }
        let message = err.to_string();
        self.health.state = match err.class() {
            ErrorClass::GiveUp => LinkState::LoginFailed,
            ErrorClass::CoolDown => LinkState::CoolingDown,
            ErrorClass::Retry | ErrorClass::Relogin => LinkState::Unreachable,
        };
        self.health.last_error_at = Some(Instant::now());
        // One clear line per distinct problem; repeats go to debug so logs stay readable.
        if self.logged_error.as_deref() != Some(message.as_str()) {
            tracing::error!(gateway = self.access.target(), "{message}");
            self.logged_error = Some(message.clone());
        } else {
            tracing::debug!(gateway = self.access.target(), "still failing: {message}");
        }
        self.health.last_error = Some(message);
    }

    /// The pause before the next poll: the poll period, or a back-off while the link fails.
    fn next_delay(&self, outcome: &PollOutcome) -> Duration {
        let period = self.freshness.poll_interval;
        let PollOutcome::Failed(err) = outcome else {
            return period;
        };
        let doublings = self.failed_polls.saturating_sub(1).min(16);
        match err.class() {
            ErrorClass::CoolDown => err.retry_after().unwrap_or(period).max(period),
            ErrorClass::GiveUp => (LOGIN_FAILED_BACKOFF * 2u32.pow(doublings))
                .min(MAX_LOGIN_FAILED_BACKOFF)
                .max(period),
            ErrorClass::Retry | ErrorClass::Relogin => {
                (period * 2u32.pow(doublings)).min(MAX_UNREACHABLE_BACKOFF.max(period))
            }
        }
    }

    /// Publishes a snapshot holding only data still inside the freshness window.
    fn publish(&mut self) {
        let now = Instant::now();
        self.documents
            .retain(|_, document| now <= document.expires_at);
        self.health.upstream = self.access.upstream();
        self.sequence += 1;
        let snapshot = Snapshot {
            sequence: self.sequence,
            published_at: now,
            rendered: render(&self.documents, &self.presentation),
            documents: self.documents.clone(),
            health: self.health.clone(),
        };
        self.publisher.send_replace(Arc::new(snapshot));
    }
}

/// Errors that say the gateway as a whole is unavailable, as opposed to one document.
fn is_link_failure(err: &GatewayError) -> bool {
    matches!(
        err,
        GatewayError::Unreachable { .. }
            | GatewayError::Timeout { .. }
            | GatewayError::LoginRejected { .. }
            | GatewayError::LoginIncomplete { .. }
            | GatewayError::LoginBackoff { .. }
            | GatewayError::Unauthorized { .. }
            | GatewayError::RateLimited { .. }
            | GatewayError::CoolingDown { .. }
            | GatewayError::Config(_)
    )
}
