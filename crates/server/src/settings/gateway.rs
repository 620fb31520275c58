//! One gateway's settings: identity, access mode and client configuration, resolved from any
//! configuration source (single-gateway environment, `PW_GATEWAYS`, the gateways file).

use std::path::PathBuf;
use std::time::Duration;

use powerwall_gateway::cloud::CloudConfig;
use powerwall_gateway::fleet::FleetConfig;
use powerwall_gateway::local::{AuthMode, LocalConfig};
use powerwall_gateway::select::{ModeSettings, select_mode};
use powerwall_gateway::tedapi::client::{TedapiAuthMode, TedapiConfig};
use powerwall_gateway::tedapi::wire::ApiVersion;
use powerwall_gateway::{AccessMode, QueryTiers, Secret};

use super::SettingsError;
use super::cloud_source::{CloudInputs, ControlLinkConfig, cloud_config};
use super::fleet_source::fleet_config;

/// The id of the gateway built from the single-gateway environment (`PW_HOST`, …).
pub const SINGLE_GATEWAY_ID: &str = "default";

/// The display name of that gateway.
pub const SINGLE_GATEWAY_NAME: &str = "Default Gateway";

/// Where the gateway is, and how to reach it.
#[derive(Debug, Clone)]
pub enum GatewaySource {
    /// A real gateway over the local API (customer password).
    Local(LocalConfig),
    /// A real gateway over TEDAPI only (gateway password).
    Tedapi(TedapiConfig),
    /// Local API for everything plus TEDAPI for vitals (both passwords, gateway Wi-Fi address).
    Hybrid {
        /// The local API side.
        local: LocalConfig,
        /// The TEDAPI side.
        tedapi: TedapiConfig,
    },
    /// The Tesla cloud (Owner API) for one account's energy site.
    Cloud(CloudConfig),
    /// Tesla's Fleet API for the energy site of a `.pypowerwall.fleetapi` token file.
    Fleet(FleetConfig),
    /// The built-in simulator, started in-process on a free loopback port.
    Simulated,
}

impl GatewaySource {
    /// The gateway address (`host[:port]`); `None` for the cloud and the built-in simulator.
    pub fn host(&self) -> Option<&str> {
        match self {
            Self::Local(local) | Self::Hybrid { local, .. } => Some(&local.host),
            Self::Tedapi(tedapi) => Some(&tedapi.host),
            Self::Cloud(_) | Self::Fleet(_) | Self::Simulated => None,
        }
    }

    /// The access mode this source runs in (the simulator runs TEDAPI).
    pub fn mode(&self) -> AccessMode {
        match self {
            Self::Local(_) => AccessMode::Local,
            Self::Tedapi(_) | Self::Simulated => AccessMode::TedapiFull,
            Self::Hybrid { .. } => AccessMode::TedapiHybrid,
            Self::Cloud(_) => AccessMode::Cloud,
            Self::Fleet(_) => AccessMode::Fleet,
        }
    }
}

/// What a site has: Powerwalls, or solar inverters only (the console hides battery panels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SiteKind {
    /// A Powerwall system (the default).
    #[default]
    Powerwall,
    /// Solar only (`type: inverter`).
    Inverter,
}

impl SiteKind {
    /// The name used in configuration and JSON (`powerwall`, `inverter`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Powerwall => "powerwall",
            Self::Inverter => "inverter",
        }
    }

    /// Parses a configured `type` (case-insensitive).
    pub fn from_name(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "powerwall" => Some(Self::Powerwall),
            "inverter" => Some(Self::Inverter),
            _ => None,
        }
    }
}

/// One gateway the server polls, validated; per-gateway values never leak to other gateways.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Id used in URLs (and later MQTT topics): `[A-Za-z0-9_-]`, unique.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Powerwall or solar-only site.
    pub kind: SiteKind,
    /// Timezone of the site (day boundaries).
    pub timezone: String,
    /// How to reach it.
    pub source: GatewaySource,
    /// Seconds between polls of this gateway.
    pub poll_interval: Duration,
    /// How often each tier of queries runs (fast = `poll_interval`).
    pub tiers: QueryTiers,
    /// Connect and read timeout of every request to this gateway.
    pub timeout: Duration,
    /// Tesla energy-site id (cloud modes).
    pub site_id: Option<String>,
    /// Local-API auth cache file of this gateway (never shared between gateways); `None` for
    /// the simulator.
    pub cache_file: Option<PathBuf>,
    /// The hybrid cloud control backend of a local or TEDAPI gateway (server-api "Hybrid cloud
    /// connection", over the Owner API or the Fleet API); `None` when control writes go through
    /// the gateway's own client.
    pub cloud_control: Option<ControlLinkConfig>,
}

impl GatewaySettings {
    /// The gateway address; `None` for the built-in simulator.
    pub fn host(&self) -> Option<&str> {
        self.source.host()
    }
}

/// The connection facts of one gateway as configured, before mode selection.
#[derive(Debug, Clone)]
pub struct ConnectionInputs {
    /// `host` or `host:port`; empty selects the cloud modes.
    pub host: String,
    /// Customer password (local API).
    pub password: Secret,
    /// Gateway (QR-sticker) password (TEDAPI).
    pub gw_pwd: Secret,
    /// RSA key for TEDAPI v1r.
    pub rsa_key_path: Option<PathBuf>,
    /// Whether the Fleet API is configured for this gateway.
    pub fleetapi: bool,
    /// Customer e-mail sent at login.
    pub email: String,
    /// Timezone of the site.
    pub timezone: String,
    /// Local-API auth cache file.
    pub cache_file: Option<PathBuf>,
    /// Request timeout.
    pub timeout: Duration,
    /// Poll interval (also the TEDAPI client's cache lifetime).
    pub poll_interval: Duration,
    /// The query tiers (fast = `poll_interval`).
    pub tiers: QueryTiers,
}

/// Client knobs shared by every gateway (`PW_AUTH_MODE`, `PW_TEDAPI_*`, `PW_POOL_MAXSIZE`).
#[derive(Debug, Clone)]
pub struct ClientDefaults {
    /// `PW_AUTH_MODE` as given.
    pub auth_mode: String,
    /// `PW_TEDAPI_API_VERSION` as given.
    pub tedapi_api_version: String,
    /// `PW_TEDAPI_AUTH_MODE` as given.
    pub tedapi_auth_mode: String,
    /// `PW_POOL_MAXSIZE`.
    pub pool_max_idle: usize,
}

/// Where a connection setting came from, so errors name what the user must fix.
#[derive(Debug, Clone, Copy)]
pub enum FieldNames {
    /// The single-gateway environment: errors name `PW_*` variables.
    Environment,
    /// An entry of `PW_GATEWAYS` or the gateways file: errors name the gateway and its field.
    Entry,
}

impl FieldNames {
    fn name(self, variable: &'static str, field: &'static str) -> &'static str {
        match self {
            Self::Environment => variable,
            Self::Entry => field,
        }
    }
}

/// Selects the access mode and builds the client configuration for one gateway whose cloud
/// facts are unknown (no auth file looked up; see [`resolve_source_with`]).
pub fn resolve_source(
    inputs: &ConnectionInputs,
    defaults: &ClientDefaults,
    names: FieldNames,
) -> Result<GatewaySource, SettingsError> {
    resolve_source_with(inputs, &CloudInputs::default(), defaults, names)
}

/// Selects the access mode (gateway-protocols §8, cloud facts included) and builds the client
/// configuration for one gateway.
///
/// Errors carry the variable (`FieldNames::Environment`) or field (`FieldNames::Entry`) name;
/// callers for file entries wrap them with the gateway id.
pub fn resolve_source_with(
    inputs: &ConnectionInputs,
    cloud: &CloudInputs,
    defaults: &ClientDefaults,
    names: FieldNames,
) -> Result<GatewaySource, SettingsError> {
    let host = inputs.host.trim().to_owned();
    let mode = select_mode(&ModeSettings {
        host: host.clone(),
        password: !inputs.password.is_empty(),
        gw_pwd: !inputs.gw_pwd.is_empty(),
        rsa_key_path: inputs.rsa_key_path.is_some(),
        fleetapi_auth_file: cloud.fleetapi_auth_file,
        cloud_auth_file: cloud.cloud_auth_file,
        cloud_mode: cloud.cloud_mode,
        fleetapi: inputs.fleetapi,
        email: inputs.email.clone(),
    })
    .map_err(|err| SettingsError::Invalid {
        // Without a host the cloud decides, and what it lacks is a usable email.
        variable: if host.is_empty() || cloud.cloud_mode {
            names.name("PW_EMAIL", "email")
        } else {
            names.name("PW_HOST", "host")
        },
        message: err.to_string(),
    })?;
    let local = || LocalConfig {
        host: host.clone(),
        password: inputs.password.clone(),
        email: inputs.email.clone(),
        timezone: inputs.timezone.clone(),
        auth_mode: AuthMode::parse(&defaults.auth_mode),
        cache_file: inputs.cache_file.clone(),
        timeout: inputs.timeout,
        pool_max_idle: defaults.pool_max_idle,
    };
    match mode {
        AccessMode::Local => Ok(GatewaySource::Local(local())),
        AccessMode::TedapiFull => Ok(GatewaySource::Tedapi(tedapi_config(
            inputs, defaults, &host, names,
        )?)),
        AccessMode::TedapiHybrid => Ok(GatewaySource::Hybrid {
            local: local(),
            tedapi: tedapi_config(inputs, defaults, &host, names)?,
        }),
        AccessMode::V1r => Err(SettingsError::UnsupportedMode {
            mode,
            hint: match names {
                FieldNames::Environment => {
                    "unset PW_RSA_KEY_PATH and use PW_GW_PWD (TEDAPI) or PW_PASSWORD (local API)"
                }
                FieldNames::Entry => {
                    "remove rsa_key_path and use gw_pwd (TEDAPI) or password (local API)"
                }
            },
        }),
        AccessMode::Cloud => Ok(GatewaySource::Cloud(cloud_config(inputs, cloud, names)?)),
        AccessMode::Fleet => Ok(GatewaySource::Fleet(fleet_config(inputs, cloud, names)?)),
    }
}

/// TEDAPI settings: gateway password, signed query set and auth style.
fn tedapi_config(
    inputs: &ConnectionInputs,
    defaults: &ClientDefaults,
    host: &str,
    names: FieldNames,
) -> Result<TedapiConfig, SettingsError> {
    let choice = ApiVersion::parse_or_default(defaults.tedapi_api_version.trim());
    if let Some(warning) = choice.warning() {
        tracing::warn!("PW_TEDAPI_API_VERSION: {warning}");
    }
    let auth_mode = TedapiAuthMode::parse(&defaults.tedapi_auth_mode).ok_or_else(|| {
        SettingsError::Invalid {
            variable: names.name("PW_TEDAPI_AUTH_MODE", "PW_TEDAPI_AUTH_MODE"),
            message: format!(
                "expected basic or bearer, got {:?}",
                defaults.tedapi_auth_mode
            ),
        }
    })?;
    Ok(TedapiConfig {
        host: host.to_owned(),
        gateway_password: inputs.gw_pwd.clone(),
        api_version: choice.version,
        auth_mode,
        timeout: inputs.timeout,
        pool_max_idle: defaults.pool_max_idle,
        cache_ttl: inputs.poll_interval,
        tiers: inputs.tiers,
        customer_password: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(host: &str, password: &str, gw_pwd: &str) -> ConnectionInputs {
        ConnectionInputs {
            host: host.to_owned(),
            password: Secret::new(password),
            gw_pwd: Secret::new(gw_pwd),
            rsa_key_path: None,
            fleetapi: false,
            email: String::new(),
            timezone: "Europe/Berlin".to_owned(),
            cache_file: None,
            timeout: Duration::from_secs(7),
            poll_interval: Duration::from_secs(9),
            tiers: powerwall_gateway::QueryTiers::with_fast(Duration::from_secs(9)),
        }
    }

    fn defaults() -> ClientDefaults {
        ClientDefaults {
            auth_mode: "cookie".to_owned(),
            tedapi_api_version: "V2024_06".to_owned(),
            tedapi_auth_mode: "basic".to_owned(),
            pool_max_idle: 3,
        }
    }

    #[test]
    fn per_gateway_timeout_and_interval_reach_the_clients() {
        let source = resolve_source(
            &inputs("10.0.0.9", "", "GW"),
            &defaults(),
            FieldNames::Entry,
        )
        .unwrap();
        let GatewaySource::Tedapi(tedapi) = &source else {
            panic!("expected TEDAPI, got {source:?}");
        };
        assert_eq!(tedapi.timeout, Duration::from_secs(7));
        assert_eq!(tedapi.cache_ttl, Duration::from_secs(9));
        assert_eq!(source.host(), Some("10.0.0.9"));
        assert_eq!(source.mode(), AccessMode::TedapiFull);
    }

    #[test]
    fn errors_name_the_field_of_the_source() {
        let env = resolve_source(
            &inputs("10.0.0.9", "", ""),
            &defaults(),
            FieldNames::Environment,
        )
        .unwrap_err();
        assert!(env.to_string().starts_with("PW_HOST"), "{env}");
        let entry = resolve_source(&inputs("10.0.0.9", "", ""), &defaults(), FieldNames::Entry)
            .unwrap_err();
        assert!(entry.to_string().starts_with("host"), "{entry}");
    }

    #[test]
    fn site_kinds() {
        assert_eq!(SiteKind::from_name("Inverter"), Some(SiteKind::Inverter));
        assert_eq!(SiteKind::from_name("powerwall"), Some(SiteKind::Powerwall));
        assert_eq!(SiteKind::from_name("battery"), None);
    }
}
