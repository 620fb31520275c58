//! What a control request asks for (proxy-api §6.8.2 step 6), decided from the action and the form
//! alone, before anything is sent to the gateway.

use powerwall_gateway::{GridExportRule, OperationMode, ReserveLevel};

use super::form::ControlForm;

/// Error text: unknown action.
pub const INVALID_ACTION: &str = "Invalid Command Action";
/// Error text: bad `value`.
pub const VALUE_INVALID: &str = "Control Command Value Invalid";
/// Error text: bad `mode` with a reserve.
pub const MODE_INVALID: &str = "Control Command Mode Invalid";
/// Error text: bad `level` with a mode.
pub const LEVEL_INVALID: &str = "Control Command Level Invalid";
/// Error text: `max_backup` outside TEDAPI v1r.
pub const MAX_BACKUP_NEEDS_V1R: &str = "max_backup requires v1r LAN transport";

/// The control actions (`/control/<action>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Backup reserve (app scale on reads).
    Reserve,
    /// Operation mode.
    Mode,
    /// Charging from the grid.
    GridCharging,
    /// Grid export rule.
    GridExport,
    /// Manual backup events (TEDAPI v1r only).
    MaxBackup,
}

impl Action {
    /// The action named by a path segment (exact, lower case).
    pub fn parse(segment: &str) -> Option<Self> {
        match segment {
            "reserve" => Some(Self::Reserve),
            "mode" => Some(Self::Mode),
            "grid_charging" => Some(Self::GridCharging),
            "grid_export" => Some(Self::GridExport),
            "max_backup" => Some(Self::MaxBackup),
            _ => None,
        }
    }
}

/// The action segment of a control path (after base-URL stripping): `Some(segment)` for
/// `/control/<segment>` or `/control/<segment>/`; `None` for `/control`, `/control/` and deeper
/// paths such as `/control/reserve/extra` (proxy-api §15 item 4).
pub fn action_segment(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/control/")?;
    let segment = rest.strip_suffix('/').unwrap_or(rest);
    (!segment.is_empty() && !segment.contains('/')).then_some(segment)
}

/// Which failure text a write reports when the backend gives no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// `set_reserve`.
    Reserve,
    /// `set_mode`.
    Mode,
    /// `set_operation` with both fields, from `/control/reserve` (`mode` given).
    ReserveWithMode,
    /// `set_operation` with both fields, from `/control/mode` (`level` given).
    ModeWithLevel,
}

impl WriteKind {
    /// The error text when the write fails.
    pub fn failure(self) -> &'static str {
        match self {
            Self::Reserve => "Failed to set reserve",
            Self::Mode => "Failed to set mode",
            Self::ReserveWithMode | Self::ModeWithLevel => "Failed to set reserve+mode",
        }
    }
}

/// What to do for one authorised control POST.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Answer the current value (an empty `value`), like the GET route.
    Read(Action),
    /// One `set_operation` call.
    SetOperation {
        /// New reserve (forwarded as given).
        reserve: Option<ReserveLevel>,
        /// New mode.
        mode: Option<OperationMode>,
        /// Which call this is, for the failure text and the log line.
        kind: WriteKind,
    },
    /// `set_grid_charging`.
    SetGridCharging(bool),
    /// `set_grid_export`.
    SetGridExport(GridExportRule),
    /// Refused without a gateway call: 400 with this error text.
    Refuse(&'static str),
}

/// Decides the command for `action` (`None` = unknown action) and the form fields.
pub fn decide(action: Option<Action>, form: &ControlForm) -> Command {
    let Some(action) = action else {
        return Command::Refuse(INVALID_ACTION);
    };
    let Some(value) = form.value.as_deref() else {
        return match action {
            Action::MaxBackup => Command::Refuse(MAX_BACKUP_NEEDS_V1R),
            read => Command::Read(read),
        };
    };
    match action {
        Action::Reserve => decide_reserve(value, form.mode.as_deref()),
        Action::Mode => decide_mode(value, form.level.as_deref()),
        Action::GridCharging => {
            if value.eq_ignore_ascii_case("true") {
                Command::SetGridCharging(true)
            } else if value.eq_ignore_ascii_case("false") {
                Command::SetGridCharging(false)
            } else {
                Command::Refuse(VALUE_INVALID)
            }
        }
        Action::GridExport => GridExportRule::parse(value)
            .map_or(Command::Refuse(VALUE_INVALID), Command::SetGridExport),
        Action::MaxBackup => Command::Refuse(MAX_BACKUP_NEEDS_V1R),
    }
}

/// `reserve`: ASCII digits (checked first, as the reference does), then a valid `mode` if one is
/// given, then the 0–100 range (validated up front, §15 item 17).
fn decide_reserve(value: &str, mode: Option<&str>) -> Command {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Command::Refuse(VALUE_INVALID);
    }
    let mode = match mode.map(OperationMode::parse) {
        None => None,
        Some(Some(mode)) => Some(mode),
        Some(None) => return Command::Refuse(MODE_INVALID),
    };
    let Some(reserve) = ReserveLevel::parse_digits(value) else {
        return Command::Refuse(VALUE_INVALID);
    };
    let kind = if mode.is_some() {
        WriteKind::ReserveWithMode
    } else {
        WriteKind::Reserve
    };
    Command::SetOperation {
        reserve: Some(reserve),
        mode,
        kind,
    }
}

/// `mode`: an exact mode, then a `level` (digits 0–100) if one is given.
fn decide_mode(value: &str, level: Option<&str>) -> Command {
    let Some(mode) = OperationMode::parse(value) else {
        return Command::Refuse(VALUE_INVALID);
    };
    match level.map(ReserveLevel::parse_digits) {
        None => Command::SetOperation {
            reserve: None,
            mode: Some(mode),
            kind: WriteKind::Mode,
        },
        Some(Some(level)) => Command::SetOperation {
            reserve: Some(level),
            mode: Some(mode),
            kind: WriteKind::ModeWithLevel,
        },
        Some(None) => Command::Refuse(LEVEL_INVALID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> ControlForm {
        ControlForm::parse(body)
    }

    fn set(reserve: Option<u64>, mode: Option<OperationMode>, kind: WriteKind) -> Command {
        Command::SetOperation {
            reserve: reserve.and_then(ReserveLevel::whole),
            mode,
            kind,
        }
    }

    #[test]
    fn segments() {
        assert_eq!(action_segment("/control/reserve"), Some("reserve"));
        assert_eq!(action_segment("/control/reserve/"), Some("reserve"));
        assert_eq!(action_segment("/control/foo"), Some("foo"));
        for path in [
            "/control",
            "/control/",
            "/control//",
            "/control/reserve/extra",
            "/control/reserve//",
            "/controlx/reserve",
        ] {
            assert_eq!(action_segment(path), None, "{path}");
        }
        assert_eq!(Action::parse("Reserve"), None);
    }

    #[test]
    fn validation_table() {
        use Action::*;
        use OperationMode::*;
        let cases: Vec<(Option<Action>, &str, Command)> = vec![
            (None, "value=1", Command::Refuse(INVALID_ACTION)),
            (Some(Reserve), "", Command::Read(Reserve)),
            (Some(Reserve), "value=", Command::Read(Reserve)),
            (
                Some(Reserve),
                "value=50",
                set(Some(50), None, WriteKind::Reserve),
            ),
            (
                Some(Reserve),
                "value=0",
                set(Some(0), None, WriteKind::Reserve),
            ),
            (
                Some(Reserve),
                "value=100",
                set(Some(100), None, WriteKind::Reserve),
            ),
            (Some(Reserve), "value=101", Command::Refuse(VALUE_INVALID)),
            (Some(Reserve), "value=abc", Command::Refuse(VALUE_INVALID)),
            (Some(Reserve), "value=-5", Command::Refuse(VALUE_INVALID)),
            (Some(Reserve), "value=50.5", Command::Refuse(VALUE_INVALID)),
            (
                Some(Reserve),
                "value=%C2%B2",
                Command::Refuse(VALUE_INVALID),
            ),
            (Some(Reserve), "value=+50", Command::Refuse(VALUE_INVALID)),
            (
                Some(Reserve),
                "value=50&mode=backup",
                set(Some(50), Some(Backup), WriteKind::ReserveWithMode),
            ),
            (
                Some(Reserve),
                "value=5&mode=self_consumption",
                set(Some(5), Some(SelfConsumption), WriteKind::ReserveWithMode),
            ),
            (
                Some(Reserve),
                "value=5&mode=garbage",
                Command::Refuse(MODE_INVALID),
            ),
            (
                Some(Reserve),
                "value=500&mode=garbage",
                Command::Refuse(MODE_INVALID),
            ),
            (
                Some(Reserve),
                "value=x&mode=garbage",
                Command::Refuse(VALUE_INVALID),
            ),
            (
                Some(Reserve),
                "value=5&mode=",
                set(Some(5), None, WriteKind::Reserve),
            ),
            (Some(Mode), "", Command::Read(Mode)),
            (
                Some(Mode),
                "value=backup",
                set(None, Some(Backup), WriteKind::Mode),
            ),
            (
                Some(Mode),
                "value=autonomous",
                set(None, Some(Autonomous), WriteKind::Mode),
            ),
            (
                Some(Mode),
                "value=backup&level=80",
                set(Some(80), Some(Backup), WriteKind::ModeWithLevel),
            ),
            (
                Some(Mode),
                "value=backup&level=x",
                Command::Refuse(LEVEL_INVALID),
            ),
            (
                Some(Mode),
                "value=backup&level=not-a-number",
                Command::Refuse(LEVEL_INVALID),
            ),
            (
                Some(Mode),
                "value=backup&level=101",
                Command::Refuse(LEVEL_INVALID),
            ),
            (Some(Mode), "value=Backup", Command::Refuse(VALUE_INVALID)),
            (
                Some(Mode),
                "value=Backup&level=x",
                Command::Refuse(VALUE_INVALID),
            ),
            (Some(GridCharging), "", Command::Read(GridCharging)),
            (
                Some(GridCharging),
                "value=TRUE",
                Command::SetGridCharging(true),
            ),
            (
                Some(GridCharging),
                "value=False",
                Command::SetGridCharging(false),
            ),
            (
                Some(GridCharging),
                "value=yes",
                Command::Refuse(VALUE_INVALID),
            ),
            (Some(GridExport), "", Command::Read(GridExport)),
            (
                Some(GridExport),
                "value=PV_ONLY",
                Command::SetGridExport(GridExportRule::PvOnly),
            ),
            (
                Some(GridExport),
                "value=never",
                Command::SetGridExport(GridExportRule::Never),
            ),
            (
                Some(GridExport),
                "value=always",
                Command::Refuse(VALUE_INVALID),
            ),
            (Some(MaxBackup), "", Command::Refuse(MAX_BACKUP_NEEDS_V1R)),
            (
                Some(MaxBackup),
                "value=3600",
                Command::Refuse(MAX_BACKUP_NEEDS_V1R),
            ),
            (
                Some(MaxBackup),
                "value=cancel",
                Command::Refuse(MAX_BACKUP_NEEDS_V1R),
            ),
        ];
        for (action, body, expected) in cases {
            assert_eq!(decide(action, &form(body)), expected, "{action:?} {body}");
        }
    }
}
