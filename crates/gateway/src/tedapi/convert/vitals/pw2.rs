//! Powerwall 2/+ blocks: `TETHC--*`, `TEPOD--*`, `TEPINV--*` from `esCan.bus.THC/POD/PINV[]`
//! paired by index, plus the battery modules' msa signals (§3.8.5).

use serde_json::{Map, Value};

use super::Blocks;
use super::pvac::identity;
use crate::tedapi::convert::msa::module_signals;
use crate::tedapi::convert::value::{
    Num, active_alerts, field, items, key_text, lookup, or_null, text, truthy,
};

/// POD signals the reference always reports as null on TEDAPI.
const POD_FIXED_NULL: [&str; 7] = [
    "POD_ActiveHeating",
    "POD_CCVhold",
    "POD_ChargeComplete",
    "POD_ChargeRequest",
    "POD_DischargeComplete",
    "POD_PermanentlyFaulted",
    "POD_PersistentlyFaulted",
];

/// PINV signals read from the module's msa entry, with the `PINV_Status` ones between them, in block order.
const PINV_KEYS: [&str; 19] = [
    "PINV_EnergyCharged",
    "PINV_EnergyDischarged",
    "PINV_Fout",
    "PINV_GridState",
    "PINV_HardwareEnableLine",
    "PINV_HeatsinkTemp",
    "PINV_LifetimeEnergyCharged",
    "PINV_LifetimeEnergyDischarged",
    "PINV_PllFrequency",
    "PINV_PllLocked",
    "PINV_Pnom",
    "PINV_Pout",
    "PINV_PowerLimiter",
    "PINV_Qout",
    "PINV_ReadyForGridForming",
    "PINV_State",
    "PINV_VSplit1",
    "PINV_VSplit2",
    "PINV_Vout",
];

/// Adds the THC, POD and PINV blocks of every THC entry with a package serial.
pub(super) fn add_powerwall2(
    blocks: &mut Blocks,
    config: Option<&Value>,
    controller: Option<&Value>,
) {
    let bus = lookup(controller, &["esCan", "bus"]);
    let thc_entries = items(field(bus, "THC"));
    let package_serials: Vec<&str> = thc_entries
        .iter()
        .filter_map(|thc| {
            text(field(Some(thc), "packageSerialNumber")).filter(|serial| !serial.is_empty())
        })
        .collect();
    let modules = module_signals(controller, &package_serials);
    let gateway = Value::from(format!("STSTSM--{}", key_text(field(config, "vin"))));
    for (index, thc) in thc_entries.iter().enumerate() {
        let serial = field(Some(thc), "packageSerialNumber");
        if !truthy(serial) {
            continue;
        }
        let part = field(Some(thc), "packagePartNumber");
        let serial_text = text(serial).unwrap_or_default();
        let din = format!("{}--{}", key_text(part), key_text(serial));
        let thc_key = format!("TETHC--{din}");
        let alerts = active_alerts(Some(thc));

        let mut thc_block = Map::new();
        thc_block.insert(
            "THC_AmbientTemp".into(),
            or_null(modules.ambient.get(serial_text)),
        );
        let state = modules
            .thc
            .get(serial_text)
            .and_then(|signals| signals.get("THC_State"));
        thc_block.insert("THC_State".into(), or_null(state));
        thc_block.insert("alerts".into(), alerts.clone());
        thc_block.extend(device_attributes(&gateway, part, serial, 224));

        let pod_signals = modules.pod.get(serial_text);
        let mut pod_block = pod_energy(items(field(bus, "POD")).get(index));
        for key in ["POD_available_charge_power", "POD_available_dischg_power"] {
            pod_block.insert(
                key.into(),
                or_null(pod_signals.and_then(|signals| signals.get(key))),
            );
        }
        pod_block.sort_keys();
        // Reference quirk kept: the POD block carries the THC entry's alerts, not its own.
        pod_block.insert("alerts".into(), alerts);
        pod_block.extend(device_attributes(
            &Value::from(thc_key.clone()),
            part,
            serial,
            226,
        ));

        let pinv = items(field(bus, "PINV")).get(index);
        let pinv_signals = modules.pinv.get(serial_text);
        let mut pinv_block = Map::new();
        for key in PINV_KEYS {
            let value = match key {
                "PINV_Fout" | "PINV_GridState" | "PINV_Pout" | "PINV_State" | "PINV_Vout" => {
                    lookup(pinv, &["PINV_Status", key])
                }
                "PINV_Pnom" => lookup(pinv, &["PINV_PowerCapability", key]),
                "PINV_VSplit1" | "PINV_VSplit2" => lookup(pinv, &["PINV_AcMeasurements", key]),
                _ => pinv_signals.and_then(|signals| signals.get(key)),
            };
            pinv_block.insert(key.into(), or_null(value));
        }
        pinv_block.insert("alerts".into(), active_alerts(pinv));
        pinv_block.extend(device_attributes(
            &Value::from(thc_key.clone()),
            part,
            serial,
            253,
        ));

        blocks.thc.push((thc_key, Value::Object(thc_block)));
        blocks
            .pod
            .push((format!("TEPOD--{din}"), Value::Object(pod_block)));
        blocks
            .pinv
            .push((format!("TEPINV--{din}"), Value::Object(pinv_block)));
    }
}

/// The POD energy signals (and fixed nulls) of one `esCan.bus.POD[]` entry; later sorted by name.
fn pod_energy(pod: Option<&Value>) -> Map<String, Value> {
    let energy = field(pod, "POD_EnergyStatus");
    let remaining = field(energy, "POD_nom_energy_remaining");
    let full = field(energy, "POD_nom_full_pack_energy");
    let to_be_charged = if truthy(remaining) && truthy(full) {
        Num::of(full)
            .zip(Num::of(remaining))
            .map(|(full, remaining)| full.sub(remaining).to_value())
    } else {
        None
    };
    let mut block = Map::new();
    for key in POD_FIXED_NULL
        .into_iter()
        .chain(["POD_enable_line", "POD_state"])
    {
        block.insert(key.into(), Value::Null);
    }
    block.insert("POD_nom_energy_remaining".into(), or_null(remaining));
    block.insert(
        "POD_nom_energy_to_be_charged".into(),
        to_be_charged.unwrap_or(Value::Null),
    );
    block.insert("POD_nom_full_pack_energy".into(), or_null(full));
    block
}

/// Parent, firmware, communication time and identity of a battery device block.
fn device_attributes(
    parent: &Value,
    part: Option<&Value>,
    serial: Option<&Value>,
    ecu: i64,
) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("componentParentDin".into(), parent.clone());
    map.insert("firmwareVersion".into(), Value::Null);
    map.insert("lastCommunicationTime".into(), Value::Null);
    map.extend(identity(part, serial, ecu));
    map
}
