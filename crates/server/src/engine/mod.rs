//! The engine: pollers publishing immutable snapshots that every route reads.

pub mod on_demand;
pub mod plan;
pub mod poller;
pub mod render;
pub mod snapshot;

use std::sync::Arc;

use powerwall_gateway::DataKind;
use powerwall_gateway::GatewayAccess;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::settings::{Freshness, Presentation};
pub use plan::PollPlan;
pub use snapshot::Snapshot;

/// What other parts of the server may ask of a poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineCommand {
    /// `/health/reset`: zero the connection-health counters and leave degraded/fallback states.
    ResetHealth,
    /// Read these documents now (after a control write), then publish.
    Refresh(Vec<DataKind>),
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
    ) -> Self {
        let (publisher, snapshots) = watch::channel(Arc::new(Snapshot::empty()));
        let (commands, inbox) = mpsc::channel(16);
        let poller = poller::Poller::new(
            access.clone(),
            plan,
            freshness,
            presentation,
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
