//! The Fleet API's token and settings file `.pypowerwall.fleetapi` (gateway-protocols §6.1), read
//! and written compatibly with the Python tools: one JSON object with the keys `CLIENT_ID`,
//! `CLIENT_SECRET`, `DOMAIN`, `REDIRECT_URI`, `AUDIENCE`, `partner_token`, `partner_account`,
//! `access_token`, `refresh_token`, `site_id`.
//!
//! Rewrites are atomic (0600 temp file renamed over the target, see `cloud::files`) and keep every
//! key we do not know, so a file written by a newer tool survives a token refresh.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::cloud::files::{file_error, invalid};
use crate::private_file::write_atomically;
use crate::{GatewayError, Secret};

/// Name of the token file in the auth directory.
pub const FLEET_FILE: &str = ".pypowerwall.fleetapi";

/// `<dir>/.pypowerwall.fleetapi`.
pub fn fleet_file_path(dir: &Path) -> PathBuf {
    dir.join(FLEET_FILE)
}

/// The content of `.pypowerwall.fleetapi`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetTokenFile {
    /// `CLIENT_ID`: the developer application's client id.
    pub client_id: String,
    /// `CLIENT_SECRET`: the developer application's secret.
    pub client_secret: Secret,
    /// `DOMAIN`: the developer domain hosting the public key.
    pub domain: String,
    /// `REDIRECT_URI`: the application's redirect URI.
    pub redirect_uri: String,
    /// `AUDIENCE`: the region's Fleet API base URL.
    pub audience: String,
    /// `partner_token`: the client-credentials token used to register the partner account.
    pub partner_token: Secret,
    /// `partner_account`: Tesla's answer to the registration, kept as sent.
    pub partner_account: Value,
    /// `access_token`: the user's bearer token.
    pub access_token: Secret,
    /// `refresh_token`: the user's refresh token.
    pub refresh_token: Secret,
    /// `site_id`: the chosen `energy_site_id`; `None` = the first energy product.
    pub site_id: Option<u64>,
    /// Keys this version does not know, written back unchanged.
    pub extra: Map<String, Value>,
}

const KNOWN_KEYS: [&str; 10] = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DOMAIN",
    "REDIRECT_URI",
    "AUDIENCE",
    "partner_token",
    "partner_account",
    "access_token",
    "refresh_token",
    "site_id",
];

/// A site id as the Python tools may store it: a number, a numeric string, or empty/null.
fn parse_site_id(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
}

impl FleetTokenFile {
    /// Parses the file's JSON text.
    pub fn from_json(text: &str) -> Option<Self> {
        let Value::Object(map) = serde_json::from_str(text).ok()? else {
            return None;
        };
        let text = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default();
        let extra = map
            .iter()
            .filter(|(key, _)| !KNOWN_KEYS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        Some(Self {
            client_id: text("CLIENT_ID").to_owned(),
            client_secret: Secret::new(text("CLIENT_SECRET")),
            domain: text("DOMAIN").to_owned(),
            redirect_uri: text("REDIRECT_URI").to_owned(),
            audience: text("AUDIENCE").to_owned(),
            partner_token: Secret::new(text("partner_token")),
            partner_account: map.get("partner_account").cloned().unwrap_or(Value::Null),
            access_token: Secret::new(text("access_token")),
            refresh_token: Secret::new(text("refresh_token")),
            site_id: map.get("site_id").and_then(parse_site_id),
            extra,
        })
    }

    /// The file's JSON text (4-space indentation like the reference is not needed by readers;
    /// keys in the reference's order, unknown keys after them).
    pub fn to_json(&self) -> String {
        let mut map = Map::new();
        map.insert("CLIENT_ID".into(), json!(self.client_id));
        map.insert("CLIENT_SECRET".into(), json!(self.client_secret.expose()));
        map.insert("DOMAIN".into(), json!(self.domain));
        map.insert("REDIRECT_URI".into(), json!(self.redirect_uri));
        map.insert("AUDIENCE".into(), json!(self.audience));
        map.insert("partner_token".into(), json!(self.partner_token.expose()));
        map.insert("partner_account".into(), self.partner_account.clone());
        map.insert("access_token".into(), json!(self.access_token.expose()));
        map.insert("refresh_token".into(), json!(self.refresh_token.expose()));
        map.insert(
            "site_id".into(),
            self.site_id.map_or(Value::Null, Value::from),
        );
        for (key, value) in &self.extra {
            map.insert(key.clone(), value.clone());
        }
        serde_json::to_string_pretty(&Value::Object(map)).unwrap_or_default()
    }

    /// Reads `<dir>/.pypowerwall.fleetapi`; `Ok(None)` when it does not exist.
    pub fn read(dir: &Path) -> Result<Option<Self>, GatewayError> {
        let path = fleet_file_path(dir);
        match fs::read_to_string(&path) {
            Ok(text) => Self::from_json(&text)
                .map(Some)
                .ok_or_else(|| invalid(&path, "not a JSON object")),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(file_error(&path, err)),
        }
    }

    /// Writes `<dir>/.pypowerwall.fleetapi` atomically with mode 0600.
    pub fn write(&self, dir: &Path) -> Result<(), GatewayError> {
        let path = fleet_file_path(dir);
        write_atomically(&path, self.to_json().as_bytes()).map_err(|err| file_error(&path, err))
    }
}
