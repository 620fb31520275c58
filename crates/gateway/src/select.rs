//! Access modes and mode selection from settings.

use std::fmt;

/// How the client reaches the gateway (the names users know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// Local legacy API with the customer password (Powerwall 2/+).
    Local,
    /// TEDAPI with the gateway password only.
    TedapiFull,
    /// Local legacy API plus TEDAPI for vitals.
    TedapiHybrid,
    /// RSA-signed TEDAPI over the LAN.
    V1r,
    /// Tesla Owner API.
    Cloud,
    /// Tesla Fleet API.
    Fleet,
}

impl AccessMode {
    /// Short lowercase name for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::TedapiFull => "tedapi-full",
            Self::TedapiHybrid => "tedapi-hybrid",
            Self::V1r => "v1r",
            Self::Cloud => "cloud",
            Self::Fleet => "fleetapi",
        }
    }
}

impl fmt::Display for AccessMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
