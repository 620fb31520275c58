//! Fan speeds (§3.10): PW2/PW+ inverter fans from the controller, PW3 fans from the PW3 blocks.

use serde_json::{Map, Value};

use super::TedapiInputs;
use super::msa::msa_entries;
use super::value::{field, items, key_text, lookup, signal_value, text, truthy};

/// The two PVAC fan signals.
const PVAC_FAN_SIGNALS: [&str; 2] = ["PVAC_Fan_Speed_Actual_RPM", "PVAC_Fan_Speed_Target_RPM"];
/// The PW3 fan signals (RPM, then duty %).
const PW3_FAN_SIGNALS: [&str; 4] = [
    "PCH_FanSpeed_A",
    "PCH_FanSpeed_B",
    "PCH_FanDuty_A",
    "PCH_FanDuty_B",
];

/// `PVAC--<part>--<serial>` → the fan signals reported for it, in first-seen order.
///
/// The V2026_06 query puts them in `esCan.bus.PVAC[].PVAC_Logging`, V2024_06 in `components.msa`;
/// the bus wins and msa only fills signals the bus did not report.
pub(crate) fn pvac_fans(controller: Option<&Value>) -> Vec<(String, Map<String, Value>)> {
    let mut fans: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut set = |key: String, name: &str, value: Value| {
        let position = fans
            .iter()
            .position(|(known, _)| *known == key)
            .unwrap_or_else(|| {
                fans.push((key, Map::new()));
                fans.len() - 1
            });
        let signals = &mut fans[position].1;
        if !signals.contains_key(name) {
            signals.insert(name.to_owned(), value);
        }
    };
    for pvac in items(lookup(controller, &["esCan", "bus", "PVAC"])) {
        let serial = field(Some(pvac), "packageSerialNumber");
        let logging = field(Some(pvac), "PVAC_Logging");
        if !truthy(serial) || truthy(field(logging, "isMIA")) {
            continue;
        }
        let key = format!(
            "PVAC--{}--{}",
            key_text(field(Some(pvac), "packagePartNumber")),
            key_text(serial)
        );
        for name in PVAC_FAN_SIGNALS {
            if let Some(value) = field(logging, name) {
                set(key.clone(), name, value.clone());
            }
        }
    }
    for entry in msa_entries(controller) {
        let key = format!(
            "PVAC--{}--{}",
            key_text(field(Some(entry.raw), "partNumber")),
            entry.serial
        );
        for signal in entry.signals() {
            let Some(name) =
                text(field(Some(signal), "name")).filter(|name| PVAC_FAN_SIGNALS.contains(name))
            else {
                continue;
            };
            let value = signal_value(signal);
            if !value.is_null() {
                set(key.clone(), name, value);
            }
        }
    }
    fans
}

/// `get_fan_speeds()`: PVAC fans, then `TEPINV--<din>` PW3 fans (omitted when all four are null).
pub fn fan_speeds(inputs: &TedapiInputs) -> Value {
    let mut result = Map::new();
    for (key, signals) in pvac_fans(inputs.controller_object()) {
        result.insert(key, Value::Object(signals));
    }
    for (key, block) in inputs.pw3_blocks().into_iter().flatten() {
        if !key.starts_with("TEPINV--") {
            continue;
        }
        let signals: Map<String, Value> = PW3_FAN_SIGNALS
            .iter()
            .map(|name| {
                (
                    (*name).to_owned(),
                    field(Some(block), name).cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        if signals.values().any(|value| !value.is_null()) {
            result.insert(key.clone(), Value::Object(signals));
        }
    }
    Value::Object(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bus_fans_win_and_msa_fills_the_gaps() {
        let controller = json!({
            "esCan": {"bus": {"PVAC": [
                {"packagePartNumber": "P", "packageSerialNumber": "S",
                 "PVAC_Logging": {"PVAC_Fan_Speed_Actual_RPM": 1180}},
                {"packagePartNumber": "P", "packageSerialNumber": "MIA",
                 "PVAC_Logging": {"isMIA": true, "PVAC_Fan_Speed_Actual_RPM": 1}},
            ]}},
            "components": {"msa": [{"partNumber": "P", "serialNumber": "S", "signals": [
                {"name": "PVAC_Fan_Speed_Actual_RPM", "value": 1},
                {"name": "PVAC_Fan_Speed_Target_RPM", "value": 1200},
            ]}]},
        });
        let inputs = TedapiInputs {
            controller: Some(&controller),
            ..Default::default()
        };
        assert_eq!(
            fan_speeds(&inputs),
            json!({"PVAC--P--S": {"PVAC_Fan_Speed_Actual_RPM": 1180, "PVAC_Fan_Speed_Target_RPM": 1200}})
        );
    }
}
