//! What is known about a gateway without asking it: the configuration facts that are safe to show.

use std::time::Duration;

use powerwall_gateway::AccessMode;

use super::capabilities::Capabilities;
use crate::settings::{GatewaySettings, SiteKind};

/// One gateway's identity and configuration, without any credential (safe for responses and logs).
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayInfo {
    /// Configured id (URL-safe).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Powerwall or solar-only site.
    pub kind: SiteKind,
    /// Timezone of the site.
    pub timezone: String,
    /// `host[:port]` the client talks to.
    pub target: String,
    /// Access mode of the client.
    pub mode: AccessMode,
    /// Seconds between polls.
    pub poll_interval: Duration,
    /// Tesla energy-site id, when configured.
    pub site_id: Option<String>,
    /// What a client can read and control.
    pub capabilities: Capabilities,
}

impl GatewayInfo {
    /// The identity of a configured gateway whose client talks to `target` in `mode`.
    pub fn new(settings: &GatewaySettings, target: &str, mode: AccessMode) -> Self {
        Self {
            id: settings.id.clone(),
            name: settings.name.clone(),
            kind: settings.kind,
            timezone: settings.timezone.clone(),
            target: target.to_owned(),
            mode,
            poll_interval: settings.poll_interval,
            site_id: settings.site_id.clone(),
            capabilities: Capabilities::decide(mode, None, false),
        }
    }

    /// The same identity with the capabilities decided at start-up.
    pub fn with_capabilities(self, capabilities: Capabilities) -> Self {
        Self {
            capabilities,
            ..self
        }
    }
}
