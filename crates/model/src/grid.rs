//! Grid status (`/api/system_status/grid_status`) and its string/numeric mappings.

use serde::{Deserialize, Serialize};

/// The gateway's grid state vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GridState {
    /// On grid.
    Connected,
    /// Off grid, running on battery/solar.
    IslandedActive,
    /// Reconnecting to the grid.
    TransitionToGrid,
    /// Disconnecting from the grid.
    TransitionToIsland,
    /// Islanded and ready to reconnect.
    IslandedReady,
    /// Microgrid fault.
    MicroGridFaulted,
    /// Waiting for the user to act.
    WaitForUser,
    /// A state this build does not know (kept verbatim).
    Other(String),
}

impl GridState {
    /// Parses the gateway's text (`SystemGridConnected`, ...).
    pub fn from_gateway_text(text: &str) -> Self {
        match text {
            "SystemGridConnected" => Self::Connected,
            "SystemIslandedActive" => Self::IslandedActive,
            "SystemTransitionToGrid" => Self::TransitionToGrid,
            "SystemTransitionToIsland" => Self::TransitionToIsland,
            "SystemIslandedReady" => Self::IslandedReady,
            "SystemMicroGridFaulted" => Self::MicroGridFaulted,
            "SystemWaitForUser" => Self::WaitForUser,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The gateway's text for this state.
    pub fn gateway_text(&self) -> &str {
        match self {
            Self::Connected => "SystemGridConnected",
            Self::IslandedActive => "SystemIslandedActive",
            Self::TransitionToGrid => "SystemTransitionToGrid",
            Self::TransitionToIsland => "SystemTransitionToIsland",
            Self::IslandedReady => "SystemIslandedReady",
            Self::MicroGridFaulted => "SystemMicroGridFaulted",
            Self::WaitForUser => "SystemWaitForUser",
            Self::Other(text) => text,
        }
    }

    /// The proxy's `UP` / `DOWN` / `SYNCING` text; `None` for unknown states.
    pub fn as_updown(&self) -> Option<&'static str> {
        match self.numeric()? {
            1 => Some("UP"),
            0 => Some("DOWN"),
            _ => Some("SYNCING"),
        }
    }

    /// The proxy's numeric form: 1 up, 0 down, −1 syncing; `None` for unknown states.
    pub fn numeric(&self) -> Option<i8> {
        match self {
            Self::Connected => Some(1),
            Self::IslandedActive | Self::MicroGridFaulted | Self::WaitForUser => Some(0),
            Self::TransitionToGrid | Self::TransitionToIsland | Self::IslandedReady => Some(-1),
            Self::Other(_) => None,
        }
    }
}

impl Serialize for GridState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.gateway_text())
    }
}

impl<'de> Deserialize<'de> for GridState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self::from_gateway_text(&text))
    }
}

/// `/api/system_status/grid_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridStatus {
    /// Grid state.
    #[serde(rename = "grid_status")]
    pub state: GridState,
    /// Whether grid services (e.g. VPP events) are active.
    #[serde(rename = "grid_services_active", default)]
    pub grid_services_active: Option<bool>,
}

impl GridStatus {
    /// Reads the typed view of a grid-status document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::ModelError> {
        crate::from_document("/api/system_status/grid_status", value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_table_matches_the_proxy() {
        let table = [
            ("SystemGridConnected", Some("UP"), Some(1)),
            ("SystemIslandedActive", Some("DOWN"), Some(0)),
            ("SystemTransitionToGrid", Some("SYNCING"), Some(-1)),
            ("SystemTransitionToIsland", Some("SYNCING"), Some(-1)),
            ("SystemIslandedReady", Some("SYNCING"), Some(-1)),
            ("SystemMicroGridFaulted", Some("DOWN"), Some(0)),
            ("SystemWaitForUser", Some("DOWN"), Some(0)),
            ("Nonsense", None, None),
        ];
        for (text, updown, numeric) in table {
            let state = GridState::from_gateway_text(text);
            assert_eq!(state.as_updown(), updown, "{text}");
            assert_eq!(state.numeric(), numeric, "{text}");
            assert_eq!(state.gateway_text(), text);
        }
    }

    #[test]
    fn reads_the_offline_fixture() {
        let json = crate::local_fixture("bogus/api.system_status.grid_status.offline.json");
        let status = GridStatus::from_json(&json).unwrap();
        assert_eq!(status.state.numeric(), Some(0));
    }
}
