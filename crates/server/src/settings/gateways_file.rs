//! The gateways file (`--config`/`PW_CONFIG`, YAML or JSON) and `PW_GATEWAYS` (a JSON array):
//! read, parsed and checked for shape; a broken source is an error that names it.

use std::path::Path;

use serde_json::{Map, Value};

use super::SettingsError;
use super::gateway_list::{GatewayEntry, parse_entry};
use super::lax;

/// Keys of the top level of the gateways file.
const TOP_KEYS: [&str; 2] = ["server", "gateways"];

/// Keys of its `server:` section (`default_gateway` is our extension).
const SERVER_KEYS: [&str; 4] = ["host", "port", "cors_origins", "default_gateway"];

/// The `server:` section of the gateways file.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ServerSection {
    /// Listen address.
    pub host: Option<String>,
    /// Listen port (1..65535).
    pub port: Option<u16>,
    /// Accepted and validated; CORS stays `*` for now.
    pub cors_origins: Option<Vec<String>>,
    /// Id of the gateway the legacy routes serve.
    pub default_gateway: Option<String>,
}

/// A parsed gateways source: where it came from, its `server:` section and its entries.
#[derive(Debug, Clone)]
pub(super) struct GatewaysDocument {
    /// The file path or `PW_GATEWAYS`, for error messages.
    pub origin: String,
    /// `server:` (always empty for `PW_GATEWAYS`).
    pub server: ServerSection,
    /// The gateway entries, types checked.
    pub entries: Vec<GatewayEntry>,
}

fn source_error(origin: &str, message: impl Into<String>) -> SettingsError {
    SettingsError::Source {
        origin: origin.to_owned(),
        message: message.into(),
    }
}

/// Reads and parses the gateways file at `path`.
pub(super) fn read_gateways_file(path: &Path) -> Result<GatewaysDocument, SettingsError> {
    let origin = format!("gateways file {}", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|err| source_error(&origin, format!("cannot read it: {err}")))?;
    parse_gateways_file(&origin, &text)
}

/// Parses the text of a gateways file: YAML, or JSON (which is read as JSON for exact error
/// positions).
pub(super) fn parse_gateways_file(
    origin: &str,
    text: &str,
) -> Result<GatewaysDocument, SettingsError> {
    let looks_like_json = text.trim_start().starts_with('{');
    let value: Value = if looks_like_json {
        serde_json::from_str(text)
            .map_err(|err| source_error(origin, format!("cannot parse it as JSON: {err}")))?
    } else {
        serde_yaml_ng::from_str(text)
            .map_err(|err| source_error(origin, format!("cannot parse it as YAML: {err}")))?
    };
    let Value::Object(top) = value else {
        return Err(source_error(
            origin,
            format!(
                "expected a mapping with a `gateways:` list at the top, got {}",
                lax::describe(&value)
            ),
        ));
    };
    if let Some(key) = top.keys().find(|key| !TOP_KEYS.contains(&key.as_str())) {
        return Err(source_error(
            origin,
            lax::unknown_key_message(key, &TOP_KEYS),
        ));
    }
    let server = match top.get("server") {
        None | Some(Value::Null) => ServerSection::default(),
        Some(Value::Object(fields)) => parse_server(origin, fields)?,
        Some(other) => {
            return Err(source_error(
                origin,
                format!("server: expected a mapping, got {}", lax::describe(other)),
            ));
        }
    };
    let entries = match top.get("gateways") {
        Some(Value::Array(items)) => parse_entries(origin, items)?,
        None | Some(Value::Null) => {
            return Err(source_error(
                origin,
                "`gateways:` is missing: list at least one gateway",
            ));
        }
        Some(other) => {
            return Err(source_error(
                origin,
                format!("gateways: expected a list, got {}", lax::describe(other)),
            ));
        }
    };
    Ok(GatewaysDocument {
        origin: origin.to_owned(),
        server,
        entries,
    })
}

/// Parses `PW_GATEWAYS`: a JSON array of gateway objects.
pub(super) fn parse_gateways_env(text: &str) -> Result<GatewaysDocument, SettingsError> {
    let origin = "PW_GATEWAYS";
    let value: Value = serde_json::from_str(text)
        .map_err(|err| source_error(origin, format!("invalid JSON: {err}")))?;
    let Value::Array(items) = value else {
        return Err(source_error(
            origin,
            format!(
                "expected a JSON array of gateway objects, got {}",
                lax::describe(&value)
            ),
        ));
    };
    Ok(GatewaysDocument {
        origin: origin.to_owned(),
        server: ServerSection::default(),
        entries: parse_entries(origin, &items)?,
    })
}

fn parse_entries(origin: &str, items: &[Value]) -> Result<Vec<GatewayEntry>, SettingsError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_entry(origin, index + 1, item))
        .collect()
}

fn parse_server(origin: &str, fields: &Map<String, Value>) -> Result<ServerSection, SettingsError> {
    let mut server = ServerSection::default();
    for (key, value) in fields {
        let fail = |message: String| source_error(origin, format!("server.{key}: {message}"));
        match key.as_str() {
            "host" => server.host = lax::text(value).map_err(fail)?,
            "port" => {
                server.port = lax::bounded(value, 1, 65_535)
                    .map_err(fail)?
                    .and_then(|n| u16::try_from(n).ok());
            }
            "cors_origins" => server.cors_origins = lax::string_list(value).map_err(fail)?,
            "default_gateway" => server.default_gateway = lax::text(value).map_err(fail)?,
            unknown => {
                return Err(source_error(
                    origin,
                    format!(
                        "server: {}",
                        lax::unknown_key_message(unknown, &SERVER_KEYS)
                    ),
                ));
            }
        }
    }
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_error(text: &str) -> String {
        parse_gateways_file("gw.yaml", text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn yaml_and_json_files_parse() {
        let yaml = "server:\n  host: 127.0.0.1\n  port: 9000\n  cors_origins: ['*']\n  \
                    default_gateway: b\ngateways:\n  - id: a\n    host: h\n  - id: b\n";
        let doc = parse_gateways_file("gw.yaml", yaml).unwrap();
        assert_eq!(doc.server.port, Some(9000));
        assert_eq!(doc.server.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(doc.server.default_gateway.as_deref(), Some("b"));
        assert_eq!(doc.entries.len(), 2);
        assert_eq!(doc.entries[1].entry, 2);
        let json = r#"{"gateways": [{"id": "a", "host": "h", "gw_pwd": "x"}]}"#;
        assert_eq!(
            parse_gateways_file("gw.json", json).unwrap().entries.len(),
            1
        );
    }

    #[test]
    fn broken_files_name_the_file_and_the_place() {
        let err = file_error("gateways:\n  - id: a\n   host: [\n");
        assert!(err.starts_with("gw.yaml: cannot parse it as YAML"), "{err}");
        assert!(err.contains("line"), "{err}");
        let err = parse_gateways_file("gw.json", "{\"gateways\": [\n  {\"id\": }]}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2 column"), "{err}");
        for (text, expected) in [
            (
                "",
                "expected a mapping with a `gateways:` list at the top, got nothing",
            ),
            ("- id: a\n", "got a list"),
            ("server: {}\n", "`gateways:` is missing"),
            ("gateways: home\n", "gateways: expected a list, got text"),
            (
                "gateway: []\n",
                "unknown key \"gateway\" (did you mean \"gateways\"?)",
            ),
            (
                "server:\n  port: 0\ngateways: []\n",
                "server.port: must be between 1 and 65535",
            ),
            (
                "server:\n  prot: 1\ngateways: []\n",
                "did you mean \"port\"?",
            ),
            (
                "server:\n  cors_origins: '*'\ngateways: []\n",
                "server.cors_origins: expected a list",
            ),
            ("server: 8675\ngateways: []\n", "server: expected a mapping"),
        ] {
            let err = file_error(text);
            assert!(err.starts_with("gw.yaml: "), "{err}");
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn pw_gateways_must_be_a_json_array() {
        let doc = parse_gateways_env(r#"[{"id": "a", "host": "h", "password": "p"}]"#).unwrap();
        assert_eq!(doc.origin, "PW_GATEWAYS");
        assert_eq!(doc.entries[0].id, "a");
        for (text, expected) in [
            ("[{\"id\": \"a\",}]", "PW_GATEWAYS: invalid JSON"),
            (
                "{\"id\": \"a\"}",
                "PW_GATEWAYS: expected a JSON array of gateway objects",
            ),
            (
                "[{\"id\": \"a\", \"gwpwd\": \"x\"}]",
                "PW_GATEWAYS: gateway \"a\" (entry 1), field gwpwd",
            ),
        ] {
            let err = parse_gateways_env(text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text}: {err}");
        }
    }
}
