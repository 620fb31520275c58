//! Control writes through the Fleet API (gateway-protocols §6.3, §7).
//!
//! Reserve and mode are two separate commands and only the fields given are sent (Tesla applies
//! them asynchronously; a back-filled value could make it drop the other change). The reserve is
//! forwarded as given. Every write drops the cached `site_info` whatever its outcome (a write
//! that timed out may still have happened), so the caller's read-back sees the new value.

use reqwest::Method;
use serde_json::Value;

use super::{FleetClient, FleetEndpoint};
use crate::GatewayError;

impl FleetClient {
    /// Sends one site command; answers Tesla's parsed JSON answer.
    pub(crate) async fn command(&self, name: &str, body: Value) -> Result<Value, GatewayError> {
        let path = self.site_path(name).await?;
        let outcome = self.api_call(Method::POST, &path, Some(&body)).await;
        self.invalidate(FleetEndpoint::SiteInfo).await;
        outcome
    }

    /// `POST …/time_of_use_settings` with the caller's payload (`{"tou_settings": …}`).
    pub async fn set_time_of_use_settings(&self, payload: Value) -> Result<Value, GatewayError> {
        self.command("time_of_use_settings", payload).await
    }
}
