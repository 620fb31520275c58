//! Fleet persona knobs (gateway-protocols §10.7, §10.8).

use serde::{Deserialize, Serialize};

/// Behaviour switches of the Fleet persona.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetKnobs {
    /// The developer application's client id (token requests with it take the Fleet flavour).
    pub client_id: String,
    /// The developer application's client secret.
    pub client_secret: String,
    /// The account's region (`na`, `eu` or `cn`): other region prefixes answer 412.
    pub region: String,
    /// Lifetime of issued user access tokens, seconds (simulation clock).
    pub token_lifetime_secs: u64,
}

impl Default for FleetKnobs {
    fn default() -> Self {
        Self {
            client_id: "sim-fleet-client".to_owned(),
            client_secret: "sim-fleet-secret".to_owned(),
            region: "na".to_owned(),
            token_lifetime_secs: 28_800,
        }
    }
}

/// How a simulated 429 names its delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryStyle {
    /// `Retry-After: <seconds>`.
    Seconds,
    /// `Retry-After: <HTTP date>` (real time plus the delay).
    HttpDate,
    /// No header; the body says "Retry in N seconds".
    Body,
    /// No delay named at all.
    Unnamed,
}

/// A 429 injection on the Fleet API endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetRateLimit {
    /// How the delay is named.
    pub style: RetryStyle,
    /// The delay, seconds.
    pub secs: u64,
    /// How many answers are 429 (then normal service resumes).
    pub times: u32,
}
