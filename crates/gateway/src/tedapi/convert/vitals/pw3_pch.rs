//! PW3 power conversion (`components.pch`): the `PVAC--<din>` and `PVS--<din>` blocks and the AC
//! readings shared with `TEPINV--<din>` (§3.8.9).

use serde_json::{Map, Value};

use crate::tedapi::convert::value::{Num, field, items, or_null, text, truthy};

/// PV string letters of a PW3 (six MPPT inputs).
const STRINGS: [char; 6] = ['A', 'B', 'C', 'D', 'E', 'F'];

/// The AC readings of the power conversion hardware (last delivered value of each).
#[derive(Debug, Default)]
pub(super) struct AcReadings {
    pub(super) frequency: Value,
    pub(super) voltage_an: Value,
    pub(super) voltage_bn: Value,
    pub(super) voltage_ab: Value,
    pub(super) battery_power: Value,
    pub(super) mode: Value,
}

/// One PV string as scanned: state text, voltage and current (negative readings count as 0).
#[derive(Debug, Clone)]
struct PvString {
    state: Value,
    voltage: Num,
    current: Num,
}

/// The PVAC and PVS blocks of one Powerwall 3, and its AC readings.
pub(super) fn pch_blocks(
    pch: &[Value],
    din: &str,
) -> (Map<String, Value>, Map<String, Value>, AcReadings) {
    let mut ac = AcReadings::default();
    let mut strings: Vec<(char, PvString)> = Vec::new();
    for signal in pch
        .iter()
        .flat_map(|entry| items(field(Some(entry), "signals")))
    {
        let name = text(field(Some(signal), "name")).unwrap_or_default();
        let value = or_null(field(Some(signal), "value"));
        match name {
            "PCH_AcFrequency" => ac.frequency = value,
            "PCH_AcVoltageAN" => ac.voltage_an = value,
            "PCH_AcVoltageBN" => ac.voltage_bn = value,
            "PCH_AcVoltageAB" => ac.voltage_ab = value,
            "PCH_BatteryPower" => ac.battery_power = value,
            "PCH_AcMode" => ac.mode = or_null(field(Some(signal), "textValue")),
            _ => scan_string(&mut strings, name, signal),
        }
    }
    let mut pvac = Map::new();
    pvac.insert("PVAC_Fout".into(), ac.frequency.clone());
    pvac.insert("PVAC_VL1Ground".into(), ac.voltage_an.clone());
    pvac.insert("PVAC_VL2Ground".into(), ac.voltage_bn.clone());
    pvac.insert("PVAC_Vout".into(), ac.voltage_ab.clone());
    // Reference quirk kept: the PW3 "inverter output" is the battery power, not the PV power.
    pvac.insert("PVAC_Pout".into(), ac.battery_power.clone());
    pvac.insert("PVAC_State".into(), ac.mode.clone());
    let mut pvs = Map::new();
    // Strings the gateway reported come first, then the identity, then defaults for the rest.
    for (letter, string) in &strings {
        add_string(&mut pvac, &mut pvs, *letter, string);
    }
    let (part, serial) = din.split_once("--").unwrap_or((din, ""));
    pvac.insert("manufacturer".into(), Value::from("TESLA"));
    pvac.insert("partNumber".into(), Value::from(part));
    pvac.insert("serialNumber".into(), Value::from(serial));
    let unknown = PvString {
        state: Value::from("Unknown"),
        voltage: Num::Int(0),
        current: Num::Int(0),
    };
    for letter in STRINGS
        .into_iter()
        .filter(|letter| !strings.iter().any(|(seen, _)| seen == letter))
    {
        add_string(&mut pvac, &mut pvs, letter, &unknown);
    }
    let mut sorted_pvs = Map::new();
    for letter in STRINGS {
        let key = format!("PVS_String{letter}_Connected");
        sorted_pvs.insert(key.clone(), or_null(pvs.get(&key)));
    }
    (pvac, sorted_pvs, ac)
}

fn scan_string(strings: &mut Vec<(char, PvString)>, name: &str, signal: &Value) {
    let (letter, reading) = if let Some(letter) = name.strip_prefix("PCH_PvState_") {
        (letter, "state")
    } else if let Some(letter) = name.strip_prefix("PCH_PvVoltage") {
        (letter, "voltage")
    } else if let Some(letter) = name.strip_prefix("PCH_PvCurrent") {
        (letter, "current")
    } else {
        return;
    };
    let Some(letter) = letter
        .chars()
        .next()
        .filter(|letter| letter.len_utf8() == 1 && STRINGS.contains(letter))
    else {
        return;
    };
    if !strings.iter().any(|(seen, _)| *seen == letter) {
        let fresh = PvString {
            state: Value::from("Unknown"),
            voltage: Num::Int(0),
            current: Num::Int(0),
        };
        strings.push((letter, fresh));
    }
    let Some((_, string)) = strings.iter_mut().find(|(seen, _)| *seen == letter) else {
        return;
    };
    let positive = || {
        Num::of(field(Some(signal), "value"))
            .filter(|value| value.as_f64() > 0.0)
            .unwrap_or(Num::Int(0))
    };
    match reading {
        "state" => {
            let state = field(Some(signal), "textValue").filter(|state| truthy(Some(state)));
            string.state = state.cloned().unwrap_or_else(|| Value::from("Unknown"));
        }
        "voltage" => string.voltage = positive(),
        _ => string.current = positive(),
    }
}

fn add_string(
    pvac: &mut Map<String, Value>,
    pvs: &mut Map<String, Value>,
    letter: char,
    string: &PvString,
) {
    pvac.insert(format!("PVAC_PvState_{letter}"), string.state.clone());
    pvac.insert(
        format!("PVAC_PVMeasuredVoltage_{letter}"),
        string.voltage.to_value(),
    );
    pvac.insert(
        format!("PVAC_PVCurrent_{letter}"),
        string.current.to_value(),
    );
    pvac.insert(
        format!("PVAC_PVMeasuredPower_{letter}"),
        string.voltage.mul(string.current).to_value(),
    );
    let active = string
        .state
        .as_str()
        .is_some_and(|state| state.contains("Pv_Active"));
    pvs.insert(format!("PVS_String{letter}_Connected"), Value::Bool(active));
}
