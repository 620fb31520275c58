//! Battery readings: state of energy, operation settings and system status.

use serde::{Deserialize, Serialize};

use crate::scale;

/// `/api/system_status/soe`: the gateway's state of energy on the raw scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StateOfEnergy {
    /// Raw percentage (still contains the 5 % the app hides).
    #[serde(rename = "percentage")]
    pub raw_pct: f64,
}

impl StateOfEnergy {
    /// Reads the typed view of an SOE document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::ModelError> {
        crate::from_document("/api/system_status/soe", value)
    }

    /// The percentage the Tesla app shows (unclamped, as the proxy reports it).
    pub fn app_pct(&self) -> f64 {
        scale::raw_to_app_pct(self.raw_pct)
    }
}

/// `/api/operation`: operating mode and backup reserve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// `self_consumption`, `backup` or `autonomous`.
    #[serde(rename = "real_mode", default)]
    pub real_mode: Option<String>,
    /// Backup reserve on the raw scale; `None` on solar-only gateways.
    #[serde(rename = "backup_reserve_percent", default)]
    pub backup_reserve_raw_pct: Option<f64>,
}

impl Operation {
    /// Reads the typed view of an operation document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::ModelError> {
        crate::from_document("/api/operation", value)
    }

    /// Backup reserve as the app shows it (clamped at 0).
    pub fn reserve_app_pct(&self) -> Option<f64> {
        self.backup_reserve_raw_pct
            .map(scale::reserve_raw_to_app_pct)
    }
}

/// One Powerwall entry of `system_status.battery_blocks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatteryBlock {
    /// Package part number.
    #[serde(rename = "PackagePartNumber", default)]
    pub part_number: Option<String>,
    /// Package serial number.
    #[serde(rename = "PackageSerialNumber", default)]
    pub serial_number: Option<String>,
    /// Energy remaining in this pack, Wh.
    #[serde(rename = "nominal_energy_remaining", default)]
    pub energy_remaining_wh: Option<f64>,
    /// Full-pack energy of this pack, Wh.
    #[serde(rename = "nominal_full_pack_energy", default)]
    pub full_pack_energy_wh: Option<f64>,
    /// Real power out of the pack inverter, W (positive = discharging).
    #[serde(rename = "p_out", default)]
    pub power_w: Option<f64>,
}

/// `/api/system_status`: pack energy totals and the per-Powerwall blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// Sum of full-pack energy, Wh.
    #[serde(rename = "nominal_full_pack_energy", default)]
    pub full_pack_energy_wh: Option<f64>,
    /// Sum of remaining energy, Wh.
    #[serde(rename = "nominal_energy_remaining", default)]
    pub energy_remaining_wh: Option<f64>,
    /// Grid state as the system sees it (same vocabulary as `grid_status`).
    #[serde(rename = "system_island_state", default)]
    pub system_island_state: Option<String>,
    /// Per-Powerwall blocks.
    #[serde(rename = "battery_blocks", default)]
    pub battery_blocks: Vec<BatteryBlock>,
}

impl SystemStatus {
    /// Reads the typed view of a system-status document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::ModelError> {
        crate::from_document("/api/system_status", value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_fixture as fixture;

    #[test]
    fn soe_fixture_reads_raw_and_app_scale() {
        let soe =
            StateOfEnergy::from_json(&fixture("simulator/api.system_status.soe.json")).unwrap();
        assert_eq!(soe.raw_pct, 23.975388);
        assert!((soe.app_pct() - 19.974092631578948).abs() < 1e-9);
    }

    #[test]
    fn operation_fixture_reads_reserve() {
        let op = Operation::from_json(&fixture("bogus/api.operation.json")).unwrap();
        assert_eq!(op.real_mode.as_deref(), Some("self_consumption"));
        let raw = op.backup_reserve_raw_pct.unwrap();
        assert!(
            (op.reserve_app_pct().unwrap() - crate::scale::reserve_raw_to_app_pct(raw)).abs()
                < 1e-12
        );
    }

    #[test]
    fn solar_only_operation_has_no_reserve() {
        let op = Operation::from_json(
            &serde_json::json!({"real_mode": null, "backup_reserve_percent": null}),
        )
        .unwrap();
        assert_eq!(op.reserve_app_pct(), None);
    }

    #[test]
    fn system_status_fixture_has_two_blocks() {
        let st = SystemStatus::from_json(&fixture("bogus/api.system_status.json")).unwrap();
        assert_eq!(st.battery_blocks.len(), 2);
        assert_eq!(st.full_pack_energy_wh, Some(25995.0));
        let sum: f64 = st
            .battery_blocks
            .iter()
            .filter_map(|b| b.full_pack_energy_wh)
            .sum();
        assert_eq!(sum, 25995.0);
    }
}
