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

/// The placeholder account emails that mean "no email given": the library's default, the proxy's
/// `PW_EMAIL` default, and blank.
pub const PLACEHOLDER_EMAILS: [&str; 2] = ["nobody@nowhere.com", "email@example.com"];

/// The Tesla account email when one is really given (`None` for blank or a placeholder default).
pub fn account_email(email: &str) -> Option<&str> {
    let email = email.trim();
    (!email.is_empty() && !PLACEHOLDER_EMAILS.contains(&email)).then_some(email)
}

/// What mode selection looks at (gateway-protocols §8): presence of settings, not their values
/// (the email aside, whose form cloud mode validates).
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
    /// Whether the Fleet API auth file (`<authpath>/.pypowerwall.fleetapi`) exists.
    pub fleetapi_auth_file: bool,
    /// Whether the cloud auth file (`<authpath>/.pypowerwall.auth`) exists.
    pub cloud_auth_file: bool,
    /// `cloud_mode` / `cloudmode`: cloud asked for explicitly.
    pub cloud_mode: bool,
    /// `fleetapi`: the Fleet API asked for explicitly.
    pub fleetapi: bool,
    /// The Tesla account email as given (blank or a placeholder: take the auth file's first).
    pub email: String,
}

/// Decides the access mode from settings (a pure function; it only decides, it connects nothing).
///
/// No host means cloud. Cloud family: the Fleet flag or the Fleet auth file → Fleet; else Cloud,
/// which needs a valid email or, without one, the cloud auth file (its first account is used).
/// The Fleet flag with a host and without `cloud_mode` is refused (the reference's `unknown`).
/// With a host (validated) and no flag: RSA key → v1r (needs a password or gateway password);
/// gateway password only → TEDAPI full; customer password and gateway password on the gateway
/// Wi-Fi address `192.168.91.1[:443]` → TEDAPI hybrid; otherwise customer password → Local.
pub fn select_mode(settings: &ModeSettings) -> Result<AccessMode, GatewayError> {
    let host = settings.host.trim();
    if !host.is_empty() && settings.fleetapi && !settings.cloud_mode {
        return Err(GatewayError::Config(
            "the Fleet API (fleetapi) reads through Tesla's servers and cannot be combined with a \
             gateway host: remove the host, or set cloud_mode as well"
                .to_owned(),
        ));
    }
    if host.is_empty() || settings.cloud_mode {
        return cloud_family(settings);
    }
    GatewayHost::parse(host)?;
    local_family(settings, host)
}

/// Fleet or Cloud (§8 steps 1–3 for the remote modes).
fn cloud_family(settings: &ModeSettings) -> Result<AccessMode, GatewayError> {
    if settings.fleetapi || settings.fleetapi_auth_file {
        return Ok(AccessMode::Fleet);
    }
    match account_email(&settings.email) {
        Some(email) if crate::cloud::is_valid_email(email) => Ok(AccessMode::Cloud),
        Some(email) => Err(GatewayError::Config(format!(
            "cloud mode needs an account email like name@example.com, not {email:?}"
        ))),
        None if settings.cloud_auth_file => Ok(AccessMode::Cloud),
        None => Err(GatewayError::Config(
            "no gateway host and no Tesla login: set PW_HOST with PW_PASSWORD and/or PW_GW_PWD \
             (local), or PW_EMAIL and run setup (cloud)"
                .to_owned(),
        )),
    }
}

/// The local sub-modes (§8 step 4), for a validated host.
fn local_family(settings: &ModeSettings, host: &str) -> Result<AccessMode, GatewayError> {
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

    /// The cloud-side inputs of one case: flags, auth files present, email.
    #[derive(Clone, Copy, Default)]
    struct Remote {
        cloud_mode: bool,
        fleetapi: bool,
        cloud_file: bool,
        fleet_file: bool,
        email: &'static str,
    }

    fn settings(
        host: Option<&str>,
        password: bool,
        gw_pwd: bool,
        rsa: bool,
        remote: Remote,
    ) -> ModeSettings {
        ModeSettings {
            host: host.unwrap_or_default().to_owned(),
            password,
            gw_pwd,
            rsa_key_path: rsa,
            fleetapi_auth_file: remote.fleet_file,
            cloud_auth_file: remote.cloud_file,
            cloud_mode: remote.cloud_mode,
            fleetapi: remote.fleetapi,
            email: remote.email.to_owned(),
        }
    }

    #[test]
    fn mode_selection_table() {
        use AccessMode::*;
        let lan = Some("10.0.1.99");
        let wifi = Some("192.168.91.1");
        let none = Remote::default();
        let email = Remote {
            email: "me@example.com",
            ..none
        };
        let fleet_file = Remote {
            fleet_file: true,
            ..email
        };
        let cloud_file = Remote {
            cloud_file: true,
            ..none
        };
        let fleet_flag = Remote {
            fleetapi: true,
            ..none
        };
        let cases: Vec<(ModeSettings, Option<AccessMode>)> = vec![
            (settings(lan, true, false, false, none), Some(Local)),
            (settings(lan, true, false, false, fleet_file), Some(Local)),
            (settings(lan, true, false, false, cloud_file), Some(Local)),
            (settings(lan, false, true, false, none), Some(TedapiFull)),
            (settings(wifi, false, true, false, none), Some(TedapiFull)),
            (settings(lan, true, true, false, none), Some(Local)),
            (settings(wifi, true, true, false, none), Some(TedapiHybrid)),
            (
                settings(Some("192.168.91.1:443"), true, true, false, none),
                Some(TedapiHybrid),
            ),
            (
                settings(Some("192.168.91.1:8443"), true, true, false, none),
                Some(Local),
            ),
            (settings(wifi, true, false, false, none), Some(Local)),
            (settings(lan, true, false, true, none), Some(V1r)),
            (settings(lan, false, true, true, none), Some(V1r)),
            (settings(lan, false, false, true, none), None),
            (settings(lan, false, false, false, none), None),
            (settings(Some("bad host"), true, false, false, none), None),
            // No host: cloud needs an email or the auth file; the Fleet file wins.
            (settings(None, false, false, false, none), None),
            (settings(None, false, false, false, email), Some(Cloud)),
            (settings(None, false, false, false, cloud_file), Some(Cloud)),
            (
                settings(
                    None,
                    false,
                    false,
                    false,
                    Remote {
                        email: "email@example.com",
                        ..cloud_file
                    },
                ),
                Some(Cloud),
            ),
            (
                settings(
                    None,
                    false,
                    false,
                    false,
                    Remote {
                        email: "nobody@nowhere.com",
                        ..none
                    },
                ),
                None,
            ),
            (
                settings(
                    None,
                    false,
                    false,
                    false,
                    Remote {
                        email: "not an email",
                        ..cloud_file
                    },
                ),
                None,
            ),
            (
                settings(
                    None,
                    false,
                    false,
                    false,
                    Remote {
                        email: "me@localhost",
                        ..none
                    },
                ),
                None,
            ),
            (settings(None, false, false, false, fleet_file), Some(Fleet)),
            (
                settings(Some("  "), true, true, true, fleet_file),
                Some(Fleet),
            ),
            (settings(None, false, false, false, fleet_flag), Some(Fleet)),
            // Explicit flags with a host.
            (
                settings(
                    lan,
                    true,
                    false,
                    false,
                    Remote {
                        cloud_mode: true,
                        ..email
                    },
                ),
                Some(Cloud),
            ),
            (settings(lan, true, false, false, fleet_flag), None),
            (
                settings(
                    lan,
                    true,
                    false,
                    false,
                    Remote {
                        cloud_mode: true,
                        ..fleet_flag
                    },
                ),
                Some(Fleet),
            ),
        ];
        for (settings, expected) in cases {
            let got = select_mode(&settings);
            match expected {
                Some(mode) => assert_eq!(got.ok(), Some(mode), "{settings:?}"),
                None => assert!(matches!(got, Err(GatewayError::Config(_))), "{settings:?}"),
            }
        }
    }

    #[test]
    fn placeholder_emails_are_no_account() {
        assert_eq!(account_email(" me@example.com "), Some("me@example.com"));
        assert_eq!(account_email(""), None);
        assert_eq!(account_email("email@example.com"), None);
        assert_eq!(account_email("nobody@nowhere.com"), None);
    }
}
