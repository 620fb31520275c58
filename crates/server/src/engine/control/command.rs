//! What a control write asks for, what it achieved, and why it failed.

use powerwall_gateway::{GatewayError, GridExportRule, OperationMode, ReserveLevel};
use serde_json::Value;

use crate::engine::capabilities::BackendKind;

/// One control write, already validated (the reserve is 0–100, the mode and rule are known).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Sets the backup reserve, forwarded unchanged (app scale to the cloud, raw to the local API).
    Reserve(ReserveLevel),
    /// Sets the operation mode.
    Mode(OperationMode),
    /// Sets the reserve and the mode in one write.
    Operation {
        /// The new reserve.
        reserve: ReserveLevel,
        /// The new mode.
        mode: OperationMode,
    },
    /// Allows or forbids charging the battery from the grid.
    GridCharging(bool),
    /// Sets the grid export rule.
    GridExport(GridExportRule),
}

impl Command {
    /// The operation write for these fields; `None` when neither is given.
    pub fn operation(reserve: Option<ReserveLevel>, mode: Option<OperationMode>) -> Option<Self> {
        match (reserve, mode) {
            (Some(reserve), Some(mode)) => Some(Self::Operation { reserve, mode }),
            (Some(reserve), None) => Some(Self::Reserve(reserve)),
            (None, Some(mode)) => Some(Self::Mode(mode)),
            (None, None) => None,
        }
    }

    /// The reserve and mode of an operation write (`None, None` for the grid settings).
    pub fn operation_fields(self) -> (Option<ReserveLevel>, Option<OperationMode>) {
        match self {
            Self::Reserve(reserve) => (Some(reserve), None),
            Self::Mode(mode) => (None, Some(mode)),
            Self::Operation { reserve, mode } => (Some(reserve), Some(mode)),
            Self::GridCharging(_) | Self::GridExport(_) => (None, None),
        }
    }

    /// Whether this writes one of the grid settings (read back from the cloud, not the poller).
    pub fn is_grid_setting(self) -> bool {
        matches!(self, Self::GridCharging(_) | Self::GridExport(_))
    }

    /// `Set Reserve to 50`, `Set Mode to backup`, … (for log lines).
    pub fn describe(self) -> String {
        match self {
            Self::Reserve(reserve) => format!("Set Reserve to {reserve}"),
            Self::Mode(mode) => format!("Set Mode to {}", mode.as_str()),
            Self::Operation { reserve, mode } => {
                format!("Set Reserve to {reserve} and Mode to {}", mode.as_str())
            }
            Self::GridCharging(allowed) => format!("Set Grid Charging to {allowed}"),
            Self::GridExport(rule) => format!("Set Grid Export to {rule}"),
        }
    }
}

/// What was observed after a successful write.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadBack {
    /// The gateway's `/api/operation` read after the write (`None`: not observed in time).
    Operation(Option<Value>),
    /// The grid settings as the cloud reports them after the write.
    Grid {
        /// Charging from the grid allowed.
        grid_charging: bool,
        /// The export rule, as Tesla spells it.
        grid_export: String,
    },
    /// Written through the hybrid cloud link: the gateway learns the change from Tesla later, so
    /// a task owned by the controller reads it back after one poll period (and logs it).
    Scheduled,
    /// Nothing could be read back (logged).
    Unavailable,
}

/// A successful write.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlOutcome {
    /// What was written.
    pub command: Command,
    /// Where it was written.
    pub backend: BackendKind,
    /// The backend's result document, exactly as it answered (the legacy POST body).
    pub result: Value,
    /// What was observed after the write.
    pub read_back: ReadBack,
}

/// Why a write did not happen or failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The gateway has no control backend in this mode (no cloud link, no local write path).
    #[error("control is not supported in this mode - Run Setup")]
    NotSupported,
    /// The cloud link does not connect (no login, refused refresh).
    #[error("the Tesla cloud connection does not work - Run Setup")]
    RunSetup,
    /// The backend answered with a failure: nothing, `false`, or an object carrying `error`.
    #[error("the backend reported a failure")]
    Rejected(Value),
    /// The write could not be made.
    #[error(transparent)]
    Backend(#[from] GatewayError),
}

impl ControlError {
    /// Whether the write never reached a backend because the gateway has none that works.
    pub fn needs_setup(&self) -> bool {
        matches!(self, Self::NotSupported | Self::RunSetup)
    }
}

/// Whether a backend result means failure: nothing, `false`, or an object carrying `error`.
pub(super) fn is_failure(result: &Value) -> bool {
    match result {
        Value::Null | Value::Bool(false) => true,
        Value::Object(map) => map.contains_key("error"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use powerwall_gateway::{GridExportRule, OperationMode, ReserveLevel};
    use serde_json::json;

    use super::*;

    fn level(percent: u64) -> ReserveLevel {
        ReserveLevel::whole(percent).expect("0-100")
    }

    #[test]
    fn commands_from_fields() {
        assert_eq!(Command::operation(None, None), None);
        assert_eq!(
            Command::operation(Some(level(5)), None),
            Some(Command::Reserve(level(5)))
        );
        let both = Command::operation(Some(level(5)), Some(OperationMode::Autonomous));
        assert_eq!(
            both.map(Command::operation_fields),
            Some((Some(level(5)), Some(OperationMode::Autonomous)))
        );
        assert_eq!(
            Command::GridCharging(false).operation_fields(),
            (None, None)
        );
        assert_eq!(
            Command::GridExport(GridExportRule::Never).describe(),
            "Set Grid Export to never"
        );
    }

    #[test]
    fn failure_results() {
        assert!(is_failure(&Value::Null));
        assert!(is_failure(&json!(false)));
        assert!(is_failure(&json!({"error": "Failed to write config"})));
        assert!(!is_failure(
            &json!({"real_mode": "backup", "backup_reserve_percent": 50})
        ));
        assert!(!is_failure(&json!(true)));
        assert!(!is_failure(&json!("Updated")));
    }
}
