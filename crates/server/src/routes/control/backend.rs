//! Where a gateway's control writes go (server-api "Write dispatch order", gateway-protocols §7):
//! the cloud link if the gateway has one (cloud mode, or the hybrid cloud control connection), else
//! the local API's `/api/operation` where the mode has it, else nowhere ("Run Setup").
//!
//! The reserve is forwarded unchanged: the cloud takes the app's percentage, the local API the
//! gateway's raw field (`/control/reserve` therefore means app scale through the cloud and raw scale
//! through the local API, as in the reference).

use std::sync::Arc;

use powerwall_gateway::{GatewayAccess, GatewayError};
use serde_json::Value;

use super::super::AppState;
use super::writable;
use crate::cloud_link::CloudLink;

/// A control backend.
#[derive(Clone)]
pub(super) enum Backend {
    /// The Tesla cloud.
    Cloud(Arc<CloudLink>),
    /// The gateway's own client (local API writes).
    Local(Arc<dyn GatewayAccess>),
}

impl Backend {
    /// The client writes go through.
    pub fn access(&self) -> Arc<dyn GatewayAccess> {
        match self {
            Self::Cloud(link) => link.access(),
            Self::Local(access) => Arc::clone(access),
        }
    }

    /// The cloud link, when the backend is the cloud.
    pub fn cloud(&self) -> Option<&Arc<CloudLink>> {
        match self {
            Self::Cloud(link) => Some(link),
            Self::Local(_) => None,
        }
    }

    /// Counts a completed call on the cloud link (nothing for the local API).
    pub fn note<T>(&self, outcome: &Result<T, GatewayError>) {
        if let Self::Cloud(link) = self {
            link.note(outcome);
        }
    }

    /// Remembers what a successful operation write set (cloud link only).
    pub fn saw_operation(&self, result: &Value) {
        let Self::Cloud(link) = self else {
            return;
        };
        if let Some(reserve) = result
            .pointer("/set_backup_reserve_percent/backup_reserve_percent")
            .and_then(Value::as_f64)
        {
            link.saw_reserve(reserve);
        }
        if let Some(mode) = result
            .pointer("/set_operation/real_mode")
            .and_then(Value::as_str)
        {
            link.saw_mode(mode);
        }
    }
}

/// The backend the served gateway is configured with (no I/O).
pub(super) fn configured(state: &AppState) -> Option<Backend> {
    if let Some(link) = state.cloud_link() {
        return Some(Backend::Cloud(Arc::clone(link)));
    }
    let access = state.engine().access();
    writable(access.mode()).then(|| Backend::Local(Arc::clone(access)))
}

/// The backend, if it is live: the cloud link must connect (login and site; a due token refresh
/// is made now), so a missing or broken cloud setup answers "Run Setup" (§6.8.2 step 4).
pub(super) async fn ready(state: &AppState) -> Option<Backend> {
    let backend = configured(state)?;
    if let Backend::Cloud(link) = &backend {
        if !link.ready().await {
            return None;
        }
    }
    Some(backend)
}
