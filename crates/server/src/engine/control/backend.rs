//! Where a gateway's control writes go (server-api "Write dispatch order", gateway-protocols §7):
//! the cloud link if the gateway has one (cloud mode, or the hybrid cloud control connection), else
//! the gateway's own client where its mode can write (local and TEDAPI hybrid modes), else nowhere
//! ("Run Setup").
//!
//! The reserve is forwarded unchanged: the cloud takes the app's percentage, the local API the
//! gateway's raw field (`/control/reserve` therefore means app scale through the cloud and raw scale
//! through the local API, as in the reference).

use std::sync::Arc;

use powerwall_gateway::{AccessMode, GatewayAccess, GatewayControl, GatewayError};
use serde_json::Value;

use crate::cloud_link::{CloudLink, CloudRole};
use crate::engine::capabilities::BackendKind;

/// A control backend.
#[derive(Clone)]
pub(super) enum Backend {
    /// The Tesla cloud, through the gateway's cloud link.
    Link(Arc<CloudLink>),
    /// The gateway's own client (its [`GatewayControl`]).
    Gateway(Arc<dyn GatewayAccess>),
}

impl Backend {
    /// The backend by precedence: the cloud link, else the gateway's own write path, else none.
    pub fn choose(link: Option<&Arc<CloudLink>>, access: &Arc<dyn GatewayAccess>) -> Option<Self> {
        if let Some(link) = link {
            return Some(Self::Link(Arc::clone(link)));
        }
        Self::own(access)
    }

    /// The gateway's own write path, when its mode has one.
    pub fn own(access: &Arc<dyn GatewayAccess>) -> Option<Self> {
        access
            .control()
            .is_some()
            .then(|| Self::Gateway(Arc::clone(access)))
    }

    /// The writes of this backend.
    pub fn control(&self) -> Result<&dyn GatewayControl, GatewayError> {
        match self {
            Self::Link(link) => Ok(link.control()),
            Self::Gateway(access) => access.control().ok_or_else(|| {
                powerwall_gateway::unsupported_write(access.mode(), "control writes")
            }),
        }
    }

    /// The backend's kind, as capabilities report it.
    pub fn kind(&self) -> BackendKind {
        match self {
            Self::Link(link) => link.kind(),
            Self::Gateway(access) => match access.mode() {
                AccessMode::Cloud => BackendKind::Cloud,
                AccessMode::Fleet => BackendKind::Fleet,
                _ => BackendKind::Local,
            },
        }
    }

    /// The cloud link, when the backend is the cloud.
    pub fn link(&self) -> Option<&Arc<CloudLink>> {
        match self {
            Self::Link(link) => Some(link),
            Self::Gateway(_) => None,
        }
    }

    /// Whether the write reaches the gateway only through Tesla (the hybrid cloud link): the
    /// gateway then learns of it later, so the read-back cannot be awaited.
    pub fn is_hybrid_link(&self) -> bool {
        self.link()
            .is_some_and(|link| link.role() == CloudRole::HybridControl)
    }

    /// Counts a completed call on the cloud link (nothing for the gateway's own client).
    pub fn note<T>(&self, outcome: &Result<T, GatewayError>) {
        if let Self::Link(link) = self {
            link.note(outcome);
        }
    }

    /// Remembers what a successful operation write set (cloud link only).
    pub fn saw_operation(&self, result: &Value) {
        let Self::Link(link) = self else {
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

/// Whether the local API can write in `mode` (its `/api/operation`). The controller asks the
/// client itself ([`GatewayAccess::control`]); capabilities, decided from the mode, ask this, and
/// a test checks that both agree.
pub fn writable(mode: AccessMode) -> bool {
    matches!(mode, AccessMode::Local | AccessMode::TedapiHybrid)
}
