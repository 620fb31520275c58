//! Owner API answers reshaped into the gateway's local-API JSON (gateway-protocols §5.6).
//!
//! Pure functions of the unwrapped `response` documents; values are copied as Tesla sent them
//! (an integer stays an integer) so the output matches the reference byte for byte.

use serde_json::{Map, Value, json};

/// The app hides the bottom 5 % of the pack: raw = (app + 5/0.95) × 0.95, in this order of
/// operations so the float result equals the reference's.
pub fn app_to_raw(app: f64) -> f64 {
    (app + 5.0 / 0.95) * 0.95
}

fn number_or_zero(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

/// `/api/system_status/soe` from `site_status`.
pub fn soe(site_status: &Value) -> Value {
    json!({"percentage": app_to_raw(number_or_zero(&site_status["percentage_charged"]))})
}

/// `/api/status` from `site_info`.
pub fn status(site_info: &Value) -> Value {
    json!({
        "din": site_info["id"],
        "start_time": null,
        "up_time_seconds": null,
        "is_new": false,
        "version": site_info["version"],
        "git_hash": null,
        "commission_count": 0,
        "device_type": site_info["components"]["gateway"],
        "teg_type": "unknown",
        "sync_type": "unknown",
        "cellular_disabled": false,
        "can_reboot": true,
        "installation_date": site_info["installation_date"],
    })
}

/// Whether `live_status.grid_status` means connected (`Active`, `Unknown`, missing or empty).
fn grid_up(live: &Value) -> bool {
    match live["grid_status"].as_str() {
        None | Some("" | "Active" | "Unknown") => true,
        Some(_) => false,
    }
}

/// `/api/system_status/grid_status` from `live_status`.
pub fn grid_status(live: &Value) -> Value {
    json!({
        "grid_status": if grid_up(live) { "SystemGridConnected" } else { "SystemIslandedActive" },
        "grid_services_active": live["grid_services_active"],
    })
}

/// `/api/site_info/site_name` from `site_info`.
pub fn site_name(site_info: &Value) -> Value {
    json!({"site_name": site_info["site_name"], "timezone": site_info["installation_time_zone"]})
}

/// `int(x or 0) / 1000` of the reference: whole units truncated, then a float division.
fn kilo(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0).trunc() / 1000.0
}

/// `/api/site_info` from `site_info`.
pub fn site_info(site_info: &Value) -> Value {
    let energy = kilo(&site_info["nameplate_energy"]);
    let power = kilo(&site_info["nameplate_power"]);
    json!({
        "max_system_energy_kWh": energy,
        "max_system_power_kW": power,
        "site_name": site_info["site_name"],
        "timezone": site_info["installation_time_zone"],
        "max_site_meter_power_kW": site_info["max_site_meter_power_ac"],
        "min_site_meter_power_kW": site_info["min_site_meter_power_ac"],
        "nominal_system_energy_kWh": energy,
        "nominal_system_power_kW": power,
        "panel_max_current": null,
        "grid_code": {
            "grid_code": null,
            "grid_voltage_setting": null,
            "grid_freq_setting": null,
            "grid_phase_setting": null,
            "country": null,
            "state": null,
            "utility": site_info["tariff_content"]["utility"],
        },
    })
}

/// One meter of the cloud aggregates template.
fn meter(time: &Value, power: &Value, timeout: u64, total_current: Value) -> Map<String, Value> {
    let zero = "0001-01-01T00:00:00Z";
    let value = json!({
        "last_communication_time": time,
        "instant_power": power,
        "instant_reactive_power": 0,
        "instant_apparent_power": 0,
        "frequency": 0,
        "energy_exported": 0,
        "energy_imported": 0,
        "instant_average_voltage": 0,
        "instant_average_current": 0,
        "i_a_current": 0,
        "i_b_current": 0,
        "i_c_current": 0,
        "last_phase_voltage_communication_time": zero,
        "last_phase_power_communication_time": zero,
        "last_phase_energy_communication_time": zero,
        "timeout": timeout,
    });
    let mut map = match value {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    map.insert("instant_total_current".to_owned(), total_current);
    map
}

/// Inserts `key` just before `instant_total_current`, where the template has it.
fn with_count(mut section: Map<String, Value>, count: Value) -> Value {
    let total = section
        .remove("instant_total_current")
        .unwrap_or(Value::Null);
    section.insert("num_meters_aggregated".to_owned(), count);
    section.insert("instant_total_current".to_owned(), total);
    Value::Object(section)
}

/// `/api/meters/aggregates` from `live_status` and `site_info`.
pub fn aggregates(live: &Value, site_info: &Value) -> Value {
    let time = &live["timestamp"];
    let components = &site_info["components"];
    let solar_count = match components["inverters"].as_array() {
        Some(list) => list.len(),
        None if components["solar"].as_bool() == Some(true) => 1,
        None => 0,
    };
    json!({
        "site": with_count(meter(time, &live["grid_power"], 1_500_000_000, Value::Null), json!(1)),
        "battery": with_count(
            meter(time, &live["battery_power"], 1_500_000_000, json!(0)),
            site_info["battery_count"].clone(),
        ),
        "load": Value::Object(meter(time, &live["load_power"], 1_500_000_000, json!(0))),
        "solar": with_count(
            meter(time, &live["solar_power"], 1_000_000_000, json!(0)),
            json!(solar_count),
        ),
    })
}

/// `/api/operation` from `site_info` (reserve back to the raw scale; 0 or missing → 5).
pub fn operation(site_info: &Value) -> Value {
    json!({
        "real_mode": site_info["default_real_mode"],
        "backup_reserve_percent": app_to_raw(number_or_zero(&site_info["backup_reserve_percent"])),
    })
}

/// `/api/system_status` from `site_status`, `site_info` and `live_status`.
pub fn system_status(site_status: &Value, site_info: &Value, live: &Value) -> Value {
    let nameplate = &site_info["nameplate_power"];
    let connected = live["island_status"].as_str() == Some("on_grid") || grid_up(live);
    let blocks = &site_info["battery_count"];
    json!({
        "command_source": "Configuration",
        "battery_target_power": 0,
        "battery_target_reactive_power": 0,
        "nominal_full_pack_energy": site_status["total_pack_energy"],
        "nominal_energy_remaining": site_status["energy_left"],
        "max_power_energy_remaining": 0,
        "max_power_energy_to_be_charged": 0,
        "max_charge_power": nameplate,
        "max_discharge_power": nameplate,
        "max_apparent_power": nameplate,
        "instantaneous_max_discharge_power": 0,
        "instantaneous_max_charge_power": 0,
        "instantaneous_max_apparent_power": 0,
        "hardware_capability_charge_power": 0,
        "hardware_capability_discharge_power": 0,
        "grid_services_power": live["grid_services_power"],
        "system_island_state": if connected { "SystemGridConnected" } else { "SystemIslandedActive" },
        "available_blocks": blocks,
        "available_charger_blocks": 0,
        "battery_blocks": [],
        "ffr_power_availability_high": 0,
        "ffr_power_availability_low": 0,
        "load_charge_constraint": 0,
        "max_sustained_ramp_rate": 0,
        "grid_faults": [],
        "can_reboot": "Yes",
        "smart_inv_delta_p": 0,
        "smart_inv_delta_q": 0,
        "last_toggle_timestamp": "2023-10-13T04:08:05.957195-07:00",
        "solar_real_power_limit": live["solar_power"],
        "score": 10000,
        "blocks_controlled": blocks,
        "primary": true,
        "auxiliary_load": 0,
        "all_enable_lines_high": true,
        "inverter_nominal_usable_power": 0,
        "expected_energy_remaining": 0,
    })
}

/// The vitals dictionary: one `STSTSM` block from `site_info.id` (`now` = Unix seconds).
pub fn vitals(site_info: &Value, live: &Value, now: u64) -> Value {
    let din = site_info["id"].as_str().unwrap_or_default();
    let (part, serial) = match din.split("--").collect::<Vec<_>>().as_slice() {
        [part, serial] => (json!(part), json!(serial)),
        _ => (Value::Null, Value::Null),
    };
    let alerts = match live["island_status"].as_str() {
        Some("on_grid") => json!(["SystemConnectedToGrid"]),
        Some("off_grid_intentional") => json!(["ScheduledIslandContactorOpen"]),
        Some("off_grid") => json!(["UnscheduledIslandContactorOpen"]),
        _ if grid_up(live) => json!(["SystemConnectedToGrid"]),
        _ => json!([]),
    };
    let mut map = Map::new();
    map.insert(
        format!("STSTSM--{din}"),
        json!({
            "partNumber": part,
            "serialNumber": serial,
            "manufacturer": "Simulated",
            "firmwareVersion": site_info["version"],
            "lastCommunicationTime": now,
            "teslaEnergyEcuAttributes": {"ecuType": 207},
            "STSTSM-Location": "Simulated",
            "alerts": alerts,
        }),
    );
    Value::Object(map)
}

/// Whether grid charging is allowed (`not disallow_charge_from_grid_with_solar_installed`).
pub fn grid_charging(site_info: &Value) -> bool {
    !site_info["components"]["disallow_charge_from_grid_with_solar_installed"]
        .as_bool()
        .unwrap_or(false)
}

/// The grid export rule: `never` when non-export is configured, else the rule or `battery_ok`.
pub fn grid_export(site_info: &Value) -> String {
    let components = &site_info["components"];
    if components["non_export_configured"].as_bool() == Some(true) {
        return "never".to_owned();
    }
    components["customer_preferred_export_rule"]
        .as_str()
        .filter(|rule| !rule.is_empty())
        .unwrap_or("battery_ok")
        .to_owned()
}

/// Hours of backup left (`time_remaining_hours`, 0.0 when missing).
pub fn time_remaining(backup_time_remaining: &Value) -> f64 {
    number_or_zero(&backup_time_remaining["time_remaining_hours"])
}
