//! Control writes through the Fleet API (gateway-protocols §6.3, §7).
//!
//! Reserve and mode are two separate commands and only the fields given are sent (Tesla applies
//! them asynchronously; a back-filled value could make it drop the other change). The reserve is
//! forwarded as given. Every write drops the cached `site_info` whatever its outcome (a write
//! that timed out may still have happened), so the caller's read-back sees the new value.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{FleetClient, FleetEndpoint};
use crate::cloud::write::commands;
use crate::{GatewayError, OperationMode, ReserveLevel};

impl FleetClient {
    /// Sends one site command; answers Tesla's parsed JSON answer.
    pub(crate) async fn command(&self, name: &str, body: Value) -> Result<Value, GatewayError> {
        let path = self.site_path(name).await?;
        let outcome = self.api_call(Method::POST, &path, Some(&body)).await;
        self.invalidate(FleetEndpoint::SiteInfo).await;
        outcome
    }

    pub(crate) async fn write_operation(
        &self,
        reserve: Option<ReserveLevel>,
        mode: Option<OperationMode>,
    ) -> Result<Value, GatewayError> {
        commands::require_some(reserve, mode)?;
        let mut result = Map::new();
        if let Some(level) = reserve {
            let (name, body) = commands::reserve(level.to_json());
            let answer = self.command(name, body).await?;
            result.insert(
                "set_backup_reserve_percent".to_owned(),
                json!({"backup_reserve_percent": level.to_json(), "result": answer}),
            );
        }
        if let Some(mode) = mode {
            let (name, body) = commands::mode(mode);
            let answer = self.command(name, body).await?;
            result.insert(
                "set_operation".to_owned(),
                json!({"real_mode": mode.as_str(), "result": answer}),
            );
        }
        Ok(Value::Object(result))
    }

    /// `POST …/time_of_use_settings` with the caller's payload (`{"tou_settings": …}`).
    pub async fn set_time_of_use_settings(&self, payload: Value) -> Result<Value, GatewayError> {
        self.command("time_of_use_settings", payload).await
    }
}
