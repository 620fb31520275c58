//! Settings: CLI + environment + gateways file (or `PW_GATEWAYS`) merged into one validated
//! value, passed explicitly everywhere.

mod cli;
mod cloud_endpoints;
mod cloud_source;
#[cfg(test)]
mod config_tests;
mod fleet_source;
mod gateway;
mod gateway_build;
mod gateway_list;
mod gateways_file;
mod lax;
mod options;
mod sources;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use powerwall_gateway::AccessMode;
use powerwall_gateway::tedapi::wire::ApiVersion;

pub use cli::{Cli, parse_yes_no};
pub use cloud_endpoints::CloudEndpoints;
pub use cloud_source::{
    CloudInputs, ControlLinkConfig, FLEETAPI_FILE, MIN_CLOUD_PERIOD, cloud_config, hybrid_control,
};
pub use fleet_source::{fleet_config, fleet_poll_interval};
pub use gateway::{
    ClientDefaults, ConnectionInputs, FieldNames, GatewaySettings, GatewaySource,
    SINGLE_GATEWAY_ID, SINGLE_GATEWAY_NAME, SiteKind, resolve_source, resolve_source_with,
};
pub use options::{
    ControlSettings, Diagnostics, HttpsMode, ListenReport, SECRET_MASK, Style, WebSettings,
    config_report, probe_interval,
};

/// A configuration that cannot work, with the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value is malformed.
    #[error("{variable}: {message}")]
    Invalid {
        /// The environment variable (or flag) at fault.
        variable: &'static str,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A field of one gateway entry (gateways file or `PW_GATEWAYS`) is wrong.
    #[error(
        "{origin}: gateway {}(entry {entry}), field {field}: {message}",
        quoted_id(gateway)
    )]
    Gateway {
        /// The gateways file or `PW_GATEWAYS`.
        origin: String,
        /// The entry's id (empty when it has none).
        gateway: String,
        /// Position of the entry in the list, counted from 1.
        entry: usize,
        /// The field (or unknown key) at fault.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The gateways file or `PW_GATEWAYS` as a whole is unreadable or malformed.
    #[error("{origin}: {message}")]
    Source {
        /// The gateways file or `PW_GATEWAYS`.
        origin: String,
        /// What is wrong (with the parser's line and column where it has them).
        message: String,
    },
    /// The chosen access mode is not available in this build yet.
    #[error("access mode {mode} is not supported yet: {hint}")]
    UnsupportedMode {
        /// The mode the settings select.
        mode: AccessMode,
        /// What to set instead.
        hint: &'static str,
    },
}

/// `"cabin" ` for an id, nothing when the entry has none.
fn quoted_id(id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!("{id:?} ")
    }
}

/// How the proxy presents data (the knobs of the legacy routes).
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    /// `PW_NEG_SOLAR`: keep negative solar as reported.
    pub neg_solar: bool,
    /// `PW_SITE_ZERO_THRESHOLD`: grid power with |W| ≤ this is shown as 0 (0 = off).
    pub site_zero_threshold_w: i64,
}

/// Freshness and gateway-protection knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Freshness {
    /// `PW_CACHE_EXPIRE`: poll period.
    pub poll_interval: Duration,
    /// `PW_CACHE_TTL`: longest age of last-good data served while the gateway fails.
    pub cache_ttl: Duration,
    /// `PW_GRACEFUL_DEGRADATION`.
    pub graceful_degradation: bool,
    /// `PW_HEALTH_CHECK`.
    pub health_check: bool,
    /// `PW_FAIL_FAST`.
    pub fail_fast: bool,
}

impl Freshness {
    /// The oldest data a route may serve: the poll period plus, with degradation on, the TTL.
    pub fn max_age(&self) -> Duration {
        let window = if self.graceful_degradation {
            self.cache_ttl
        } else {
            Duration::ZERO
        };
        window + self.poll_interval.max(Duration::from_secs(1))
    }
}

/// The validated settings of one server process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The gateways, in configuration order (never empty).
    pub gateways: Vec<GatewaySettings>,
    /// Index in `gateways` of the gateway the legacy proxy routes serve.
    pub default_gateway: usize,
    /// Freshness and protection.
    pub freshness: Freshness,
    /// Route presentation knobs.
    pub presentation: Presentation,
    /// `PROXY_BASE_URL`, always ending in `/`.
    pub base_url: String,
    /// `PW_DEBUG`.
    pub debug: bool,
    /// The default gateway's auth cache file (shown in `/stats` as `cf`).
    pub cache_file: Option<PathBuf>,
    /// `PW_TIMEOUT`: connect and read timeout of every gateway request.
    pub gateway_timeout: Duration,
    /// `PW_POOL_MAXSIZE`: idle keep-alive connections kept to the gateway.
    pub gateway_pool_max_idle: usize,
    /// Web pages and browser-facing answers.
    pub web: WebSettings,
    /// Control routes.
    pub control: ControlSettings,
    /// Logging and SolarOnly recovery.
    pub diagnostics: Diagnostics,
    /// `PW_TEDAPI_API_VERSION` as used (`V2024_06` or `V2026_06`).
    pub tedapi_api_version: ApiVersion,
    /// The default gateway's site id (`PW_SITEID` for the single-gateway variables).
    pub site_id: Option<String>,
    /// The `/stats` `config` object (secrets masked).
    pub config_report: serde_json::Map<String, serde_json::Value>,
}

impl Settings {
    /// The gateway the legacy proxy routes serve.
    pub fn default_gateway(&self) -> &GatewaySettings {
        &self.gateways[self.default_gateway]
    }

    /// The freshness rules of one gateway (its own poll interval).
    pub fn freshness_of(&self, gateway: &GatewaySettings) -> Freshness {
        Freshness {
            poll_interval: gateway.poll_interval,
            ..self.freshness.clone()
        }
    }

    /// Validates the parsed command line and environment, reading the gateways file
    /// (`--config`/`PW_CONFIG`) or `PW_GATEWAYS` when set.
    pub fn from_cli(cli: Cli) -> Result<Self, SettingsError> {
        let cli = cli.without_empty_paths();
        let choice = sources::choose_gateways(&cli)?;
        let (listen, listen_report) =
            sources::listen(&cli, &choice.server, choice.origin.as_deref())?;
        let default = &choice.gateways[choice.default_gateway];
        let cache_file = default.cache_file.clone();
        let site_id = default.site_id.clone();
        let poll_interval = sources::poll_interval(&cli);
        let timeout = sources::timeout(&cli);
        let site_zero_threshold_w = match cli.site_zero_threshold.trim().parse::<i64>() {
            Ok(value) => value,
            Err(_) => {
                // The proxy falls back to 0 here instead of refusing to start; so do we.
                tracing::warn!(
                    "PW_SITE_ZERO_THRESHOLD must be an integer, got {:?}; defaulting to 0",
                    cli.site_zero_threshold
                );
                0
            }
        };
        let style = Style::from_name(&cli.style).ok_or_else(|| SettingsError::Invalid {
            variable: "PW_STYLE",
            message: format!(
                "unknown style {:?}; expected one of {}",
                cli.style,
                Style::ALL.map(Style::name).join(", ")
            ),
        })?;
        let token_auth = match cli.auth_mode.trim().to_ascii_lowercase().as_str() {
            "" | "cookie" => false,
            "token" => true,
            other => {
                return Err(SettingsError::Invalid {
                    variable: "PW_AUTH_MODE",
                    message: format!("expected cookie or token, got {other:?}"),
                });
            }
        };
        let web = WebSettings {
            https: HttpsMode::parse(&cli.https)?,
            style,
            browser_cache: Duration::from_secs(cli.browser_cache),
            token_auth,
            ws_max_clients: cli.ws_max_clients.max(1),
        };
        let control = ControlSettings {
            secret: (!cli.control_secret.is_empty()).then(|| cli.control_secret.clone()),
        };
        let diagnostics = Diagnostics {
            suppress_network_errors: cli.suppress_network_errors,
            network_error_rate_limit: cli.network_error_rate_limit,
            tedapi_recovery: cli.tedapi_recovery,
            tedapi_probe_interval: probe_interval(&cli.tedapi_probe_interval),
        };
        let tedapi_api_version =
            ApiVersion::parse_or_default(cli.tedapi_api_version.trim()).version;
        let config_report = config_report(&cli, &listen_report, style, site_zero_threshold_w);
        if cli.cache_expire < 5 {
            tracing::warn!(
                "Cache expiration set below 5s (PW_CACHE_EXPIRE={}): the gateway is polled more often",
                cli.cache_expire
            );
        }
        Ok(Self {
            listen,
            gateways: choice.gateways,
            default_gateway: choice.default_gateway,
            freshness: Freshness {
                poll_interval,
                cache_ttl: Duration::from_secs(cli.cache_ttl),
                graceful_degradation: cli.graceful_degradation,
                health_check: cli.health_check,
                fail_fast: cli.fail_fast,
            },
            presentation: Presentation {
                neg_solar: cli.neg_solar,
                site_zero_threshold_w,
            },
            base_url: normalise_base_url(&cli.proxy_base_url),
            debug: cli.debug,
            cache_file,
            gateway_timeout: timeout,
            gateway_pool_max_idle: cli.pool_maxsize,
            web,
            control,
            diagnostics,
            tedapi_api_version,
            site_id,
            config_report,
        })
    }
}

/// `PROXY_BASE_URL` always ends with `/` (and starts with one).
fn normalise_base_url(raw: &str) -> String {
    let mut base = raw.trim().to_owned();
    if !base.starts_with('/') {
        base.insert(0, '/');
    }
    if !base.ends_with('/') {
        base.push('/');
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings(args: &[&str]) -> Result<Settings, SettingsError> {
        let mut full = vec!["powerwall-server"];
        full.extend_from_slice(args);
        Settings::from_cli(Cli::try_parse_from(full).unwrap())
    }

    #[test]
    fn local_mode_from_host_and_password() {
        let s = settings(&["--host", "10.0.1.99:8443", "--password", "ABCDE"]).unwrap();
        let GatewaySource::Local(config) = s.default_gateway().source.clone() else {
            panic!("expected local");
        };
        assert_eq!(config.host, "10.0.1.99:8443");
        assert_eq!(config.password.expose(), "ABCDE");
        assert_eq!(s.listen.port(), 8675);
        assert_eq!(s.cache_file, Some(PathBuf::from(".powerwall")));
    }

    #[test]
    fn simulate_needs_no_gateway_settings() {
        let s = settings(&["--simulate"]).unwrap();
        assert!(matches!(
            s.default_gateway().source,
            GatewaySource::Simulated
        ));
        assert_eq!(s.cache_file, None);
    }

    #[test]
    fn gateway_password_alone_selects_tedapi() {
        let s = settings(&["--host", "192.168.91.1", "--gw-pwd", "ABCDEFGHIJ"]).unwrap();
        let GatewaySource::Tedapi(config) = s.default_gateway().source.clone() else {
            panic!("expected TEDAPI");
        };
        assert_eq!(config.gateway_password.expose(), "ABCDEFGHIJ");
        assert_eq!(config.api_version, ApiVersion::V2024_06);
    }

    #[test]
    fn both_passwords_on_the_gateway_wifi_select_hybrid() {
        let s = settings(&["--host", "192.168.91.1", "--gw-pwd", "G", "--password", "P"]).unwrap();
        assert!(matches!(
            s.default_gateway().source,
            GatewaySource::Hybrid { .. }
        ));
        let lan = settings(&["--host", "10.0.0.5", "--gw-pwd", "G", "--password", "P"]).unwrap();
        assert!(matches!(
            lan.default_gateway().source,
            GatewaySource::Local(_)
        ));
    }

    #[test]
    fn bad_tedapi_auth_mode_names_the_variable() {
        let err = settings(&[
            "--host",
            "h",
            "--gw-pwd",
            "G",
            "--tedapi-auth-mode",
            "magic",
        ])
        .unwrap_err();
        assert!(err.to_string().starts_with("PW_TEDAPI_AUTH_MODE"), "{err}");
    }

    #[test]
    fn host_without_any_password_names_the_variables() {
        let err = settings(&["--host", "10.0.0.5"]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("PW_PASSWORD") && text.contains("PW_GW_PWD"),
            "{text}"
        );
    }

    #[test]
    fn no_host_and_no_tesla_login_names_what_to_set() {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir.path().display().to_string();
        let err = settings(&["--auth-path", &auth]).unwrap_err().to_string();
        assert!(err.contains("PW_HOST") && err.contains("PW_EMAIL"), "{err}");
    }

    #[test]
    fn no_host_selects_cloud_mode_from_the_email_or_the_auth_file() {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir.path().display().to_string();
        let s = settings(&[
            "--auth-path",
            &auth,
            "--email",
            "me@example.com",
            "--siteid",
            "99",
            "--cache-expire",
            "1",
        ])
        .unwrap();
        let GatewaySource::Cloud(config) = s.default_gateway().source.clone() else {
            panic!("expected cloud");
        };
        assert_eq!(config.email, "me@example.com");
        assert_eq!(config.site_id, Some(99));
        assert_eq!(config.auth_dir, dir.path());
        assert_eq!(s.default_gateway().poll_interval, MIN_CLOUD_PERIOD);
        std::fs::write(dir.path().join(".pypowerwall.auth"), "{}").unwrap();
        let s = settings(&["--auth-path", &auth]).unwrap();
        let GatewaySource::Cloud(config) = s.default_gateway().source.clone() else {
            panic!("expected cloud from the auth file");
        };
        assert_eq!(config.email, "", "the auth file's first account");
        std::fs::write(dir.path().join(FLEETAPI_FILE), "{}").unwrap();
        let s = settings(&[
            "--auth-path",
            &auth,
            "--siteid",
            "7",
            "--fleetapi-http",
            "1.1",
        ])
        .unwrap();
        let GatewaySource::Fleet(config) = s.default_gateway().source.clone() else {
            panic!("expected Fleet API mode from the token file");
        };
        assert_eq!(config.auth_dir, dir.path());
        assert_eq!(config.site_id, Some(7));
        assert!(config.force_http1);
        // Fleet reads are billed: the 1 s poll period and cache are raised to the floor.
        assert_eq!(
            config.cache_ttl,
            powerwall_gateway::fleet::MIN_POLL_INTERVAL
        );
        assert_eq!(
            s.default_gateway().poll_interval,
            powerwall_gateway::fleet::MIN_POLL_INTERVAL
        );
        assert_eq!(s.default_gateway().host(), None);
    }

    #[test]
    fn hybrid_cloud_control_follows_secret_email_and_login() {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir.path().display().to_string();
        let tedapi = |extra: &[&str]| {
            let mut args = vec!["--host", "10.0.0.5", "--gw-pwd", "G", "--auth-path", &auth];
            args.extend_from_slice(extra);
            settings(&args)
                .unwrap()
                .default_gateway()
                .cloud_control
                .clone()
        };
        assert!(tedapi(&[]).is_none());
        assert!(tedapi(&["--control-secret", "s"]).is_none(), "no email");
        let control = tedapi(&["--control-secret", "s", "--email", "me@example.com"]).unwrap();
        let ControlLinkConfig::Cloud(cloud) = &control else {
            panic!("expected an Owner API link, got {control:?}");
        };
        assert_eq!(cloud.email, "me@example.com");
        assert_eq!(control.auth_dir(), dir.path());
        assert!(tedapi(&["--cloud-hybrid", "yes", "--email", "me@example.com"]).is_some());
        std::fs::write(dir.path().join(FLEETAPI_FILE), "{}").unwrap();
        let fleet = tedapi(&["--control-secret", "s"]).unwrap();
        assert!(matches!(fleet, ControlLinkConfig::Fleet(_)), "{fleet:?}");
    }

    #[test]
    fn bad_bind_address_names_the_variable() {
        let err = settings(&["--simulate", "--bind-address", "nowhere"]).unwrap_err();
        assert!(err.to_string().starts_with("PW_BIND_ADDRESS"), "{err}");
    }

    #[test]
    fn base_url_gets_slashes() {
        assert_eq!(normalise_base_url("/pwp"), "/pwp/");
        assert_eq!(normalise_base_url("pwp/"), "/pwp/");
        assert_eq!(normalise_base_url("/"), "/");
    }

    #[test]
    fn cache_file_follows_auth_path() {
        let s = settings(&[
            "--host",
            "h",
            "--password",
            "p",
            "--auth-path",
            "/var/lib/pw",
        ])
        .unwrap();
        assert_eq!(s.cache_file, Some(PathBuf::from("/var/lib/pw/.powerwall")));
    }

    #[test]
    fn web_and_control_settings() {
        let s = settings(&["--simulate"]).unwrap();
        assert_eq!(s.web.https, HttpsMode::No);
        assert_eq!(s.web.style, Style::Clear);
        assert!(!s.control.enabled());
        let s = settings(&[
            "--simulate",
            "--control-secret",
            "x",
            "--style",
            "grafana-dark",
        ])
        .unwrap();
        assert!(s.control.enabled());
        assert_eq!(s.web.style, Style::GrafanaDark);
        for (flag, value, variable) in [
            ("--style", "neon", "PW_STYLE"),
            ("--https", "sometimes", "PW_HTTPS"),
            ("--auth-mode", "magic", "PW_AUTH_MODE"),
        ] {
            let err = settings(&["--simulate", flag, value])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(variable), "{err}");
        }
    }

    #[test]
    fn max_age_depends_on_degradation() {
        let mut fresh = settings(&["--simulate"]).unwrap().freshness;
        assert_eq!(fresh.max_age(), Duration::from_secs(35));
        fresh.graceful_degradation = false;
        assert_eq!(fresh.max_age(), Duration::from_secs(5));
    }
}
