//! The engine: pollers publishing immutable snapshots that every route reads.

pub mod plan;
pub mod poller;
pub mod render;
pub mod snapshot;

use std::sync::Arc;

use powerwall_gateway::GatewayAccess;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::settings::{Freshness, Presentation};
pub use plan::PollPlan;
pub use snapshot::Snapshot;

/// A running poller for one gateway and the receiving end of its snapshots.
pub struct GatewayEngine {
    access: Arc<dyn GatewayAccess>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
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
        let poller = poller::Poller::new(access.clone(), plan, freshness, presentation, publisher);
        let task = tokio::spawn(poller.run());
        Self {
            access,
            snapshots,
            task,
        }
    }

    /// A receiver of this gateway's snapshots (cheap to clone; `borrow()` never waits on I/O).
    pub fn snapshots(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// The client behind the poller.
    pub fn access(&self) -> &Arc<dyn GatewayAccess> {
        &self.access
    }
}

impl Drop for GatewayEngine {
    fn drop(&mut self) {
        self.task.abort();
    }
}
