//! The components answer (V2024_06 `ComponentsQuery`, V2026_06 `PW3Query`) of one Powerwall 3
//! (gateway-protocols §2.13, §2.15, §3.8.9): `pws` (safety board), `pch` (power conversion,
//! PV strings A–F, AC side), one `bms` and one `hvp` per battery pack (main unit first, then its
//! expansions; the HVP carries each pack's part and serial), and `baggr` (pack aggregator).
//!
//! Energies are kWh as the signals carry them, rounded so the client's truncation gives the
//! model's whole-Wh pack energies back; `PCH_BatteryPower` is the unit's battery power in W.

use serde_json::{Value, json};

use super::controller::idle_progress;
use super::values::{Ctx, Signals, StringReading, fan_rpm, kwh, tenth};
use crate::model::topology::PackRole;

/// Continuous AC rating of a Powerwall 3 (fan and duty scale).
const PW3_RATING_W: f64 = 11_500.0;
/// Nominal DC voltage of a Powerwall 3 high-voltage pack (Ah counters).
const PACK_NOMINAL_V: f64 = 400.0;

/// A component entry without identity, as `pws`, `pch`, `bms` and `baggr` entries come.
fn entry(signals: Signals) -> Value {
    let alerts: Vec<Value> = Vec::new();
    json!({ "signals": signals.finish(), "activeAlerts": alerts })
}

fn answer(
    pws: Vec<Value>,
    pch: Vec<Value>,
    bms: Vec<Value>,
    hvp: Vec<Value>,
    baggr: Vec<Value>,
) -> Value {
    json!({
        "pw3Can": { "firmwareUpdate": { "isUpdating": false, "progress": idle_progress() } },
        "components": { "pws": pws, "pch": pch, "bms": bms, "hvp": hvp, "baggr": baggr },
    })
}

/// The answer addressed to the gateway: on a Powerwall 3 site the leader's own (it is the
/// gateway); on a Powerwall 2 site every list is empty, which tells a client it is not a PW3.
pub fn gateway_answer(ctx: &Ctx<'_>) -> Value {
    let topology = &ctx.snapshot.topology;
    let leader = topology
        .units()
        .into_iter()
        .find(|&unit| topology.packs[unit].role == PackRole::Powerwall3);
    leader
        .and_then(|unit| unit_answer(ctx, unit))
        .unwrap_or_else(|| answer(Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()))
}

/// The answer of the Powerwall 3 whose main pack is `packs[unit]` (`None` for anything else).
pub fn unit_answer(ctx: &Ctx<'_>, unit: usize) -> Option<Value> {
    let topology = &ctx.snapshot.topology;
    if topology.packs.get(unit)?.role != PackRole::Powerwall3 {
        return None;
    }
    let strings = topology
        .inverters
        .iter()
        .find(|inverter| inverter.host == Some(unit))
        .map(|inverter| ctx.strings(inverter))
        .unwrap_or_default();
    // Main pack first, then its expansions, in pack order.
    let members: Vec<usize> = (0..topology.packs.len())
        .filter(|&index| topology.packs[index].unit == unit)
        .collect();
    let bms = members
        .iter()
        .map(|&index| entry(bms(ctx, index)))
        .collect();
    let hvp = members.iter().map(|&index| hvp(ctx, index)).collect();
    Some(answer(
        vec![entry(pws(ctx))],
        vec![entry(pch(ctx, unit, &strings))],
        bms,
        hvp,
        vec![entry(baggr(ctx, &members))],
    ))
}

fn pws(ctx: &Ctx<'_>) -> Signals {
    Signals::new(ctx.epoch)
        .text("PWS_SelfTest", "PWS_SelfTest_Passed")
        .text("PWS_PeImpTestState", "PWS_PeImpTestState_Passed")
        .text("PWS_PvIsoTestState", "PWS_PvIsoTestState_Passed")
        .text("PWS_RelaySelfTest_State", "PWS_RelaySelfTest_Passed")
        .text("PWS_MciTestState", "PWS_MciTestState_Passed")
        .text("PWS_appGitHash", ctx.git_hash)
        .text("PWS_ProdSwitch_State", "PWS_ProdSwitch_On")
        .text("PWS_ExtSwitch_State", "PWS_ExtSwitch_On")
        .text("PWS_RSDSelfTest_Result", "PWS_RSDSelfTest_Pass")
        .text("PWS_RSDSelfTest_State", "PWS_RSDSelfTest_Done")
        .text("PWS_RSD_State", "PWS_RSD_Run")
        .num("PWS_assemblyId", 3.0)
        .num("PWS_pcbaId", 5.0)
        .num("PWS_reversePolarityStrings", 0.0)
}

/// Characters `from..=to` (1-based) of an identity, as the PCH splits part and serial numbers.
fn chunk(text: &str, from: usize, to: usize) -> String {
    text.chars().skip(from - 1).take(to + 1 - from).collect()
}

fn pch(ctx: &Ctx<'_>, unit: usize, strings: &[StringReading]) -> Signals {
    let spec = &ctx.snapshot.topology.packs[unit];
    let battery_w = ctx.unit_battery_w(unit);
    let solar_w: f64 = strings.iter().map(|s| s.power_w).sum();
    let ac_w = battery_w + solar_w;
    let load = (battery_w.abs() + solar_w) / PW3_RATING_W;
    let fan = fan_rpm(load);
    let duty = if fan > 0.0 {
        (load * 100.0).round().clamp(20.0, 100.0)
    } else {
        0.0
    };
    let mut signals = Signals::new(ctx.epoch).text("PCH_State", "PCH_State_Active");
    for string in strings {
        let state = match (string.connected, string.power_w > 0.0) {
            (true, true) => "Pv_Active",
            (true, false) => "Pv_Standby",
            (false, _) => "Pv_Disabled",
        };
        signals = signals.text(&format!("PCH_PvState_{}", string.letter), state);
    }
    let half = ctx.inverter_v / 2.0;
    signals = signals
        .num("PCH_AcFrequency", ctx.freq)
        .num("PCH_AcVoltageAB", ctx.inverter_v)
        .num("PCH_AcVoltageAN", half)
        .num("PCH_AcVoltageBN", half)
        .text("PCH_packagePartNumber_1_7", &chunk(&spec.part_number, 1, 7))
        .text(
            "PCH_packagePartNumber_8_14",
            &chunk(&spec.part_number, 8, 14),
        )
        .text(
            "PCH_packagePartNumber_15_20",
            &chunk(&spec.part_number, 15, 20),
        )
        .text(
            "PCH_packageSerialNumber_1_7",
            &chunk(&spec.serial_number, 1, 7),
        )
        .text(
            "PCH_packageSerialNumber_8_14",
            &chunk(&spec.serial_number, 8, 14),
        );
    for string in strings {
        signals = signals.num(&format!("PCH_PvVoltage{}", string.letter), string.voltage_v);
    }
    for string in strings {
        signals = signals.num(&format!("PCH_PvCurrent{}", string.letter), string.current_a);
    }
    let mode = if ctx.connected {
        "AC_Connected"
    } else {
        "AC_Islanded"
    };
    signals
        .num("PCH_BatteryPower", battery_w)
        .num("PCH_AcRealPowerAB", ac_w)
        .num("PCH_SlowPvPowerSum", solar_w)
        .text("PCH_AcMode", mode)
        .text("PCH_DcdcState_A", "DCDC_Active")
        .text("PCH_DcdcState_B", "DCDC_Active")
        .text("PCH_appGitHash", ctx.git_hash)
        .num("PCH_AmbientTemp", tenth(ctx.ambient_c + 2.0))
        .num(
            "PCH_heatsinkTemp",
            tenth(ctx.ambient_c + 6.0 + 3.0 * ac_w.abs() / 1000.0),
        )
        .num("PCH_FanSpeed_A", fan)
        .num("PCH_FanSpeed_B", if fan > 0.0 { fan - 30.0 } else { 0.0 })
        .num("PCH_FanDuty_A", duty)
        .num("PCH_FanDuty_B", duty)
        .num("PCH_AcRealPowerSum", ac_w)
        .num("PCH_AcVoltageCN", 0.0)
        .num("PCH_AcVoltageLL", ctx.inverter_v)
        .num("PCH_pcbaId", 7.0)
        .num("PCH_usageId", 1.0)
}

fn bms(ctx: &Ctx<'_>, index: usize) -> Signals {
    let pack = &ctx.snapshot.packs[index];
    let discharged = pack.energy_discharged_wh;
    Signals::new(ctx.epoch)
        .num("BMS_nominalEnergyRemaining", kwh(pack.remaining_wh))
        .num("BMS_nominalFullPackEnergy", kwh(pack.full_pack_energy_wh))
        .text("BMS_appGitHash", ctx.git_hash)
        .flag("BMS_LOG_tempOutOfBounds", false)
        .flag("BMS_LOG_tempOutOfBoundsCharge", false)
        .num("BMS_kwhDischargeTotal", (discharged / 100.0).round() / 10.0)
        .num(
            "BMS_LOG_ahDischargeTotal",
            (discharged / PACK_NOMINAL_V).round(),
        )
        .num(
            "BMS_LOG_cacAvg",
            tenth(pack.full_pack_energy_wh / PACK_NOMINAL_V),
        )
        .num(
            "BMS_LOG_numFullBattCycles",
            (discharged / pack.full_pack_energy_wh).floor(),
        )
        .num("BMS_LOG_overDischargeCounter", 0.0)
        .num("BMS_LOG_selfDischargeRate", 0.0)
}

fn hvp(ctx: &Ctx<'_>, index: usize) -> Value {
    let spec = &ctx.snapshot.topology.packs[index];
    let kw = ctx.snapshot.packs[index].p_out_w.abs() / 1000.0;
    let max = tenth(ctx.ambient_c + 6.0 + 1.5 * kw);
    let signals = Signals::new(ctx.epoch)
        .text("HVP_State", "HVP_State_Active")
        .text("HVP_appGitHash", ctx.git_hash)
        .num("HVP_PackTempMax", max)
        .num("HVP_PackTempMin", tenth(max - 2.5))
        .num("HVP_ShuntTemperature", tenth(max - 1.0))
        .text(
            "HVP_SafetyBiDisconnectState",
            "HVP_SafetyBiDisconnect_Closed",
        )
        .flag("HVP_a061_LockoutOnIsoFaultRetry", false);
    let alerts: Vec<Value> = Vec::new();
    json!({
        "partNumber": spec.module.part_number,
        "serialNumber": spec.module.serial_number,
        "signals": signals.finish(),
        "activeAlerts": alerts,
    })
}

fn baggr(ctx: &Ctx<'_>, members: &[usize]) -> Signals {
    let snapshot = ctx.snapshot;
    let count = members.len() as f64;
    let remaining: f64 = members
        .iter()
        .map(|&i| snapshot.packs[i].remaining_wh)
        .sum();
    let full: f64 = members
        .iter()
        .map(|&i| snapshot.packs[i].full_pack_energy_wh)
        .sum();
    let battery_w: f64 = members.iter().map(|&i| snapshot.packs[i].p_out_w).sum();
    let operation = if battery_w > 0.0 {
        "BAGGR_OPERATION_DISCHARGE"
    } else if battery_w < 0.0 {
        "BAGGR_OPERATION_CHARGE"
    } else {
        "BAGGR_OPERATION_IDLE"
    };
    let mut signals = Signals::new(ctx.epoch)
        .text("BAGGR_State", "BAGGR_STATE_ACTIVE")
        .text("BAGGR_OperationRequest", "BAGGR_OPERATION_REQUEST_NONE")
        .num("BAGGR_NumBatteriesConnected", count)
        .num("BAGGR_NumBatteriesPresent", count)
        .num("BAGGR_NumBatteriesExpected", count);
    for slot in 0..4 {
        let status = if slot < members.len() {
            "BAGGR_BATT_CONNECTED"
        } else {
            "BAGGR_BATT_NOT_PRESENT"
        };
        signals = signals.text(&format!("BAGGR_LOG_BattConnectionStatus{slot}"), status);
    }
    signals
        .num("BAGGR_ExpectedEnergyRemaining", kwh(remaining))
        .num("BAGGR_ExpectedFullPackEnergy", kwh(full))
        .text("BAGGR_OperationType", operation)
}
