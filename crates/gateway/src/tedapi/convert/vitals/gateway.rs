//! Gateway-hosted blocks: `STSTSM--*` (§3.8.4), `TESYNC--*` (§3.8.6), `TEMSA--*` (§3.8.7) and the
//! gateway meter record `TESLA--<serial>` (§3.8.8).

use serde_json::{Map, Value, json};

use super::Blocks;
use super::pvac::identity;
use crate::tedapi::convert::msa::{MsaEntry, msa_entries};
use crate::tedapi::convert::value::{
    Num, active_alerts, field, items, key_text, lookup, or_null, signal_value, text, truthy,
};

/// Islander signals copied into the synchroniser block, in block order.
const ISLAND_KEYS: [&str; 24] = [
    "ISLAND_FreqL1_Load",
    "ISLAND_FreqL1_Main",
    "ISLAND_FreqL2_Load",
    "ISLAND_FreqL2_Main",
    "ISLAND_FreqL3_Load",
    "ISLAND_FreqL3_Main",
    "ISLAND_GridConnected",
    "ISLAND_GridState",
    "ISLAND_L1L2PhaseDelta",
    "ISLAND_L1L3PhaseDelta",
    "ISLAND_L1MicrogridOk",
    "ISLAND_L2L3PhaseDelta",
    "ISLAND_L2MicrogridOk",
    "ISLAND_L3MicrogridOk",
    "ISLAND_PhaseL1_Main_Load",
    "ISLAND_PhaseL2_Main_Load",
    "ISLAND_PhaseL3_Main_Load",
    "ISLAND_ReadyForSynchronization",
    "ISLAND_VL1N_Load",
    "ISLAND_VL1N_Main",
    "ISLAND_VL2N_Load",
    "ISLAND_VL2N_Main",
    "ISLAND_VL3N_Load",
    "ISLAND_VL3N_Main",
];

/// Adds `STSTSM--<vin>` with the gateway's active alerts (from the basic status).
pub(super) fn add_gateway(blocks: &mut Blocks, config: Option<&Value>, status: Option<&Value>) {
    let vin = field(config, "vin");
    let vin_text = text(vin);
    let mut block = Map::new();
    block.insert("STSTSM-Location".into(), Value::from("Gateway"));
    block.insert("alerts".into(), active_alerts(lookup(status, &["control"])));
    block.insert("firmwareVersion".into(), Value::Null);
    block.insert("lastCommunicationTime".into(), Value::Null);
    let part = vin_text
        .and_then(|vin| vin.split("--").next())
        .map(Value::from);
    let serial = vin_text
        .and_then(|vin| vin.rsplit("--").next())
        .map(Value::from);
    block.extend(identity(part.as_ref(), serial.as_ref(), 207));
    blocks
        .gateway
        .push((format!("STSTSM--{}", key_text(vin)), Value::Object(block)));
}

/// `METER_{X|Y}_*` keys of one synchroniser meter, in block order.
fn sync_meter_keys(meter: char) -> Vec<String> {
    let mut keys = Vec::new();
    for phase in ['A', 'B', 'C'] {
        for measurement in ["I", "InstReactivePower", "InstRealPower"] {
            keys.push(format!("METER_{meter}_CT{phase}_{measurement}"));
        }
    }
    keys.push(format!("METER_{meter}_LifetimeEnergyExport"));
    keys.push(format!("METER_{meter}_LifetimeEnergyImport"));
    for line in 1..=3 {
        keys.push(format!("METER_{meter}_VL{line}N"));
    }
    keys
}

/// Adds `TESYNC--<part>--<serial>`, emitted even without a sync board (`TESYNC--None--None`).
pub(super) fn add_synchroniser(
    blocks: &mut Blocks,
    config: Option<&Value>,
    controller: Option<&Value>,
) {
    let sync = lookup(controller, &["esCan", "bus", "SYNC"]);
    let islander = lookup(controller, &["esCan", "bus", "ISLANDER"]);
    let measurements = field(islander, "ISLAND_AcMeasurements");
    let mut block = Map::new();
    for key in ISLAND_KEYS {
        let value = if key == "ISLAND_GridConnected" {
            lookup(islander, &["ISLAND_GridConnection", key])
        } else {
            field(measurements, key)
        };
        block.insert(key.into(), or_null(value));
    }
    for meter in ['X', 'Y'] {
        let source = field(sync, &format!("METER_{meter}_AcMeasurements"));
        for key in sync_meter_keys(meter) {
            let value = or_null(field(source, &key));
            block.insert(key, value);
        }
    }
    let serial = field(sync, "packageSerialNumber");
    let sync_entries: Vec<MsaEntry> = msa_entries(controller)
        .into_iter()
        .filter(|entry| Some(entry.serial) == text(serial))
        .collect();
    for name in ["SYNC_ExternallyPowered", "SYNC_SiteSwitchEnabled"] {
        let value = sync_entries
            .iter()
            .flat_map(|entry| entry.signals())
            .find_map(|signal| {
                let value = signal_value(signal);
                (text(field(Some(signal), "name")) == Some(name) && !value.is_null())
                    .then_some(value)
            });
        block.insert(name.into(), value.unwrap_or(Value::Null));
    }
    block.insert("SYNC_Uptime".into(), uptime_value(&sync_entries));
    block.insert("alerts".into(), active_alerts(sync));
    block.insert(
        "componentParentDin".into(),
        Value::from(format!("STSTSM--{}", key_text(field(config, "vin")))),
    );
    block.insert("firmwareVersion".into(), Value::Null);
    let part = field(sync, "packagePartNumber");
    block.extend(identity(part, serial, 259));
    let key = format!("TESYNC--{}--{}", key_text(part), key_text(serial));
    blocks.sync.push((key, Value::Object(block)));
}

/// The uptime signal as delivered (integer milliseconds stay integers).
fn uptime_value(sync_entries: &[MsaEntry]) -> Value {
    sync_entries
        .iter()
        .flat_map(|entry| entry.signals())
        .filter(|signal| text(field(Some(signal), "name")) == Some("SYNC_Uptime"))
        .find_map(|signal| {
            Num::of(field(Some(signal), "value"))
                .filter(|ms| ms.as_f64().is_finite() && ms.as_f64() >= 0.0)
        })
        .map_or(Value::Null, Num::to_value)
}

/// `METER_Z_*` keys of the Backup Switch block, with the msa signal each one reads.
fn backup_switch_keys() -> Vec<(String, String)> {
    let mut keys = Vec::new();
    for phase in ['A', 'B', 'C'] {
        for measurement in ["I", "InstReactivePower", "InstRealPower"] {
            let key = format!("METER_Z_CT{phase}_{measurement}");
            keys.push((key.clone(), key));
        }
    }
    for direction in ["Export", "Import"] {
        let key = format!("METER_Z_LifetimeEnergy{direction}");
        keys.push((key.clone(), key));
    }
    for line in 1..=3 {
        keys.push((format!("METER_Z_VL{line}N"), format!("METER_Z_VL{line}G")));
    }
    keys
}

/// The Backup Switch as found on the bus or in `components.msa`.
struct BackupSwitch<'a> {
    part: Option<&'a Value>,
    serial: &'a Value,
    meter: Map<String, Value>,
    alerts: Value,
}

/// `esCan.bus.MSA` when it has a serial; else (PW3 / full query) the first msa entry with `METER_Z` signals.
fn find_backup_switch(controller: Option<&Value>) -> Option<BackupSwitch<'_>> {
    let msa = lookup(controller, &["esCan", "bus", "MSA"]);
    if let Some(serial) = field(msa, "packageSerialNumber").filter(|serial| truthy(Some(serial))) {
        let measurements = field(msa, "METER_Z_AcMeasurements");
        // Firmware quirk kept: the bus message carries METER_Z_VL*G, so the VL*N keys stay null here.
        let meter = backup_switch_keys().into_iter().map(|(key, _)| {
            let value = or_null(field(measurements, &key));
            (key, value)
        });
        return Some(BackupSwitch {
            part: field(msa, "packagePartNumber"),
            serial,
            meter: meter.collect(),
            alerts: active_alerts(msa),
        });
    }
    let entry = msa_entries(controller).into_iter().find(has_meter_z)?;
    let meter = backup_switch_keys().into_iter().map(|(key, signal)| {
        let value = entry.number_signal(&signal).cloned().unwrap_or(Value::Null);
        (key, value)
    });
    let alerts = items(field(Some(entry.raw), "activeAlerts"))
        .iter()
        .filter_map(|alert| field(Some(alert), "name").cloned())
        .collect();
    Some(BackupSwitch {
        part: field(Some(entry.raw), "partNumber"),
        serial: field(Some(entry.raw), "serialNumber")?,
        meter: meter.collect(),
        alerts: Value::Array(alerts),
    })
}

/// Adds `TEMSA--<part>--<serial>` (when a Backup Switch is found) and `TESLA--<serial>`.
pub(super) fn add_backup_switch(
    blocks: &mut Blocks,
    config: Option<&Value>,
    controller: Option<&Value>,
) {
    let parent = Value::from(format!("STSTSM--{}", key_text(field(config, "vin"))));
    let switch = find_backup_switch(controller);
    let serial = switch.as_ref().map(|switch| switch.serial.clone());
    if let Some(BackupSwitch {
        part,
        serial,
        mut meter,
        alerts,
    }) = switch
    {
        meter.insert("alerts".into(), alerts);
        meter.insert("componentParentDin".into(), parent.clone());
        meter.insert("firmwareVersion".into(), Value::Null);
        meter.extend(identity(part, Some(serial), 300));
        let key = format!("TEMSA--{}--{}", key_text(part), key_text(Some(serial)));
        blocks.backup_switch.push((key, Value::Object(meter)));
    }
    // `TESLA--None` without a Backup Switch is kept: it is where the gateway DIN appears as parent.
    blocks.tesla.push((
        format!("TESLA--{}", key_text(serial.as_ref())),
        json!({
            "componentParentDin": parent,
            "lastCommunicationTime": null,
            "manufacturer": "TESLA",
            "meterAttributes": {"meterLocation": [1]},
            "serialNumber": serial,
        }),
    ));
}

fn has_meter_z(entry: &MsaEntry) -> bool {
    entry.signals().iter().any(|signal| {
        text(field(Some(signal), "name")).is_some_and(|name| name.starts_with("METER_Z"))
    })
}
