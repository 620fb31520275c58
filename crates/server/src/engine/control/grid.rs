//! Reading the grid settings for `GET /control/grid_charging` and `/control/grid_export`: the
//! cloud link first (where writes go; a gateway's own config only catches up with the cloud
//! later), else the TEDAPI config's `site_info` in TEDAPI modes, through the on-demand cache.

use powerwall_gateway::{AccessMode, RawBody};
use serde_json::Value;

use crate::cloud_link::CloudLink;
use crate::engine::on_demand::OnDemand;

/// The gateway path of the TEDAPI config.
const TEDAPI_CONFIG: &str = "/tedapi/config";

/// Whether `mode` reads grid settings from the TEDAPI config.
pub fn reads_tedapi_config(mode: AccessMode) -> bool {
    matches!(mode, AccessMode::TedapiFull | AccessMode::TedapiHybrid)
}

/// Grid charging as the cloud link reports it (`None` when it cannot say).
pub(super) async fn cloud_grid_charging(link: &CloudLink) -> Option<bool> {
    let outcome = link.grid_charging().await;
    link.note(&outcome);
    match outcome {
        Ok(allowed) => {
            link.saw_grid_charging(allowed);
            Some(allowed)
        }
        Err(err) => {
            tracing::debug!("cannot read grid charging from the cloud: {err}");
            None
        }
    }
}

/// The grid export rule (lower case) as the cloud link reports it.
pub(super) async fn cloud_grid_export(link: &CloudLink) -> Option<String> {
    let outcome = link.grid_export().await;
    link.note(&outcome);
    match outcome {
        Ok(rule) => {
            link.saw_grid_export(&rule);
            Some(rule.to_ascii_lowercase())
        }
        Err(err) => {
            tracing::debug!("cannot read the grid export rule from the cloud: {err}");
            None
        }
    }
}

/// The TEDAPI config's `site_info` in TEDAPI modes; `None` elsewhere or when unreadable.
pub(super) async fn site_info(
    mode: AccessMode,
    on_demand: &OnDemand,
    degraded: bool,
) -> Option<Value> {
    if !reads_tedapi_config(mode) {
        return None;
    }
    match on_demand.fetch(TEDAPI_CONFIG, degraded).await {
        Some(RawBody::Json(config)) => config.get("site_info").cloned(),
        Some(_) => None,
        None => {
            tracing::debug!("cannot read the TEDAPI config for a control read");
            None
        }
    }
}

/// Grid charging from `site_info`: allowed unless `disallow_charge_from_grid_with_solar_installed`
/// is true (absent = allowed); `false` when the config is unknown.
pub fn grid_charging(site_info: Option<&Value>) -> bool {
    site_info.is_some_and(|info| {
        !info
            .get("disallow_charge_from_grid_with_solar_installed")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    })
}

/// The export rule from `site_info` (absent = `battery_ok`), lower-cased; `unknown` when the
/// config is unknown.
pub fn grid_export(site_info: Option<&Value>) -> String {
    match site_info {
        None => "unknown".to_owned(),
        Some(info) => info
            .get("customer_preferred_export_rule")
            .and_then(Value::as_str)
            .unwrap_or("battery_ok")
            .to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn grid_reads_from_site_info() {
        assert!(!grid_charging(None));
        assert!(grid_charging(Some(&json!({}))));
        assert!(grid_charging(Some(
            &json!({"disallow_charge_from_grid_with_solar_installed": false})
        )));
        assert!(!grid_charging(Some(
            &json!({"disallow_charge_from_grid_with_solar_installed": true})
        )));
        assert_eq!(grid_export(None), "unknown");
        assert_eq!(grid_export(Some(&json!({}))), "battery_ok");
        assert_eq!(
            grid_export(Some(&json!({"customer_preferred_export_rule": "PV_ONLY"}))),
            "pv_only"
        );
    }
}
