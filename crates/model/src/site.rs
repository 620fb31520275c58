//! Site description: `/api/site_info`, `/api/site_info/site_name`, `/api/powerwalls`.

use serde::{Deserialize, Serialize};

/// `/api/site_info` (the fields the server uses; the raw document keeps the rest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteInfo {
    /// Name given to the site in the Tesla app.
    #[serde(default)]
    pub site_name: Option<String>,
    /// IANA timezone of the site.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Nominal usable energy of all Powerwalls, kWh.
    #[serde(rename = "nominal_system_energy_kWh", default)]
    pub nominal_system_energy_kwh: Option<f64>,
    /// Nominal power of all Powerwalls, kW.
    #[serde(rename = "nominal_system_power_kW", default)]
    pub nominal_system_power_kw: Option<f64>,
}

impl SiteInfo {
    /// Reads the typed view of a site-info document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::ModelError> {
        crate::from_document("/api/site_info", value)
    }
}

/// `/api/site_info/site_name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteName {
    /// Name given to the site.
    #[serde(default)]
    pub site_name: Option<String>,
    /// IANA timezone of the site.
    #[serde(default)]
    pub timezone: Option<String>,
}

impl SiteName {
    /// Reads the typed view of a site-name document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::ModelError> {
        crate::from_document("/api/site_info/site_name", value)
    }
}

/// One entry of `/api/powerwalls` `powerwalls[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerwallEntry {
    /// Package part number.
    #[serde(rename = "PackagePartNumber", default)]
    pub part_number: Option<String>,
    /// Package serial number.
    #[serde(rename = "PackageSerialNumber", default)]
    pub serial_number: Option<String>,
    /// Grid compliance state of this unit (e.g. `Grid_Compliant`).
    #[serde(default)]
    pub grid_state: Option<String>,
}

/// `/api/powerwalls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Powerwalls {
    /// The Powerwalls the gateway knows.
    #[serde(default)]
    pub powerwalls: Vec<PowerwallEntry>,
    /// DIN of the gateway they belong to.
    #[serde(default)]
    pub gateway_din: Option<String>,
}

impl Powerwalls {
    /// Reads the typed view of a powerwalls document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::ModelError> {
        crate::from_document("/api/powerwalls", value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_fixture as fixture;

    #[test]
    fn site_info_fixture() {
        let info = SiteInfo::from_json(&fixture("bogus/api.site_info.json")).unwrap();
        assert_eq!(info.site_name.as_deref(), Some("Tesla Energy Gateway"));
        assert_eq!(info.nominal_system_energy_kwh, Some(27.0));
    }

    #[test]
    fn powerwalls_fixtures() {
        let pws = Powerwalls::from_json(&fixture("bogus/api.powerwalls.json")).unwrap();
        assert_eq!(pws.powerwalls.len(), 2);
        let empty = Powerwalls::from_json(&fixture("simulator/api.powerwalls.json")).unwrap();
        assert!(empty.powerwalls.is_empty());
    }

    #[test]
    fn site_name_fixture() {
        let name = SiteName::from_json(&fixture("simulator/api.site_info.site_name.json")).unwrap();
        assert!(name.site_name.is_some());
    }
}
