//! Reading a write back: the poller re-reads `/api/operation` (waited for, bounded), the cloud
//! reports the grid settings, and hybrid writes are read back later by a task the controller owns.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use powerwall_gateway::{DataKind, GatewayAccess};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::ReadBack;
use crate::cloud_link::CloudLink;
use crate::engine::{EngineCommand, EngineHandle, Snapshot};

/// Most snapshots inspected while waiting for the post-write read (bounds the loop).
const MAX_SNAPSHOTS_WAITED: usize = 1000;

/// The poller as the controller sees it: the gateway client, its snapshots, a re-read on demand.
pub trait Poller: Send + Sync + 'static {
    /// The gateway client (the direct read when the poller is late).
    fn access(&self) -> &Arc<dyn GatewayAccess>;
    /// A receiver that wakes on every new snapshot.
    fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>>;
    /// Asks the poller to read these documents now, then publish.
    fn refresh(&self, kinds: Vec<DataKind>);
}

impl Poller for EngineHandle {
    fn access(&self) -> &Arc<dyn GatewayAccess> {
        EngineHandle::access(self)
    }

    fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        EngineHandle::subscribe(self)
    }

    fn refresh(&self, kinds: Vec<DataKind>) {
        self.command(EngineCommand::Refresh(kinds));
    }
}

/// Asks the poller to re-read `/api/operation` and waits (at most `wait`) for a snapshot holding
/// a read made after the write; falls back to one direct read through the client if none comes.
pub(super) async fn operation(poller: &dyn Poller, wait: Duration) -> Option<Value> {
    let written_at = Instant::now();
    let mut snapshots = poller.subscribe();
    poller.refresh(vec![DataKind::Operation]);
    let from_poller = tokio::time::timeout(wait, async {
        for _ in 0..MAX_SNAPSHOTS_WAITED {
            {
                let snapshot = snapshots.borrow_and_update();
                if let Some(document) = snapshot.documents.get(&DataKind::Operation) {
                    if document.fetched_at >= written_at {
                        return Some(document.json.as_ref().clone());
                    }
                }
            }
            if snapshots.changed().await.is_err() {
                return None;
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    match from_poller {
        Some(document) => Some(document),
        None => {
            tracing::debug!(
                "the poller did not re-read /api/operation in time; reading it directly"
            );
            poller.access().fetch(DataKind::Operation).await.ok()
        }
    }
}

/// Reads the grid settings back from the cloud after a write (its cached `site_info` was dropped
/// by the write) and logs what Tesla now reports.
pub(super) async fn grid(link: &CloudLink, what: &str) -> ReadBack {
    let charging = link.grid_charging().await;
    link.note(&charging);
    let export = link.grid_export().await;
    link.note(&export);
    match (charging, export) {
        (Ok(charging), Ok(export)) => {
            link.saw_grid_charging(charging);
            link.saw_grid_export(&export);
            tracing::info!(
                "Control Command: {what}: the cloud reports grid charging {charging}, grid export \
                 {export}"
            );
            ReadBack::Grid {
                grid_charging: charging,
                grid_export: export,
            }
        }
        (Err(err), _) | (_, Err(err)) => {
            tracing::warn!("Control Command: {what}: cannot read the grid settings back: {err}");
            ReadBack::Unavailable
        }
    }
}

/// `observed raw 52.5, mode backup` (or `not observed`).
pub(super) fn describe_observed(document: Option<&Value>) -> String {
    let Some(document) = document else {
        return "not observed".to_owned();
    };
    let operation = powerwall_model::Operation::from_json(document).ok();
    let raw = operation
        .as_ref()
        .and_then(|operation| operation.backup_reserve_raw_pct)
        .map_or_else(|| "unknown".to_owned(), |raw| Value::from(raw).to_string());
    let mode = operation
        .as_ref()
        .and_then(|operation| operation.real_mode.as_deref())
        .unwrap_or("unknown");
    format!("observed raw {raw}, mode {mode}")
}

/// Background read-backs of one controller: aborted when it is dropped, finished ones reaped.
#[derive(Default)]
pub(super) struct Tasks {
    set: Mutex<JoinSet<()>>,
}

impl Tasks {
    /// After `settle`, reads `/api/operation` back through `poller` (bounded by `wait`) and logs
    /// what the gateway reports about `what`.
    pub fn read_back_later(
        &self,
        poller: Arc<dyn Poller>,
        settle: Duration,
        wait: Duration,
        what: String,
    ) {
        let mut set = self
            .set
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while set.try_join_next().is_some() {}
        set.spawn(async move {
            tokio::time::sleep(settle).await;
            let observed = operation(poller.as_ref(), wait).await;
            tracing::info!(
                "Control Command: {what}: the gateway reports {}",
                describe_observed(observed.as_ref())
            );
        });
    }

    /// Read-backs still pending.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        let mut set = self
            .set
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while set.try_join_next().is_some() {}
        set.len()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn observed_descriptions() {
        assert_eq!(describe_observed(None), "not observed");
        assert_eq!(
            describe_observed(Some(
                &json!({"backup_reserve_percent": 52.5, "real_mode": "backup"})
            )),
            "observed raw 52.5, mode backup"
        );
        assert_eq!(
            describe_observed(Some(&json!({}))),
            "observed raw unknown, mode unknown"
        );
    }
}
