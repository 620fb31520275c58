//! One entry of the gateways file or `PW_GATEWAYS`, read field by field: unknown keys, bad ids
//! and mistyped values are errors that name the gateway and the field.

use std::path::PathBuf;

use powerwall_gateway::Secret;
use serde_json::{Map, Value};

use super::SettingsError;
use super::gateway::SiteKind;
use super::lax;

/// Every key a gateway entry may have (pypowerwall-server's, then our extensions).
pub(super) const GATEWAY_KEYS: [&str; 21] = [
    "id",
    "name",
    "host",
    "port",
    "gw_pwd",
    "password",
    "rsa_key_path",
    "wifi_host",
    "email",
    "authpath",
    "timezone",
    "cloud_mode",
    "fleetapi",
    "type",
    "poll_interval",
    "poll_detail",
    "poll_slow",
    "poll_config",
    "timeout",
    "cache_file",
    "site_id",
];

/// Longest gateway id: ids appear in URLs, MQTT topics and file names.
const MAX_ID_LEN: usize = 64;

/// A gateway entry as written, types checked, before defaults and mode validation.
#[derive(Debug, Clone, Default)]
pub(super) struct GatewayEntry {
    /// Position in the list, counted from 1.
    pub entry: usize,
    /// The validated id.
    pub id: String,
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub gw_pwd: Option<Secret>,
    pub password: Option<Secret>,
    pub rsa_key_path: Option<PathBuf>,
    pub wifi_host: Option<String>,
    pub email: Option<String>,
    pub authpath: Option<String>,
    pub timezone: Option<String>,
    pub cloud_mode: bool,
    pub fleetapi: bool,
    pub kind: SiteKind,
    /// Seconds.
    pub poll_interval: Option<u64>,
    /// Seconds of the detail tier.
    pub poll_detail: Option<u64>,
    /// Seconds of the slow tier.
    pub poll_slow: Option<u64>,
    /// Seconds of the config tier.
    pub poll_config: Option<u64>,
    /// Seconds.
    pub timeout: Option<u64>,
    pub cache_file: Option<PathBuf>,
    pub site_id: Option<String>,
}

/// Builds the error of one entry's field.
pub(super) fn entry_error(
    origin: &str,
    gateway: &str,
    entry: usize,
    field: &str,
    message: impl Into<String>,
) -> SettingsError {
    SettingsError::Gateway {
        origin: origin.to_owned(),
        gateway: gateway.to_owned(),
        entry,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Reads entry number `entry` (from 1) of `origin`.
pub(super) fn parse_entry(
    origin: &str,
    entry: usize,
    value: &Value,
) -> Result<GatewayEntry, SettingsError> {
    let Value::Object(fields) = value else {
        return Err(entry_error(
            origin,
            "",
            entry,
            "-",
            format!(
                "expected a mapping of gateway fields, got {}",
                lax::describe(value)
            ),
        ));
    };
    let id = parse_id(origin, entry, fields)?;
    let fail = |field: &str, message: String| entry_error(origin, &id, entry, field, message);
    let mut parsed = GatewayEntry {
        entry,
        id: id.clone(),
        ..GatewayEntry::default()
    };
    for (key, value) in fields {
        let text = || lax::text(value).map_err(|m| fail(key, m));
        let secret = || {
            lax::credential(value)
                .map(|v| v.map(Secret::new))
                .map_err(|m| fail(key, m))
        };
        let flag = || {
            lax::boolean(value)
                .map(Option::unwrap_or_default)
                .map_err(|m| fail(key, m))
        };
        let seconds = || {
            lax::bounded(value, 1, 86_400)
                .map(|v| v.and_then(|n| u64::try_from(n).ok()))
                .map_err(|m| fail(key, format!("seconds: {m}")))
        };
        match key.as_str() {
            "id" => {}
            "name" => parsed.name = text()?,
            "host" => parsed.host = text()?,
            "port" => {
                parsed.port = lax::bounded(value, 1, 65_535)
                    .map_err(|m| fail(key, m))?
                    .and_then(|n| u16::try_from(n).ok());
            }
            "gw_pwd" => parsed.gw_pwd = secret()?,
            "password" => parsed.password = secret()?,
            "rsa_key_path" => parsed.rsa_key_path = text()?.map(PathBuf::from),
            "wifi_host" => parsed.wifi_host = text()?,
            "email" => parsed.email = text()?,
            "authpath" => parsed.authpath = text()?,
            "timezone" => parsed.timezone = text()?,
            "cloud_mode" => parsed.cloud_mode = flag()?,
            "fleetapi" => parsed.fleetapi = flag()?,
            "type" => {
                if let Some(name) = text()? {
                    parsed.kind = SiteKind::from_name(&name).ok_or_else(|| {
                        fail(
                            key,
                            format!("unknown type {name:?}; expected powerwall or inverter"),
                        )
                    })?;
                }
            }
            "poll_interval" => parsed.poll_interval = seconds()?,
            "poll_detail" => parsed.poll_detail = seconds()?,
            "poll_slow" => parsed.poll_slow = seconds()?,
            "poll_config" => parsed.poll_config = seconds()?,
            "timeout" => parsed.timeout = seconds()?,
            "cache_file" => parsed.cache_file = text()?.map(PathBuf::from),
            "site_id" => parsed.site_id = text()?,
            unknown => {
                return Err(fail(
                    unknown,
                    lax::unknown_key_message(unknown, &GATEWAY_KEYS),
                ));
            }
        }
    }
    Ok(parsed)
}

/// The entry's `id`: present, and safe in URLs and MQTT topics.
fn parse_id(
    origin: &str,
    entry: usize,
    fields: &Map<String, Value>,
) -> Result<String, SettingsError> {
    let fail = |gateway: &str, message: String| entry_error(origin, gateway, entry, "id", message);
    let id = match fields.get("id") {
        None => None,
        Some(value) => lax::text(value).map_err(|m| fail("", m))?,
    };
    let Some(id) = id else {
        return Err(fail("", "missing: every gateway needs an id".to_owned()));
    };
    if !is_safe_id(&id) {
        return Err(fail(
            &id,
            format!(
                "{id:?} is not a valid id: use 1 to {MAX_ID_LEN} letters, digits, '_' or '-' \
                 (ids appear in URLs and MQTT topics)"
            ),
        ));
    }
    Ok(id)
}

/// `^[A-Za-z0-9_-]{1,64}$`.
pub(super) fn is_safe_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<GatewayEntry, String> {
        parse_entry("test.yaml", 2, &value).map_err(|err| err.to_string())
    }

    #[test]
    fn a_full_entry_reads_every_field() {
        let entry = parse(json!({
            "id": "home", "name": "Home", "host": "10.0.0.5", "port": 8443,
            "gw_pwd": "GW", "password": "PW", "rsa_key_path": "/k.pem", "wifi_host": "192.168.91.1",
            "email": "me@example.com", "authpath": "/auth", "timezone": "Europe/Berlin",
            "cloud_mode": "no", "fleetapi": false, "type": "Inverter", "poll_interval": 10.0,
            "timeout": "7", "cache_file": "/c", "site_id": 12345
        }))
        .unwrap();
        assert_eq!(entry.entry, 2);
        assert_eq!(entry.port, Some(8443));
        assert_eq!(entry.kind, SiteKind::Inverter);
        assert_eq!(entry.poll_interval, Some(10));
        assert_eq!(entry.timeout, Some(7));
        assert_eq!(entry.site_id.as_deref(), Some("12345"));
        assert_eq!(entry.gw_pwd.as_ref().map(Secret::expose), Some("GW"));
        assert!(!format!("{entry:?}").contains("PW\""));
    }

    #[test]
    fn bad_entries_name_gateway_and_field() {
        for (value, expected) in [
            (json!({"host": "h"}), "gateway (entry 2), field id: missing"),
            (json!({"id": ""}), "field id: missing"),
            (json!({"id": "a/b"}), "field id: \"a/b\" is not a valid id"),
            (json!({"id": "a b"}), "is not a valid id"),
            (json!({"id": "a+b"}), "is not a valid id"),
            (json!({"id": "a#b"}), "is not a valid id"),
            (json!({"id": "a.b"}), "is not a valid id"),
            (json!({"id": "x".repeat(65)}), "is not a valid id"),
            (
                json!({"id": "cabin", "gw_pw": "x"}),
                "gateway \"cabin\" (entry 2), field gw_pw: unknown key \"gw_pw\" (did you mean \"gw_pwd\"?)",
            ),
            (
                json!({"id": "c", "port": 0}),
                "field port: must be between 1 and 65535",
            ),
            (
                json!({"id": "c", "port": "http"}),
                "field port: expected a whole number",
            ),
            (
                json!({"id": "c", "type": "battery"}),
                "field type: unknown type \"battery\"",
            ),
            (
                json!({"id": "c", "fleetapi": "maybe"}),
                "field fleetapi: expected yes or no",
            ),
            (
                json!({"id": "c", "poll_interval": 0}),
                "field poll_interval: seconds: must be",
            ),
            (
                json!({"id": "c", "timeout": 2.5}),
                "field timeout: seconds: expected a whole",
            ),
            (
                json!({"id": "c", "gw_pwd": 123}),
                "field gw_pwd: a number here may lose digits",
            ),
            (
                json!({"id": "c", "host": ["a"]}),
                "field host: expected text, got a list",
            ),
            (
                json!(["id"]),
                "field -: expected a mapping of gateway fields, got a list",
            ),
        ] {
            let err = parse(value.clone()).unwrap_err();
            assert!(err.starts_with("test.yaml: gateway"), "{err}");
            assert!(err.contains(expected), "{value}: {err}");
        }
    }

    #[test]
    fn safe_ids() {
        for good in ["home", "Home_2", "a-b", "0", &"x".repeat(64)] {
            assert!(is_safe_id(good), "{good}");
        }
        for bad in ["", "a/b", "a+b", "a#b", "a b", "a.b", "ü", &"x".repeat(65)] {
            assert!(!is_safe_id(bad), "{bad}");
        }
    }
}
