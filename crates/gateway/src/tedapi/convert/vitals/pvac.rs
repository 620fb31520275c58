//! PW2/PW+ solar inverter blocks: `PVAC--*`, `PVS--*` and `TESLA--*` from `esCan.bus.PVAC[]` (§3.8.3).

use serde_json::{Map, Value, json};

use super::Blocks;
use crate::tedapi::convert::fans::pvac_fans;
use crate::tedapi::convert::value::{
    Num, active_alerts, ecu_type, field, items, key_text, lookup, or_null, text, truthy, truthy_or,
};

/// The four MPPT strings of a PW2-era inverter.
const STRINGS: [char; 4] = ['A', 'B', 'C', 'D'];

/// Adds the PVAC, PVS and solar `TESLA` blocks for every PVAC entry with a serial.
pub(super) fn add_solar_inverters(
    blocks: &mut Blocks,
    config: Option<&Value>,
    controller: Option<&Value>,
) {
    let vin = field(config, "vin");
    let fans = pvac_fans(controller);
    let pvs_entries = items(lookup(controller, &["esCan", "bus", "PVS"]));
    for (index, pvac) in items(lookup(controller, &["esCan", "bus", "PVAC"]))
        .iter()
        .enumerate()
    {
        let serial = field(Some(pvac), "packageSerialNumber");
        if !truthy(serial) {
            continue;
        }
        let part = field(Some(pvac), "packagePartNumber");
        let din = format!("{}--{}", key_text(part), key_text(serial));
        let pvs = pvs_entries.get(index);
        let mut block = pvac_block(pvac, pvs.map(|pvs| field(Some(pvs), "PVS_Status")));
        block.extend(identity(part, serial, 296));
        if let Some((_, rpm)) = fans.iter().find(|(key, _)| *key == format!("PVAC--{din}")) {
            block.extend(rpm.clone());
        }
        blocks
            .pvac
            .push((format!("PVAC--{din}"), Value::Object(block)));
        if let Some(pvs) = pvs {
            blocks
                .pvs
                .push((format!("PVS--{din}"), pvs_block(pvs, &din, part, serial)));
        }
        let solar = items(field(config, "solars")).get(index);
        let brand = text(field(solar, "brand")).filter(|brand| !brand.is_empty());
        let nameplate = truthy_or(field(solar, "power_rating_watts"), Value::Null);
        let inverter = json!({
            "componentParentDin": format!("STSTSM--{}", key_text(vin)),
            "firmwareVersion": null,
            "lastCommunicationTime": null,
            "manufacturer": brand.map_or_else(|| "TESLA".to_owned(), str::to_uppercase),
            "pvInverterAttributes": {"nameplateRealPowerW": nameplate},
            "serialNumber": din,
        });
        blocks.tesla.push((format!("TESLA--{din}"), inverter));
    }
}

fn pvac_block(pvac: &Value, pvs_status: Option<Option<&Value>>) -> Map<String, Value> {
    let status = field(Some(pvac), "PVAC_Status");
    let logging = field(Some(pvac), "PVAC_Logging");
    let mut block = Map::new();
    block.insert("PVAC_Fout".into(), or_null(field(status, "PVAC_Fout")));
    for key in [
        "PVAC_GridState",
        "PVAC_InvState",
        "PVAC_Iout",
        "PVAC_LifetimeEnergyPV_Total",
    ] {
        block.insert(key.into(), Value::Null);
    }
    for letter in STRINGS {
        block.insert(
            format!("PVAC_PVCurrent_{letter}"),
            or_null(field(logging, &format!("PVAC_PVCurrent_{letter}"))),
        );
    }
    for letter in STRINGS {
        // The reference requires both readings; a missing one gives a null power here instead of an error.
        let voltage = Num::of(field(logging, &format!("PVAC_PVMeasuredVoltage_{letter}")));
        let current = Num::of(field(logging, &format!("PVAC_PVCurrent_{letter}")));
        let power = voltage
            .zip(current)
            .map(|(voltage, current)| voltage.mul(current).to_value());
        block.insert(
            format!("PVAC_PVMeasuredPower_{letter}"),
            power.unwrap_or(Value::Null),
        );
    }
    for letter in STRINGS {
        let key = format!("PVAC_PVMeasuredVoltage_{letter}");
        block.insert(key.clone(), or_null(field(logging, &key)));
    }
    block.insert("PVAC_Pout".into(), or_null(field(status, "PVAC_Pout")));
    for letter in STRINGS {
        let state = pvs_status.map(|pvs_status| {
            let connected = truthy(field(pvs_status, &format!("PVS_String{letter}_Connected")));
            Value::from(if connected {
                "PV_Active"
            } else {
                "PV_Disabled"
            })
        });
        block.insert(
            format!("PVAC_PvState_{letter}"),
            state.unwrap_or(Value::Null),
        );
    }
    block.insert("PVAC_Qout".into(), Value::Null);
    block.insert("PVAC_State".into(), or_null(field(status, "PVAC_State")));
    block.insert("PVAC_VHvMinusChassisDC".into(), Value::Null);
    block.insert(
        "PVAC_VL1Ground".into(),
        or_null(field(logging, "PVAC_VL1Ground")),
    );
    block.insert(
        "PVAC_VL2Ground".into(),
        or_null(field(logging, "PVAC_VL2Ground")),
    );
    block.insert("PVAC_Vout".into(), or_null(field(status, "PVAC_Vout")));
    block.insert("alerts".into(), active_alerts(Some(pvac)));
    block.insert("PVI-PowerStatusSetpoint".into(), Value::Null);
    // The reference leaves the PVAC parent unset (the PVS block points at the PVAC instead).
    block.insert("componentParentDin".into(), Value::Null);
    block.insert("firmwareVersion".into(), Value::Null);
    block.insert("lastCommunicationTime".into(), Value::Null);
    block
}

fn pvs_block(pvs: &Value, din: &str, part: Option<&Value>, serial: Option<&Value>) -> Value {
    let status = field(Some(pvs), "PVS_Status");
    let mut block = Map::new();
    block.insert("PVS_EnableOutput".into(), Value::Null);
    block.insert(
        "PVS_SelfTestState".into(),
        or_null(field(status, "PVS_SelfTestState")),
    );
    block.insert("PVS_State".into(), or_null(field(status, "PVS_State")));
    for letter in STRINGS {
        let key = format!("PVS_String{letter}_Connected");
        block.insert(key.clone(), or_null(field(status, &key)));
    }
    block.insert("PVS_vLL".into(), or_null(field(status, "PVS_vLL")));
    block.insert("alerts".into(), active_alerts(Some(pvs)));
    block.insert(
        "componentParentDin".into(),
        Value::from(format!("PVAC--{din}")),
    );
    block.insert("firmwareVersion".into(), Value::Null);
    block.insert("lastCommunicationTime".into(), Value::Null);
    block.extend(identity(part, serial, 297));
    Value::Object(block)
}

/// `manufacturer`, `partNumber`, `serialNumber`, `teslaEnergyEcuAttributes` of a Tesla device.
pub(super) fn identity(
    part: Option<&Value>,
    serial: Option<&Value>,
    ecu: i64,
) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("manufacturer".into(), Value::from("TESLA"));
    map.insert("partNumber".into(), or_null(part));
    map.insert("serialNumber".into(), or_null(serial));
    map.insert("teslaEnergyEcuAttributes".into(), ecu_type(ecu));
    map
}
