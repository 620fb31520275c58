//! Captured gateway answers the local persona uses as shapes (and, for static endpoints, as is).
//!
//! Compiled in with `include_str!` and parsed once at start, so a broken fixture fails `start`
//! instead of a request.

use serde_json::Value;

use crate::SimulatorError;

macro_rules! fixture {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!("../../../../testdata/local/", $path)),
        )
    };
}

/// Parsed fixture documents.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// `/api/status` shape.
    pub status: Value,
    /// `/api/meters/aggregates` shape (every field the gateway sends).
    pub aggregates: Value,
    /// `/api/system_status` shape.
    pub system_status: Value,
    /// `/api/site_info`.
    pub site_info: Value,
    /// `/api/site_info/site_name`.
    pub site_name: Value,
    /// `/api/sitemaster`.
    pub sitemaster: Value,
    /// `/api/powerwalls` shape.
    pub powerwalls: Value,
    /// `/api/solar_powerwall` shape.
    pub solar_powerwall: Value,
    /// `/api/meters`.
    pub meters: Value,
    /// `/api/meters/site` shape.
    pub meters_site: Value,
    /// `/api/meters/solar` (`null` on this site).
    pub meters_solar: Value,
    /// `/api/networks` and `/api/system/networks`.
    pub networks: Value,
    /// `/api/customer`.
    pub customer: Value,
    /// `/api/customer/registration`.
    pub customer_registration: Value,
    /// `/api/installer`.
    pub installer: Value,
    /// `/api/auth/toggle/supported`.
    pub auth_toggle_supported: Value,
    /// `/api/solars`.
    pub solars: Value,
    /// `/api/solars/brands`.
    pub solars_brands: Value,
    /// `/api/synchrometer/ct_voltage_references`.
    pub ct_voltage_references: Value,
    /// `/api/system/update/status` shape.
    pub update_status: Value,
    /// `/api/system_status/grid_faults`.
    pub grid_faults: Value,
    /// `/api/troubleshooting/problems`.
    pub problems: Value,
}

fn parse((name, text): (&'static str, &str)) -> Result<Value, SimulatorError> {
    serde_json::from_str(text).map_err(|error| SimulatorError::Fixture {
        name,
        reason: error.to_string(),
    })
}

impl Fixtures {
    /// Parses every bundled document.
    pub fn load() -> Result<Self, SimulatorError> {
        Ok(Self {
            status: parse(fixture!("bogus/api.status.json"))?,
            aggregates: parse(fixture!("bogus/api.meters.aggregates.json"))?,
            system_status: parse(fixture!("bogus/api.system_status.json"))?,
            site_info: parse(fixture!("bogus/api.site_info.json"))?,
            site_name: parse(fixture!("bogus/api.site_info.site_name.json"))?,
            sitemaster: parse(fixture!("bogus/api.sitemaster.json"))?,
            powerwalls: parse(fixture!("bogus/api.powerwalls.json"))?,
            solar_powerwall: parse(fixture!("simulator/api.solar_powerwall.json"))?,
            meters: parse(fixture!("bogus/api.meters.json"))?,
            meters_site: parse(fixture!("bogus/api.meters.site.json"))?,
            meters_solar: parse(fixture!("bogus/api.meters.solar.json"))?,
            networks: parse(fixture!("bogus/api.networks.json"))?,
            customer: parse(fixture!("bogus/api.customer.json"))?,
            customer_registration: parse(fixture!("bogus/api.customer.registration.json"))?,
            installer: parse(fixture!("bogus/api.installer.json"))?,
            auth_toggle_supported: parse(fixture!("bogus/api.auth.toggle.supported.json"))?,
            solars: parse(fixture!("bogus/api.solars.json"))?,
            solars_brands: parse((
                "data/SOLARS_BRANDS.json",
                include_str!("../../data/SOLARS_BRANDS.json"),
            ))?,
            ct_voltage_references: parse(fixture!(
                "bogus/api.synchrometer.ct_voltage_references.json"
            ))?,
            update_status: parse(fixture!("bogus/api.system.update.status.json"))?,
            grid_faults: parse(fixture!("bogus/api.system_status.grid_faults.json"))?,
            problems: parse(fixture!("bogus/api.troubleshooting.problems.json"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_parses() {
        let fixtures = Fixtures::load().unwrap();
        assert!(fixtures.aggregates["site"]["last_phase_energy_communication_time"].is_string());
        assert!(fixtures.meters_solar.is_null());
        assert!(
            fixtures
                .solars_brands
                .as_array()
                .is_some_and(|brands| brands.len() > 30)
        );
    }
}
