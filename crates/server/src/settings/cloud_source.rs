//! The cloud side of a gateway's settings: the cloud-mode client of a gateway without a host, and
//! the hybrid cloud control backend of a local or TEDAPI gateway (server-api "Hybrid cloud
//! connection"). The Fleet API side (its client settings and poll floor) is in `fleet_source`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use powerwall_gateway::cloud::{AUTH_FILE, CloudConfig};
use powerwall_gateway::fleet::FleetConfig;
use powerwall_gateway::select::account_email;

use super::fleet_source::fleet_config;
use super::gateway::{ConnectionInputs, FieldNames, GatewaySource};
use super::{CloudEndpoints, SettingsError};

/// The Fleet API token file in an auth directory (its presence selects Fleet API mode).
pub const FLEETAPI_FILE: &str = ".pypowerwall.fleetapi";

/// The cloud never answers fresher than this (Tesla caches per endpoint); cloud-mode gateways are
/// not polled, nor their answers cached, for less.
pub const MIN_CLOUD_PERIOD: Duration = Duration::from_secs(5);

/// The cloud-related facts of one gateway, besides its connection inputs.
#[derive(Debug, Clone, Default)]
pub struct CloudInputs {
    /// `cloud_mode`: cloud asked for explicitly.
    pub cloud_mode: bool,
    /// Directory of `.pypowerwall.auth` / `.pypowerwall.fleetapi` (gateway `authpath`, else
    /// `PW_AUTH_PATH`; empty = the working directory).
    pub auth_dir: PathBuf,
    /// Whether `<auth_dir>/.pypowerwall.auth` exists.
    pub cloud_auth_file: bool,
    /// Whether `<auth_dir>/.pypowerwall.fleetapi` exists.
    pub fleetapi_auth_file: bool,
    /// Energy site id as configured (`PW_SITEID` / `site_id`).
    pub site_id: Option<String>,
    /// Cloud base URLs and CA.
    pub endpoints: CloudEndpoints,
    /// `PW_CONTROL_SECRET` is set: control wants a backend.
    pub control_enabled: bool,
    /// `PW_CLOUD_HYBRID=yes`: build the hybrid connection even without a control secret, and even
    /// when the gateway has its own local write path and no cloud login yet.
    pub cloud_hybrid: bool,
    /// `PW_FLEETAPI_HTTP` forces HTTP/1.1 for Fleet API calls.
    pub fleet_http1: bool,
}

/// The hybrid control connection of a local or TEDAPI gateway: the Owner API or the Fleet API.
#[derive(Debug, Clone)]
pub enum ControlLinkConfig {
    /// The Tesla cloud (Owner API, `.pypowerwall.auth`).
    Cloud(CloudConfig),
    /// The Fleet API (`.pypowerwall.fleetapi`).
    Fleet(FleetConfig),
}

impl ControlLinkConfig {
    /// The auth directory the link's token file is in.
    pub fn auth_dir(&self) -> &Path {
        match self {
            Self::Cloud(config) => &config.auth_dir,
            Self::Fleet(config) => &config.auth_dir,
        }
    }
}

impl CloudInputs {
    /// Inputs for `auth_dir`, looking up which auth files exist there now.
    pub fn in_dir(auth_dir: impl Into<PathBuf>) -> Self {
        let auth_dir = auth_dir.into();
        Self {
            cloud_auth_file: file_in(&auth_dir, AUTH_FILE).is_file(),
            fleetapi_auth_file: file_in(&auth_dir, FLEETAPI_FILE).is_file(),
            auth_dir,
            ..Self::default()
        }
    }
}

/// `dir/name`, or `name` in the working directory when `dir` is empty.
fn file_in(dir: &Path, name: &str) -> PathBuf {
    if dir.as_os_str().is_empty() {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

/// The settings of a cloud client for this gateway's account and site.
pub fn cloud_config(
    inputs: &ConnectionInputs,
    cloud: &CloudInputs,
    names: FieldNames,
) -> Result<CloudConfig, SettingsError> {
    // A placeholder email means "the auth file's first account", which the client reads as "".
    let email = account_email(&inputs.email).unwrap_or_default();
    let mut config = CloudConfig::new(email, cloud.auth_dir.clone());
    config.site_id = parse_site_id(cloud.site_id.as_deref(), names)?;
    config.timeout = inputs.timeout;
    config.cache_ttl = inputs.poll_interval.max(MIN_CLOUD_PERIOD);
    cloud.endpoints.apply(&mut config)?;
    Ok(config)
}

/// `PW_SITEID` / `site_id`: blank = none, else a whole number.
pub(super) fn parse_site_id(
    text: Option<&str>,
    names: FieldNames,
) -> Result<Option<u64>, SettingsError> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    text.parse::<u64>()
        .map(Some)
        .map_err(|_| SettingsError::Invalid {
            variable: match names {
                FieldNames::Environment => "PW_SITEID",
                FieldNames::Entry => "site_id",
            },
            message: format!("expected a Tesla energy site id (digits), got {text:?}"),
        })
}

/// The hybrid cloud control backend of a local or TEDAPI gateway, when one is wanted.
///
/// Only when control is on (`PW_CONTROL_SECRET`) or `PW_CLOUD_HYBRID=yes`. A Fleet API token file
/// in the gateway's auth directory wins (as in the proxy's auto-select, and it needs no email):
/// it is a Tesla login made for this purpose. Otherwise the Owner API is wanted when the gateway
/// names a real account email. A gateway that can already write through its local API (local and
/// TEDAPI hybrid modes) keeps that path unless a cloud login exists (`.pypowerwall.auth`) or
/// `PW_CLOUD_HYBRID=yes` asks for the cloud explicitly: `PW_EMAIL` is also the local login's
/// email, and setting it must not take working local control away.
pub fn hybrid_control(
    inputs: &ConnectionInputs,
    cloud: &CloudInputs,
    source: &GatewaySource,
    names: FieldNames,
) -> Result<Option<ControlLinkConfig>, SettingsError> {
    let local_family = matches!(
        source,
        GatewaySource::Local(_) | GatewaySource::Tedapi(_) | GatewaySource::Hybrid { .. }
    );
    if !local_family || !(cloud.control_enabled || cloud.cloud_hybrid) {
        return Ok(None);
    }
    if cloud.fleetapi_auth_file {
        return fleet_config(inputs, cloud, names)
            .map(|config| Some(ControlLinkConfig::Fleet(config)));
    }
    if account_email(&inputs.email).is_none() {
        return Ok(None);
    }
    let local_write = matches!(
        source,
        GatewaySource::Local(_) | GatewaySource::Hybrid { .. }
    );
    if local_write && !cloud.cloud_auth_file && !cloud.cloud_hybrid {
        tracing::info!(
            "no Tesla cloud login in {:?}: control writes go through the local API",
            cloud.auth_dir
        );
        return Ok(None);
    }
    cloud_config(inputs, cloud, names).map(|config| Some(ControlLinkConfig::Cloud(config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use powerwall_gateway::Secret;
    use powerwall_gateway::local::{AuthMode, LocalConfig};
    use powerwall_gateway::tedapi::client::TedapiConfig;

    fn inputs(email: &str) -> ConnectionInputs {
        ConnectionInputs {
            host: "10.0.0.9".to_owned(),
            password: Secret::new("p"),
            gw_pwd: Secret::default(),
            rsa_key_path: None,
            fleetapi: false,
            email: email.to_owned(),
            timezone: "UTC".to_owned(),
            cache_file: None,
            timeout: Duration::from_secs(7),
            poll_interval: Duration::from_secs(1),
            tiers: powerwall_gateway::QueryTiers::with_fast(Duration::from_secs(1)),
        }
    }

    fn local() -> GatewaySource {
        GatewaySource::Local(LocalConfig {
            host: "10.0.0.9".to_owned(),
            password: Secret::new("p"),
            email: String::new(),
            timezone: "UTC".to_owned(),
            auth_mode: AuthMode::parse("cookie"),
            cache_file: None,
            timeout: Duration::from_secs(7),
            pool_max_idle: 1,
        })
    }

    fn tedapi() -> GatewaySource {
        GatewaySource::Tedapi(TedapiConfig::new("10.0.0.9", Secret::new("G")))
    }

    #[test]
    fn cloud_config_takes_the_gateway_values_and_floors_the_ttl() {
        let cloud = CloudInputs {
            auth_dir: PathBuf::from("/auth"),
            site_id: Some(" 42 ".to_owned()),
            ..CloudInputs::default()
        };
        let config = cloud_config(&inputs("email@example.com"), &cloud, FieldNames::Entry).unwrap();
        assert_eq!(config.email, "");
        assert_eq!(config.site_id, Some(42));
        assert_eq!(config.timeout, Duration::from_secs(7));
        assert_eq!(config.cache_ttl, MIN_CLOUD_PERIOD);
        assert_eq!(config.auth_dir, PathBuf::from("/auth"));
        let bad = CloudInputs {
            site_id: Some("home".to_owned()),
            ..CloudInputs::default()
        };
        let err = cloud_config(&inputs("me@example.com"), &bad, FieldNames::Environment)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("PW_SITEID"), "{err}");
    }

    #[test]
    fn hybrid_backend_needs_an_account_and_a_reason() {
        let secret = CloudInputs {
            control_enabled: true,
            ..CloudInputs::default()
        };
        let names = FieldNames::Entry;
        let me = inputs("me@example.com");
        // TEDAPI full has no local write path: the cloud is its only backend.
        assert!(
            hybrid_control(&me, &secret, &tedapi(), names)
                .unwrap()
                .is_some()
        );
        assert!(
            hybrid_control(&inputs("email@example.com"), &secret, &tedapi(), names)
                .unwrap()
                .is_none()
        );
        let no_reason = CloudInputs::default();
        assert!(
            hybrid_control(&me, &no_reason, &tedapi(), names)
                .unwrap()
                .is_none()
        );
        // The local API writes itself unless a cloud login exists or the cloud is asked for.
        assert!(
            hybrid_control(&me, &secret, &local(), names)
                .unwrap()
                .is_none()
        );
        let logged_in = CloudInputs {
            cloud_auth_file: true,
            ..secret.clone()
        };
        assert!(
            hybrid_control(&me, &logged_in, &local(), names)
                .unwrap()
                .is_some()
        );
        let asked = CloudInputs {
            cloud_hybrid: true,
            ..CloudInputs::default()
        };
        assert!(
            hybrid_control(&me, &asked, &local(), names)
                .unwrap()
                .is_some()
        );
        assert!(
            hybrid_control(&me, &secret, &GatewaySource::Simulated, names)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_fleet_token_file_makes_the_fleet_api_the_control_link() {
        let fleet = CloudInputs {
            control_enabled: true,
            cloud_auth_file: true,
            fleetapi_auth_file: true,
            fleet_http1: true,
            auth_dir: PathBuf::from("/auth"),
            ..CloudInputs::default()
        };
        let names = FieldNames::Entry;
        // No email needed, and it wins over an Owner API login and the local write path.
        for source in [local(), tedapi()] {
            let link = hybrid_control(&inputs(""), &fleet, &source, names).unwrap();
            let Some(ControlLinkConfig::Fleet(config)) = link else {
                panic!("expected a Fleet control link, got {link:?}");
            };
            assert!(config.force_http1);
            assert_eq!(config.auth_dir, PathBuf::from("/auth"));
        }
        let off = CloudInputs {
            control_enabled: false,
            ..fleet
        };
        assert!(
            hybrid_control(&inputs(""), &off, &tedapi(), names)
                .unwrap()
                .is_none()
        );
    }
}
