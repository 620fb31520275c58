//! The cloud mode's files (gateway-protocols §5.2): `.pypowerwall.auth` (tokens keyed by account
//! email) and `.pypowerwall.site` (the selected `energy_site_id`), read and written compatibly
//! with the Python tools so either can set up the other.
//!
//! Rewrites are atomic (a 0600 temp file in the same directory, renamed over the target) and keep
//! every key we do not own: other accounts, unknown fields in the account and its `sso` object.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::private_file::write_atomically;
use crate::{GatewayError, Secret};

/// Name of the token file in the auth directory.
pub const AUTH_FILE: &str = ".pypowerwall.auth";
/// Name of the selected-site file in the auth directory.
pub const SITE_FILE: &str = ".pypowerwall.site";
/// The SSO base recorded in the token file when none is known.
pub const DEFAULT_SSO_URL: &str = "https://auth.tesla.com/";

/// The tokens of one account as the auth file stores them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredTokens {
    /// `token_type` (normally `Bearer`).
    pub token_type: String,
    /// `access_token`; empty when only a refresh token is known (a refresh is then due).
    pub access_token: Secret,
    /// `refresh_token`.
    pub refresh_token: Secret,
    /// `id_token` (JWT with the account email), may be empty.
    pub id_token: Secret,
    /// `expires_at`, Unix seconds; 0 when unknown.
    pub expires_at: f64,
    /// `expires_in`, seconds.
    pub expires_in: u64,
}

/// One account entry of the auth file.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthEntry {
    /// The key: the account email.
    pub email: String,
    /// `url`: the SSO base the tokens came from.
    pub url: String,
    /// `sso`: the tokens.
    pub tokens: StoredTokens,
}

/// `<dir>/.pypowerwall.auth`.
pub fn auth_path(dir: &Path) -> PathBuf {
    dir.join(AUTH_FILE)
}

/// `<dir>/.pypowerwall.site`.
pub fn site_path(dir: &Path) -> PathBuf {
    dir.join(SITE_FILE)
}

/// An auth-file error on `path` (shared with the Fleet token file).
pub(crate) fn file_error(path: &Path, source: io::Error) -> GatewayError {
    GatewayError::AuthCache {
        path: path.to_path_buf(),
        source: std::sync::Arc::new(source),
    }
}

/// A file that does not hold what it should.
pub(crate) fn invalid(path: &Path, why: &str) -> GatewayError {
    file_error(
        path,
        io::Error::new(io::ErrorKind::InvalidData, why.to_owned()),
    )
}

/// Reads the entry of `email` (or of the first account when `email` is empty); `Ok(None)` when
/// the file does not exist or has no such account.
pub fn read_auth(dir: &Path, email: &str) -> Result<Option<AuthEntry>, GatewayError> {
    let path = auth_path(dir);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(file_error(&path, err)),
    };
    let document: Value =
        serde_json::from_str(&text).map_err(|_| invalid(&path, "not a JSON document"))?;
    let Some(accounts) = document.as_object() else {
        return Err(invalid(&path, "not a JSON object keyed by email"));
    };
    let found = if email.is_empty() {
        accounts.iter().next()
    } else {
        accounts.get_key_value(email)
    };
    Ok(found.map(|(email, entry)| parse_entry(email, entry)))
}

fn parse_entry(email: &str, entry: &Value) -> AuthEntry {
    let sso = &entry["sso"];
    let text = |key: &str| sso[key].as_str().unwrap_or_default().to_owned();
    AuthEntry {
        email: email.to_owned(),
        url: entry["url"].as_str().unwrap_or(DEFAULT_SSO_URL).to_owned(),
        tokens: StoredTokens {
            token_type: text("token_type"),
            access_token: Secret::new(text("access_token")),
            refresh_token: Secret::new(text("refresh_token")),
            id_token: Secret::new(text("id_token")),
            expires_at: sso["expires_at"].as_f64().unwrap_or(0.0),
            expires_in: sso["expires_in"].as_u64().unwrap_or(0),
        },
    }
}

/// Writes (or replaces) one account's entry, keeping other accounts and unknown keys.
pub fn write_auth(dir: &Path, entry: &AuthEntry) -> Result<(), GatewayError> {
    let path = auth_path(dir);
    let mut accounts = match fs::read_to_string(&path) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            // A damaged file is replaced rather than blocking a fresh login.
            _ => Map::new(),
        },
        Err(err) if err.kind() == io::ErrorKind::NotFound => Map::new(),
        Err(err) => return Err(file_error(&path, err)),
    };
    let account = accounts
        .entry(entry.email.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !account.is_object() {
        *account = Value::Object(Map::new());
    }
    account["url"] = Value::from(entry.url.clone());
    if !account["sso"].is_object() {
        account["sso"] = Value::Object(Map::new());
    }
    let tokens = &entry.tokens;
    let sso = &mut account["sso"];
    sso["token_type"] = json!(if tokens.token_type.is_empty() {
        "Bearer"
    } else {
        &tokens.token_type
    });
    sso["access_token"] = json!(tokens.access_token.expose());
    sso["refresh_token"] = json!(tokens.refresh_token.expose());
    // Whole seconds, as the reference writes `int(time.time()) + expires_in`.
    sso["expires_at"] = json!(tokens.expires_at.max(0.0).trunc() as u64);
    sso["expires_in"] = json!(tokens.expires_in);
    if !tokens.id_token.is_empty() {
        sso["id_token"] = json!(tokens.id_token.expose());
    }
    let text = serde_json::to_string_pretty(&Value::Object(accounts))
        .map_err(|err| invalid(&path, &err.to_string()))?;
    write_atomically(&path, text.as_bytes()).map_err(|err| file_error(&path, err))
}

/// The site id of the site file; `None` when missing or unparseable (the site is then chosen).
pub fn read_site(dir: &Path) -> Option<u64> {
    fs::read_to_string(site_path(dir))
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

/// Writes the site file: the id as decimal text without a newline.
pub fn write_site(dir: &Path, site_id: u64) -> Result<(), GatewayError> {
    let path = site_path(dir);
    write_atomically(&path, site_id.to_string().as_bytes()).map_err(|err| file_error(&path, err))
}
