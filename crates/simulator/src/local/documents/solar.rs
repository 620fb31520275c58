//! The solar inverter: string split and `/api/solar_powerwall`.

use serde_json::{Value, json};

use super::super::fixtures::Fixtures;
use super::{battery_frequency, battery_voltage, num, set};
use crate::model::clock::rfc3339_micros;
use crate::model::reading::Snapshot;
use crate::model::topology::PW2_STRINGS;

/// One PV string of the solar inverter at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PvString {
    /// Whether the string is connected (string B is not, as in the captures).
    pub connected: bool,
    /// DC voltage.
    pub voltage: f64,
    /// DC current.
    pub current: f64,
    /// DC power.
    pub power: f64,
}

/// Splits solar production over the four strings A–D of the Powerwall 2 site's inverter
/// ([`PW2_STRINGS`], the captured proportions).
pub fn pv_strings(solar_w: f64) -> [PvString; 4] {
    let weights = PW2_STRINGS.map(|string| string.weight);
    let voltages = PW2_STRINGS.map(|string| string.voltage_v);
    let total: f64 = weights.iter().sum();
    let producing = solar_w > 0.0;
    let mut strings = [PvString {
        connected: false,
        voltage: 0.0,
        current: 0.0,
        power: 0.0,
    }; 4];
    for (index, string) in strings.iter_mut().enumerate() {
        let connected = weights[index] > 0.0;
        let power = if producing && connected {
            (solar_w * weights[index] / total).round()
        } else {
            0.0
        };
        let voltage = match (connected, producing) {
            (false, _) => 0.0,
            (true, true) => voltages[index],
            (true, false) => 10.3,
        };
        *string = PvString {
            connected,
            voltage,
            current: if voltage > 0.0 {
                (power / voltage * 100.0).round() / 100.0
            } else {
                0.0
            },
            power,
        };
    }
    strings
}

/// `/api/solar_powerwall`: inverter output and string vitals from the solar power.
pub fn solar_powerwall(snapshot: &Snapshot, fixtures: &Fixtures) -> Value {
    let mut doc = fixtures.solar_powerwall.clone();
    let solar_w = snapshot.flows.solar_w;
    let v_out = battery_voltage(snapshot) - 2.0;
    let strings: Vec<Value> = pv_strings(solar_w)
        .iter()
        .enumerate()
        .map(|(index, string)| {
            json!({
                "string_id": index + 1,
                "connected": string.connected,
                "measured_voltage": num(string.voltage),
                "current": num(string.current),
                "measured_power": num(string.power),
            })
        })
        .collect();
    let now = rfc3339_micros(snapshot.now_ns, snapshot.utc_offset_secs);
    let pvac = &mut doc["pvac_status"];
    set(pvac, "v_out", num(v_out));
    set(pvac, "f_out", num(battery_frequency(snapshot)));
    set(pvac, "p_out", num(solar_w));
    set(
        pvac,
        "i_out",
        num((solar_w.abs() / v_out * 100.0).round() / 100.0),
    );
    set(pvac, "string_vitals", Value::Array(strings));
    set(&mut doc["pvac_alerts"], "LastRxTime", json!(now));
    set(&mut doc["pvs_alerts"], "LastRxTime", json!(now));
    doc
}
