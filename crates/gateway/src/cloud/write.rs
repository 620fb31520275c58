//! Control writes through the Owner API (gateway-protocols §5.4, §7): the command bodies both
//! Tesla APIs share, and the Owner API's command (its `{"code": 200|201}` answer checked). What
//! is written when lives in [`crate::tesla::site`]. Every write drops the cached `site_info`, so
//! the caller's read-back sees the new value.

use reqwest::Method;
use serde_json::Value;

use super::CloudClient;
use super::cache::Endpoint;
use super::transport::command_result;
use crate::GatewayError;

/// Tesla's energy-site commands, the same for the Owner API and the Fleet API: the command name
/// below `api/1/energy_sites/{id}/` and its JSON body.
pub(crate) mod commands {
    use serde_json::{Value, json};

    use crate::{GatewayError, GridExportRule, OperationMode, ReserveLevel};

    /// `backup`: the reserve as the caller's JSON value (the Owner API path truncates it first).
    pub(crate) fn reserve(level: Value) -> (&'static str, Value) {
        ("backup", json!({ "backup_reserve_percent": level }))
    }

    /// `operation`: the operation mode.
    pub(crate) fn mode(mode: OperationMode) -> (&'static str, Value) {
        ("operation", json!({ "default_real_mode": mode.as_str() }))
    }

    /// `grid_import_export`: charging from the grid allowed or not.
    pub(crate) fn grid_charging(allowed: bool) -> (&'static str, Value) {
        (
            "grid_import_export",
            json!({ "disallow_charge_from_grid_with_solar_installed": !allowed }),
        )
    }

    /// `grid_import_export`: the export rule.
    pub(crate) fn grid_export(rule: GridExportRule) -> (&'static str, Value) {
        (
            "grid_import_export",
            json!({ "customer_preferred_export_rule": rule.as_str() }),
        )
    }

    /// `set_operation` needs something to set.
    pub(crate) fn require_some(
        reserve: Option<ReserveLevel>,
        mode: Option<OperationMode>,
    ) -> Result<(), GatewayError> {
        if reserve.is_none() && mode.is_none() {
            return Err(GatewayError::Config(
                "set_operation needs a reserve level or a mode".to_owned(),
            ));
        }
        Ok(())
    }
}

impl CloudClient {
    /// Sends one site command and checks its `{"code": 200|201}` answer; returns the message.
    pub(crate) async fn command(&self, name: &str, body: Value) -> Result<String, GatewayError> {
        let outcome = self.site_call(Method::POST, name, "", Some(body)).await;
        // Dropped whatever the outcome: a write that timed out may still have happened.
        self.cache.invalidate(Endpoint::SiteInfo);
        command_result(name, &outcome?)
    }
}
