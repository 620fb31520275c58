//! One poller per gateway: reads the poll plan one request at a time and publishes snapshots.
//!
//! Besides the documents it keeps the connection health (§8.3), the per-source poll statistics
//! (§6.4.3), the network-error log limits (§8.5) and, in TEDAPI modes, the SolarOnly fallback
//! probe (§8.6). Commands (`/health/reset`, refreshes) are served even while a read is in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use powerwall_gateway::{
    AccessMode, DataKind, ErrorClass, GatewayAccess, GatewayError, PollRequest, RawBody,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::error_class::{ErrorKind, classify, is_upstream_failure};
use super::fallback::{FallbackEvent, FallbackState, FallbackView, ProbeOutcome};
use super::health::{EndpointTable, HealthTransition};
use super::log_limit::NetworkErrorLog;
use super::plan::PollPlan;
use super::readings::Readings;
use super::render::render;
use super::snapshot::{AdminView, Document, LinkHealth, LinkState, Snapshot};
use super::{EngineCommand, ResetReport};
use crate::settings::{Diagnostics, Freshness, Presentation};

/// Longest pause between attempts while the gateway is unreachable.
const MAX_UNREACHABLE_BACKOFF: Duration = Duration::from_secs(60);
/// First pause after the gateway rejects our credentials (a real gateway locks out after repeats).
const LOGIN_FAILED_BACKOFF: Duration = Duration::from_secs(30);
/// Longest pause after repeated credential rejections.
const MAX_LOGIN_FAILED_BACKOFF: Duration = Duration::from_secs(600);
/// The TEDAPI read the SolarOnly probe makes (through the client's cache and guards).
const FIRMWARE_PATH: &str = "/tedapi/firmware";
/// Function name of the poll in network-error lines and summaries (as the proxy names it).
const POLL_SOURCE: &str = "poll";

/// The poller's private, mutable state; only snapshots leave it.
pub struct Poller {
    access: Arc<dyn GatewayAccess>,
    plan: PollPlan,
    freshness: Freshness,
    presentation: Presentation,
    diagnostics: Diagnostics,
    documents: BTreeMap<DataKind, Document>,
    /// Kinds whose last read failed (or was not made because the link failed) since their document.
    failing: BTreeSet<DataKind>,
    last_attempt: BTreeMap<DataKind, Instant>,
    health: LinkHealth,
    endpoints: EndpointTable,
    fallback: Option<FallbackState>,
    network_log: NetworkErrorLog,
    failed_polls: u32,
    logged_error: Option<String>,
    pending_refresh: Vec<DataKind>,
    resets: u64,
    sequence: u64,
    publisher: watch::Sender<Arc<Snapshot>>,
    inbox: mpsc::Receiver<EngineCommand>,
    inbox_open: bool,
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
        diagnostics: Diagnostics,
        publisher: watch::Sender<Arc<Snapshot>>,
        inbox: mpsc::Receiver<EngineCommand>,
    ) -> Self {
        let probe = diagnostics.tedapi_recovery
            && matches!(
                access.mode(),
                AccessMode::TedapiFull | AccessMode::TedapiHybrid
            );
        let fallback =
            probe.then(|| FallbackState::new(diagnostics.tedapi_probe_interval, Instant::now()));
        let network_log = NetworkErrorLog::new(
            diagnostics.suppress_network_errors,
            diagnostics.network_error_rate_limit,
            epoch_now(),
        );
        Self {
            access,
            plan,
            freshness,
            presentation,
            diagnostics,
            documents: BTreeMap::new(),
            failing: BTreeSet::new(),
            last_attempt: BTreeMap::new(),
            health: LinkHealth::starting(),
            endpoints: EndpointTable::default(),
            fallback,
            network_log,
            failed_polls: 0,
            logged_error: None,
            pending_refresh: Vec::new(),
            resets: 0,
            sequence: 0,
            publisher,
            inbox,
            inbox_open: true,
        }
    }

    /// Polls until the task is aborted.
    pub async fn run(mut self) {
        let mut wanted = (self.due_now(), false);
        loop {
            let (kinds, refresh) = wanted;
            let outcome = self.poll_once(kinds, refresh).await;
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
    /// snapshot even during a long back-off), probing for SolarOnly fallback when due and serving
    /// commands. Returns what to read next, and whether it is a refresh after a write.
    async fn wait_until(&mut self, wake: Instant) -> (Vec<DataKind>, bool) {
        loop {
            if !self.pending_refresh.is_empty() {
                return (std::mem::take(&mut self.pending_refresh), true);
            }
            let mut tick = wake.min(Instant::now() + self.freshness.poll_interval);
            if let Some(fallback) = &self.fallback {
                tick = tick.min(fallback.next_due());
            }
            tokio::select! {
                () = tokio::time::sleep_until(tick) => {
                    self.probe_if_due().await;
                    if Instant::now() >= wake {
                        return (self.due_now(), false);
                    }
                    self.publish();
                }
                command = self.inbox.recv(), if self.inbox_open => match command {
                    Some(EngineCommand::Refresh(kinds)) => return (kinds, true),
                    Some(command) => self.serve(command),
                    // Every handle is gone: nothing can command us any more; keep polling.
                    None => self.inbox_open = false,
                },
            }
        }
    }

    /// Runs `work` (a gateway read) while still serving commands: a reset is applied at once, a
    /// refresh is queued for after the current poll.
    async fn during<T>(&mut self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return output,
                command = self.inbox.recv(), if self.inbox_open => match command {
                    Some(command) => self.serve(command),
                    None => self.inbox_open = false,
                },
            }
        }
    }

    /// Applies one command (a refresh is queued).
    fn serve(&mut self, command: EngineCommand) {
        match command {
            EngineCommand::ResetHealth(reply) => {
                self.reset_health(reply);
                self.publish();
            }
            EngineCommand::Refresh(kinds) => {
                for kind in kinds {
                    if !self.pending_refresh.contains(&kind) {
                        self.pending_refresh.push(kind);
                    }
                }
            }
        }
    }

    /// `/health/reset`: counters start again, endpoint statistics and fallback state are cleared,
    /// documents kept only by graceful degradation are dropped. The link state stays what it is.
    fn reset_health(&mut self, reply: Option<oneshot::Sender<ResetReport>>) {
        let now = Instant::now();
        self.health.reset_counters(SystemTime::now());
        let endpoint_stats_cleared = self.endpoints.clear();
        let mut cache_entries_removed = 0;
        if self.freshness.graceful_degradation {
            let fresh_until = self.fresh_until();
            self.documents.retain(|kind, _| {
                let degraded_only = fresh_until.get(kind).is_some_and(|until| now > *until);
                cache_entries_removed += usize::from(degraded_only);
                !degraded_only
            });
        }
        if let Some(fallback) = &mut self.fallback {
            fallback.reset(now);
        }
        self.resets += 1;
        tracing::info!(
            "Health counters, cache, and endpoint statistics reset via /health/reset endpoint"
        );
        if let Some(reply) = reply {
            let _ = reply.send(ResetReport {
                health_counters_reset: self.freshness.health_check,
                cache_cleared: self.freshness.graceful_degradation,
                cache_entries_removed,
                endpoint_stats_cleared,
            });
        }
    }

    /// The SolarOnly probe (§8.6): reads the firmware when due and feeds the fallback state.
    async fn probe_if_due(&mut self) {
        let due = self
            .fallback
            .as_ref()
            .is_some_and(|fallback| Instant::now() >= fallback.next_due());
        if !due {
            return;
        }
        let resets = self.resets;
        let access = Arc::clone(&self.access);
        let result = self
            .during(async move { access.fetch_raw(FIRMWARE_PATH).await })
            .await;
        let outcome = probe_outcome(&result);
        let Some(fallback) = self.fallback.as_mut() else {
            return;
        };
        if resets != self.resets {
            // `/health/reset` ran during the read: it already restarted probing.
            return;
        }
        if let Err(err) = &result {
            tracing::debug!("TEDAPI firmware probe: {err}");
        }
        match fallback.record(outcome, Instant::now(), SystemTime::now()) {
            Some(FallbackEvent::Entered) => tracing::warn!(
                "Proxy entering SolarOnly fallback mode: TEDAPI returned no data for 3 consecutive \
                 probes. Background recovery will retry periodically."
            ),
            Some(FallbackEvent::AttemptFailed { attempt, next }) => tracing::warn!(
                "TEDAPI recovery attempt #{attempt} failed - staying in SolarOnly, next retry in {}s",
                next.as_secs()
            ),
            Some(FallbackEvent::Recovered { after, attempts }) => tracing::info!(
                "Proxy recovered from SolarOnly fallback mode after {}s and {attempts} recovery \
                 attempt(s).",
                after.as_secs()
            ),
            None => {}
        }
    }

    /// Reads `kinds` as one poll: the client sends each query once, one request at a time, and
    /// builds every document from that one set of answers (`refresh` re-reads even what its
    /// tier still holds, after a write).
    async fn poll_once(&mut self, kinds: Vec<DataKind>, refresh: bool) -> PollOutcome {
        let started = Instant::now();
        let access = Arc::clone(&self.access);
        let answers = self
            .during(async move {
                access
                    .poll(PollRequest {
                        kinds: &kinds,
                        refresh,
                    })
                    .await
            })
            .await;
        let mut reached = false;
        for (kind, result) in answers {
            // Only documents the gateway answered for count as attempted: those left out or
            // failed with the link stay due, so slower tiers do not wait a period after an outage.
            if !result.as_ref().is_err_and(GatewayError::is_link_failure) {
                self.last_attempt.insert(kind, started);
            }
            self.record_endpoint(kind, result.is_ok());
            match result {
                Ok(json) => {
                    reached = true;
                    self.record_success(kind, json);
                }
                Err(err) if err.is_link_failure() => {
                    // Nothing else was read this poll: every held document stops being refreshed.
                    self.failing.extend(self.documents.keys().copied());
                    self.failing.insert(kind);
                    self.record_failure(kind, &err);
                    return PollOutcome::Failed(err);
                }
                Err(err) => {
                    // The link works; this one document is unavailable (404, held back, malformed).
                    reached = true;
                    self.failing.insert(kind);
                    self.record_failure(kind, &err);
                }
            }
        }
        if reached {
            self.record_link_up();
        }
        PollOutcome::Reached
    }

    /// Poll statistics of the proxy's degradation-wrapped sources.
    fn record_endpoint(&mut self, kind: DataKind, ok: bool) {
        let now = Instant::now();
        let strings_from_vitals = !self
            .plan
            .entries
            .iter()
            .any(|entry| entry.kind == DataKind::SolarPowerwall);
        let sources: &[&'static str] = match kind {
            DataKind::Aggregates => &["/aggregates"],
            DataKind::Soe => &["/soe"],
            DataKind::Vitals if strings_from_vitals => &["/vitals", "/strings"],
            DataKind::Vitals => &["/vitals"],
            DataKind::SolarPowerwall => &["/strings"],
            _ => &[],
        };
        for source in sources {
            self.endpoints.record(source, ok, now);
        }
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
        self.failing.remove(&kind);
        if let Some(transition) = self.health.success(now, SystemTime::now()) {
            self.log_transition(transition);
        }
    }

    fn record_link_up(&mut self) {
        if self.health.state != LinkState::Connected
            && (self.logged_error.is_some() || self.failed_polls > 0)
        {
            tracing::info!("gateway {} is answering again", self.access.target());
        }
        self.logged_error = None;
        self.failed_polls = 0;
        self.health.state = LinkState::Connected;
    }

    /// Counts, classifies and logs one failed read.
    fn record_failure(&mut self, kind: DataKind, err: &GatewayError) {
        let category = classify(err);
        if is_upstream_failure(err)
            && let Some(transition) = self.health.failure()
        {
            self.log_transition(transition);
        }
        match category {
            ErrorKind::Document => {
                tracing::debug!(path = kind.local_path(), "gateway read failed: {err}");
                return;
            }
            ErrorKind::HeldBack => {
                tracing::debug!(path = kind.local_path(), "gateway read held back: {err}");
            }
            ErrorKind::Network(error_type) => {
                let decision = self
                    .network_log
                    .record(POLL_SOURCE, error_type, epoch_now());
                if let Some(lines) = decision.summary {
                    tracing::warn!(
                        "Network Error Summary (last 5 minutes):\n{}",
                        lines.join("\n")
                    );
                }
                if decision.log_line {
                    let what = if error_type.contains("Timeout") {
                        "Network timeout"
                    } else {
                        "Network error"
                    };
                    tracing::info!(
                        "{what} in {POLL_SOURCE}('{}'): {error_type} ({err})",
                        kind.local_path()
                    );
                }
            }
            ErrorKind::Problem => {
                let message = err.to_string();
                // One clear line per distinct problem; repeats go to debug so logs stay readable.
                if self.logged_error.as_deref() != Some(message.as_str()) {
                    tracing::error!(gateway = self.access.target(), "{message}");
                    self.logged_error = Some(message);
                } else {
                    tracing::debug!(gateway = self.access.target(), "still failing: {message}");
                }
            }
        }
        if err.is_link_failure() {
            self.record_link_failure(err);
        }
    }

    /// The link as a whole failed: state, last error, back-off count.
    fn record_link_failure(&mut self, err: &GatewayError) {
        self.failed_polls = self.failed_polls.saturating_add(1);
        if let GatewayError::LoginBackoff { .. } = err {
            // The client is pacing logins after a rejection: keep the rejection as the story.
            self.health.state = LinkState::LoginFailed;
            if self.health.last_error.is_none() {
                self.health.last_error = Some(err.to_string());
                self.health.last_public_error = Some(err.public_message());
                self.health.last_error_at = Some(Instant::now());
            }
            return;
        }
        self.health.state = match err.class() {
            ErrorClass::GiveUp => LinkState::LoginFailed,
            ErrorClass::CoolDown => LinkState::CoolingDown,
            ErrorClass::Retry | ErrorClass::Relogin => LinkState::Unreachable,
        };
        self.health.last_error_at = Some(Instant::now());
        self.health.last_error = Some(err.to_string());
        self.health.last_public_error = Some(err.public_message());
    }

    /// The degraded/recovered lines (silenced by `PW_SUPPRESS_NETWORK_ERRORS`).
    fn log_transition(&self, transition: HealthTransition) {
        if self.diagnostics.suppress_network_errors {
            return;
        }
        match transition {
            HealthTransition::Degraded => tracing::warn!(
                "Connection health degraded after 5 consecutive failures - entering graceful \
                 degradation mode"
            ),
            HealthTransition::Recovered => {
                tracing::info!("Connection health recovered - exiting degraded mode")
            }
        }
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

    /// Per failing document: the end of its normal freshness, after which only graceful
    /// degradation keeps it.
    fn fresh_until(&self) -> BTreeMap<DataKind, Instant> {
        let window = self.freshness.poll_interval.max(Duration::from_secs(1));
        self.failing
            .iter()
            .filter_map(|kind| {
                let document = self.documents.get(kind)?;
                Some((
                    *kind,
                    document.fetched_at + window + self.plan.period(*kind),
                ))
            })
            .collect()
    }

    /// Publishes a snapshot holding only data still inside the freshness window.
    fn publish(&mut self) {
        let now = Instant::now();
        // No document outlives the link: once nothing has been read for the freshness window,
        // slowly polled documents (status, operation) go too, so every route degrades together.
        let link_limit = self
            .health
            .last_success_at
            .map(|success| success + self.freshness.max_age());
        self.documents.retain(|_, document| {
            now <= document.expires_at && link_limit.is_none_or(|limit| now <= limit)
        });
        let served: BTreeMap<DataKind, Document> = self
            .documents
            .iter()
            .map(|(kind, document)| {
                let expires_at =
                    link_limit.map_or(document.expires_at, |limit| document.expires_at.min(limit));
                (
                    *kind,
                    Document {
                        expires_at,
                        ..document.clone()
                    },
                )
            })
            .collect();
        self.failing
            .retain(|kind| self.documents.contains_key(kind));
        self.health.upstream = self.access.upstream();
        self.sequence += 1;
        let admin = AdminView {
            endpoints: self.endpoints.clone(),
            fallback: self
                .fallback
                .as_ref()
                .map_or_else(FallbackView::default, |fallback| fallback.view(true)),
            fresh_until: self.fresh_until(),
            network_log_entries: self.network_log.sizes(),
            plan: self.plan.activity(self.access.plan_activity()),
        };
        let plan = &self.plan;
        let readings = Readings::build(&served, &admin.fresh_until, |kind| {
            plan.entries.iter().any(|entry| entry.kind == kind)
        });
        let snapshot = Snapshot {
            sequence: self.sequence,
            published_at: now,
            readings: Arc::new(readings),
            rendered: render(&served, &self.presentation),
            documents: served,
            health: self.health.clone(),
            admin,
        };
        self.publisher.send_replace(Arc::new(snapshot));
    }
}

/// What a firmware read says about TEDAPI.
fn probe_outcome(result: &Result<RawBody, GatewayError>) -> ProbeOutcome {
    match result {
        Ok(RawBody::Json(json)) => {
            let has_version = json
                .get("version")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|version| !version.trim().is_empty());
            if has_version {
                ProbeOutcome::Answered
            } else {
                ProbeOutcome::Failed
            }
        }
        Ok(_) => ProbeOutcome::Failed,
        Err(err) if err.class() == ErrorClass::CoolDown => ProbeOutcome::HeldBack,
        Err(_) => ProbeOutcome::Failed,
    }
}

/// Seconds since the Unix epoch, now.
fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "poller_tests.rs"]
mod tests;
#[cfg(test)]
#[path = "poller_timing_tests.rs"]
mod timing_tests;
