//! `components.msa` of the full DeviceController answer: per-device signals the CAN view lacks
//! (uptime, temperatures, fans, lifetime energies, available power; gateway-protocols §2.15,
//! §3.1, §3.8.5–§3.8.7, §3.10).
//!
//! Order matters to clients: each Powerwall 2 appears as its THC entry (package serial) directly
//! followed by its PINV entry (module serial), then its POD entry (same module serial); that
//! order is the only link between a package and its module (§3.8.5). The list ends with eight
//! serial-less placeholder slots, as the gateway pads it (§10.3).

use serde_json::Value;

use super::escan::site_cts;
use super::values::{Ctx, Signals, component, fan_rpm, tenth};
use crate::model::clock::NANOS_PER_SEC;
use crate::model::topology::{DeviceId, PackRole};

/// Serial-less slots at the end of the list.
const PLACEHOLDER_SLOTS: usize = 8;

fn ids(id: &DeviceId) -> Option<(&str, &str)> {
    Some((id.part_number.as_str(), id.serial_number.as_str()))
}

/// Renders the `components.msa` list.
pub fn components(ctx: &Ctx<'_>) -> Vec<Value> {
    let topology = &ctx.snapshot.topology;
    let at = ctx.epoch;
    let mut list = vec![component(ids(&topology.gateway), Signals::new(at), &[])];
    if let Some(sync) = &topology.synchronizer {
        list.push(component(ids(sync), sync_signals(ctx), &[]));
    }
    for inverter in topology.inverters.iter().filter(|inv| inv.host.is_none()) {
        let load = ctx.snapshot.flows.solar_w.max(0.0) / inverter.rating_w.max(1.0);
        let actual = fan_rpm(load);
        let signals = Signals::new(at)
            .num("PVAC_Fan_Speed_Actual_RPM", actual)
            .num(
                "PVAC_Fan_Speed_Target_RPM",
                (actual / 100.0).round() * 100.0,
            );
        list.push(component(ids(&inverter.id), signals, &[]));
        // The PVS shares the PVAC's package; none of the requested signals are its own.
        list.push(component(ids(&inverter.id), Signals::new(at), &[]));
    }
    if let Some(switch) = &topology.backup_switch {
        list.push(component(ids(switch), meter_z_signals(ctx), &[]));
    }
    for index in 0..topology.packs.len() {
        if topology.packs[index].role == PackRole::Powerwall2 {
            list.extend(powerwall2(ctx, index));
        }
    }
    list.extend((0..PLACEHOLDER_SLOTS).map(|_| component(None, Signals::new(at), &[])));
    list
}

/// Uptime in ms, counted to the whole second `system.time` shows, so `time − uptime` gives
/// back the boot instant the local API's `start_time` prints (§3.1).
fn uptime_ms(ctx: &Ctx<'_>) -> f64 {
    let now_ns = i128::from(ctx.epoch) * NANOS_PER_SEC;
    let ms = (now_ns - ctx.snapshot.boot_ns).max(0) / 1_000_000;
    ms as f64
}

fn sync_signals(ctx: &Ctx<'_>) -> Signals {
    Signals::new(ctx.epoch)
        .num("SYNC_Uptime", uptime_ms(ctx))
        .flag("SYNC_ExternallyPowered", false)
        .flag("SYNC_SiteSwitchEnabled", false)
}

fn meter_z_signals(ctx: &Ctx<'_>) -> Signals {
    let mut signals = Signals::new(ctx.epoch).text("MSA_appGitHash", ctx.git_hash);
    let volts = [
        ctx.grid_v,
        if ctx.grid_v > 0.0 {
            ctx.grid_v + 0.06
        } else {
            0.0
        },
        0.0,
    ];
    for (phase, (ct, letter)) in site_cts(ctx).iter().zip(['A', 'B', 'C']).enumerate() {
        signals = signals
            .num(&format!("METER_Z_CT{letter}_InstRealPower"), ct.0)
            .num(&format!("METER_Z_CT{letter}_InstReactivePower"), ct.1)
            .num(&format!("METER_Z_CT{letter}_I"), ct.2)
            .num(&format!("METER_Z_VL{}G", phase + 1), volts[phase]);
    }
    let counters = &ctx.snapshot.counters;
    signals
        .num(
            "METER_Z_LifetimeEnergyExport",
            counters.site_exported_wh.round(),
        )
        .num(
            "METER_Z_LifetimeEnergyImport",
            counters.site_imported_wh.round(),
        )
}

/// The THC, PINV and POD entries of one Powerwall 2.
fn powerwall2(ctx: &Ctx<'_>, index: usize) -> [Value; 3] {
    let snapshot = ctx.snapshot;
    let topology = &snapshot.topology;
    let spec = &topology.packs[index];
    let pack = &snapshot.packs[index];
    let at = ctx.epoch;
    let kw = pack.p_out_w.abs() / 1000.0;
    let units = topology.units().len().max(1) as f64;
    // Enclosures warm a little with power through them; each unit sits in its own spot.
    let thc = Signals::new(at)
        .num(
            "THC_AmbientTemp",
            tenth(ctx.ambient_c + 1.5 + 0.4 * index as f64 + 0.6 * kw),
        )
        .text("THC_State", "THC_STATE_AUTONOMOUSCONTROL");
    let pinv = Signals::new(at)
        .num("PINV_EnergyCharged", pack.energy_charged_wh)
        .num("PINV_EnergyDischarged", pack.energy_discharged_wh)
        .num("PINV_LifetimeEnergyCharged", pack.energy_charged_wh)
        .num("PINV_LifetimeEnergyDischarged", pack.energy_discharged_wh)
        .num("PINV_HeatsinkTemp", tenth(ctx.ambient_c + 8.0 + 4.0 * kw))
        .num("PINV_PllFrequency", ctx.freq)
        .flag("PINV_PllLocked", ctx.connected)
        .num("PINV_Qout", if pack.p_out_w == 0.0 { 0.0 } else { 0.01 })
        .flag("PINV_ReadyForGridForming", true)
        .flag("PINV_HardwareEnableLine", true)
        .text("PINV_PowerLimiter", "PWRLIM_POD_Power_Limit");
    let full = snapshot.soe_raw_pct >= 100.0;
    let empty = pack.remaining_wh <= 0.0;
    let pod = Signals::new(at)
        .num(
            "POD_available_charge_power",
            if full {
                0.0
            } else {
                topology.max_charge_w / units
            },
        )
        .num(
            "POD_available_dischg_power",
            if empty {
                0.0
            } else {
                topology.max_discharge_w / units
            },
        );
    let package = (spec.part_number.as_str(), spec.serial_number.as_str());
    [
        component(Some(package), thc, &[]),
        component(
            ids(&spec.module),
            pinv,
            &["PINV_a067_overvoltageNeutralChassis"],
        ),
        component(ids(&spec.module), pod, &[]),
    ]
}
