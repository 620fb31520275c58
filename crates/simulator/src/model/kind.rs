//! The topology choice made at start (`--topology pw2|pw3|pw3-multi`).

use std::fmt;
use std::str::FromStr;

/// Which site the simulator models, chosen at start (`--topology`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopologyKind {
    /// Two Powerwall 2 with a Backup Gateway 2 (TESYNC), a PVAC solar inverter and a Neurio meter.
    #[default]
    Pw2,
    /// One Powerwall 3 (the gateway) with one expansion pack and PV on its own inverter.
    Pw3,
    /// The `pw3` site plus two follower Powerwall 3.
    Pw3Multi,
}

impl TopologyKind {
    /// The name used on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pw2 => "pw2",
            Self::Pw3 => "pw3",
            Self::Pw3Multi => "pw3-multi",
        }
    }

    /// Whether the batteries are Powerwall 3.
    pub fn is_pw3(&self) -> bool {
        matches!(self, Self::Pw3 | Self::Pw3Multi)
    }
}

impl fmt::Display for TopologyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TopologyKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "pw2" => Ok(Self::Pw2),
            "pw3" => Ok(Self::Pw3),
            "pw3-multi" => Ok(Self::Pw3Multi),
            other => Err(format!(
                "unknown topology {other:?} (expected pw2, pw3 or pw3-multi)"
            )),
        }
    }
}
