//! The one place that writes to a gateway and reads the write back (HTTP control routes, the
//! gateway API write, and later MQTT command topics all call it).
//!
//! A [`Controller`] per gateway picks the backend (see `backend`: the cloud link, else the
//! gateway's own [`powerwall_gateway::GatewayControl`], else none), writes, and reads back: after
//! an operation write it asks the poller to re-read `/api/operation` and waits (bounded) for that
//! read, so a read right after the write shows the new value; grid settings are read back from
//! the cloud (whose write dropped its cached `site_info`). A write through the hybrid cloud link
//! reaches the gateway only through Tesla, so it is read back one poll period later by a task the
//! controller owns (aborted when it is dropped). Observed values are logged.

mod backend;
mod command;
mod grid;
mod read_back;

use std::sync::Arc;
use std::time::Duration;

use powerwall_gateway::GatewayControl;

use crate::cloud_link::CloudLink;
use crate::engine::capabilities::BackendKind;
use crate::engine::on_demand::OnDemand;
use backend::Backend;
pub use backend::writable;
pub use command::{Command, ControlError, ControlOutcome, ReadBack};
pub use grid::{grid_charging, grid_export, reads_tedapi_config};
pub use read_back::Poller;
use read_back::{Tasks, describe_observed};

/// How long the controller waits around a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The longest wait for the poller's read after a write, before reading directly.
    pub wait: Duration,
    /// How long a hybrid cloud write takes to reach the gateway's answers: one poll period.
    pub settle: Duration,
}

impl Timing {
    /// The timing of a gateway with this request timeout and poll interval.
    pub fn for_gateway(timeout: Duration, poll_interval: Duration) -> Self {
        Self {
            wait: timeout + Duration::from_secs(2),
            settle: poll_interval,
        }
    }
}

/// One gateway's control: backend choice, writes, read-back and the tasks they leave running.
pub struct Controller {
    poller: Arc<dyn Poller>,
    link: Option<Arc<CloudLink>>,
    on_demand: Arc<OnDemand>,
    timing: Timing,
    tasks: Tasks,
}

/// A backend that is live (its cloud link connected): the proof [`Ready::apply`] needs, so a
/// route can check connectivity before the token, as the reference does.
pub struct Ready<'a> {
    controller: &'a Controller,
    backend: Backend,
}

impl Ready<'_> {
    /// Where writes will go.
    pub fn backend(&self) -> BackendKind {
        self.backend.kind()
    }

    /// Writes `command` and reads it back.
    pub async fn apply(self, command: Command) -> Result<ControlOutcome, ControlError> {
        self.controller.write(&self.backend, command).await
    }
}

impl Controller {
    /// The controller of the gateway `poller` polls, with its cloud link (cloud mode or hybrid)
    /// and its on-demand reads.
    pub fn new(
        poller: Arc<dyn Poller>,
        link: Option<Arc<CloudLink>>,
        on_demand: Arc<OnDemand>,
        timing: Timing,
    ) -> Self {
        Self {
            poller,
            link,
            on_demand,
            timing,
            tasks: Tasks::default(),
        }
    }

    /// The configured backend's kind (no I/O); `None` when control is not supported.
    pub fn backend(&self) -> Option<BackendKind> {
        Backend::choose(self.link.as_ref(), self.poller.access()).map(|backend| backend.kind())
    }

    /// The backend, if it is live: a cloud link must connect (login and site; a due token refresh
    /// is made now), so a missing or broken cloud setup is [`ControlError::RunSetup`].
    pub async fn ready(&self) -> Result<Ready<'_>, ControlError> {
        let backend = Backend::choose(self.link.as_ref(), self.poller.access())
            .ok_or(ControlError::NotSupported)?;
        if let Some(link) = backend.link() {
            if !link.ready().await {
                return Err(ControlError::RunSetup);
            }
        }
        Ok(Ready {
            controller: self,
            backend,
        })
    }

    /// Writes `command` through the configured backend and reads it back.
    pub async fn apply(&self, command: Command) -> Result<ControlOutcome, ControlError> {
        self.ready().await?.apply(command).await
    }

    /// Writes `command` through the gateway's own client, never the hybrid cloud link (the gateway
    /// API write: the reserve is the gateway's own field), and reads it back.
    pub async fn apply_direct(&self, command: Command) -> Result<ControlOutcome, ControlError> {
        let backend = Backend::own(self.poller.access()).ok_or(ControlError::NotSupported)?;
        self.write(&backend, command).await
    }

    /// Whether charging from the grid is allowed (`None`: unknown): the cloud link's answer, else
    /// the TEDAPI config's. `degraded` answers from the on-demand cache (fail-fast).
    pub async fn grid_charging(&self, degraded: bool) -> Option<bool> {
        if let Some(link) = &self.link {
            if let Some(allowed) = grid::cloud_grid_charging(link).await {
                return Some(allowed);
            }
        }
        let info = self.site_info(degraded).await?;
        Some(grid_charging(Some(&info)))
    }

    /// The grid export rule, lower case (`None`: unknown), from the same sources.
    pub async fn grid_export(&self, degraded: bool) -> Option<String> {
        if let Some(link) = &self.link {
            if let Some(rule) = grid::cloud_grid_export(link).await {
                return Some(rule);
            }
        }
        let info = self.site_info(degraded).await?;
        Some(grid_export(Some(&info)))
    }

    async fn site_info(&self, degraded: bool) -> Option<serde_json::Value> {
        let mode = self.poller.access().mode();
        grid::site_info(mode, &self.on_demand, degraded).await
    }

    /// The write, then the read-back its backend allows.
    async fn write(
        &self,
        backend: &Backend,
        command: Command,
    ) -> Result<ControlOutcome, ControlError> {
        let what = command.describe();
        let result = send(backend.control()?, command).await;
        backend.note(&result);
        let result = match result {
            Ok(result) if !command::is_failure(&result) => result,
            Ok(result) => {
                let why = if result.is_object() {
                    "the backend reported an error"
                } else {
                    "the backend returned no result"
                };
                tracing::warn!("Control Command Error: {what} failed: {why}");
                return Err(ControlError::Rejected(result));
            }
            Err(err) => {
                tracing::warn!("Control Command Error: {what} failed: {err}");
                return Err(ControlError::Backend(err));
            }
        };
        let read_back = self.read_back(backend, command, &result, what).await;
        Ok(ControlOutcome {
            command,
            backend: backend.kind(),
            result,
            read_back,
        })
    }

    async fn read_back(
        &self,
        backend: &Backend,
        command: Command,
        result: &serde_json::Value,
        what: String,
    ) -> ReadBack {
        if command.is_grid_setting() {
            tracing::info!("Control Command: {what}");
            return match backend.link() {
                Some(link) => read_back::grid(link, &what).await,
                None => ReadBack::Unavailable,
            };
        }
        backend.saw_operation(result);
        let Timing { wait, settle } = self.timing;
        if backend.is_hybrid_link() {
            // The gateway learns the change from Tesla, and its client answers from a cache for
            // one poll period: read back after that, without holding the caller.
            tracing::info!("Control Command: {what} (sent to the Tesla cloud)");
            self.tasks
                .read_back_later(Arc::clone(&self.poller), settle, wait, what);
            return ReadBack::Scheduled;
        }
        let observed = read_back::operation(self.poller.as_ref(), wait).await;
        tracing::info!(
            "Control Command: {what} ({})",
            describe_observed(observed.as_ref())
        );
        ReadBack::Operation(observed)
    }

    /// Background read-backs still running (tests).
    #[cfg(test)]
    fn pending_tasks(&self) -> usize {
        self.tasks.pending()
    }
}

/// Sends `command` through `control`.
async fn send(
    control: &dyn GatewayControl,
    command: Command,
) -> Result<serde_json::Value, powerwall_gateway::GatewayError> {
    match command {
        Command::GridCharging(allowed) => control.set_grid_charging(allowed).await,
        Command::GridExport(rule) => control.set_grid_export(rule).await,
        Command::Reserve(_) | Command::Mode(_) | Command::Operation { .. } => {
            let (reserve, mode) = command.operation_fields();
            control.set_operation(reserve, mode).await
        }
    }
}

#[cfg(test)]
mod tests;
