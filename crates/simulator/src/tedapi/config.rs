//! `config.json`, the file the config request returns (gateway-protocols §2.13, §2.15).
//!
//! A client reads `vin`, `battery_blocks`, `meters`, `solars`, `default_real_mode` and
//! `site_info` from it (§3.1, §3.4, §3.5, §3.8.2): the operation settings come from the model,
//! the site's identity texts from the local API's `/api/site_info`, so both personas agree.

use serde_json::{Value, json};

use super::values::Ctx;
use crate::local::documents::num;
use crate::model::topology::PackRole;

/// The site was commissioned this long before the model's boot seed (gateway installs come
/// first, then months of operation); fixed text so the document is stable across requests.
const COMMISSION_DATE: &str = "2021-09-25T16:05:08-07:00";

/// Renders `config.json`.
pub fn document(ctx: &Ctx<'_>) -> Value {
    let snapshot = ctx.snapshot;
    let operation = &snapshot.operation;
    json!({
        "vin": snapshot.din(),
        "auto_meter_update": true,
        "battery_blocks": battery_blocks(ctx),
        "bridge_inverter": {},
        "client_protocols": {},
        "credentials": [],
        "customer": {},
        "default_real_mode": operation.real_mode.as_str(),
        "dio": {},
        "enable_inverter_meter_readings": true,
        "freq_shift_load_shed": {
            "soe_percent": operation.freq_shift_load_shed_soe,
            "delta_f": operation.freq_shift_load_shed_delta_f,
        },
        "freq_support_parameters": {},
        "industrial_networks": {},
        "installer": {},
        "island_config": {},
        "island_contactor_controller": {},
        "logging": {},
        "meters": meters(ctx),
        "site_info": site_info(ctx),
        "solar": {},
        "solars": solars(ctx),
        "strategy": {},
        "test_timers": {},
    })
}

/// One entry per Powerwall; a Powerwall 3 lists its expansion packs. The energies are the
/// model's at this instant (the capture carries them; clients ignore them).
fn battery_blocks(ctx: &Ctx<'_>) -> Vec<Value> {
    let snapshot = ctx.snapshot;
    let topology = &snapshot.topology;
    topology
        .units()
        .into_iter()
        .map(|unit| {
            let spec = &topology.packs[unit];
            let members = topology
                .packs
                .iter()
                .enumerate()
                .filter(|(_, p)| p.unit == unit);
            let (mut remaining, mut full) = (0.0, 0.0);
            let mut expansions = Vec::new();
            for (index, pack) in members {
                remaining += snapshot.packs[index].remaining_wh;
                full += pack.full_pack_energy_wh;
                if pack.role == PackRole::Expansion {
                    expansions.push(json!({ "din": pack.din() }));
                }
            }
            let kind = match spec.role {
                PackRole::Powerwall2 => "Powerwall2",
                _ => "Powerwall3",
            };
            json!({
                "vin": spec.din(),
                "type": kind,
                "disabled_reasons": [],
                "battery_expansions": expansions,
                "nominal_energy_remaining": num(remaining),
                "nominal_full_pack_energy": num(full),
            })
        })
        .collect()
}

/// The Neurio meter measuring the solar inverter (CT 0 only), when the site has one.
fn meters(ctx: &Ctx<'_>) -> Vec<Value> {
    let Some(serial) = &ctx.snapshot.topology.neurio_serial else {
        return Vec::new();
    };
    vec![json!({
        "type": "neurio_w2_tcp",
        "location": "solar",
        "cts": [true, false, false, false],
        "inverted": [false, false, false, false],
        "connection": {
            "device_serial": serial,
            "short_id": short_id(serial),
            "https_conf": {},
        },
        "real_power_scale_factor": 1,
    })]
}

/// The last four characters of a meter serial, as the gateway shows it.
pub fn short_id(serial: &str) -> String {
    let start = serial.len().saturating_sub(4);
    serial.get(start..).unwrap_or(serial).to_owned()
}

/// One entry per inverter with PV wired to it.
fn solars(ctx: &Ctx<'_>) -> Vec<Value> {
    ctx.snapshot
        .topology
        .inverters
        .iter()
        .filter(|inverter| inverter.weight() > 0.0)
        .map(|inverter| {
            let model = if inverter.host.is_some() {
                "Powerwall 3".to_owned()
            } else {
                format!("Solar Inverter {}", inverter.rating_w / 1000.0)
            };
            json!({
                "brand": "Tesla",
                "model": model,
                "power_rating_watts": num(inverter.rating_w),
                "nameplate_power": num(inverter.rating_w),
            })
        })
        .collect()
}

/// `site_info`: identity from the local API's document, sizes from the topology, reserve from
/// the model (raw scale, as `/api/operation` serves it).
fn site_info(ctx: &Ctx<'_>) -> Value {
    let local = ctx.site_info;
    let grid_code = &local["grid_code"];
    let topology = &ctx.snapshot.topology;
    json!({
        "site_name": local["site_name"],
        "timezone": local["timezone"],
        "backup_reserve_percent": num(ctx.snapshot.operation.backup_reserve_percent),
        "battery_commission_date": COMMISSION_DATE,
        "nominal_system_energy_ac": num(topology.nominal_energy_kwh()),
        "nominal_system_power_ac": num(topology.nominal_power_kw()),
        "max_site_meter_power_ac": local["max_site_meter_power_kW"],
        "min_site_meter_power_ac": local["min_site_meter_power_kW"],
        "on_grid_solar_curtailment_enabled": true,
        "grid_code": grid_code["grid_code"],
        "country": grid_code["country"],
        "state": grid_code["state"],
        "utility": grid_code["utility"],
        "panel_max_current": local["panel_max_current"],
        "tariff_content": {},
        "disallow_charge_from_grid_with_solar_installed": true,
        "customer_preferred_export_rule": "pv_only",
        "ITC_cliff": 0,
    })
}
