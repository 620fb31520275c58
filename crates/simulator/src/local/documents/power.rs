//! Power and energy documents: aggregates, SOE, grid status, operation, system status, site meter.

use serde_json::{Value, json};

use super::super::fixtures::Fixtures;
use super::{
    battery_frequency, battery_voltage, git_hash, grid_phase_voltage, grid_voltage, num, set,
    wobble,
};
use crate::model::clock::rfc3339_micros;
use crate::model::reading::Snapshot;

/// Electrical values of one aggregate meter section.
struct MeterValues {
    power: f64,
    reactive: f64,
    frequency: f64,
    voltage: f64,
    exported: f64,
    imported: f64,
}

fn meter_section(template: &Value, now: &str, values: MeterValues) -> Value {
    let mut section = template.clone();
    let current = if values.voltage > 0.0 {
        values.power.abs() / values.voltage
    } else {
        0.0
    };
    set(&mut section, "last_communication_time", json!(now));
    set(&mut section, "instant_power", num(values.power));
    set(&mut section, "instant_reactive_power", num(values.reactive));
    set(
        &mut section,
        "instant_apparent_power",
        num(values.power.hypot(values.reactive)),
    );
    set(&mut section, "frequency", num(values.frequency));
    set(&mut section, "energy_exported", num(values.exported));
    set(&mut section, "energy_imported", num(values.imported));
    set(&mut section, "instant_average_voltage", num(values.voltage));
    set(&mut section, "instant_average_current", num(current));
    set(&mut section, "instant_total_current", num(current));
    section
}

/// `/api/meters/aggregates`.
pub fn aggregates(snapshot: &Snapshot, fixtures: &Fixtures) -> Value {
    let template = &fixtures.aggregates;
    let now = snapshot.now_text();
    let flows = &snapshot.flows;
    let c = &snapshot.counters;
    let connected = snapshot.grid_connected();
    let site_reactive = if connected {
        (-220.0 + wobble(snapshot, 89.0, 8.0)).round()
    } else {
        0.0
    };
    let battery_reactive = if flows.battery_w == 0.0 { 0.0 } else { 10.0 };
    let battery_voltage = battery_voltage(snapshot);
    let load_voltage = if connected {
        grid_voltage(snapshot)
    } else {
        battery_voltage
    };
    let frequency = battery_frequency(snapshot);
    let mut battery = meter_section(
        &template["battery"],
        &now,
        MeterValues {
            power: flows.battery_w,
            reactive: battery_reactive,
            frequency,
            voltage: battery_voltage,
            exported: c.battery_exported_wh,
            imported: c.battery_imported_wh,
        },
    );
    set(
        &mut battery,
        "num_meters_aggregated",
        json!(snapshot.packs.len()),
    );
    json!({
        "site": meter_section(&template["site"], &now, MeterValues {
            power: flows.site_w,
            reactive: site_reactive,
            frequency: 0.0,
            voltage: grid_voltage(snapshot),
            exported: c.site_exported_wh,
            imported: c.site_imported_wh,
        }),
        "battery": battery,
        "load": meter_section(&template["load"], &now, MeterValues {
            power: flows.home_w,
            reactive: site_reactive + battery_reactive,
            frequency: 0.0,
            voltage: load_voltage,
            exported: 0.0,
            imported: c.load_imported_wh,
        }),
        "solar": meter_section(&template["solar"], &now, MeterValues {
            power: flows.solar_w,
            reactive: 0.0,
            frequency: frequency - 0.003,
            voltage: battery_voltage - 0.4,
            exported: c.solar_exported_wh,
            imported: c.solar_imported_wh,
        }),
    })
}

/// `/api/system_status/soe`.
pub fn soe(snapshot: &Snapshot) -> Value {
    json!({ "percentage": snapshot.soe_raw_pct })
}

/// `/api/system_status/grid_status`.
pub fn grid_status(snapshot: &Snapshot) -> Value {
    json!({ "grid_status": snapshot.grid.gateway_text(), "grid_services_active": false })
}

/// `/api/operation`.
pub fn operation(snapshot: &Snapshot) -> Value {
    let op = &snapshot.operation;
    json!({
        "real_mode": op.real_mode.as_str(),
        "backup_reserve_percent": num(op.backup_reserve_percent),
        "freq_shift_load_shed_soe": op.freq_shift_load_shed_soe,
        "freq_shift_load_shed_delta_f": op.freq_shift_load_shed_delta_f,
    })
}

/// `/api/system_status`: totals and battery blocks from the packs.
pub fn system_status(snapshot: &Snapshot, fixtures: &Fixtures) -> Value {
    let mut doc = fixtures.system_status.clone();
    let connected = snapshot.grid_connected();
    let battery_w = snapshot.flows.battery_w;
    let voltage = battery_voltage(snapshot);
    let frequency = battery_frequency(snapshot);
    let short_hash: String = git_hash(&snapshot.firmware, fixtures)
        .chars()
        .take(14)
        .collect();
    let template = doc["battery_blocks"][0].clone();
    let blocks: Vec<Value> = snapshot
        .packs
        .iter()
        .map(|pack| {
            let mut block = template.clone();
            set(&mut block, "PackagePartNumber", json!(pack.part_number));
            set(&mut block, "PackageSerialNumber", json!(pack.serial_number));
            set(
                &mut block,
                "pinv_state",
                json!(if connected {
                    "PINV_GridFollowing"
                } else {
                    "PINV_GridForming"
                }),
            );
            set(
                &mut block,
                "nominal_energy_remaining",
                num(pack.remaining_wh),
            );
            set(
                &mut block,
                "nominal_full_pack_energy",
                num(pack.full_pack_energy_wh),
            );
            set(&mut block, "p_out", num(pack.p_out_w));
            set(
                &mut block,
                "q_out",
                num(if pack.p_out_w == 0.0 { 0.0 } else { 20.0 }),
            );
            set(&mut block, "v_out", num(voltage));
            set(&mut block, "f_out", num(frequency));
            set(
                &mut block,
                "i_out",
                num((pack.p_out_w.abs() / voltage * 10.0).round() / 10.0),
            );
            set(&mut block, "energy_charged", num(pack.energy_charged_wh));
            set(
                &mut block,
                "energy_discharged",
                num(pack.energy_discharged_wh),
            );
            set(&mut block, "off_grid", json!(!connected));
            set(&mut block, "vf_mode", json!(!connected));
            set(&mut block, "version", json!(short_hash));
            block
        })
        .collect();
    let topology = &snapshot.topology;
    let toggle = snapshot
        .last_toggle_ns
        .map(|ns| json!(rfc3339_micros(ns, snapshot.utc_offset_secs)))
        .unwrap_or_else(|| doc["last_toggle_timestamp"].clone());
    set(&mut doc, "battery_target_power", num(battery_w));
    set(
        &mut doc,
        "nominal_full_pack_energy",
        num(snapshot.full_pack_energy_wh()),
    );
    set(
        &mut doc,
        "nominal_energy_remaining",
        num(snapshot.remaining_wh()),
    );
    set(&mut doc, "max_charge_power", num(topology.max_charge_w));
    set(
        &mut doc,
        "max_discharge_power",
        num(topology.max_discharge_w),
    );
    set(
        &mut doc,
        "system_island_state",
        json!(snapshot.grid.gateway_text()),
    );
    set(&mut doc, "available_blocks", json!(snapshot.packs.len()));
    set(&mut doc, "blocks_controlled", json!(snapshot.packs.len()));
    set(&mut doc, "battery_blocks", Value::Array(blocks));
    set(&mut doc, "last_toggle_timestamp", toggle);
    doc
}

/// `/api/meters/site`: the site meter's cached readings.
pub fn meters_site(snapshot: &Snapshot, fixtures: &Fixtures) -> Value {
    let mut doc = fixtures.meters_site.clone();
    let now = snapshot.now_text();
    let site_w = snapshot.flows.site_w;
    let voltage = grid_voltage(snapshot);
    let c = &snapshot.counters;
    let phase_a = (site_w * 0.6).round();
    if let Some(meters) = doc.as_array_mut() {
        for meter in meters {
            let readings = &mut meter["Cached_readings"];
            for key in [
                "last_communication_time",
                "last_phase_voltage_communication_time",
                "last_phase_power_communication_time",
            ] {
                set(readings, key, json!(now));
            }
            set(readings, "instant_power", num(site_w));
            set(
                readings,
                "instant_apparent_power",
                num(site_w.hypot(-212.0)),
            );
            set(readings, "energy_exported", num(c.site_exported_wh));
            set(readings, "energy_imported", num(c.site_imported_wh));
            set(readings, "instant_average_voltage", num(voltage));
            let phase = grid_phase_voltage(snapshot);
            set(readings, "v_l1n", num(phase));
            set(
                readings,
                "v_l2n",
                num(if phase > 0.0 { phase + 0.06 } else { 0.0 }),
            );
            set(readings, "real_power_a", num(phase_a));
            set(readings, "real_power_b", num(site_w - phase_a));
            let current = if voltage > 0.0 {
                site_w.abs() / voltage
            } else {
                0.0
            };
            set(readings, "instant_average_current", num(current));
            set(readings, "instant_total_current", num(current));
        }
    }
    doc
}
