//! Command line and environment: every flag also reads the proxy's `PW_*` variable.

use std::path::PathBuf;

use clap::{ArgAction, Parser};
use powerwall_gateway::Secret;

/// Parses the proxy's boolean convention: `yes`/`no` (also `true/false/1/0/on/off`, any case).
///
/// The original treats anything but `yes` as false; we reject typos instead of silently
/// switching a feature off, and name the variable in the error.
pub fn parse_yes_no(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "on" => Ok(true),
        "no" | "false" | "0" | "off" | "" => Ok(false),
        other => Err(format!("expected yes or no, got {other:?}")),
    }
}

/// A path as given. Empty is accepted (compose files often set `PW_RSA_KEY_PATH=`) and means
/// "not set" (see [`Cli::without_empty_paths`]); clap's own path parser refuses empty values.
pub fn parse_path(value: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(value))
}

/// `Some(path)` unless the path is empty.
pub fn non_empty_path(path: Option<PathBuf>) -> Option<PathBuf> {
    path.filter(|path| !path.as_os_str().is_empty())
}

/// Wraps a credential so that no `Debug` of the command line can print it.
fn parse_secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

/// `powerwall-server`: a fast, gentle local server for Tesla Powerwall gateways.
#[derive(Debug, Clone, Parser)]
#[command(name = "powerwall-server", version, about, long_about = None)]
pub struct Cli {
    /// Run against the built-in gateway simulator (no Powerwall needed).
    #[arg(long)]
    pub simulate: bool,

    /// Gateway address, `host` or `host:port` (empty selects cloud modes).
    #[arg(long, env = "PW_HOST", value_name = "PW_HOST", default_value = "")]
    pub host: String,

    /// Customer password of the gateway's local API.
    #[arg(
        long,
        env = "PW_PASSWORD",
        value_name = "PW_PASSWORD",
        default_value = "",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub password: Secret,

    /// Customer e-mail sent at login.
    #[arg(
        long,
        env = "PW_EMAIL",
        value_name = "PW_EMAIL",
        default_value = "email@example.com"
    )]
    pub email: String,

    /// Timezone of the site.
    #[arg(
        long,
        env = "PW_TIMEZONE",
        value_name = "PW_TIMEZONE",
        default_value = "America/Los_Angeles"
    )]
    pub timezone: String,

    /// Gateway (QR sticker) password, for TEDAPI.
    #[arg(
        long = "gw-pwd",
        env = "PW_GW_PWD",
        value_name = "PW_GW_PWD",
        default_value = "",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub gw_pwd: Secret,

    /// TEDAPI signed query set: `V2024_06` or `V2026_06` (unknown text falls back to V2024_06).
    #[arg(
        long,
        env = "PW_TEDAPI_API_VERSION",
        value_name = "PW_TEDAPI_API_VERSION",
        default_value = "V2024_06"
    )]
    pub tedapi_api_version: String,

    /// TEDAPI authentication: `basic` (gateway password on every request) or `bearer`.
    #[arg(
        long,
        env = "PW_TEDAPI_AUTH_MODE",
        value_name = "PW_TEDAPI_AUTH_MODE",
        default_value = "basic"
    )]
    pub tedapi_auth_mode: String,

    /// RSA private key for TEDAPI v1r.
    #[arg(long, env = "PW_RSA_KEY_PATH", value_name = "PW_RSA_KEY_PATH", value_parser = parse_path)]
    pub rsa_key_path: Option<PathBuf>,

    /// Listen address (empty = all interfaces; default: the gateways file's `server.host`, else
    /// all interfaces).
    // No clap default: an explicit flag or variable must beat the file's `server.host`.
    #[arg(long, env = "PW_BIND_ADDRESS", value_name = "PW_BIND_ADDRESS")]
    pub bind_address: Option<String>,

    /// Listen port (default: the gateways file's `server.port`, else 8675).
    #[arg(long, env = "PW_PORT", value_name = "PW_PORT")]
    pub port: Option<u16>,

    /// Gateways file (YAML or JSON); wins over PW_GATEWAYS and the single-gateway variables.
    #[arg(long, env = "PW_CONFIG", value_name = "PW_CONFIG", value_parser = parse_path)]
    pub config: Option<PathBuf>,

    /// JSON array of gateway objects (used when no gateways file is given).
    #[arg(
        long,
        env = "PW_GATEWAYS",
        value_name = "PW_GATEWAYS",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub gateways: Option<Secret>,

    /// Id of the gateway the legacy proxy routes serve (beats the file's
    /// `server.default_gateway`).
    #[arg(long, env = "PW_DEFAULT_GATEWAY", value_name = "PW_DEFAULT_GATEWAY")]
    pub default_gateway: Option<String>,

    /// Seconds between polls of the gateway (the proxy's cache lifetime).
    #[arg(
        long,
        env = "PW_CACHE_EXPIRE",
        value_name = "PW_CACHE_EXPIRE",
        default_value_t = 5
    )]
    pub cache_expire: u64,

    /// Seconds between refreshes of the detail tier: the TEDAPI full controller query and
    /// Powerwall 3 per-unit components; local-API battery blocks, vitals, strings, operation.
    #[arg(
        long,
        env = "PW_POLL_DETAIL",
        value_name = "PW_POLL_DETAIL",
        default_value_t = 30
    )]
    pub poll_detail: u64,

    /// Seconds between refreshes of the slow tier: firmware, lifetime energy counters,
    /// `/api/status`.
    #[arg(
        long,
        env = "PW_POLL_SLOW",
        value_name = "PW_POLL_SLOW",
        default_value_t = 60
    )]
    pub poll_slow: u64,

    /// Seconds between refreshes of the config tier: TEDAPI `config.json` (site, reserve,
    /// mode), the site name.
    #[arg(
        long,
        env = "PW_POLL_CONFIG",
        value_name = "PW_POLL_CONFIG",
        default_value_t = 300
    )]
    pub poll_config: u64,

    /// Longest age, in seconds, of last-good data served while the gateway fails.
    #[arg(
        long,
        env = "PW_CACHE_TTL",
        value_name = "PW_CACHE_TTL",
        default_value_t = 30
    )]
    pub cache_ttl: u64,

    /// Gateway request timeout in seconds.
    #[arg(
        long,
        env = "PW_TIMEOUT",
        value_name = "PW_TIMEOUT",
        default_value_t = 5
    )]
    pub timeout: u64,

    /// Persistent connections kept to the gateway (0 disables keep-alive).
    #[arg(
        long,
        env = "PW_POOL_MAXSIZE",
        value_name = "PW_POOL_MAXSIZE",
        default_value_t = 15
    )]
    pub pool_maxsize: usize,

    /// Local API auth style: `cookie` or `token`.
    #[arg(
        long,
        env = "PW_AUTH_MODE",
        value_name = "PW_AUTH_MODE",
        default_value = "cookie"
    )]
    pub auth_mode: String,

    /// Directory of credential files (and default home of the auth cache file).
    #[arg(
        long,
        visible_alias = "authpath",
        env = "PW_AUTH_PATH",
        value_name = "PW_AUTH_PATH",
        default_value = ""
    )]
    pub auth_path: String,

    /// Auth cache file (default `.powerwall`, or `<PW_AUTH_PATH>/.powerwall`).
    #[arg(long, env = "PW_CACHE_FILE", value_name = "PW_CACHE_FILE", value_parser = parse_path)]
    pub cache_file: Option<PathBuf>,

    /// Serve last-good data for up to PW_CACHE_TTL seconds while the gateway fails (yes/no).
    #[arg(long, env = "PW_GRACEFUL_DEGRADATION", value_name = "PW_GRACEFUL_DEGRADATION", default_value = "yes", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub graceful_degradation: bool,

    /// Track connection health (yes/no).
    #[arg(long, env = "PW_HEALTH_CHECK", value_name = "PW_HEALTH_CHECK", default_value = "yes", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub health_check: bool,

    /// Answer at once without waiting on a gateway known to be failing (yes/no).
    #[arg(long, env = "PW_FAIL_FAST", value_name = "PW_FAIL_FAST", default_value = "no", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub fail_fast: bool,

    /// Report negative solar as is (`yes`) or clamp it to 0 and add it to home (`no`).
    #[arg(long, env = "PW_NEG_SOLAR", value_name = "PW_NEG_SOLAR", default_value = "yes", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub neg_solar: bool,

    /// Grid power with |W| at or below this is reported as 0 (0 disables).
    #[arg(
        long,
        env = "PW_SITE_ZERO_THRESHOLD",
        value_name = "PW_SITE_ZERO_THRESHOLD",
        default_value = "0"
    )]
    pub site_zero_threshold: String,

    /// Path prefix when behind a reverse proxy.
    #[arg(
        long,
        env = "PROXY_BASE_URL",
        value_name = "PROXY_BASE_URL",
        default_value = "/"
    )]
    pub proxy_base_url: String,

    /// Debug logging (yes/no; a bare `--debug` means yes, as in pypowerwall-server).
    #[arg(long, env = "PW_DEBUG", value_name = "PW_DEBUG", default_value = "no", num_args = 0..=1, default_missing_value = "yes", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub debug: bool,

    /// Listener TLS: `no` (plain HTTP), `http` (plain HTTP behind a TLS proxy: secure cookies) or
    /// `yes` (TLS with a certificate generated at start).
    #[arg(long, env = "PW_HTTPS", value_name = "PW_HTTPS", default_value = "no")]
    pub https: String,

    /// Power-flow page style: clear, black, white, grafana, grafana-dark, dakboard or solar.
    #[arg(
        long,
        env = "PW_STYLE",
        value_name = "PW_STYLE",
        default_value = "clear"
    )]
    pub style: String,

    /// `Cache-Control: max-age` in seconds for CSS, JavaScript and PNG assets (0 = no caching).
    #[arg(
        long,
        env = "PW_BROWSER_CACHE",
        value_name = "PW_BROWSER_CACHE",
        default_value_t = 0
    )]
    pub browser_cache: u64,

    /// Enables control routes; the token every control POST must carry.
    #[arg(
        long,
        env = "PW_CONTROL_SECRET",
        value_name = "PW_CONTROL_SECRET",
        default_value = "",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub control_secret: Secret,

    /// Cloud/Fleet energy site id.
    #[arg(long, env = "PW_SITEID", value_name = "PW_SITEID")]
    pub siteid: Option<String>,

    /// Wi-Fi TEDAPI host used as the v1r fallback transport.
    #[arg(long, env = "PW_WIFI_HOST", value_name = "PW_WIFI_HOST")]
    pub wifi_host: Option<String>,

    /// Silence individual network-error log lines (summaries remain) (yes/no).
    #[arg(long, env = "PW_SUPPRESS_NETWORK_ERRORS", value_name = "PW_SUPPRESS_NETWORK_ERRORS", default_value = "no", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub suppress_network_errors: bool,

    /// Most network-error log lines per source per minute.
    #[arg(
        long,
        env = "PW_NETWORK_ERROR_RATE_LIMIT",
        value_name = "PW_NETWORK_ERROR_RATE_LIMIT",
        default_value_t = 5
    )]
    pub network_error_rate_limit: u64,

    /// Watch TEDAPI and report the SolarOnly fallback and its recovery (yes/no).
    #[arg(long, env = "PW_TEDAPI_RECOVERY", value_name = "PW_TEDAPI_RECOVERY", default_value = "yes", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub tedapi_recovery: bool,

    /// Seconds between TEDAPI probes (non-integer → 30, below 5 → 5, as the proxy).
    #[arg(
        long,
        env = "PW_TEDAPI_PROBE_INTERVAL",
        value_name = "PW_TEDAPI_PROBE_INTERVAL",
        default_value = "30"
    )]
    pub tedapi_probe_interval: String,

    /// Most WebSocket clients served at once (`/ws/*`); more are refused with 503.
    #[arg(
        long,
        env = "PW_WS_MAX_CLIENTS",
        value_name = "PW_WS_MAX_CLIENTS",
        default_value_t = 2000
    )]
    pub ws_max_clients: usize,

    /// Build the hybrid cloud connection of a local/TEDAPI gateway with an email even without a
    /// control secret, and prefer it to the local API for control writes (yes/no).
    #[arg(long, env = "PW_CLOUD_HYBRID", value_name = "PW_CLOUD_HYBRID", default_value = "no", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub cloud_hybrid: bool,

    /// `1.1` (also `1`, `http1.1`, `http/1.1`) forces HTTP/1.1 for Fleet API calls; anything else
    /// keeps HTTP/2.
    #[arg(long, env = "PW_FLEETAPI_HTTP", value_name = "PW_FLEETAPI_HTTP")]
    pub fleetapi_http: Option<String>,

    /// Tesla cloud base URLs and CA (tests and demos point them at the simulator).
    #[command(flatten)]
    pub cloud_endpoints: super::CloudEndpoints,
}

impl Cli {
    /// The command line with empty path settings treated as unset, as the proxy does.
    pub fn without_empty_paths(mut self) -> Self {
        self.rsa_key_path = non_empty_path(self.rsa_key_path);
        self.config = non_empty_path(self.config);
        self.cache_file = non_empty_path(self.cache_file);
        self.cloud_endpoints.ca_file = non_empty_path(self.cloud_endpoints.ca_file);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_paths_mean_unset() {
        let cli = Cli::try_parse_from([
            "powerwall-server",
            "--rsa-key-path",
            "",
            "--cache-file",
            "",
            "--config",
            "",
            "--cloud-ca-file",
            "",
        ])
        .unwrap()
        .without_empty_paths();
        assert_eq!(cli.rsa_key_path, None);
        assert_eq!(cli.cache_file, None);
        assert_eq!(cli.config, None);
        assert_eq!(cli.cloud_endpoints.ca_file, None);
        let given = Cli::try_parse_from(["powerwall-server", "--rsa-key-path", "/keys/k.pem"])
            .unwrap()
            .without_empty_paths();
        assert_eq!(given.rsa_key_path, Some(PathBuf::from("/keys/k.pem")));
    }

    #[test]
    fn yes_no_accepts_the_proxy_values_and_rejects_typos() {
        assert_eq!(parse_yes_no("yes"), Ok(true));
        assert_eq!(parse_yes_no("YES"), Ok(true));
        assert_eq!(parse_yes_no("no"), Ok(false));
        assert_eq!(parse_yes_no("1"), Ok(true));
        assert!(parse_yes_no("maybe").is_err());
    }

    #[test]
    fn defaults_match_the_proxy() {
        let cli = Cli::try_parse_from(["powerwall-server"]).unwrap();
        assert_eq!(
            cli.port, None,
            "the default lives in Settings, after the gateways file"
        );
        assert_eq!(cli.cache_expire, 5);
        assert_eq!(cli.cache_ttl, 30);
        assert_eq!(cli.timeout, 5);
        assert!(cli.graceful_degradation && cli.health_check && cli.neg_solar);
        assert!(!cli.fail_fast && !cli.debug);
        assert_eq!(cli.email, "email@example.com");
    }

    #[test]
    fn credentials_never_print() {
        let cli = Cli::try_parse_from([
            "powerwall-server",
            "--password",
            "hunter2",
            "--gw-pwd",
            "QRSTUVWXYZ",
            "--gateways",
            r#"[{"id":"a","host":"h","gw_pwd":"SECRETJSON"}]"#,
        ])
        .unwrap();
        let text = format!("{cli:?}");
        assert!(
            !text.contains("hunter2")
                && !text.contains("QRSTUVWXYZ")
                && !text.contains("SECRETJSON"),
            "{text}"
        );
    }

    #[test]
    fn bad_boolean_is_a_clear_error() {
        let err = Cli::try_parse_from(["powerwall-server", "--debug", "perhaps"]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("expected yes or no") && text.contains("PW_DEBUG"),
            "{text}"
        );
    }

    #[test]
    fn pypowerwall_server_flags() {
        let cli = Cli::try_parse_from([
            "powerwall-server",
            "--authpath",
            "/auth",
            "--debug",
            "--config",
            "/etc/gw.yaml",
            "--port",
            "9000",
        ])
        .unwrap();
        assert_eq!(cli.auth_path, "/auth");
        assert!(cli.debug, "a bare --debug means yes");
        assert_eq!(cli.config, Some(PathBuf::from("/etc/gw.yaml")));
        assert_eq!(cli.port, Some(9000));
        let cli =
            Cli::try_parse_from(["powerwall-server", "--debug", "yes", "--simulate"]).unwrap();
        assert!(cli.debug && cli.simulate);
        let cli = Cli::try_parse_from(["powerwall-server", "--debug", "no"]).unwrap();
        assert!(!cli.debug);
    }
}
