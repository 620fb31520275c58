//! Meter aggregates (`/api/meters/aggregates`): instantaneous power and lifetime energy per meter.

use serde::{Deserialize, Serialize};

/// One meter section of the aggregates document.
///
/// Signs follow the gateway: site > 0 imports from the grid, battery > 0 discharges,
/// solar > 0 produces, load > 0 is home consumption.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeterReading {
    /// When the gateway last heard from this meter (RFC 3339 with nanoseconds).
    #[serde(rename = "last_communication_time", default)]
    pub last_communication_time: Option<String>,
    /// Instantaneous real power in watts; `None` marks a data gap.
    #[serde(rename = "instant_power", default)]
    pub instant_power_w: Option<f64>,
    /// Instantaneous reactive power in VAr.
    #[serde(rename = "instant_reactive_power", default)]
    pub instant_reactive_power_var: Option<f64>,
    /// Instantaneous apparent power in VA.
    #[serde(rename = "instant_apparent_power", default)]
    pub instant_apparent_power_va: Option<f64>,
    /// Frequency in hertz (0 where the meter does not measure it).
    #[serde(rename = "frequency", default)]
    pub frequency_hz: Option<f64>,
    /// Lifetime energy exported, in watt-hours.
    #[serde(rename = "energy_exported", default)]
    pub energy_exported_wh: Option<f64>,
    /// Lifetime energy imported, in watt-hours.
    #[serde(rename = "energy_imported", default)]
    pub energy_imported_wh: Option<f64>,
    /// Average voltage in volts.
    #[serde(rename = "instant_average_voltage", default)]
    pub instant_average_voltage_v: Option<f64>,
    /// Average current in amperes.
    #[serde(rename = "instant_average_current", default)]
    pub instant_average_current_a: Option<f64>,
    /// How many physical meters this section aggregates (absent on `load`).
    #[serde(rename = "num_meters_aggregated", default)]
    pub num_meters_aggregated: Option<u32>,
}

/// The four standard meter sections of `/api/meters/aggregates`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aggregates {
    /// Grid connection point.
    #[serde(default)]
    pub site: Option<MeterReading>,
    /// Powerwall inverters.
    #[serde(default)]
    pub battery: Option<MeterReading>,
    /// Home consumption.
    #[serde(default)]
    pub load: Option<MeterReading>,
    /// Solar production.
    #[serde(default)]
    pub solar: Option<MeterReading>,
}

impl Aggregates {
    /// Reads the typed view of an aggregates document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::ModelError> {
        crate::from_document("/api/meters/aggregates", value)
    }

    /// Instant power of a section, `None` when the section or its value is missing.
    fn power(section: &Option<MeterReading>) -> Option<f64> {
        section.as_ref().and_then(|m| m.instant_power_w)
    }

    /// Grid power in watts (positive = import).
    pub fn site_w(&self) -> Option<f64> {
        Self::power(&self.site)
    }

    /// Battery power in watts (positive = discharging).
    pub fn battery_w(&self) -> Option<f64> {
        Self::power(&self.battery)
    }

    /// Home load in watts.
    pub fn load_w(&self) -> Option<f64> {
        Self::power(&self.load)
    }

    /// Solar power in watts (positive = producing).
    pub fn solar_w(&self) -> Option<f64> {
        Self::power(&self.solar)
    }

    /// How far the reported load is from `solar + battery + site`, in watts, when all four are known.
    pub fn balance_error_w(&self) -> Option<f64> {
        Some(self.load_w()? - (self.solar_w()? + self.battery_w()? + self.site_w()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_simulator_fixture() {
        let json = crate::local_fixture("simulator/api.meters.aggregates.json");
        let agg = Aggregates::from_json(&json).unwrap();
        assert_eq!(agg.site_w(), Some(-2100.0));
        assert_eq!(agg.battery_w(), Some(-3500.0));
        assert_eq!(agg.load_w(), Some(900.0));
        assert_eq!(agg.solar_w(), Some(6500.0));
        assert_eq!(agg.balance_error_w(), Some(0.0));
        assert_eq!(agg.battery.unwrap().num_meters_aggregated, Some(2));
        assert_eq!(agg.load.unwrap().num_meters_aggregated, None);
    }

    #[test]
    fn null_power_is_a_gap_not_zero() {
        let json = serde_json::json!({"site": {"instant_power": null}});
        let agg = Aggregates::from_json(&json).unwrap();
        assert_eq!(agg.site_w(), None);
        assert_eq!(agg.balance_error_w(), None);
    }

    #[test]
    fn wrong_shape_is_an_error() {
        let json = serde_json::json!({"site": {"instant_power": "lots"}});
        assert!(Aggregates::from_json(&json).is_err());
    }
}
