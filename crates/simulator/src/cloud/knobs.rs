//! Cloud knobs (gateway-protocols §10.6, §10.8).

use serde::{Deserialize, Serialize};

/// Behaviour switches of the cloud personas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudKnobs {
    /// Lifetime of issued access tokens, seconds (simulation clock).
    pub token_lifetime_secs: u64,
    /// Whether a refresh issues a new refresh token (the old one stays valid).
    pub rotate_refresh_token: bool,
    /// Every refresh answers 400 `invalid_grant`.
    pub invalid_grant: bool,
    /// Access tokens of a session started from a refresh token alone get 403 on the Owner API.
    pub cold_refresh_403: bool,
    /// Requests that are not HTTP/2 get 403.
    pub reject_http1: bool,
    /// `grid_import_export` answers 200 with an empty body (as the bundled teslapy fears).
    pub write_empty_body: bool,
}

impl Default for CloudKnobs {
    fn default() -> Self {
        Self {
            token_lifetime_secs: 28_800,
            rotate_refresh_token: true,
            invalid_grant: false,
            cold_refresh_403: true,
            reject_http1: false,
            write_empty_body: false,
        }
    }
}
