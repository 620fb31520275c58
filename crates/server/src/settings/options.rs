//! The proxy's web, control and diagnostics settings, and the `config` report of `/stats`.

use std::time::Duration;

use powerwall_gateway::Secret;
use serde_json::{Map, Value, json};

use super::SettingsError;
use super::cli::Cli;

/// `PW_HTTPS`: how the listener speaks and which cookie suffix browsers get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpsMode {
    /// Plain HTTP (`no`, the default).
    No,
    /// Plain HTTP behind a TLS-terminating reverse proxy (`http`): cookies marked secure.
    Http,
    /// TLS on the listener with a certificate generated at start (`yes`).
    Yes,
}

impl HttpsMode {
    /// Parses the exact words of the proxy (case-insensitive here; unknown words are an error).
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "no" => Ok(Self::No),
            "http" => Ok(Self::Http),
            "yes" => Ok(Self::Yes),
            other => Err(SettingsError::Invalid {
                variable: "PW_HTTPS",
                message: format!("expected no, http or yes, got {other:?}"),
            }),
        }
    }

    /// The value as the proxy reports it in `/stats` `config`.
    pub fn name(self) -> &'static str {
        match self {
            Self::No => "no",
            Self::Http => "http",
            Self::Yes => "yes",
        }
    }

    /// The suffix of the cookies handed to browsers (§6.9.3).
    pub fn cookie_suffix(self) -> &'static str {
        match self {
            Self::No => "path=/;",
            Self::Http | Self::Yes => "path=/;SameSite=None;Secure;",
        }
    }
}

/// `PW_STYLE`: the power-flow page theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Transparent background (the default).
    Clear,
    /// Black background.
    Black,
    /// White background.
    White,
    /// Grafana's panel grey.
    Grafana,
    /// Grafana's dark theme.
    GrafanaDark,
    /// Black, for DAKboard.
    Dakboard,
    /// Transparent, without the Powerwall (solar-only sites).
    Solar,
}

impl Style {
    /// Every style, in the order the docs list them.
    pub const ALL: [Style; 7] = [
        Style::Clear,
        Style::Black,
        Style::White,
        Style::Grafana,
        Style::GrafanaDark,
        Style::Dakboard,
        Style::Solar,
    ];

    /// The style's name (`grafana-dark`, …).
    pub fn name(self) -> &'static str {
        match self {
            Style::Clear => "clear",
            Style::Black => "black",
            Style::White => "white",
            Style::Grafana => "grafana",
            Style::GrafanaDark => "grafana-dark",
            Style::Dakboard => "dakboard",
            Style::Solar => "solar",
        }
    }

    /// The style named `text` (case-insensitive, an optional `.js` suffix tolerated), if any.
    pub fn from_name(text: &str) -> Option<Self> {
        let name = text.trim().to_ascii_lowercase();
        let name = name.strip_suffix(".js").unwrap_or(&name);
        Self::ALL.into_iter().find(|style| style.name() == name)
    }
}

/// Settings of the web pages and browser-facing answers.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSettings {
    /// `PW_HTTPS`.
    pub https: HttpsMode,
    /// `PW_STYLE`.
    pub style: Style,
    /// `PW_BROWSER_CACHE`: max-age for CSS/JS/PNG; zero means `no-cache, no-store`.
    pub browser_cache: Duration,
    /// `PW_AUTH_MODE=token`: browser cookies get the placeholder `1234567890`.
    pub token_auth: bool,
    /// `PW_WS_MAX_CLIENTS`: WebSocket clients served at once (more are refused with 503).
    pub ws_max_clients: usize,
}

/// Control settings: off unless a secret is set.
#[derive(Debug, Clone, Default)]
pub struct ControlSettings {
    /// `PW_CONTROL_SECRET`; `None` when empty (control disabled).
    pub secret: Option<Secret>,
}

impl ControlSettings {
    /// Whether control routes are enabled.
    pub fn enabled(&self) -> bool {
        self.secret.is_some()
    }
}

/// Logging and SolarOnly-recovery knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    /// `PW_SUPPRESS_NETWORK_ERRORS`.
    pub suppress_network_errors: bool,
    /// `PW_NETWORK_ERROR_RATE_LIMIT`: individual network-error lines per source per minute.
    pub network_error_rate_limit: u64,
    /// `PW_TEDAPI_RECOVERY`.
    pub tedapi_recovery: bool,
    /// `PW_TEDAPI_PROBE_INTERVAL` (at least 5 s).
    pub tedapi_probe_interval: Duration,
}

/// `PW_TEDAPI_PROBE_INTERVAL` as the proxy reads it: non-integer or empty → 30, below 5 → 5.
pub fn probe_interval(text: &str) -> Duration {
    let seconds = text.trim().parse::<u64>().unwrap_or(30).max(5);
    Duration::from_secs(seconds)
}

/// The fixed mask shown instead of a secret (its length is not revealed, §15.42).
pub const SECRET_MASK: &str = "********";

fn masked(secret: &Secret) -> Value {
    if secret.is_empty() {
        Value::Null
    } else {
        json!(SECRET_MASK)
    }
}

/// A personal value (the e-mail): the mask when set, `""` when empty.
fn masked_text(value: &str) -> Value {
    if value.trim().is_empty() {
        json!("")
    } else {
        json!(SECRET_MASK)
    }
}

fn optional_text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |text| json!(text))
}

/// The listen address as configured (flag/variable, else the gateways file, else the default),
/// in the text form `/stats` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenReport {
    /// `PW_BIND_ADDRESS` as given (empty = all interfaces).
    pub bind_address: String,
    /// `PW_PORT`.
    pub port: u16,
}

/// The `/stats` `config` object: the effective settings in the proxy's key order, secrets masked.
pub fn config_report(
    cli: &Cli,
    listen: &ListenReport,
    style: Style,
    site_zero_threshold_w: i64,
) -> Map<String, Value> {
    let cache_file = cli.cache_file.as_ref().map_or_else(
        || {
            let dir = cli.auth_path.trim();
            if dir.is_empty() {
                ".powerwall".to_owned()
            } else {
                format!("{}/.powerwall", dir.trim_end_matches('/'))
            }
        },
        |path| path.display().to_string(),
    );
    let entries: [(&str, Value); 31] = [
        ("PW_BIND_ADDRESS", json!(listen.bind_address)),
        ("PW_PASSWORD", masked(&cli.password)),
        // Masked like a secret: no response may carry the owner's e-mail (issue 5).
        ("PW_EMAIL", masked_text(&cli.email)),
        ("PW_HOST", json!(cli.host)),
        ("PW_TIMEZONE", json!(cli.timezone)),
        ("PW_DEBUG", json!(cli.debug)),
        ("PW_CACHE_EXPIRE", json!(cli.cache_expire)),
        ("PW_BROWSER_CACHE", json!(cli.browser_cache)),
        ("PW_TIMEOUT", json!(cli.timeout)),
        ("PW_POOL_MAXSIZE", json!(cli.pool_maxsize)),
        ("PW_HTTPS", json!(cli.https.trim().to_ascii_lowercase())),
        ("PW_PORT", json!(listen.port)),
        ("PW_STYLE", json!(format!("{}.js", style.name()))),
        ("PW_SITEID", optional_text(cli.siteid.as_deref())),
        ("PW_AUTH_PATH", json!(cli.auth_path)),
        (
            "PW_AUTH_MODE",
            json!(cli.auth_mode.trim().to_ascii_lowercase()),
        ),
        ("PW_CACHE_FILE", json!(cache_file)),
        ("PW_CONTROL_SECRET", masked(&cli.control_secret)),
        ("PW_GW_PWD", masked(&cli.gw_pwd)),
        (
            "PW_RSA_KEY_PATH",
            optional_text(
                cli.rsa_key_path
                    .as_ref()
                    .map(|path| path.display().to_string())
                    .as_deref(),
            ),
        ),
        ("PW_WIFI_HOST", optional_text(cli.wifi_host.as_deref())),
        ("PW_NEG_SOLAR", json!(cli.neg_solar)),
        ("PW_SITE_ZERO_THRESHOLD", json!(site_zero_threshold_w)),
        (
            "PW_SUPPRESS_NETWORK_ERRORS",
            json!(cli.suppress_network_errors),
        ),
        (
            "PW_NETWORK_ERROR_RATE_LIMIT",
            json!(cli.network_error_rate_limit),
        ),
        ("PW_FAIL_FAST", json!(cli.fail_fast)),
        ("PW_GRACEFUL_DEGRADATION", json!(cli.graceful_degradation)),
        ("PW_HEALTH_CHECK", json!(cli.health_check)),
        ("PW_CACHE_TTL", json!(cli.cache_ttl)),
        ("PW_TEDAPI_RECOVERY", json!(cli.tedapi_recovery)),
        (
            "PW_TEDAPI_PROBE_INTERVAL",
            json!(probe_interval(&cli.tedapi_probe_interval).as_secs()),
        ),
    ];
    entries
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn https_words() {
        assert_eq!(HttpsMode::parse("no").unwrap(), HttpsMode::No);
        assert_eq!(HttpsMode::parse("http").unwrap(), HttpsMode::Http);
        assert_eq!(HttpsMode::parse("yes").unwrap(), HttpsMode::Yes);
        let err = HttpsMode::parse("maybe").unwrap_err().to_string();
        assert!(err.starts_with("PW_HTTPS"), "{err}");
        assert_eq!(
            HttpsMode::Http.cookie_suffix(),
            "path=/;SameSite=None;Secure;"
        );
    }

    #[test]
    fn styles_by_name() {
        assert_eq!(Style::from_name("grafana-dark"), Some(Style::GrafanaDark));
        assert_eq!(Style::from_name("Solar.js"), Some(Style::Solar));
        assert_eq!(Style::from_name("<script>"), None);
        for style in Style::ALL {
            assert_eq!(Style::from_name(style.name()), Some(style));
        }
    }

    #[test]
    fn probe_interval_as_the_proxy_reads_it() {
        assert_eq!(probe_interval("60").as_secs(), 60);
        assert_eq!(probe_interval("2").as_secs(), 5);
        assert_eq!(probe_interval("abc").as_secs(), 30);
        assert_eq!(probe_interval("").as_secs(), 30);
    }

    #[test]
    fn config_report_masks_secrets_and_keeps_order() {
        let cli = Cli::try_parse_from([
            "powerwall-server",
            "--password",
            "hunter2",
            "--control-secret",
            "s3cret",
        ])
        .unwrap();
        let listen = ListenReport {
            bind_address: String::new(),
            port: 8675,
        };
        let report = config_report(&cli, &listen, Style::Clear, 0);
        assert_eq!(report.len(), 31);
        assert_eq!(
            report.keys().next().map(String::as_str),
            Some("PW_BIND_ADDRESS")
        );
        assert_eq!(report["PW_PASSWORD"], json!(SECRET_MASK));
        assert_eq!(report["PW_CONTROL_SECRET"], json!(SECRET_MASK));
        assert_eq!(report["PW_GW_PWD"], Value::Null);
        assert_eq!(report["PW_STYLE"], json!("clear.js"));
        assert_eq!(report["PW_PORT"], json!(8675));
        let text = Value::Object(report).to_string();
        assert!(!text.contains("hunter2") && !text.contains("s3cret"));
    }
}
