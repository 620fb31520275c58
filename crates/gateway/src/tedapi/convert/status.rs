//! The small documents: `/api/status`, `/api/system_status/soe`, `/api/system_status/grid_status`
//! (§3.1–3.3), `/api/site_info`, `/api/site_info/site_name` and `/api/operation` (§3.4–3.5).

use serde_json::{Value, json};

use super::TedapiInputs;
use super::clock::{GatewayTime, go_duration, parse_gateway_time};
use super::msa::msa_entries;
use super::value::{Num, field, items, lookup, or_null, text, truthy};

/// A later uptime may be this much smaller than the previous one and still count as the same boot.
const UPTIME_JITTER_MS: f64 = 10_000.0;
/// A recomputed start within this many seconds of the previous one is the same boot.
const START_JITTER_MICROS: i64 = 600 * 1_000_000;

/// The gateway's boot time as last computed, kept by the caller between polls (§3.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootEstimate {
    /// The gateway clock (`system.time`) of the newest snapshot.
    pub gateway_time: GatewayTime,
    /// `SYNC_Uptime` of the newest snapshot, in milliseconds.
    pub uptime_ms: f64,
    /// The boot instant reported as `start_time`.
    pub start: GatewayTime,
}

/// The boot estimate of this controller snapshot, held steady against `previous`.
///
/// `None` without a sync board reading (no `SYNC_Uptime`, or a gateway clock without offset).
/// An older snapshot returns `previous`; a start that moved by under 600 s while the uptime did not
/// drop by more than 10 s keeps the previous start, so `start_time` does not jitter between polls.
pub fn boot_estimate(
    controller: Option<&Value>,
    previous: Option<&BootEstimate>,
) -> Option<BootEstimate> {
    let uptime_ms = sync_uptime_ms(controller)?;
    let gateway_time = parse_gateway_time(text(lookup(controller, &["system", "time"]))?)?;
    // Milliseconds to whole microseconds, as a timedelta would round them.
    let start = gateway_time.minus_micros((uptime_ms * 1000.0).round_ties_even() as i64);
    let current = BootEstimate {
        gateway_time,
        uptime_ms,
        start,
    };
    let Some(previous) = previous else {
        return Some(current);
    };
    if gateway_time.epoch_micros < previous.gateway_time.epoch_micros {
        return Some(*previous);
    }
    let same_boot = previous.uptime_ms - uptime_ms <= UPTIME_JITTER_MS
        && (start.epoch_micros - previous.start.epoch_micros).abs() <= START_JITTER_MICROS;
    Some(if same_boot {
        BootEstimate {
            start: previous.start,
            ..current
        }
    } else {
        current
    })
}

/// `SYNC_Uptime` (ms) from the msa entry of the synchroniser: a finite, non-negative number.
pub(crate) fn sync_uptime_ms(controller: Option<&Value>) -> Option<f64> {
    let sync_serial = text(lookup(
        controller,
        &["esCan", "bus", "SYNC", "packageSerialNumber"],
    ))?;
    msa_entries(controller)
        .into_iter()
        .filter(|entry| entry.serial == sync_serial)
        .find_map(|entry| {
            entry.signals().iter().find_map(|signal| {
                (text(field(Some(signal), "name")) == Some("SYNC_Uptime"))
                    .then(|| Num::of(field(Some(signal), "value")))
                    .flatten()
                    .map(Num::as_f64)
                    .filter(|ms| ms.is_finite() && *ms >= 0.0)
            })
        })
}

/// `/api/status` (§3.1); `None` when config is unavailable.
pub fn api_status(inputs: &TedapiInputs) -> Option<Value> {
    let config = inputs.config_object()?;
    let boot = boot_estimate(inputs.controller_object(), inputs.previous_boot);
    let firmware = inputs.firmware;
    Some(json!({
        "din": or_null(field(Some(config), "vin")),
        "start_time": boot.map(|boot| boot.start.format_local()),
        "up_time_seconds": boot.map(|boot| go_duration(boot.uptime_ms)),
        "is_new": false,
        "version": firmware.and_then(|firmware| firmware.version.clone()),
        "git_hash": firmware.and_then(|firmware| firmware.git_hash.clone()),
        "commission_count": 0,
        "device_type": null,
        "teg_type": "unknown",
        "sync_type": "unknown",
        "cellular_disabled": false,
        "can_reboot": true,
        "battery_commission_date": or_null(lookup(Some(config), &["site_info", "battery_commission_date"])),
    }))
}

/// `/api/system_status/soe` (§3.2): raw-scale percentage, `None` without both energies.
pub fn soe(inputs: &TedapiInputs) -> Option<Value> {
    let system_status = lookup(inputs.status, &["control", "systemStatus"]);
    let remaining = Num::of(field(system_status, "nominalEnergyRemainingWh"))
        .filter(|value| !value.is_zero())?;
    let full = Num::of(field(system_status, "nominalFullPackEnergyWh"))
        .filter(|value| !value.is_zero())?;
    let percentage = remaining.div(full)?.mul(Num::Int(100));
    Some(json!({"percentage": percentage.to_value()}))
}

/// The grid state G of §3.3 from the basic status; `None` when undetermined.
pub(crate) fn grid_state(status: Option<&Value>) -> Option<&'static str> {
    let alerts = items(lookup(status, &["control", "alerts", "active"]));
    if alerts
        .iter()
        .any(|alert| alert.as_str() == Some("SystemConnectedToGrid"))
    {
        return Some("SystemGridConnected");
    }
    let connected = lookup(
        status,
        &[
            "esCan",
            "bus",
            "ISLANDER",
            "ISLAND_GridConnection",
            "ISLAND_GridConnected",
        ],
    );
    // Falsy (missing, or `false` as in the simulator's sample) leaves the state undetermined.
    if !truthy(connected) {
        return None;
    }
    Some(
        if text(connected) == Some("ISLAND_GridConnected_Connected") {
            "SystemGridConnected"
        } else {
            "SystemIslandedActive"
        },
    )
}

/// `/api/system_status/grid_status` (§3.3); `None` when the grid state is undetermined.
pub fn grid_status_document(inputs: &TedapiInputs) -> Option<Value> {
    let state = grid_state(inputs.status)?;
    Some(json!({"grid_status": state, "grid_services_active": null}))
}

/// `/api/site_info` (§3.4); `None` when config is not an object.
pub fn site_info(inputs: &TedapiInputs) -> Option<Value> {
    let site = field(Some(inputs.config_object()?), "site_info");
    let read = |key: &str| or_null(field(site, key));
    Some(json!({
        "max_system_energy_kWh": read("nominal_system_energy_ac"),
        "max_system_power_kW": read("nominal_system_power_ac"),
        "site_name": read("site_name"),
        "timezone": read("timezone"),
        "max_site_meter_power_kW": read("max_site_meter_power_ac"),
        "min_site_meter_power_kW": read("min_site_meter_power_ac"),
        "nominal_system_energy_kWh": read("nominal_system_energy_ac"),
        "nominal_system_power_kW": read("nominal_system_power_ac"),
        "panel_max_current": read("panel_max_current"),
        "grid_code": {
            "grid_code": read("grid_code"),
            "grid_voltage_setting": null,
            "grid_freq_setting": null,
            "grid_phase_setting": null,
            "country": read("country"),
            "state": read("state"),
            "utility": read("utility"),
        },
    }))
}

/// `/api/site_info/site_name` (§3.4); `None` when config is not an object.
pub fn site_name(inputs: &TedapiInputs) -> Option<Value> {
    let config = inputs.config_object()?;
    Some(json!({
        "site_name": or_null(lookup(Some(config), &["site_info", "site_name"])),
        "timezone": or_null(lookup(Some(config), &["site_info", "timezone"])),
    }))
}

/// `/api/operation` (§3.5): mode and reserve on the raw gateway scale; `None` without config.
pub fn operation(inputs: &TedapiInputs) -> Option<Value> {
    let config = inputs.config_object()?;
    Some(json!({
        "real_mode": or_null(field(Some(config), "default_real_mode")),
        "backup_reserve_percent": or_null(lookup(Some(config), &["site_info", "backup_reserve_percent"])),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller(time: &str, uptime_ms: f64) -> Value {
        json!({
            "system": {"time": time},
            "esCan": {"bus": {"SYNC": {"packageSerialNumber": "SYNC1"}}},
            "components": {"msa": [
                {"serialNumber": "OTHER", "signals": [{"name": "SYNC_Uptime", "value": 1}]},
                {"serialNumber": "SYNC1", "signals": [{"name": "SYNC_Uptime", "value": uptime_ms}]},
            ]},
        })
    }

    #[test]
    fn start_time_and_uptime_come_from_the_sync_board() {
        let config = json!({"vin": "1232100-00-E--TG1"});
        let controller = controller("2026-09-27T12:14:48-04:00", 1_434_584_192.0);
        let inputs = TedapiInputs {
            config: Some(&config),
            controller: Some(&controller),
            ..Default::default()
        };
        let status = api_status(&inputs).expect("config present");
        assert_eq!(status["start_time"], "2026-09-10 21:45:03 -0400");
        assert_eq!(status["up_time_seconds"], "398h29m44.192s");
    }

    #[test]
    fn start_time_is_held_steady_across_polls() {
        let first = boot_estimate(Some(&controller("2026-09-27T12:00:00Z", 100_000.0)), None)
            .expect("reading");
        let later = controller("2026-09-27T12:00:10Z", 110_400.0);
        let held = boot_estimate(Some(&later), Some(&first)).expect("reading");
        assert_eq!(held.start, first.start);
        assert_eq!(held.uptime_ms, 110_400.0);
        let older = controller("2026-09-27T11:59:00Z", 40_000.0);
        assert_eq!(boot_estimate(Some(&older), Some(&held)), Some(held));
        let rebooted = controller("2026-09-27T12:01:00Z", 5_000.0);
        let after_reboot = boot_estimate(Some(&rebooted), Some(&held)).expect("reading");
        assert_ne!(after_reboot.start, first.start);
    }

    #[test]
    fn grid_state_from_alerts_or_islander() {
        let connected = json!({"control": {"alerts": {"active": ["SystemConnectedToGrid"]}}});
        assert_eq!(grid_state(Some(&connected)), Some("SystemGridConnected"));
        let connection = json!({"ISLAND_GridConnected": "ISLAND_GridConnected_Disconnected"});
        let islanded =
            json!({"esCan": {"bus": {"ISLANDER": {"ISLAND_GridConnection": connection}}}});
        assert_eq!(grid_state(Some(&islanded)), Some("SystemIslandedActive"));
        assert_eq!(grid_state(Some(&json!({}))), None);
    }

    #[test]
    fn realistic_site_info_maps_kw_and_kwh() {
        let site = json!({"nominal_system_energy_ac": 13.5, "nominal_system_power_ac": 5.8, "utility": "PG&E"});
        let config = json!({"site_info": site});
        let inputs = TedapiInputs {
            config: Some(&config),
            ..Default::default()
        };
        let info = site_info(&inputs).expect("config");
        assert_eq!(info["max_system_energy_kWh"], json!(13.5));
        assert_eq!(info["nominal_system_power_kW"], json!(5.8));
        assert_eq!(info["grid_code"]["utility"], "PG&E");
        let none = TedapiInputs {
            config: Some(&Value::Null),
            ..Default::default()
        };
        assert_eq!(site_info(&none), None);
    }
}
