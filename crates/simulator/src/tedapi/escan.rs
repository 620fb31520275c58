//! `esCan` of the DeviceController answer: the Powerwall 2 era CAN devices (PVAC/PVS solar
//! inverter, THC/POD/PINV per Powerwall 2, SYNC meters, Backup Switch MSA, ISLANDER).
//!
//! A device the site lacks still answers with its fields (GraphQL returns what was asked), but
//! empty: `null` identity and values, `isMIA` true; absent lists are empty. So a Powerwall 3
//! site has empty PVAC/PINV/THC/POD lists and a MIA SYNC, a Powerwall 2 site a MIA MSA.

use serde_json::{Map, Value, json};

use super::controller::idle_progress;
use super::values::Ctx;
use crate::local::documents::num;
use crate::model::clock::NANOS_PER_SEC;
use crate::model::topology::{PackRole, PvInverterSpec};

/// Site-meter reactive power while on grid (the captured site meter's reading).
const SITE_REACTIVE_VAR: f64 = -212.0;

/// Renders `esCan`.
pub fn es_can(ctx: &Ctx<'_>, full: bool) -> Value {
    let topology = &ctx.snapshot.topology;
    let pvacs: Vec<&PvInverterSpec> = topology
        .inverters
        .iter()
        .filter(|inverter| inverter.host.is_none())
        .collect();
    let pw2: Vec<usize> = (0..topology.packs.len())
        .filter(|&index| topology.packs[index].role == PackRole::Powerwall2)
        .collect();
    let mut bus = Map::new();
    bus.insert(
        "PVAC".into(),
        pvacs.iter().map(|inv| pvac(ctx, inv)).collect(),
    );
    bus.insert("PINV".into(), pw2.iter().map(|&i| pinv(ctx, i)).collect());
    bus.insert(
        "PVS".into(),
        pvacs.iter().map(|inv| pvs(ctx, inv, full)).collect(),
    );
    bus.insert("THC".into(), pw2.iter().map(|&i| thc(ctx, i)).collect());
    bus.insert("POD".into(), pw2.iter().map(|&i| pod(ctx, i)).collect());
    if !full {
        // The full query text does not ask for the Backup Switch on the CAN bus.
        bus.insert("MSA".into(), backup_switch(ctx));
    }
    bus.insert("SYNC".into(), synchronizer(ctx, full));
    bus.insert("ISLANDER".into(), islander(ctx, full));
    let mut updates = json!({
        "isUpdating": false,
        "powerwalls": idle_progress(),
        "msa": idle_progress(),
        "sync": idle_progress(),
        "pvInverters": idle_progress(),
    });
    if full {
        updates["msa1"] = idle_progress();
    }
    json!({
        "bus": bus,
        "enumeration": { "inProgress": false, "numACPW": pw2.len(), "numPVI": pvacs.len() },
        "firmwareUpdate": updates,
        "phaseDetection": {
            "inProgress": false,
            "lastUpdateTimestamp": i64::try_from(ctx.snapshot.boot_ns.div_euclid(NANOS_PER_SEC) + 120).unwrap_or_default(),
            "powerwalls": [],
        },
        "inverterSelfTests": { "isRunning": false, "isCanceled": false, "pinvSelfTestsResults": [] },
    })
}

fn alerts(active: &[String]) -> Value {
    json!({ "isComplete": true, "isMIA": false, "active": active })
}

fn pvac(ctx: &Ctx<'_>, inverter: &PvInverterSpec) -> Value {
    let solar_w = ctx.snapshot.flows.solar_w;
    let strings = ctx.strings(inverter);
    let mut logging = Map::new();
    logging.insert("isMIA".into(), json!(false));
    for string in &strings {
        logging.insert(
            format!("PVAC_PVCurrent_{}", string.letter),
            json!(string.current_a),
        );
    }
    for string in &strings {
        logging.insert(
            format!("PVAC_PVMeasuredVoltage_{}", string.letter),
            json!(string.voltage_v),
        );
    }
    logging.insert("PVAC_VL1Ground".into(), json!(ctx.inverter_v / 2.0));
    logging.insert("PVAC_VL2Ground".into(), json!(ctx.inverter_v / 2.0));
    json!({
        "packagePartNumber": inverter.id.part_number,
        "packageSerialNumber": inverter.id.serial_number,
        "subPackagePartNumber": "1529000-02-B",
        "subPackageSerialNumber": format!("{}S", inverter.id.serial_number),
        "PVAC_Status": {
            "isMIA": false,
            "PVAC_Pout": num(solar_w),
            "PVAC_State": if solar_w > 0.0 { "PVAC_Active" } else { "PVAC_Standby" },
            "PVAC_Vout": ctx.inverter_v - 2.0,
            "PVAC_Fout": ctx.freq,
        },
        "PVAC_InfoMsg": { "PVAC_appGitHash": short_hash(ctx) },
        "PVAC_Logging": logging,
        "alerts": alerts(&[]),
    })
}

fn pvs(ctx: &Ctx<'_>, inverter: &PvInverterSpec, full: bool) -> Value {
    let mut status = Map::new();
    status.insert("isMIA".into(), json!(false));
    status.insert("PVS_State".into(), json!("PVS_Active"));
    status.insert("PVS_vLL".into(), json!(ctx.inverter_v - 2.0));
    let mut active = Vec::new();
    for (index, string) in inverter.strings.iter().enumerate() {
        status.insert(
            format!("PVS_String{}_Connected", string.letter),
            json!(string.connected()),
        );
        if !string.connected() {
            // The MCI of an unwired string reports open (captured: PVS_a018_MciStringB).
            active.push(format!("PVS_a{:03}_MciString{}", 17 + index, string.letter));
        }
    }
    status.insert("PVS_SelfTestState".into(), json!("PVS_SelfTestOff"));
    let mut pvs = json!({ "PVS_Status": status, "alerts": alerts(&active) });
    if full {
        pvs["PVS_Logging"] = json!({ "PVS_numStringsLockoutBits": 0, "PVS_sbsComplete": true });
    }
    pvs
}

/// Short (14-hex) form of the firmware hash the CAN devices report.
fn short_hash(ctx: &Ctx<'_>) -> String {
    ctx.git_hash.chars().take(14).collect()
}

fn pinv(ctx: &Ctx<'_>, index: usize) -> Value {
    let pack = &ctx.snapshot.packs[index];
    let units = ctx.snapshot.topology.units().len().max(1) as f64;
    let (state, grid_state) = if ctx.connected {
        ("PINV_GridFollowing", "Grid_Compliant")
    } else {
        ("PINV_GridForming", "Grid_Uncompliant")
    };
    json!({
        "PINV_Status": {
            "isMIA": false,
            "PINV_Fout": ctx.freq,
            // The CAN signal is in kW (the local API's p_out is W).
            "PINV_Pout": pack.p_out_w / 1000.0,
            "PINV_Vout": ctx.inverter_v,
            "PINV_State": state,
            "PINV_GridState": grid_state,
        },
        "PINV_AcMeasurements": {
            "isMIA": false,
            "PINV_VSplit1": ctx.inverter_v / 2.0,
            "PINV_VSplit2": ctx.inverter_v / 2.0,
        },
        "PINV_PowerCapability": {
            "isComplete": true,
            "isMIA": false,
            "PINV_Pnom": num(ctx.snapshot.topology.max_discharge_w / units),
        },
        "alerts": alerts(&["PINV_a067_overvoltageNeutralChassis".to_owned()]),
    })
}

fn thc(ctx: &Ctx<'_>, index: usize) -> Value {
    let spec = &ctx.snapshot.topology.packs[index];
    json!({
        "packagePartNumber": spec.part_number,
        "packageSerialNumber": spec.serial_number,
        "THC_InfoMsg": { "isComplete": true, "isMIA": false, "THC_appGitHash": short_hash(ctx) },
        "THC_Logging": { "THC_LOG_PW_2_0_EnableLineState": "THC_LOG_PW_2_0_EnableLineState_On" },
        "alerts": alerts(&[]),
    })
}

fn pod(ctx: &Ctx<'_>, index: usize) -> Value {
    let pack = &ctx.snapshot.packs[index];
    json!({
        "POD_EnergyStatus": {
            "isMIA": false,
            "POD_nom_energy_remaining": num(pack.remaining_wh),
            "POD_nom_full_pack_energy": num(pack.full_pack_energy_wh),
        },
        "POD_InfoMsg": { "POD_appGitHash": short_hash(ctx) },
        "alerts": alerts(&[]),
    })
}

/// CT readings of a split-phase meter: 60 % of the power on CT A, the rest on CT B, C unwired.
fn cts(power_w: f64, reactive_var: f64, phase_v: f64) -> [(f64, f64, f64); 3] {
    let a = (power_w * 0.6).round();
    let qa = (reactive_var * 0.6).round();
    let amps = |p: f64, q: f64| {
        if phase_v > 0.0 {
            p.hypot(q) / phase_v
        } else {
            0.0
        }
    };
    let (b, qb) = (power_w - a, reactive_var - qa);
    [(a, qa, amps(a, qa)), (b, qb, amps(b, qb)), (0.0, 0.0, 0.0)]
}

/// One `METER_<id>_AcMeasurements` block over `phases` phases; `None` readings mean the meter
/// is missing (every value `null`, `isMIA` true). `ground` picks the `VL<n>G` voltage names.
fn meter(
    id: char,
    readings: Option<[(f64, f64, f64); 3]>,
    ctx: &Ctx<'_>,
    phases: usize,
    ground: bool,
    basic: bool,
) -> Value {
    let mut block = Map::new();
    block.insert("isMIA".into(), json!(readings.is_none()));
    if id != 'Z' {
        block.insert("isComplete".into(), json!(readings.is_some()));
    }
    if basic {
        let rx = readings.map(|_| json!(ctx.time));
        block.insert("lastRxTime".into(), rx.unwrap_or(Value::Null));
    }
    let volts = [
        ctx.grid_v,
        if ctx.grid_v > 0.0 {
            ctx.grid_v + 0.06
        } else {
            0.0
        },
        0.0,
    ];
    for (phase, letter) in ['A', 'B', 'C'].into_iter().enumerate().take(phases) {
        let value = |pick: fn(&(f64, f64, f64)) -> f64| {
            readings.map_or(Value::Null, |r| num(pick(&r[phase])))
        };
        block.insert(
            format!("METER_{id}_CT{letter}_InstRealPower"),
            value(|ct| ct.0),
        );
        block.insert(
            format!("METER_{id}_CT{letter}_InstReactivePower"),
            value(|ct| ct.1),
        );
        block.insert(format!("METER_{id}_CT{letter}_I"), value(|ct| ct.2));
        let volt = readings.map_or(Value::Null, |_| json!(volts[phase]));
        let suffix = if ground { 'G' } else { 'N' };
        block.insert(format!("METER_{id}_VL{}{suffix}", phase + 1), volt);
    }
    Value::Object(block)
}

/// The site meter's CT readings (Backup Gateway meter X or Backup Switch meter Z).
pub fn site_cts(ctx: &Ctx<'_>) -> [(f64, f64, f64); 3] {
    let reactive = if ctx.connected {
        SITE_REACTIVE_VAR
    } else {
        0.0
    };
    cts(ctx.snapshot.flows.site_w, reactive, ctx.grid_v)
}

/// The Backup Gateway's synchroniser: meter X on the site, meter Y (unused CTs) on the backup side.
fn synchronizer(ctx: &Ctx<'_>, full: bool) -> Value {
    let sync = ctx.snapshot.topology.synchronizer.as_ref();
    let site = sync.map(|_| site_cts(ctx));
    let idle = sync.map(|_| cts(0.0, 0.0, ctx.grid_v));
    let mut info =
        json!({ "isMIA": sync.is_none(), "SYNC_appGitHash": sync.map(|_| short_hash(ctx)) });
    if full {
        info["SYNC_assemblyId"] = json!(sync.map(|_| "1493315-01-F"));
    }
    let active: Vec<String> = sync
        .map(|_| {
            vec![
                "SYNC_a001_SW_App_Boot".to_owned(),
                "SYNC_a046_DoCloseArguments".to_owned(),
            ]
        })
        .unwrap_or_default();
    let mut block = json!({
        "packagePartNumber": sync.map(|id| id.part_number.clone()),
        "packageSerialNumber": sync.map(|id| id.serial_number.clone()),
        "SYNC_InfoMsg": info,
        "METER_X_AcMeasurements": meter('X', site, ctx, 3, false, !full),
        "METER_Y_AcMeasurements": meter('Y', idle, ctx, 3, false, !full),
        "alerts": { "active": active },
    });
    if !full {
        block["SYNC_Status"] = json!({ "lastRxTime": sync.map(|_| ctx.time.clone()) });
    }
    block
}

/// The Backup Switch (basic query only): meter Z on the site.
fn backup_switch(ctx: &Ctx<'_>) -> Value {
    let switch = ctx.snapshot.topology.backup_switch.as_ref();
    let site = switch.map(|_| site_cts(ctx));
    json!({
        "packagePartNumber": switch.map(|id| id.part_number.clone()),
        "packageSerialNumber": switch.map(|id| id.serial_number.clone()),
        "MSA_InfoMsg": {
            "isMIA": switch.is_none(),
            "MSA_appGitHash": switch.map(|_| short_hash(ctx)),
            "MSA_assemblyId": switch.map(|id| id.part_number.clone()),
        },
        "METER_Z_AcMeasurements": meter('Z', site, ctx, 2, true, true),
        "MSA_Status": { "lastRxTime": switch.map(|_| ctx.time.clone()) },
        "alerts": { "active": [] },
    })
}

/// The islanding controller: grid connection (enum text), main and load side voltages.
fn islander(ctx: &Ctx<'_>, full: bool) -> Value {
    let (connection, grid_state) = if ctx.connected {
        (
            "ISLAND_GridConnected_Connected",
            "ISLAND_GridState_Grid_Compliant",
        )
    } else {
        (
            "ISLAND_GridConnected_Disconnected",
            "ISLAND_GridState_Grid_Uncompliant",
        )
    };
    let main_freq = if ctx.connected { ctx.freq } else { 0.0 };
    let mut ac = Map::new();
    for (phase, live) in [(1, true), (2, true), (3, false)] {
        let pick = |value: f64| if live { value } else { 0.0 };
        ac.insert(format!("ISLAND_VL{phase}N_Main"), json!(pick(ctx.grid_v)));
        ac.insert(format!("ISLAND_FreqL{phase}_Main"), json!(pick(main_freq)));
    }
    for (phase, live) in [(1, true), (2, true), (3, false)] {
        let pick = |value: f64| if live { value } else { 0.0 };
        ac.insert(format!("ISLAND_VL{phase}N_Load"), json!(pick(ctx.load_v)));
        ac.insert(format!("ISLAND_FreqL{phase}_Load"), json!(pick(ctx.freq)));
    }
    ac.insert("ISLAND_GridState".into(), json!(grid_state));
    if !full {
        ac.insert("lastRxTime".into(), json!(ctx.time));
    }
    ac.insert("isComplete".into(), json!(true));
    ac.insert("isMIA".into(), json!(false));
    json!({
        "ISLAND_GridConnection": { "ISLAND_GridConnected": connection, "isComplete": true },
        "ISLAND_AcMeasurements": ac,
    })
}
