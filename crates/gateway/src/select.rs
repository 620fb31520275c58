//! Access modes and mode selection from settings.

use std::fmt;

use crate::GatewayError;
use crate::local::GatewayHost;

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

/// The gateway address that only answers on the gateway's own Wi-Fi (TEDAPI reachable).
pub const GATEWAY_WIFI_ADDRESS: &str = "192.168.91.1";

/// The forms of the gateway Wi-Fi address that select the hybrid mode.
const GATEWAY_WIFI_HOSTS: [&str; 2] = [GATEWAY_WIFI_ADDRESS, "192.168.91.1:443"];

/// What mode selection looks at (gateway-protocols §8): presence of settings, not their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModeSettings {
    /// `PW_HOST`: gateway address (blank: no local gateway).
    pub host: String,
    /// Whether the customer password is set.
    pub password: bool,
    /// Whether the gateway (QR-sticker) password is set.
    pub gw_pwd: bool,
    /// Whether an RSA key for TEDAPI v1r is configured.
    pub rsa_key_path: bool,
    /// Whether the Fleet API auth file (`.pypowerwall.fleetapi`) exists.
    pub fleetapi_auth_file: bool,
}

/// Decides the access mode from settings (a pure function; it only decides, it connects nothing).
///
/// No host: Fleet if its auth file exists, else Cloud. With a host (validated): RSA key → v1r
/// (needs a password or gateway password); gateway password only → TEDAPI full; customer password
/// and gateway password on the gateway Wi-Fi address `192.168.91.1[:443]` → TEDAPI hybrid;
/// otherwise customer password → Local.
pub fn select_mode(settings: &ModeSettings) -> Result<AccessMode, GatewayError> {
    let host = settings.host.trim();
    if host.is_empty() {
        return Ok(if settings.fleetapi_auth_file {
            AccessMode::Fleet
        } else {
            AccessMode::Cloud
        });
    }
    GatewayHost::parse(host)?;
    if settings.rsa_key_path {
        return if settings.password || settings.gw_pwd {
            Ok(AccessMode::V1r)
        } else {
            Err(GatewayError::Config(
                "v1r mode (PW_RSA_KEY_PATH) needs PW_PASSWORD (customer password) or PW_GW_PWD \
                 (gateway password)"
                    .to_owned(),
            ))
        };
    }
    match (settings.password, settings.gw_pwd) {
        (true, true) if GATEWAY_WIFI_HOSTS.contains(&host) => Ok(AccessMode::TedapiHybrid),
        (true, _) => Ok(AccessMode::Local),
        (false, true) => Ok(AccessMode::TedapiFull),
        (false, false) => Err(GatewayError::Config(format!(
            "PW_HOST is {host:?} but no password is set: set PW_PASSWORD (customer password) for \
             the local API, PW_GW_PWD (gateway password) for TEDAPI, or both"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_selection_table() {
        let settings =
            |host: Option<&str>, password: bool, gw_pwd: bool, rsa: bool, fleet: bool| {
                ModeSettings {
                    host: host.unwrap_or_default().to_owned(),
                    password,
                    gw_pwd,
                    rsa_key_path: rsa,
                    fleetapi_auth_file: fleet,
                }
            };
        use AccessMode::*;
        let lan = Some("10.0.1.99");
        let wifi = Some("192.168.91.1");
        let cases: [(ModeSettings, Option<AccessMode>); 16] = [
            (settings(lan, true, false, false, false), Some(Local)),
            (settings(lan, true, false, false, true), Some(Local)),
            (settings(lan, false, true, false, false), Some(TedapiFull)),
            (settings(wifi, false, true, false, false), Some(TedapiFull)),
            (settings(lan, true, true, false, false), Some(Local)),
            (settings(wifi, true, true, false, false), Some(TedapiHybrid)),
            (
                settings(Some("192.168.91.1:443"), true, true, false, false),
                Some(TedapiHybrid),
            ),
            (
                settings(Some("192.168.91.1:8443"), true, true, false, false),
                Some(Local),
            ),
            (settings(wifi, true, false, false, false), Some(Local)),
            (settings(lan, true, false, true, false), Some(V1r)),
            (settings(lan, false, true, true, false), Some(V1r)),
            (settings(lan, false, false, true, false), None),
            (settings(lan, false, false, false, false), None),
            (settings(None, false, false, false, false), Some(Cloud)),
            (settings(Some("  "), true, true, true, true), Some(Fleet)),
            (settings(Some("bad host"), true, false, false, false), None),
        ];
        for (settings, expected) in cases {
            let got = select_mode(&settings);
            match expected {
                Some(mode) => assert_eq!(got.ok(), Some(mode), "{settings:?}"),
                None => assert!(matches!(got, Err(GatewayError::Config(_))), "{settings:?}"),
            }
        }
    }
}
