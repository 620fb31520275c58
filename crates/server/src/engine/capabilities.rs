//! What a client can do with one gateway: read always; control through which backend, which
//! settings, and on which reserve scale (reported in `/api/gateways`, `/health`, `/control/status`).

use powerwall_gateway::AccessMode;
use serde_json::{Value, json};

/// Where control writes of a gateway go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// The Tesla cloud (Owner API): cloud mode, or the hybrid cloud connection.
    Cloud,
    /// The gateway's local API (`POST /api/operation`): local and TEDAPI hybrid modes.
    Local,
}

impl BackendKind {
    /// The name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cloud => "cloud",
            Self::Local => "local",
        }
    }

    /// The reserve scale the backend takes, forwarded unchanged: the cloud takes the app's
    /// percentage, the local API the gateway's raw field (app × 0.95 + 5).
    pub fn reserve_scale(self) -> &'static str {
        match self {
            Self::Cloud => "app",
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
    /// Decides the backend by precedence: the cloud (cloud mode, or a hybrid cloud connection);
    /// else the local API where it exists; else none.
    pub fn decide(mode: AccessMode, hybrid_cloud: bool, control_on: bool) -> Self {
        let backend = if hybrid_cloud || mode == AccessMode::Cloud {
            Some(BackendKind::Cloud)
        } else if matches!(mode, AccessMode::Local | AccessMode::TedapiHybrid) {
            Some(BackendKind::Local)
        } else {
            None
        };
        Self {
            backend,
            control_enabled: control_on && backend.is_some(),
        }
    }

    /// Whether grid charging and the export rule can be written (the cloud only).
    pub fn grid_settings(&self) -> bool {
        self.control_enabled && self.backend == Some(BackendKind::Cloud)
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
        let cases = [
            (AccessMode::Cloud, false, true, Some("cloud"), true, true),
            (AccessMode::Local, false, true, Some("local"), true, false),
            (
                AccessMode::TedapiHybrid,
                false,
                true,
                Some("local"),
                true,
                false,
            ),
            (AccessMode::TedapiFull, false, true, None, false, false),
            (
                AccessMode::TedapiFull,
                true,
                true,
                Some("cloud"),
                true,
                true,
            ),
            (AccessMode::Local, true, true, Some("cloud"), true, true),
            (AccessMode::Local, true, false, Some("cloud"), false, false),
        ];
        for (mode, hybrid, control, backend, reserve, grid) in cases {
            let caps = Capabilities::decide(mode, hybrid, control).to_json();
            assert_eq!(caps["backend"], json!(backend), "{mode} {hybrid} {control}");
            assert_eq!(caps["reserve"], json!(reserve), "{mode} {hybrid} {control}");
            assert_eq!(caps["mode"], json!(reserve), "{mode} {hybrid} {control}");
            assert_eq!(
                caps["grid_charging"],
                json!(grid),
                "{mode} {hybrid} {control}"
            );
            assert_eq!(
                caps["grid_export"],
                json!(grid),
                "{mode} {hybrid} {control}"
            );
            assert_eq!(caps["read"], json!(true));
        }
        let cloud = Capabilities::decide(AccessMode::Cloud, false, true).to_json();
        assert_eq!(cloud["reserve_scale"], "app");
        let local = Capabilities::decide(AccessMode::Local, false, true).to_json();
        assert_eq!(local["reserve_scale"], "raw");
        let none = Capabilities::decide(AccessMode::TedapiFull, false, true).to_json();
        assert_eq!(none["reserve_scale"], Value::Null);
        assert_eq!(none["control_enabled"], false);
    }
}
