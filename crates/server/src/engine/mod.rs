//! The engine: pollers publishing immutable snapshots that every route reads.

pub mod aggregate;
pub mod capabilities;
pub mod control;
mod error_class;
pub mod fallback;
pub mod health;
mod identity;
pub mod log_limit;
pub mod on_demand;
pub mod overview;
pub mod plan;
pub mod poller;
pub mod readings;
pub mod render;
pub mod snapshot;

use std::sync::Arc;
use std::time::Duration;

use powerwall_gateway::DataKind;
use powerwall_gateway::GatewayAccess;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::settings::{Diagnostics, Freshness, Presentation};
pub use identity::GatewayInfo;
pub use plan::PollPlan;
pub use snapshot::Snapshot;

/// How long `/health/reset` waits for the poller to take and answer the command.
const RESET_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// What other parts of the server may ask of a poller.
#[derive(Debug)]
pub enum EngineCommand {
    /// `/health/reset`: zero the connection-health counters, clear endpoint statistics and the
    /// fallback state, drop degradation-only documents; the report goes to the sender, if any.
    ResetHealth(Option<oneshot::Sender<ResetReport>>),
    /// Read these documents now (after a control write), then publish.
    Refresh(Vec<DataKind>),
}

/// What a `/health/reset` did, as its body reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResetReport {
    /// Health counters were reset (`PW_HEALTH_CHECK=yes`).
    pub health_counters_reset: bool,
    /// The degradation cache was cleared (`PW_GRACEFUL_DEGRADATION=yes`).
    pub cache_cleared: bool,
    /// Documents removed that were kept only by graceful degradation.
    pub cache_entries_removed: usize,
    /// Endpoint statistics entries removed.
    pub endpoint_stats_cleared: usize,
}

/// A cheap, cloneable handle on one gateway's engine: its snapshots, its client, its commands.
#[derive(Clone)]
pub struct EngineHandle {
    access: Arc<dyn GatewayAccess>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    commands: mpsc::Sender<EngineCommand>,
}

impl EngineHandle {
    /// The latest snapshot (never waits on the gateway).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// A receiver that wakes on every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// The gateway client (for on-demand reads and control writes; it guards the gateway itself).
    pub fn access(&self) -> &Arc<dyn GatewayAccess> {
        &self.access
    }

    /// Asks the poller to reset health state and waits (bounded) for its report; `None` when the
    /// poller is gone or did not answer in time.
    pub async fn reset_health(&self) -> Option<ResetReport> {
        let (reply, answer) = oneshot::channel();
        let command = EngineCommand::ResetHealth(Some(reply));
        tokio::time::timeout(RESET_REPLY_TIMEOUT, async {
            self.commands.send(command).await.ok()?;
            answer.await.ok()
        })
        .await
        .ok()
        .flatten()
    }

    /// Sends a command to the poller; dropped (with a debug line) if the poller is busy or gone.
    pub fn command(&self, command: EngineCommand) {
        if let Err(err) = self.commands.try_send(command) {
            tracing::debug!("poller did not take a command: {err}");
        }
    }
}

/// A running poller for one gateway and the receiving end of its snapshots.
pub struct GatewayEngine {
    handle: EngineHandle,
    task: JoinHandle<()>,
}

impl GatewayEngine {
    /// Starts polling `access` with `plan`.
    pub fn spawn(
        access: Arc<dyn GatewayAccess>,
        plan: PollPlan,
        freshness: Freshness,
        presentation: Presentation,
        diagnostics: Diagnostics,
    ) -> Self {
        let (publisher, snapshots) = watch::channel(Arc::new(Snapshot::empty()));
        let (commands, inbox) = mpsc::channel(16);
        let poller = poller::Poller::new(
            access.clone(),
            plan,
            freshness,
            presentation,
            diagnostics,
            publisher,
            inbox,
        );
        let task = tokio::spawn(poller.run());
        Self {
            handle: EngineHandle {
                access,
                snapshots,
                commands,
            },
            task,
        }
    }

    /// A handle for routes and other tasks.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// A receiver of this gateway's snapshots (cheap to clone; `borrow()` never waits on I/O).
    pub fn snapshots(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.handle.subscribe()
    }

    /// The client behind the poller.
    pub fn access(&self) -> &Arc<dyn GatewayAccess> {
        &self.handle.access
    }
}

impl Drop for GatewayEngine {
    fn drop(&mut self) {
        self.task.abort();
    }
}
