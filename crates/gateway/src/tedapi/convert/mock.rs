//! `poll(api)` in TEDAPI modes: the dispatcher over the conversions, and the fixed answers for
//! the `/api/*` paths TEDAPI cannot provide (§3.11).
//!
//! The data is the reference's mock set (`testdata/tedapi/mock/`); the two records it shares with
//! the captured gateway answers (`/api/customer/registration`, `/api/system/update/status`) come
//! from `testdata/local/bogus/`.

use std::sync::LazyLock;

use serde_json::{Value, json};

use super::value::embedded;
use super::{
    TedapiInputs, api_status, grid_status_document, meters_aggregates, operation, site_info,
    site_name, soe, system_status,
};

/// A fixture under `testdata/`, embedded at build time and parsed on first use.
macro_rules! embedded_fixture {
    ($path:literal) => {
        LazyLock::new(|| embedded(include_str!(concat!("../../../../../testdata/", $path))))
    };
}

static INSTALLER: LazyLock<Value> = embedded_fixture!("tedapi/mock/INSTALLER.json");
static METERS: LazyLock<Value> = embedded_fixture!("tedapi/mock/METERS.json");
static METERS_SITE: LazyLock<Value> = embedded_fixture!("tedapi/mock/METERS_SITE.json");
static POWERWALLS: LazyLock<Value> = embedded_fixture!("tedapi/mock/POWERWALLS.json");
static SOLARS_BRANDS: LazyLock<Value> = embedded_fixture!("tedapi/mock/SOLARS_BRANDS.json");
static TESLA_TARIFF_RATE: LazyLock<Value> = embedded_fixture!("tedapi/mock/TESLA_TARIFF_RATE.json");
static CUSTOMER_REGISTRATION: LazyLock<Value> =
    embedded_fixture!("local/bogus/api.customer.registration.json");
static UPDATE_STATUS: LazyLock<Value> =
    embedded_fixture!("local/bogus/api.system.update.status.json");

/// The gateway's answer while a request timed out; the reference serves it for unsupported lists.
const TIMEOUT: &str = "TIMEOUT!";

/// The fixed answer for a mocked `GET` path: `Some(Some(doc))`, `Some(None)` for a fixed `null`,
/// `None` when the path is not mocked.
pub fn mocked_document(path: &str) -> Option<Option<Value>> {
    let document = match path {
        "/api/auth/toggle/supported" => json!({"toggle_auth_supported": true}),
        "/api/customer" => json!({"registered": true}),
        "/api/customer/registration" => CUSTOMER_REGISTRATION.clone(),
        "/api/installer" => INSTALLER.clone(),
        "/api/meters" => METERS.clone(),
        "/api/meters/site" => METERS_SITE.clone(),
        "/api/meters/readings" | "/api/networks" | "/api/site_info/grid_codes" => {
            Value::from(TIMEOUT)
        }
        "/api/meters/solar" | "/api/devices/vitals" => return Some(None),
        "/api/powerwalls" => POWERWALLS.clone(),
        "/api/sitemaster" => json!({
            "status": "StatusUp",
            "running": true,
            "connected_to_tesla": true,
            "power_supply_mode": false,
            "can_reboot": "Yes",
        }),
        "/api/solar_powerwall" => json!({}),
        "/api/solars" => {
            json!([{"brand": "Tesla", "model": "Solar Inverter 7.6", "power_rating_watts": 7600}])
        }
        "/api/solars/brands" => SOLARS_BRANDS.clone(),
        "/api/synchrometer/ct_voltage_references" => {
            json!({"ct1": "Phase1", "ct2": "Phase2", "ct3": "Phase1"})
        }
        "/api/system/update/status" => UPDATE_STATUS.clone(),
        "/api/system_status/grid_faults" => json!([]),
        "/api/troubleshooting/problems" => json!({"problems": []}),
        "/api/login/Basic" | "/api/logout" => json!({"status": "ok"}),
        "/api/tesla/tariff_rate" => TESLA_TARIFF_RATE.clone(),
        _ => return None,
    };
    Some(Some(document))
}

/// The local-API document for a `GET` of `path` (exact path, no query string).
///
/// `None` means the JSON `null` the reference returns when data is unavailable (or a path that is
/// fixed to `null`, such as `/api/meters/solar` and `/api/devices/vitals`). An unknown path answers
/// `{"ERROR": "Unknown API: <path>"}` like the reference, so callers can pass it through unchanged.
pub fn local_document(path: &str, inputs: &TedapiInputs) -> Option<Value> {
    let convert: Option<fn(&TedapiInputs) -> Option<Value>> = match path {
        "/api/status" => Some(api_status),
        "/api/system_status/soe" => Some(soe),
        "/api/system_status/grid_status" => Some(grid_status_document),
        "/api/site_info" => Some(site_info),
        "/api/site_info/site_name" => Some(site_name),
        "/api/operation" => Some(operation),
        "/api/meters/aggregates" => Some(meters_aggregates),
        "/api/system_status" => Some(system_status),
        _ => None,
    };
    if let Some(convert) = convert {
        return convert(inputs);
    }
    match mocked_document(path) {
        Some(document) => document,
        None => Some(json!({"ERROR": format!("Unknown API: {path}")})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_document_parses() {
        for embedded in [
            &INSTALLER,
            &METERS,
            &METERS_SITE,
            &POWERWALLS,
            &SOLARS_BRANDS,
            &TESLA_TARIFF_RATE,
            &CUSTOMER_REGISTRATION,
            &UPDATE_STATUS,
        ] {
            assert!(!embedded.is_null());
        }
        assert_eq!(
            mocked_document("/api/meters/readings"),
            Some(Some(Value::from("TIMEOUT!")))
        );
        assert_eq!(mocked_document("/api/meters/solar"), Some(None));
        assert_eq!(mocked_document("/api/nope"), None);
    }
}
