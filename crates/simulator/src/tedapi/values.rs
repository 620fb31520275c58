//! Inputs shared by the TEDAPI documents: the instant and its electrical values, the split of
//! solar over PV strings and of battery power over Powerwalls, temperatures, fans, and the
//! GraphQL signal record.

use std::f64::consts::PI;

use serde_json::{Value, json};

use crate::local::documents::{battery_frequency, battery_voltage, grid_phase_voltage, pv_strings};
use crate::model::clock::{NANOS_PER_SEC, iso8601_seconds};
use crate::model::reading::Snapshot;
use crate::model::topology::PvInverterSpec;

/// One rendering pass: the snapshot plus values every document derives from it the same way.
pub struct Ctx<'a> {
    /// The model at the instant.
    pub snapshot: &'a Snapshot,
    /// 40-hex build hash of the running firmware.
    pub git_hash: &'a str,
    /// The local API's `/api/site_info` (site name, grid code, …), so both personas agree.
    pub site_info: &'a Value,
    /// Whole Unix seconds of the instant (signal timestamps).
    pub epoch: i64,
    /// `system.time`: ISO 8601 with the site's offset.
    pub time: String,
    /// Whether the grid is up.
    pub connected: bool,
    /// Grid line-to-neutral voltage on the main side (0 islanded).
    pub grid_v: f64,
    /// Line-to-neutral voltage on the home side (grid or, islanded, the Powerwalls).
    pub load_v: f64,
    /// Inverter line-to-line output voltage.
    pub inverter_v: f64,
    /// Frequency the inverters see.
    pub freq: f64,
    /// Outdoor temperature, °C.
    pub ambient_c: f64,
}

impl<'a> Ctx<'a> {
    /// Derives the shared values from a snapshot.
    pub fn new(snapshot: &'a Snapshot, git_hash: &'a str, site_info: &'a Value) -> Self {
        let connected = snapshot.grid_connected();
        let inverter_v = battery_voltage(snapshot);
        let grid_v = grid_phase_voltage(snapshot);
        Self {
            snapshot,
            git_hash,
            site_info,
            epoch: i64::try_from(snapshot.now_ns.div_euclid(NANOS_PER_SEC)).unwrap_or_default(),
            time: iso8601_seconds(snapshot.now_ns, snapshot.utc_offset_secs),
            connected,
            grid_v,
            load_v: if connected { grid_v } else { inverter_v / 2.0 },
            inverter_v,
            freq: battery_frequency(snapshot),
            ambient_c: ambient_c(snapshot),
        }
    }

    /// Firmware version without its short hash (`23.28.2`).
    pub fn version(&self) -> &str {
        self.snapshot.firmware.split(' ').next().unwrap_or_default()
    }

    /// Battery power of one Powerwall (its packs' share, expansions included), W.
    pub fn unit_battery_w(&self, unit: usize) -> f64 {
        let topology = &self.snapshot.topology;
        self.snapshot
            .packs
            .iter()
            .zip(&topology.packs)
            .filter(|(_, spec)| spec.unit == unit)
            .map(|(pack, _)| pack.p_out_w)
            .sum()
    }

    /// Readings of every string input of an inverter.
    pub fn strings(&self, inverter: &PvInverterSpec) -> Vec<StringReading> {
        let solar_w = self.snapshot.flows.solar_w;
        if inverter.host.is_none() {
            // The PVAC: exactly the split the local API's `/api/solar_powerwall` serves.
            return inverter
                .strings
                .iter()
                .zip(pv_strings(solar_w))
                .map(|(spec, string)| StringReading {
                    letter: spec.letter,
                    connected: string.connected,
                    voltage_v: string.voltage,
                    current_a: string.current,
                    power_w: string.power,
                })
                .collect();
        }
        let total: f64 = self
            .snapshot
            .topology
            .inverters
            .iter()
            .map(PvInverterSpec::weight)
            .sum();
        inverter
            .strings
            .iter()
            .map(|spec| {
                let power_w = if total > 0.0 {
                    solar_w.max(0.0) * spec.weight / total
                } else {
                    0.0
                };
                let voltage_v = if power_w > 0.0 { spec.voltage_v } else { 0.0 };
                StringReading {
                    letter: spec.letter,
                    connected: spec.connected(),
                    voltage_v,
                    current_a: if voltage_v > 0.0 {
                        power_w / voltage_v
                    } else {
                        0.0
                    },
                    power_w,
                }
            })
            .collect()
    }

    /// The gateway's active alerts.
    pub fn gateway_alerts(&self) -> Vec<&'static str> {
        let mut alerts = Vec::new();
        if self.connected {
            alerts.push("SystemConnectedToGrid");
        }
        alerts.push("FWUpdateSucceeded");
        if !self.snapshot.topology.kind.is_pw3() {
            alerts.push("PodCommissionTime");
        }
        alerts
    }
}

/// One PV string at the instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StringReading {
    /// String letter.
    pub letter: char,
    /// Whether a string is wired to the input.
    pub connected: bool,
    /// DC voltage (0 when not producing).
    pub voltage_v: f64,
    /// DC current.
    pub current_a: f64,
    /// DC power.
    pub power_w: f64,
}

/// Outdoor temperature: a daily swing around 15 °C peaking mid-afternoon, to 0.1 °C.
fn ambient_c(snapshot: &Snapshot) -> f64 {
    let local = snapshot.now_ns.div_euclid(NANOS_PER_SEC) + i128::from(snapshot.utc_offset_secs);
    let hour = local.rem_euclid(86_400) as f64 / 3600.0;
    let celsius = 15.0 + 6.0 * (2.0 * PI * (hour - 9.0) / 24.0).sin();
    (celsius * 10.0).round() / 10.0
}

/// Rounds to one decimal, as the gateway's temperature signals read.
pub fn tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Fan speed of power electronics working at `load` (0–1) of their rating: off when nearly idle.
pub fn fan_rpm(load: f64) -> f64 {
    if load < 0.1 {
        0.0
    } else {
        (1200.0 + 3300.0 * load.min(1.0)).round()
    }
}

/// `wh` in kWh, nudged up by an ulp or two where needed so that the client's truncating
/// `int(kWh × 1000)` (§3.8.9) gives the whole-Wh value back exactly.
pub fn kwh(wh: f64) -> f64 {
    let mut value = wh / 1000.0;
    if !wh.is_finite() || wh < 0.0 || wh.fract() != 0.0 {
        return value;
    }
    for _ in 0..4 {
        if (value * 1000.0).trunc() == wh {
            break;
        }
        value = f64::from_bits(value.to_bits() + 1);
    }
    value
}

/// A remaining energy for `full_wh` whose ratio gives `soe_pct` back exactly where floating
/// point allows, so `/api/system_status/soe` over TEDAPI (§3.2) equals the local API's value.
pub fn remaining_for_soe(soe_pct: f64, full_wh: f64) -> f64 {
    let first = soe_pct / 100.0 * full_wh;
    if !first.is_finite() || first <= 0.0 || full_wh <= 0.0 {
        return first;
    }
    let bits = first.to_bits();
    [0_i64, 1, -1, 2, -2, 3, -3]
        .into_iter()
        .map(|step| f64::from_bits(bits.saturating_add_signed(step)))
        .find(|candidate| candidate / full_wh * 100.0 == soe_pct)
        .unwrap_or(first)
}

/// GraphQL signal records (`{name, value, textValue, boolValue, timestamp}`): the value arrives
/// in exactly one of the three fields, the other two are `null` (§2.15).
pub struct Signals {
    at: i64,
    list: Vec<Value>,
}

impl Signals {
    /// An empty list stamped with `at` (Unix seconds).
    pub fn new(at: i64) -> Self {
        Self {
            at,
            list: Vec::new(),
        }
    }

    fn push(mut self, name: &str, value: Value, text: Value, flag: Value) -> Self {
        self.list.push(json!({
            "name": name, "value": value, "textValue": text, "boolValue": flag, "timestamp": self.at,
        }));
        self
    }

    /// A numeric signal.
    pub fn num(self, name: &str, value: f64) -> Self {
        self.push(name, json!(value), Value::Null, Value::Null)
    }

    /// An enum-text signal.
    pub fn text(self, name: &str, text: &str) -> Self {
        self.push(name, Value::Null, json!(text), Value::Null)
    }

    /// A boolean signal.
    pub fn flag(self, name: &str, flag: bool) -> Self {
        self.push(name, Value::Null, Value::Null, json!(flag))
    }

    /// The records.
    pub fn finish(self) -> Vec<Value> {
        self.list
    }
}

/// A component entry: part and serial (`None` for the placeholders), signals, active alerts.
pub fn component(part_serial: Option<(&str, &str)>, signals: Signals, alerts: &[&str]) -> Value {
    let alerts: Vec<Value> = alerts.iter().map(|name| json!({ "name": name })).collect();
    let (part, serial) =
        part_serial.map_or((Value::Null, Value::Null), |(p, s)| (json!(p), json!(s)));
    json!({ "partNumber": part, "serialNumber": serial, "signals": signals.finish(), "activeAlerts": alerts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kwh_survives_truncation() {
        for wh in [
            0.0, 1.0, 6232.0, 8527.0, 13_519.0, 13_560.0, 25_995.0, 54_040.0,
        ] {
            assert_eq!((kwh(wh) * 1000.0).trunc(), wh, "{wh}");
            assert!((kwh(wh) - wh / 1000.0).abs() < 1e-12);
        }
        for wh in 0..30_000 {
            let wh = f64::from(wh);
            assert_eq!((kwh(wh) * 1000.0).trunc(), wh, "{wh}");
        }
    }

    #[test]
    fn remaining_gives_the_soe_back() {
        for soe in [23.975388097174584, 52.5, 81.0, 100.0, 5.95, 33.3333333] {
            let remaining = remaining_for_soe(soe, 25_995.0);
            assert_eq!(remaining / 25_995.0 * 100.0, soe);
        }
    }

    #[test]
    fn fans_idle_then_scale() {
        assert_eq!(fan_rpm(0.05), 0.0);
        assert_eq!(fan_rpm(0.5), 2850.0);
        assert_eq!(fan_rpm(3.0), 4500.0);
    }
}
