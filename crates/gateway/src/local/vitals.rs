//! `/api/devices/vitals` protobuf → the vitals dictionary `{DIN: {name: value}}` (§1.8).

use prost::Message;
use serde_json::{Map, Value};

use super::vitals_wire::{
    Device, DevicesWithVitals, StringValue, Timestamp, device_attributes, device_vital,
};
use powerwall_model::Vitals;

/// Decodes a `teslapower.DevicesWithVitals` answer into the vitals dictionary.
///
/// The first entry of a DIN copies its identity fields; every entry adds its attributes, vitals
/// (by name) and non-empty alerts; a repeated DIN merges into the existing block. Entries without
/// a DIN and vitals without a name are skipped (nothing could address them).
pub fn decode_vitals(bytes: &[u8]) -> Result<Vitals, prost::DecodeError> {
    let message = DevicesWithVitals::decode(bytes)?;
    let mut vitals = Vitals::new();
    for entry in message.devices {
        let Some(device) = entry.device.and_then(|wrapper| wrapper.device) else {
            continue;
        };
        let Some(din) = device.din.as_ref().map(|din| din.value.clone()) else {
            continue;
        };
        let block = vitals.entry(din).or_insert_with(|| {
            let mut block = Map::new();
            copy_identity(&device, &mut block);
            Value::Object(block)
        });
        let Value::Object(block) = block else {
            continue;
        };
        if let Some(kind) = device
            .device_attributes
            .and_then(|attributes| attributes.kind)
        {
            let (key, value) = attributes_entry(kind);
            block.insert(key.to_owned(), value);
        }
        for vital in entry.vitals {
            if let Some(name) = vital.name {
                block.insert(name, vital_value(vital.value));
            }
        }
        if !entry.alerts.is_empty() {
            let alerts = entry.alerts.into_iter().map(Value::String).collect();
            block.insert("alerts".to_owned(), Value::Array(alerts));
        }
    }
    Ok(vitals)
}

/// The identity fields a DIN's first entry contributes, in the reference's key order.
fn copy_identity(device: &Device, block: &mut Map<String, Value>) {
    let strings: [(&str, &Option<StringValue>); 5] = [
        ("componentParentDin", &device.component_parent_din),
        ("partNumber", &device.part_number),
        ("serialNumber", &device.serial_number),
        ("manufacturer", &device.manufacturer),
        ("firmwareVersion", &device.firmware_version),
    ];
    for (key, field) in strings {
        if let Some(text) = field {
            block.insert(key.to_owned(), Value::from(text.value.clone()));
        }
    }
    let times: [(&str, &Option<Timestamp>); 2] = [
        ("firstCommunicationTime", &device.first_communication_time),
        ("lastCommunicationTime", &device.last_communication_time),
    ];
    for (key, field) in times {
        if let Some(time) = field {
            block.insert(key.to_owned(), Value::from(time.seconds));
        }
    }
}

/// The attribute record under its own key (`teslaEnergyEcuAttributes` → `{"ecuType": 207}`, …).
fn attributes_entry(kind: device_attributes::Kind) -> (&'static str, Value) {
    use device_attributes::Kind;
    let mut record = Map::new();
    let key = match kind {
        Kind::TeslaEnergyEcuAttributes(ecu) => {
            record.insert("ecuType".to_owned(), Value::from(ecu.ecu_type));
            "teslaEnergyEcuAttributes"
        }
        Kind::GeneratorAttributes(generator) => {
            record.insert(
                "nameplateRealPowerW".to_owned(),
                Value::from(generator.nameplate_real_power_w),
            );
            record.insert(
                "nameplateApparentPowerVa".to_owned(),
                Value::from(generator.nameplate_apparent_power_va),
            );
            "generatorAttributes"
        }
        Kind::PvInverterAttributes(inverter) => {
            record.insert(
                "nameplateRealPowerW".to_owned(),
                Value::from(inverter.nameplate_real_power_w),
            );
            "pvInverterAttributes"
        }
        Kind::MeterAttributes(meter) => {
            let locations = meter.meter_location.into_iter().map(Value::from).collect();
            record.insert("meterLocation".to_owned(), Value::Array(locations));
            "meterAttributes"
        }
    };
    (key, Value::Object(record))
}

/// The value of whichever oneof member is set; `null` when none is (or a float is not finite).
fn vital_value(value: Option<device_vital::Value>) -> Value {
    use device_vital::Value as Vital;
    match value {
        Some(Vital::IntValue(number)) => Value::from(number),
        Some(Vital::FloatValue(number)) => Value::from(number),
        Some(Vital::StringValue(text)) => Value::from(text),
        Some(Vital::BoolValue(flag)) => Value::from(flag),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::local::vitals_wire::{
        DeviceAttributes, DeviceVital, MeterAttributes, SiteControllerConnectedDevice,
        SiteControllerConnectedDeviceWithVitals,
    };

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../../testdata/local/simulator/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).expect("fixture");
        serde_json::from_str(&text).expect("fixture json")
    }

    fn fixture_bytes() -> Vec<u8> {
        let wrapper = fixture("api.devices.vitals.protobuf.json");
        let data = wrapper["data"].as_str().expect("data");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64");
        assert_eq!(Some(bytes.len() as u64), wrapper["length"].as_u64());
        bytes
    }

    #[test]
    fn simulator_fixture_decodes_to_the_reference_dictionary() {
        let decoded = decode_vitals(&fixture_bytes()).expect("decodes");
        let expected = fixture("api.devices.vitals.decoded.json");
        assert_eq!(Value::Object(decoded.clone()), expected);
        // Key order follows the reference too (device order, then field order within a block).
        let order = |value: &Value| -> Vec<String> {
            let mut keys = Vec::new();
            for (din, block) in value.as_object().expect("object") {
                keys.push(din.clone());
                keys.extend(block.as_object().expect("block").keys().cloned());
            }
            keys
        };
        assert_eq!(order(&Value::Object(decoded)), order(&expected));
    }

    #[test]
    fn truncated_or_garbage_input_is_an_error_not_a_panic() {
        let bytes = fixture_bytes();
        for cut in [1, 2, 7, bytes.len() / 3, bytes.len() - 1] {
            assert!(decode_vitals(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_vitals(&[0xff; 32]).is_err());
        assert!(decode_vitals(b"<html>404</html>").is_err());
        // Arbitrary byte soup must never panic, whatever it decodes to.
        let mut seed = 0x2545_f491_u32;
        for len in 0..300 {
            let soup: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed as u8
                })
                .collect();
            let _ = decode_vitals(&soup);
        }
    }

    #[test]
    fn repeated_din_merges_and_edge_values() {
        let device = |din: &str, attributes: Option<DeviceAttributes>| {
            Some(SiteControllerConnectedDevice {
                device: Some(Device {
                    din: Some(StringValue { value: din.into() }),
                    device_attributes: attributes,
                    ..Device::default()
                }),
            })
        };
        let vital = |name: Option<&str>, value| DeviceVital {
            name: name.map(str::to_owned),
            value,
        };
        let message = DevicesWithVitals {
            devices: vec![
                SiteControllerConnectedDeviceWithVitals {
                    device: device(
                        "NEURIO--1",
                        Some(DeviceAttributes {
                            kind: Some(device_attributes::Kind::MeterAttributes(MeterAttributes {
                                meter_location: vec![1, 2],
                            })),
                        }),
                    ),
                    vitals: vec![
                        vital(Some("a"), Some(device_vital::Value::IntValue(-3))),
                        vital(Some("none"), None),
                        vital(None, Some(device_vital::Value::BoolValue(true))),
                        vital(Some("nan"), Some(device_vital::Value::FloatValue(f64::NAN))),
                    ],
                    alerts: vec!["First".into()],
                },
                SiteControllerConnectedDeviceWithVitals {
                    device: None,
                    vitals: vec![vital(Some("orphan"), None)],
                    alerts: vec![],
                },
                SiteControllerConnectedDeviceWithVitals {
                    device: device("NEURIO--1", None),
                    vitals: vec![vital(
                        Some("b"),
                        Some(device_vital::Value::StringValue("x".into())),
                    )],
                    alerts: vec![],
                },
            ],
        };
        let decoded = decode_vitals(&message.encode_to_vec()).expect("decodes");
        let expected = serde_json::json!({
            "NEURIO--1": {
                "meterAttributes": {"meterLocation": [1, 2]},
                "a": -3, "none": null, "nan": null, "alerts": ["First"], "b": "x"
            }
        });
        assert_eq!(Value::Object(decoded), expected);
    }
}
