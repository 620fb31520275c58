//! Control writes through the Fleet API (gateway-protocols §6.3, §7): the Fleet command (what is
//! written when lives in [`crate::tesla::site`]; the reserve is forwarded as given). Every write
//! drops the cached `site_info` whatever its outcome (a write that timed out may still have
//! happened), so the caller's read-back sees the new value.

use reqwest::Method;
use serde_json::Value;

use super::{FleetClient, FleetEndpoint};
use crate::GatewayError;
use crate::tesla::call::Credentials;

impl FleetClient {
    /// Sends one site command; answers Tesla's parsed JSON answer.
    pub(crate) async fn command(&self, name: &str, body: Value) -> Result<Value, GatewayError> {
        let path = self.site_path(name).await?;
        let outcome = self.call(Method::POST, &path, Some(&body)).await;
        self.invalidate(FleetEndpoint::SiteInfo).await;
        outcome
    }

    /// `POST …/time_of_use_settings` with the caller's payload (`{"tou_settings": …}`).
    pub async fn set_time_of_use_settings(&self, payload: Value) -> Result<Value, GatewayError> {
        self.command("time_of_use_settings", payload).await
    }
}
