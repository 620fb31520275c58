//! What a client can do with one gateway: read always; control through which backend, which
//! settings, and on which reserve scale (reported in `/api/gateways`, `/health`, `/control/status`).

use powerwall_gateway::AccessMode;
use serde_json::{Value, json};

/// Where control writes of a gateway go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// The Tesla cloud (Owner API): cloud mode, or the hybrid cloud connection.
    Cloud,
    /// Tesla's Fleet API: Fleet API mode, or a Fleet hybrid cloud connection.
    Fleet,
    /// The gateway's local API (`POST /api/operation`): local and TEDAPI hybrid modes.
    Local,
}

impl BackendKind {
    /// The name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cloud => "cloud",
            Self::Fleet => "fleetapi",
            Self::Local => "local",
        }
    }

    /// Whether the backend is one of Tesla's cloud APIs (they also write the grid settings).
    pub fn is_remote(self) -> bool {
        matches!(self, Self::Cloud | Self::Fleet)
    }

    /// The reserve scale the backend takes, forwarded unchanged: both cloud APIs take the app's
    /// percentage, the local API the gateway's raw field (app × 0.95 + 5).
    pub fn reserve_scale(self) -> &'static str {
        match self {
            Self::Cloud | Self::Fleet => "app",
            Self::Local => "raw",
        }
    }
}

/// The capabilities of one gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The control backend, if the gateway has one (whether or not control is on).
    pub backend: Option<BackendKind>,
    /// Control is on (`PW_CONTROL_SECRET`) and a backend exists.
    pub control_enabled: bool,
}

impl Capabilities {
    /// Decides the backend by precedence: the hybrid cloud connection (`hybrid_link`: its kind,
    /// Owner API or Fleet API) if there is one; else the gateway's own cloud API (cloud or Fleet
    /// API mode); else the local API where it exists; else none.
    pub fn decide(mode: AccessMode, hybrid_link: Option<BackendKind>, control_on: bool) -> Self {
        let backend = hybrid_link.or(match mode {
            AccessMode::Cloud => Some(BackendKind::Cloud),
            AccessMode::Fleet => Some(BackendKind::Fleet),
            mode if super::control::writable(mode) => Some(BackendKind::Local),
            _ => None,
        });
        Self {
            backend,
            control_enabled: control_on && backend.is_some(),
        }
    }

    /// Whether grid charging and the export rule can be written (the cloud APIs only).
    pub fn grid_settings(&self) -> bool {
        self.control_enabled && self.backend.is_some_and(BackendKind::is_remote)
    }

    /// `{"read", "control_enabled", "backend", "reserve", "mode", "grid_charging",
    /// "grid_export", "reserve_scale"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "read": true,
            "control_enabled": self.control_enabled,
            "backend": self.backend.map(BackendKind::name),
            "reserve": self.control_enabled,
            "mode": self.control_enabled,
            "grid_charging": self.grid_settings(),
            "grid_export": self.grid_settings(),
            "reserve_scale": self.backend.map(BackendKind::reserve_scale),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_by_mode_and_precedence() {
        use BackendKind::{Cloud, Fleet};
        let cases = [
            (AccessMode::Cloud, None, true, Some("cloud"), true, true),
            (AccessMode::Fleet, None, true, Some("fleetapi"), true, true),
            (AccessMode::Local, None, true, Some("local"), true, false),
            (
                AccessMode::TedapiHybrid,
                None,
                true,
                Some("local"),
                true,
                false,
            ),
            (AccessMode::TedapiFull, None, true, None, false, false),
            (
                AccessMode::TedapiFull,
                Some(Cloud),
                true,
                Some("cloud"),
                true,
                true,
            ),
            (
                AccessMode::TedapiFull,
                Some(Fleet),
                true,
                Some("fleetapi"),
                true,
                true,
            ),
            (
                AccessMode::Local,
                Some(Cloud),
                true,
                Some("cloud"),
                true,
                true,
            ),
            (
                AccessMode::Local,
                Some(Fleet),
                true,
                Some("fleetapi"),
                true,
                true,
            ),
            (
                AccessMode::Local,
                Some(Cloud),
                false,
                Some("cloud"),
                false,
                false,
            ),
            (
                AccessMode::Fleet,
                None,
                false,
                Some("fleetapi"),
                false,
                false,
            ),
        ];
        for (mode, hybrid, control, backend, reserve, grid) in cases {
            let caps = Capabilities::decide(mode, hybrid, control).to_json();
            let case = format!("{mode} {hybrid:?} {control}");
            assert_eq!(caps["backend"], json!(backend), "{case}");
            assert_eq!(caps["reserve"], json!(reserve), "{case}");
            assert_eq!(caps["mode"], json!(reserve), "{case}");
            assert_eq!(caps["grid_charging"], json!(grid), "{case}");
            assert_eq!(caps["grid_export"], json!(grid), "{case}");
            assert_eq!(caps["read"], json!(true));
        }
        let cloud = Capabilities::decide(AccessMode::Cloud, None, true).to_json();
        assert_eq!(cloud["reserve_scale"], "app");
        let fleet = Capabilities::decide(AccessMode::Fleet, None, true).to_json();
        assert_eq!(fleet["reserve_scale"], "app");
        let local = Capabilities::decide(AccessMode::Local, None, true).to_json();
        assert_eq!(local["reserve_scale"], "raw");
        let none = Capabilities::decide(AccessMode::TedapiFull, None, true).to_json();
        assert_eq!(none["reserve_scale"], Value::Null);
        assert_eq!(none["control_enabled"], false);
    }
}
