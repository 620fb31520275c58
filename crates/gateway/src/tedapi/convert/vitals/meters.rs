//! Neurio and Tesla Remote Meter blocks, and their per-CT readings used by aggregates (§3.8.2).

use serde_json::{Map, Value, json};

use crate::tedapi::convert::value::{Num, field, items, lookup, num_or_zero, or_null, text};

/// Config `meters[].type` of a Neurio meter.
const NEURIO_TYPE: &str = "neurio_w2_tcp";
/// Config `meters[].type` values of Tesla Remote Meters.
const REMOTE_METER_TYPES: [&str; 2] = ["trm_mb", "trm_wifi"];

/// One configured meter, merged over every config entry sharing its serial.
#[derive(Debug, Clone)]
struct MeterConfig {
    kind: Option<String>,
    location: Vec<Value>,
    cts: Vec<bool>,
    scale_factor: Num,
}

impl MeterConfig {
    fn uses_ct(&self, index: usize) -> bool {
        self.cts.get(index).copied().unwrap_or(false)
    }
}

/// One current transformer reading of a configured CT.
#[derive(Debug, Clone)]
pub(crate) struct CtReading {
    /// Hierarchy key: `CT<i>` for Neurio, `<din>:<i>` for remote meters.
    pub(crate) key: String,
    /// The CT index within its meter.
    pub(crate) index: usize,
    /// Real power scaled by the configured factor (W).
    pub(crate) real_power: Num,
    /// Reactive power (VAR) as delivered.
    pub(crate) reactive_power: Value,
    /// Voltage (V) as delivered.
    pub(crate) voltage: Value,
    /// Current (A) as delivered.
    pub(crate) current: Value,
    /// Configured location of this CT (`site`, `solar`, …).
    pub(crate) location: Value,
    /// Remote meters only: the reading timestamp.
    pub(crate) timestamp: Value,
}

impl CtReading {
    /// Whether the CT is configured at `location`.
    pub(crate) fn is_at(&self, location: &str) -> bool {
        self.location.as_str() == Some(location)
    }
}

/// Config meters of the given types keyed by `connection.device_serial`, in first-seen order.
fn meter_configs(config: Option<&Value>, types: &[&str]) -> Vec<(String, MeterConfig)> {
    let mut configs: Vec<(String, MeterConfig)> = Vec::new();
    for meter in items(field(config, "meters")) {
        if !text(field(Some(meter), "type")).is_some_and(|kind| types.contains(&kind)) {
            continue;
        }
        let Some(serial) = text(lookup(Some(meter), &["connection", "device_serial"])) else {
            continue;
        };
        let location = or_null(field(Some(meter), "location"));
        let cts: Vec<bool> = items(field(Some(meter), "cts"))
            .iter()
            .map(|ct| ct.as_bool().unwrap_or(false))
            .collect();
        if let Some((_, existing)) = configs.iter_mut().find(|(known, _)| known == serial) {
            // A later entry for the same meter only switches on its own CTs and their location.
            for (index, _) in cts.iter().enumerate().filter(|(_, used)| **used) {
                if index < existing.cts.len() {
                    existing.cts[index] = true;
                    existing.location[index] = location.clone();
                }
            }
            continue;
        }
        let cts = if field(Some(meter), "cts").is_some() {
            cts
        } else {
            vec![false; 4]
        };
        configs.push((
            serial.to_owned(),
            MeterConfig {
                kind: text(field(Some(meter), "type")).map(str::to_owned),
                location: vec![location; 4.max(cts.len())],
                cts,
                scale_factor: Num::of(field(Some(meter), "real_power_scale_factor"))
                    .unwrap_or(Num::Int(1)),
            },
        ));
    }
    configs
}

fn find_config<'c>(configs: &'c [(String, MeterConfig)], serial: &str) -> Option<&'c MeterConfig> {
    configs
        .iter()
        .find(|(known, _)| known == serial)
        .map(|(_, config)| config)
}

/// Readings of the configured CTs of one meter's `dataRead[]`/`ctReadings[]`.
fn ct_readings(
    meter: Option<&MeterConfig>,
    cts: &[Value],
    key: impl Fn(usize) -> String,
    timestamp: &Value,
) -> Vec<(CtReading, Value, Value)> {
    let Some(meter) = meter else {
        return Vec::new();
    };
    cts.iter()
        .enumerate()
        .filter(|(index, _)| meter.uses_ct(*index))
        .map(|(index, ct)| {
            let reading = CtReading {
                key: key(index),
                index,
                real_power: num_or_zero(field(Some(ct), "realPowerW")).mul(meter.scale_factor),
                reactive_power: or_null(field(Some(ct), "reactivePowerVAR")),
                voltage: or_null(field(Some(ct), "voltageV")),
                current: or_null(field(Some(ct), "currentA")),
                location: meter.location.get(index).cloned().unwrap_or(Value::Null),
                timestamp: timestamp.clone(),
            };
            (
                reading,
                or_null(field(Some(ct), "energyExportedWs")),
                or_null(field(Some(ct), "energyImportedWs")),
            )
        })
        .collect()
}

/// `NEURIO--<serial>` blocks and the Neurio CT hierarchy (a later meter's `CT<i>` replaces an earlier one).
pub(crate) fn neurio_meters(
    config: Option<&Value>,
    document: Option<&Value>,
) -> (Vec<(String, Value)>, Vec<CtReading>) {
    let configs = meter_configs(config, &[NEURIO_TYPE]);
    let vin = or_null(field(config, "vin"));
    let mut blocks = Vec::new();
    let mut hierarchy: Vec<CtReading> = Vec::new();
    for (position, reading) in items(lookup(document, &["neurio", "readings"]))
        .iter()
        .enumerate()
    {
        // Readings without a serial are numbered from 1000, as the reference does.
        let serial = match field(Some(reading), "serial") {
            Some(Value::String(serial)) => Value::from(serial.as_str()),
            _ => Value::from(1000 + position),
        };
        let serial_text = serial
            .as_str()
            .map_or_else(|| serial.to_string(), str::to_owned);
        let meter = find_config(&configs, &serial_text);
        let timestamp = or_null(field(Some(reading), "timestamp"));
        let mut block = Map::new();
        let cts = items(field(Some(reading), "dataRead"));
        for (ct, _, _) in ct_readings(meter, cts, |index| format!("CT{index}"), &Value::Null) {
            let prefix = format!("NEURIO_CT{}_", ct.index);
            block.insert(format!("{prefix}InstRealPower"), ct.real_power.to_value());
            block.insert(
                format!("{prefix}InstReactivePower"),
                ct.reactive_power.clone(),
            );
            block.insert(format!("{prefix}InstVoltage"), ct.voltage.clone());
            block.insert(format!("{prefix}InstCurrent"), ct.current.clone());
            block.insert(format!("{prefix}Location"), ct.location.clone());
            match hierarchy.iter_mut().find(|known| known.key == ct.key) {
                Some(slot) => *slot = ct,
                None => hierarchy.push(ct),
            }
        }
        let manufacturer = meter
            .and_then(|meter| meter.kind.as_deref())
            .filter(|kind| *kind == NEURIO_TYPE)
            .map(|_| "NEURIO");
        block.extend(attributes(
            &vin,
            &Value::Null,
            timestamp,
            manufacturer,
            serial.clone(),
        ));
        blocks.push((format!("NEURIO--{serial_text}"), Value::Object(block)));
    }
    (blocks, hierarchy)
}

/// `TRM--<din>` blocks and the remote-meter CT hierarchy (`<din>:<i>`), when config declares one.
pub(crate) fn remote_meters(
    config: Option<&Value>,
    controller: Option<&Value>,
) -> (Vec<(String, Value)>, Vec<CtReading>) {
    let configs = meter_configs(config, &REMOTE_METER_TYPES);
    let mut blocks = Vec::new();
    let mut hierarchy = Vec::new();
    // The reference only asks for remote-meter data when config declares such a meter.
    if configs.is_empty() {
        return (blocks, hierarchy);
    }
    let vin = or_null(field(config, "vin"));
    for meter in items(lookup(controller, &["teslaRemoteMeter", "meters"])) {
        let Some(din) = text(field(Some(meter), "din")).filter(|din| !din.is_empty()) else {
            continue;
        };
        let reading = field(Some(meter), "reading");
        let timestamp = or_null(field(reading, "timestamp"));
        let meter_config = find_config(&configs, din);
        let mut block = Map::new();
        let cts = items(field(reading, "ctReadings"));
        for (ct, exported, imported) in ct_readings(
            meter_config,
            cts,
            |index| format!("{din}:{index}"),
            &timestamp,
        ) {
            let prefix = format!("TRM_CT{}_", ct.index);
            block.insert(format!("{prefix}InstRealPower"), ct.real_power.to_value());
            block.insert(
                format!("{prefix}InstReactivePower"),
                ct.reactive_power.clone(),
            );
            block.insert(format!("{prefix}InstVoltage"), ct.voltage.clone());
            block.insert(format!("{prefix}InstCurrent"), ct.current.clone());
            block.insert(format!("{prefix}EnergyExportedWs"), exported);
            block.insert(format!("{prefix}EnergyImportedWs"), imported);
            block.insert(format!("{prefix}Location"), ct.location.clone());
            hierarchy.push(ct);
        }
        let firmware = or_null(field(reading, "firmwareVersion"));
        let manufacturer = meter_config.map(|_| "TESLA");
        block.extend(attributes(
            &vin,
            &firmware,
            timestamp,
            manufacturer,
            Value::from(din),
        ));
        blocks.push((format!("TRM--{din}"), Value::Object(block)));
    }
    (blocks, hierarchy)
}

fn attributes(
    vin: &Value,
    firmware: &Value,
    timestamp: Value,
    manufacturer: Option<&str>,
    serial: Value,
) -> Map<String, Value> {
    let attributes = json!({
        "componentParentDin": vin,
        "firmwareVersion": firmware,
        "lastCommunicationTime": timestamp,
        "manufacturer": manufacturer,
        "meterAttributes": {"meterLocation": []},
        "serialNumber": serial,
    });
    match attributes {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
