//! The local gateway's GET endpoints (gateway-protocols §1.7).

/// Path of the vitals endpoint (protobuf, removed in firmware 23.44.0).
pub const VITALS_PATH: &str = "/api/devices/vitals";

/// Path of the status endpoint (DIN and firmware version).
pub const STATUS_PATH: &str = "/api/status";

/// Every GET path of the §1.7 catalogue that returns data, each readable with `fetch_raw`.
///
/// Left out on purpose: `POST /api/login/Basic` (not a GET), `/api/logout` (reading it would end
/// the session) and `/api/tesla/tariff_rate`, `/api/tesla/time_of_use_settings` (cloud names the
/// gateway answers with 404).
pub const ENDPOINTS: &[&str] = &[
    STATUS_PATH,
    "/api/meters/aggregates",
    "/api/system_status/soe",
    "/api/system_status/grid_status",
    "/api/system_status",
    "/api/operation",
    "/api/site_info",
    "/api/site_info/site_name",
    "/api/sitemaster",
    "/api/powerwalls",
    "/api/solar_powerwall",
    "/api/meters",
    "/api/meters/site",
    "/api/meters/solar",
    // Some firmware times out on the two network listings.
    "/api/networks",
    "/api/system/networks",
    "/api/customer",
    "/api/customer/registration",
    "/api/installer",
    "/api/auth/toggle/supported",
    "/api/system/update/status",
    "/api/system_status/grid_faults",
    "/api/troubleshooting/problems",
    "/api/synchrometer/ct_voltage_references",
    "/api/solars",
    "/api/solars/brands",
    "/api/site_info/grid_codes",
    "/api/meters/readings",
    VITALS_PATH,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataKind;

    #[test]
    fn catalogue_is_unique_and_covers_every_data_kind() {
        let mut sorted = ENDPOINTS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ENDPOINTS.len());
        // Fan speeds are derived by TEDAPI; every other document is a local-API endpoint.
        for kind in DataKind::ALL
            .into_iter()
            .filter(|kind| *kind != DataKind::FanSpeeds)
        {
            assert!(ENDPOINTS.contains(&kind.local_path()), "{kind:?}");
        }
        assert!(ENDPOINTS.iter().all(|path| path.starts_with("/api/")));
    }
}
