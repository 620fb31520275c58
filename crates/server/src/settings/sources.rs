//! Where the gateways come from (`--simulate`, else the gateways file, else `PW_GATEWAYS`, else
//! the single-gateway variables), which one is the default, and the listen address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use powerwall_gateway::QueryTiers;
use powerwall_gateway::fleet::http1_forced;

use super::SettingsError;
use super::cli::Cli;
use super::cloud_source::{CloudInputs, ControlLinkConfig, MIN_CLOUD_PERIOD, hybrid_control};
use super::fleet_source::fleet_poll_interval;
use super::gateway::{
    ClientDefaults, ConnectionInputs, FieldNames, GatewaySettings, GatewaySource,
    SINGLE_GATEWAY_ID, SINGLE_GATEWAY_NAME, SiteKind, resolve_source_with,
};
use super::gateway_build::{EntryDefaults, build_gateways, default_cache_file};
use super::gateways_file::{
    GatewaysDocument, ServerSection, parse_gateways_env, read_gateways_file,
};
use super::options::ListenReport;

/// The listen port when neither a flag, a variable nor the gateways file sets one.
pub(super) const DEFAULT_PORT: u16 = 8675;

/// The gateways of this process and the `server:` settings that came with them.
#[derive(Debug, Clone)]
pub(super) struct GatewayChoice {
    /// Never empty.
    pub gateways: Vec<GatewaySettings>,
    /// Index of the default gateway in `gateways`.
    pub default_gateway: usize,
    /// The gateways file's `server:` section (empty for other sources).
    pub server: ServerSection,
    /// The file path or variable the gateways came from (`None`: single-gateway variables).
    pub origin: Option<String>,
}

/// Builds the gateways from the first source that is set, and picks the default one.
pub(super) fn choose_gateways(cli: &Cli) -> Result<GatewayChoice, SettingsError> {
    if cli.simulate {
        // The simulator stands in for every gateway source; nothing else is read.
        return Ok(single(cli, GatewaySource::Simulated, None, None));
    }
    let document = if let Some(path) = &cli.config {
        Some(read_gateways_file(path)?)
    } else {
        match cli.gateways.as_ref().map(|text| text.expose().trim()) {
            Some(text) if !text.is_empty() => Some(parse_gateways_env(text)?),
            _ => None,
        }
    };
    let Some(document) = document else {
        let inputs = single_inputs(cli);
        let cloud = CloudInputs {
            site_id: cli.siteid.clone(),
            ..cloud_defaults(cli, &cli.auth_path)
        };
        let names = FieldNames::Environment;
        let source = resolve_source_with(&inputs, &cloud, &client_defaults(cli), names)?;
        let cloud_control = hybrid_control(&inputs, &cloud, &source, names)?;
        let mut choice = single(cli, source, single_cache_file(cli), cloud_control);
        choice.default_gateway = pick_default(&choice, cli.default_gateway.as_deref())?;
        return Ok(choice);
    };
    warn_ignored_variables(cli, &document);
    let gateways = build_gateways(&document.origin, &document.entries, &entry_defaults(cli))?;
    if document.server.cors_origins.is_some() {
        tracing::info!(
            "{}: server.cors_origins is accepted but CORS stays `*` in this version",
            document.origin
        );
    }
    let mut choice = GatewayChoice {
        gateways,
        default_gateway: 0,
        server: document.server,
        origin: Some(document.origin),
    };
    choice.default_gateway = pick_default(&choice, cli.default_gateway.as_deref())?;
    Ok(choice)
}

/// `PW_DEFAULT_GATEWAY` (wins), else `server.default_gateway`, else the gateway with id
/// `default`, else the first.
fn pick_default(choice: &GatewayChoice, variable: Option<&str>) -> Result<usize, SettingsError> {
    let find = |id: &str| choice.gateways.iter().position(|gateway| gateway.id == id);
    let known = || {
        choice
            .gateways
            .iter()
            .map(|gateway| gateway.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(id) = variable.map(str::trim).filter(|id| !id.is_empty()) {
        return find(id).ok_or_else(|| SettingsError::Invalid {
            variable: "PW_DEFAULT_GATEWAY",
            message: format!("no gateway has the id {id:?}; configured: {}", known()),
        });
    }
    if let Some(id) = &choice.server.default_gateway {
        return find(id).ok_or_else(|| SettingsError::Source {
            origin: choice.origin.clone().unwrap_or_default(),
            message: format!(
                "server.default_gateway: no gateway has the id {id:?}; configured: {}",
                known()
            ),
        });
    }
    Ok(find(SINGLE_GATEWAY_ID).unwrap_or(0))
}

/// The listen address: an explicit flag or variable, else the file's `server:`, else the default.
pub(super) fn listen(
    cli: &Cli,
    server: &ServerSection,
    origin: Option<&str>,
) -> Result<(SocketAddr, ListenReport), SettingsError> {
    let port = cli.port.or(server.port).unwrap_or(DEFAULT_PORT);
    let (bind, from_file) = match (&cli.bind_address, &server.host) {
        (Some(bind), _) => (bind.clone(), false),
        (None, Some(host)) => (host.clone(), true),
        (None, None) => (String::new(), false),
    };
    let text = bind.trim().trim_start_matches('[').trim_end_matches(']');
    let ip = if text.is_empty() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        text.parse().map_err(|_| {
            let message = format!("{text:?} is not an IP address (leave empty for all interfaces)");
            if from_file {
                SettingsError::Source {
                    origin: origin.unwrap_or_default().to_owned(),
                    message: format!("server.host: {message}"),
                }
            } else {
                SettingsError::Invalid {
                    variable: "PW_BIND_ADDRESS",
                    message,
                }
            }
        })?
    };
    let report = ListenReport {
        bind_address: bind,
        port,
    };
    Ok((SocketAddr::new(ip, port), report))
}

/// One warning naming the single-gateway variables a file or `PW_GATEWAYS` overrides.
fn warn_ignored_variables(cli: &Cli, document: &GatewaysDocument) {
    let mut ignored = Vec::new();
    if !cli.host.trim().is_empty() {
        ignored.push("PW_HOST");
    }
    if !cli.gw_pwd.is_empty() {
        ignored.push("PW_GW_PWD");
    }
    if cli.rsa_key_path.is_some() {
        ignored.push("PW_RSA_KEY_PATH");
    }
    if cli.wifi_host.is_some() {
        ignored.push("PW_WIFI_HOST");
    }
    if cli.siteid.is_some() {
        ignored.push("PW_SITEID");
    }
    if cli.config.is_some() && cli.gateways.is_some() {
        ignored.push("PW_GATEWAYS");
    }
    if ignored.is_empty() && cli.password.is_empty() {
        return;
    }
    let fallback = if cli.password.is_empty() {
        ""
    } else {
        "; PW_PASSWORD is used only as the password of gateways without their own"
    };
    tracing::warn!(
        "gateways come from {}: {} ignored{fallback}",
        document.origin,
        if ignored.is_empty() {
            "no single-gateway variable is".to_owned()
        } else {
            format!("{} are", ignored.join(", "))
        }
    );
}

/// The one gateway of the single-gateway variables (or the simulator).
fn single(
    cli: &Cli,
    source: GatewaySource,
    cache_file: Option<PathBuf>,
    cloud_control: Option<ControlLinkConfig>,
) -> GatewayChoice {
    GatewayChoice {
        gateways: vec![GatewaySettings {
            id: SINGLE_GATEWAY_ID.to_owned(),
            name: SINGLE_GATEWAY_NAME.to_owned(),
            kind: SiteKind::Powerwall,
            timezone: cli.timezone.clone(),
            poll_interval: poll_interval_of(SINGLE_GATEWAY_ID, &source, poll_interval(cli)),
            tiers: tiers(
                cli,
                poll_interval_of(SINGLE_GATEWAY_ID, &source, poll_interval(cli)),
            ),
            source,
            timeout: timeout(cli),
            site_id: cli.siteid.clone().filter(|id| !id.trim().is_empty()),
            cache_file,
            cloud_control,
        }],
        default_gateway: 0,
        server: ServerSection::default(),
        origin: None,
    }
}

fn single_inputs(cli: &Cli) -> ConnectionInputs {
    ConnectionInputs {
        host: cli.host.clone(),
        password: cli.password.clone(),
        gw_pwd: cli.gw_pwd.clone(),
        rsa_key_path: cli.rsa_key_path.clone(),
        fleetapi: false,
        email: cli.email.clone(),
        timezone: cli.timezone.clone(),
        cache_file: single_cache_file(cli),
        timeout: timeout(cli),
        poll_interval: poll_interval(cli),
        tiers: tiers(cli, poll_interval(cli)),
    }
}

/// `PW_CACHE_FILE`, else `<PW_AUTH_PATH>/.powerwall`.
fn single_cache_file(cli: &Cli) -> Option<PathBuf> {
    Some(
        cli.cache_file
            .clone()
            .unwrap_or_else(|| default_cache_file(&cli.auth_path)),
    )
}

/// The process-wide cloud facts, for a gateway whose auth directory is `auth_dir`.
pub(super) fn cloud_defaults(cli: &Cli, auth_dir: &str) -> CloudInputs {
    CloudInputs {
        endpoints: cli.cloud_endpoints.clone(),
        control_enabled: !cli.control_secret.is_empty(),
        cloud_hybrid: cli.cloud_hybrid,
        fleet_http1: cli.fleetapi_http.as_deref().is_some_and(http1_forced),
        ..CloudInputs::in_dir(auth_dir.trim())
    }
}

/// The poll period of a gateway: the cloud is not asked more often than it refreshes, and the
/// metered Fleet API not more often than [`powerwall_gateway::fleet::MIN_POLL_INTERVAL`].
pub(super) fn poll_interval_of(
    gateway_id: &str,
    source: &GatewaySource,
    configured: Duration,
) -> Duration {
    match source {
        GatewaySource::Cloud(_) => configured.max(MIN_CLOUD_PERIOD),
        GatewaySource::Fleet(_) => fleet_poll_interval(gateway_id, configured),
        _ => configured,
    }
}

fn entry_defaults(cli: &Cli) -> EntryDefaults {
    EntryDefaults {
        password: cli.password.clone(),
        email: cli.email.clone(),
        timezone: cli.timezone.clone(),
        auth_path: cli.auth_path.clone(),
        cache_file: cli.cache_file.clone(),
        poll_interval: poll_interval(cli),
        tiers: tiers(cli, poll_interval(cli)),
        timeout: timeout(cli),
        client: client_defaults(cli),
        cloud: cloud_defaults(cli, ""),
    }
}

/// `PW_CACHE_EXPIRE` (at least 1 s).
pub(super) fn poll_interval(cli: &Cli) -> Duration {
    Duration::from_secs(cli.cache_expire.max(1))
}

/// The query tiers around the poll period `fast` (`PW_POLL_DETAIL`, `PW_POLL_SLOW`,
/// `PW_POLL_CONFIG`, each at least the poll period).
pub(super) fn tiers(cli: &Cli, fast: Duration) -> QueryTiers {
    QueryTiers {
        fast,
        detail: Duration::from_secs(cli.poll_detail.max(1)),
        slow: Duration::from_secs(cli.poll_slow.max(1)),
        config: Duration::from_secs(cli.poll_config.max(1)),
    }
    .normalized()
}

/// `PW_TIMEOUT` (at least 1 s).
pub(super) fn timeout(cli: &Cli) -> Duration {
    Duration::from_secs(cli.timeout.max(1))
}

/// The client knobs every gateway shares.
pub(super) fn client_defaults(cli: &Cli) -> ClientDefaults {
    ClientDefaults {
        auth_mode: cli.auth_mode.clone(),
        tedapi_api_version: cli.tedapi_api_version.clone(),
        tedapi_auth_mode: cli.tedapi_auth_mode.clone(),
        pool_max_idle: cli.pool_maxsize,
    }
}
