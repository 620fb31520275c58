//! Turns the entries of the gateways file or `PW_GATEWAYS` into validated `GatewaySettings`:
//! unique ids, possible mode combinations, per-gateway defaults and cache files.

use std::path::PathBuf;
use std::time::Duration;

use powerwall_gateway::{AccessMode, QueryTiers, Secret};

use super::SettingsError;
use super::cloud_source::{CloudInputs, hybrid_control};
use super::gateway::{
    ClientDefaults, ConnectionInputs, FieldNames, GatewaySettings, resolve_source_with,
};
use super::gateway_list::{GatewayEntry, entry_error};
use super::sources::poll_interval_of;

/// File name of the local-API auth cache inside an auth directory (as pypowerwall).
pub(super) const CACHE_FILE_NAME: &str = ".powerwall";

/// The process-wide values a gateway entry falls back to when it does not set its own.
#[derive(Debug, Clone)]
pub(super) struct EntryDefaults {
    /// `PW_PASSWORD`: the documented compatibility fallback for entries without `password`.
    pub password: Secret,
    /// `PW_EMAIL`: sent at local login when the entry has no `email`.
    pub email: String,
    /// `PW_TIMEZONE`.
    pub timezone: String,
    /// `PW_AUTH_PATH`.
    pub auth_path: String,
    /// `PW_CACHE_FILE`, if set.
    pub cache_file: Option<PathBuf>,
    /// `PW_CACHE_EXPIRE`.
    pub poll_interval: Duration,
    /// `PW_POLL_DETAIL`, `PW_POLL_SLOW`, `PW_POLL_CONFIG` (fast is replaced per gateway).
    pub tiers: QueryTiers,
    /// `PW_TIMEOUT`.
    pub timeout: Duration,
    /// Client knobs every gateway shares.
    pub client: ClientDefaults,
    /// Cloud endpoints and control wishes every gateway shares (its auth directory is its own).
    pub cloud: CloudInputs,
}

/// Validates the entries of `origin` as a whole and builds every gateway.
pub(super) fn build_gateways(
    origin: &str,
    entries: &[GatewayEntry],
    defaults: &EntryDefaults,
) -> Result<Vec<GatewaySettings>, SettingsError> {
    if entries.is_empty() {
        return Err(SettingsError::Source {
            origin: origin.to_owned(),
            message: "no gateways configured: the gateways list is empty".to_owned(),
        });
    }
    check_unique_ids(origin, entries)?;
    let shared_cache = entries.len() > 1;
    entries
        .iter()
        .map(|entry| build_gateway(origin, entry, defaults, shared_cache))
        .collect()
}

/// Ids must be unique, also ignoring case (they name files and MQTT topics on any platform).
fn check_unique_ids(origin: &str, entries: &[GatewayEntry]) -> Result<(), SettingsError> {
    for (later_index, later) in entries.iter().enumerate() {
        if let Some(earlier) = entries[..later_index]
            .iter()
            .find(|earlier| earlier.id.eq_ignore_ascii_case(&later.id))
        {
            let how = if earlier.id == later.id {
                "duplicates"
            } else {
                "differs only in letter case from"
            };
            return Err(entry_error(
                origin,
                &later.id,
                later.entry,
                "id",
                format!("{how} the id {:?} of entry {}", earlier.id, earlier.entry),
            ));
        }
    }
    Ok(())
}

fn build_gateway(
    origin: &str,
    entry: &GatewayEntry,
    defaults: &EntryDefaults,
    shared_cache: bool,
) -> Result<GatewaySettings, SettingsError> {
    let fail =
        |field: &str, message: String| entry_error(origin, &entry.id, entry.entry, field, message);
    let host = effective_host(entry).map_err(|message| fail("port", message))?;
    let password = entry
        .password
        .clone()
        .unwrap_or_else(|| defaults.password.clone());
    check_mode(entry, host.as_deref(), &password).map_err(|(field, m)| fail(field, m))?;
    if entry.wifi_host.is_some() && entry.rsa_key_path.is_none() {
        tracing::warn!(
            "gateway {:?}: wifi_host is only used with rsa_key_path (TEDAPI v1r); ignored",
            entry.id
        );
    }
    let poll_interval = entry
        .poll_interval
        .map_or(defaults.poll_interval, Duration::from_secs);
    let timeout = entry.timeout.map_or(defaults.timeout, Duration::from_secs);
    let tier = |own: Option<u64>, default: Duration| own.map_or(default, Duration::from_secs);
    let tiers = QueryTiers {
        fast: poll_interval,
        detail: tier(entry.poll_detail, defaults.tiers.detail),
        slow: tier(entry.poll_slow, defaults.tiers.slow),
        config: tier(entry.poll_config, defaults.tiers.config),
    }
    .normalized();
    let timezone = entry
        .timezone
        .clone()
        .unwrap_or_else(|| defaults.timezone.clone());
    let cache_file = Some(cache_file_of(entry, defaults, shared_cache));
    let inputs = ConnectionInputs {
        host: host.unwrap_or_default(),
        password,
        gw_pwd: entry.gw_pwd.clone().unwrap_or_default(),
        rsa_key_path: entry.rsa_key_path.clone(),
        fleetapi: entry.fleetapi,
        email: entry
            .email
            .clone()
            .unwrap_or_else(|| defaults.email.clone()),
        timezone: timezone.clone(),
        cache_file: cache_file.clone(),
        timeout,
        poll_interval,
        tiers,
    };
    let auth_dir = entry
        .authpath
        .as_deref()
        .unwrap_or(defaults.auth_path.as_str())
        .trim();
    let cloud = CloudInputs {
        cloud_mode: entry.cloud_mode,
        site_id: entry.site_id.clone(),
        endpoints: defaults.cloud.endpoints.clone(),
        control_enabled: defaults.cloud.control_enabled,
        cloud_hybrid: defaults.cloud.cloud_hybrid,
        fleet_http1: defaults.cloud.fleet_http1,
        ..CloudInputs::in_dir(auth_dir)
    };
    let entry_failure = |err| match err {
        SettingsError::Invalid { variable, message } => fail(variable, message),
        SettingsError::UnsupportedMode { mode, hint } => fail(
            mode_field(mode, entry.cloud_mode),
            format!("access mode {mode} is not supported yet: {hint}"),
        ),
        other => other,
    };
    let source = resolve_source_with(&inputs, &cloud, &defaults.client, FieldNames::Entry)
        .map_err(entry_failure)?;
    let cloud_control =
        hybrid_control(&inputs, &cloud, &source, FieldNames::Entry).map_err(entry_failure)?;
    // The cloud modes floor the period themselves (the Fleet API with its own warning).
    let poll_interval = poll_interval_of(&entry.id, &source, poll_interval);
    if poll_interval < Duration::from_secs(5) {
        tracing::warn!(
            "gateway {:?}: poll interval {}s is below 5s: the gateway is polled more often",
            entry.id,
            poll_interval.as_secs()
        );
    }
    Ok(GatewaySettings {
        id: entry.id.clone(),
        name: entry.name.clone().unwrap_or_else(|| entry.id.clone()),
        kind: entry.kind,
        timezone,
        poll_interval,
        tiers: QueryTiers {
            fast: poll_interval,
            ..tiers
        }
        .normalized(),
        source,
        timeout,
        site_id: entry.site_id.clone(),
        cache_file,
        cloud_control,
    })
}

/// The field that selected a mode this build cannot run yet.
fn mode_field(mode: AccessMode, cloud_mode: bool) -> &'static str {
    match mode {
        AccessMode::V1r => "rsa_key_path",
        AccessMode::Fleet => "fleetapi",
        AccessMode::Cloud if cloud_mode => "cloud_mode",
        AccessMode::Cloud => "email",
        _ => "host",
    }
}

/// `host`, with `port` appended when given (`[v6]:port` for a bare IPv6 literal).
fn effective_host(entry: &GatewayEntry) -> Result<Option<String>, String> {
    match (&entry.host, entry.port) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err("port is set but host is not".to_owned()),
        (Some(host), None) => Ok(Some(host.clone())),
        (Some(host), Some(port)) => {
            if let Some(rest) = host.strip_prefix('[') {
                if rest.contains("]:") {
                    return Err(format!("host {host:?} already has a port"));
                }
                return Ok(Some(format!("{host}:{port}")));
            }
            match host.matches(':').count() {
                0 => Ok(Some(format!("{host}:{port}"))),
                1 => Err(format!("host {host:?} already has a port")),
                _ => Ok(Some(format!("[{host}]:{port}"))),
            }
        }
    }
}

/// Rejects combinations no mode can serve; returns the field to fix and why.
fn check_mode(
    entry: &GatewayEntry,
    host: Option<&str>,
    password: &Secret,
) -> Result<(), (&'static str, String)> {
    let cloud = "it selects a cloud mode, which reads the gateway through Tesla's servers";
    if host.is_some() && entry.fleetapi {
        return Err((
            "fleetapi",
            format!("cannot be combined with host: {cloud}; remove one of them"),
        ));
    }
    if host.is_some() && entry.cloud_mode {
        return Err((
            "cloud_mode",
            format!("cannot be combined with host: {cloud}; remove one of them"),
        ));
    }
    match host {
        Some(_) => {
            let local =
                entry.gw_pwd.is_some() || !password.is_empty() || entry.rsa_key_path.is_some();
            if !local {
                return Err((
                    "password",
                    "host is set but no credential is: set gw_pwd (TEDAPI), password (local \
                     API; PW_PASSWORD is the fallback and is empty too) or both"
                        .to_owned(),
                ));
            }
        }
        None if entry.email.is_none() && !entry.fleetapi && !entry.cloud_mode => {
            return Err((
                "host",
                "no way to reach this gateway: set host with gw_pwd and/or password (local), or \
                 email/fleetapi (cloud)"
                    .to_owned(),
            ));
        }
        None => {}
    }
    Ok(())
}

/// The entry's `cache_file`; else `PW_CACHE_FILE` or `<authpath>/.powerwall`, with `.<id>`
/// appended when there are several gateways so that no two share a login session.
fn cache_file_of(entry: &GatewayEntry, defaults: &EntryDefaults, shared: bool) -> PathBuf {
    if let Some(path) = &entry.cache_file {
        return path.clone();
    }
    let base = defaults.cache_file.clone().unwrap_or_else(|| {
        let dir = entry
            .authpath
            .as_deref()
            .unwrap_or(defaults.auth_path.trim());
        default_cache_file(dir)
    });
    if shared {
        let mut name = base.into_os_string();
        name.push(format!(".{}", entry.id));
        PathBuf::from(name)
    } else {
        base
    }
}

/// `<dir>/.powerwall`, or `.powerwall` in the working directory when `dir` is empty.
pub(super) fn default_cache_file(dir: &str) -> PathBuf {
    let dir = dir.trim();
    if dir.is_empty() {
        PathBuf::from(CACHE_FILE_NAME)
    } else {
        PathBuf::from(dir).join(CACHE_FILE_NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, host: Option<&str>, port: Option<u16>) -> GatewayEntry {
        GatewayEntry {
            entry: 1,
            id: id.to_owned(),
            host: host.map(str::to_owned),
            port,
            ..GatewayEntry::default()
        }
    }

    #[test]
    fn host_and_port_combine() {
        let cases = [
            (Some("10.0.0.5"), Some(8443), Ok(Some("10.0.0.5:8443"))),
            (Some("10.0.0.5:443"), None, Ok(Some("10.0.0.5:443"))),
            (Some("10.0.0.5:443"), Some(8443), Err("already has a port")),
            (Some("fe80::1"), Some(8443), Ok(Some("[fe80::1]:8443"))),
            (Some("[fe80::1]"), Some(8443), Ok(Some("[fe80::1]:8443"))),
            (Some("[fe80::1]:443"), Some(8443), Err("already has a port")),
            (None, Some(8443), Err("host is not")),
            (None, None, Ok(None)),
        ];
        for (host, port, expected) in cases {
            let got = effective_host(&entry("a", host, port));
            match expected {
                Ok(want) => assert_eq!(got.unwrap().as_deref(), want, "{host:?} {port:?}"),
                Err(want) => assert!(got.unwrap_err().contains(want), "{host:?} {port:?}"),
            }
        }
    }

    #[test]
    fn cache_files_never_shared() {
        let defaults = EntryDefaults {
            password: Secret::default(),
            email: String::new(),
            timezone: String::new(),
            auth_path: "/auth".to_owned(),
            cache_file: None,
            poll_interval: Duration::from_secs(5),
            tiers: QueryTiers::default(),
            timeout: Duration::from_secs(5),
            client: ClientDefaults {
                auth_mode: String::new(),
                tedapi_api_version: String::new(),
                tedapi_auth_mode: String::new(),
                pool_max_idle: 1,
            },
            cloud: CloudInputs::default(),
        };
        let plain = entry("home", None, None);
        assert_eq!(
            cache_file_of(&plain, &defaults, false),
            PathBuf::from("/auth/.powerwall")
        );
        assert_eq!(
            cache_file_of(&plain, &defaults, true),
            PathBuf::from("/auth/.powerwall.home")
        );
        let own_dir = GatewayEntry {
            authpath: Some("/cabin".to_owned()),
            ..entry("cabin", None, None)
        };
        assert_eq!(
            cache_file_of(&own_dir, &defaults, true),
            PathBuf::from("/cabin/.powerwall.cabin")
        );
        let own_file = GatewayEntry {
            cache_file: Some(PathBuf::from("/x/session")),
            ..entry("x", None, None)
        };
        assert_eq!(
            cache_file_of(&own_file, &defaults, true),
            PathBuf::from("/x/session")
        );
        let env_file = EntryDefaults {
            cache_file: Some(PathBuf::from("/var/pw")),
            ..defaults
        };
        assert_eq!(
            cache_file_of(&plain, &env_file, true),
            PathBuf::from("/var/pw.home")
        );
        assert_eq!(
            cache_file_of(&plain, &env_file, false),
            PathBuf::from("/var/pw")
        );
    }
}
