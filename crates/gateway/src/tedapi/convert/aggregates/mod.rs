//! `/api/meters/aggregates` from the DeviceController (§3.6).
//!
//! Power comes from `control.meterAggregates`; voltages and currents from whichever meter
//! hardware the site has (synchroniser meters, Neurio, Tesla Remote Meter, inverters).

mod sections;

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::TedapiInputs;
use super::clock::parse_gateway_time;
use super::value::{Num, embedded, field, items, lookup, sum, text};
use super::vitals::{CtReading, neurio_meters, remote_meters};
use sections::{Section, battery_section, load_section, site_section, solar_section};

/// The reference's aggregates template: zeros, `0001-01-01` phase times, meter timeouts.
static TEMPLATE: LazyLock<Value> = LazyLock::new(|| {
    embedded(include_str!(
        "../../../../../../testdata/tedapi/stubs/api.meters.aggregates.template.json"
    ))
});

/// The four meter sections, in document order.
const SECTIONS: [&str; 4] = ["site", "battery", "load", "solar"];

/// `/api/meters/aggregates`; `None` unless config and the basic status are objects.
pub fn meters_aggregates(inputs: &TedapiInputs) -> Option<Value> {
    let config = inputs.config_object()?;
    let status = inputs.status_object()?;
    let Value::Object(mut document) = TEMPLATE.clone() else {
        return None;
    };
    let (_, neurio) = neurio_meters(Some(config), Some(status));
    let (_, remote) = remote_meters(Some(config), inputs.controller_object());
    let neurio_present = !items(lookup(Some(status), &["neurio", "readings"])).is_empty();
    let pw3 = inputs.pw3_blocks();

    let site = site_section(
        status,
        meter_power(status, "SITE"),
        neurio_present.then_some(&neurio[..]),
        &remote,
    );
    write_section(&mut document, "site", site);
    write_section(
        &mut document,
        "battery",
        battery_section(status, meter_power(status, "BATTERY"), pw3),
    );
    write_section(
        &mut document,
        "load",
        load_section(status, meter_power(status, "LOAD")),
    );
    let gateway_solar = meter_power(status, "SOLAR");
    write_section(
        &mut document,
        "solar",
        solar_section(status, gateway_solar, pw3, &remote),
    );

    let time = lookup(Some(status), &["system", "time"])
        .cloned()
        .unwrap_or(Value::Null);
    for name in SECTIONS {
        if let Some(Value::Object(section)) = document.get_mut(name) {
            section.insert("last_communication_time".into(), time.clone());
        }
    }
    hold_solar_during_meter_dropout(&mut document, status, &remote, gateway_solar);
    if let Some(native) = inputs.native_aggregates {
        merge_native_energy(&mut document, native);
    }
    Some(Value::Object(document))
}

/// `P(LOC)`: `realPowerW` of the `meterAggregates` entry whose upper-cased location is `location`.
fn meter_power<'a>(status: &'a Value, location: &str) -> Option<&'a Value> {
    items(lookup(Some(status), &["control", "meterAggregates"]))
        .iter()
        .find(|entry| {
            text(field(Some(entry), "location"))
                .is_some_and(|known| known.to_uppercase() == location)
        })
        .and_then(|entry| field(Some(entry), "realPowerW"))
}

/// Line-to-line voltage from up to three line-to-neutral readings (`VLL`, §3.6).
///
/// Only readings above 100 V count: one is a single phase, two a split phase (their sum), three a
/// three-phase supply (mean of the pairwise `sqrt(a² + b² + ab)`). None: the plain sum.
pub(crate) fn line_voltage(values: [Option<Num>; 3]) -> Num {
    let active: Vec<Num> = values
        .iter()
        .flatten()
        .copied()
        .filter(|value| !value.is_zero() && value.as_f64().abs() > 100.0)
        .collect();
    match active[..] {
        [] => sum(values.iter().map(|value| value.unwrap_or(Num::Int(0)))),
        [single] => single,
        [first, second] => first.add(second),
        [first, second, third, ..] => {
            let pair = |a: Num, b: Num| a.mul(a).add(b.mul(b)).add(a.mul(b)).as_f64().sqrt();
            Num::Float((pair(first, second) + pair(second, third) + pair(third, first)) / 3.0)
        }
    }
}

fn write_section(document: &mut Map<String, Value>, name: &str, section: Section) {
    let Some(Value::Object(target)) = document.get_mut(name) else {
        return;
    };
    let average_current = section.current.map_or(Value::Null, Num::to_value);
    target.insert(
        "instant_power".into(),
        section.power.cloned().unwrap_or(Value::Null),
    );
    target.insert(
        "instant_average_voltage".into(),
        section.voltage.map_or(Value::Null, Num::to_value),
    );
    target.insert("instant_average_current".into(), average_current.clone());
    if let Some(currents) = section.phase_currents {
        for (key, current) in ["i_a_current", "i_b_current", "i_c_current"]
            .into_iter()
            .zip(currents)
        {
            target.insert(key.into(), current.map_or(Value::Null, Num::to_value));
        }
    }
    target.insert("instant_total_current".into(), average_current);
    target.insert("num_meters_aggregated".into(), Value::from(section.meters));
    target.insert("disclaimer".into(), Value::from(section.disclaimer));
}

/// Copies lifetime energies from the gateway's own aggregates (§2.14) and says so in the disclaimer.
fn merge_native_energy(document: &mut Map<String, Value>, native: &Value) {
    for name in SECTIONS {
        let Some(Value::Object(source)) = field(Some(native), name) else {
            continue;
        };
        let Some(Value::Object(target)) = document.get_mut(name) else {
            continue;
        };
        for key in ["energy_exported", "energy_imported"] {
            if let Some(value) = source.get(key).filter(|value| value.is_number()) {
                target.insert(key.into(), value.clone());
            }
        }
        append_disclaimer(target, "energy from gateway local API");
    }
}

/// Appends a note to a section's disclaimer, joined with `"; "`.
fn append_disclaimer(section: &mut Map<String, Value>, note: &str) {
    let text = match section
        .get("disclaimer")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
    {
        Some(existing) => format!("{existing}; {note}"),
        None => note.to_owned(),
    };
    section.insert("disclaimer".into(), Value::from(text));
}

// The SolarMeterComms hold (§3.6): bridge a Wi-Fi remote solar meter's short dropouts.
//
// A Wi-Fi Tesla Remote Meter on the solar feed drops out for 8–28 s every few minutes; the gateway
// then reports solar ≈ 0 W and moves that power into load. While the `SolarMeterComms` alert is up
// and the meter's last reading is fresh, the reading is used instead.

/// The gateway alert raised while the solar meter is unreachable.
const DROPOUT_ALERT: &str = "SolarMeterComms";
/// Solar readings up to this many watts count as "dropped out".
const DROPOUT_MAX_SOLAR_W: f64 = 10.0;
/// A held reading may be at most this old (and at most this far in the future), in seconds.
const MAX_READING_AGE_S: f64 = 60.0;

/// Replaces a dropped-out solar reading with the remote meter's; leaves everything alone otherwise.
fn hold_solar_during_meter_dropout(
    document: &mut Map<String, Value>,
    status: &Value,
    remote: &[CtReading],
    gateway_solar: Option<&Value>,
) {
    let alerts = items(lookup(Some(status), &["control", "alerts", "active"]));
    if !alerts
        .iter()
        .any(|alert| alert.as_str() == Some(DROPOUT_ALERT))
    {
        return;
    }
    let solar_power = document
        .get("solar")
        .and_then(|solar| solar.get("instant_power"));
    let dropped_out = match solar_power {
        None | Some(Value::Null) => true,
        Some(Value::Number(number)) => number
            .as_f64()
            .is_some_and(|watts| (0.0..=DROPOUT_MAX_SOLAR_W).contains(&watts)),
        Some(_) => false,
    };
    let solar_cts: Vec<&CtReading> = remote.iter().filter(|ct| ct.is_at("solar")).collect();
    if !dropped_out || solar_cts.is_empty() {
        return;
    }
    let held = sum(solar_cts.iter().map(|ct| ct.real_power));
    if held.as_f64() <= 0.0 {
        return;
    }
    let Some(gateway_time) =
        text(lookup(Some(status), &["system", "time"])).and_then(parse_gateway_time)
    else {
        return;
    };
    let mut ages = Vec::with_capacity(solar_cts.len());
    for ct in &solar_cts {
        let Some(read_at) = ct.timestamp.as_str().and_then(parse_gateway_time) else {
            return;
        };
        ages.push(gateway_time.epoch_seconds() - read_at.epoch_seconds());
    }
    let oldest = ages.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let newest = ages.iter().copied().fold(f64::INFINITY, f64::min);
    if oldest > MAX_READING_AGE_S || newest < -MAX_READING_AGE_S {
        return;
    }
    if let Some(Value::Object(solar)) = document.get_mut("solar") {
        solar.insert("instant_power".into(), held.to_value());
        recompute_current(solar, held);
        // Whole seconds; ages are bounded by the ±60 s check above.
        let age = oldest.max(0.0).round_ties_even() as i64;
        append_disclaimer(
            solar,
            &format!("solar held from remote meter reading during {DROPOUT_ALERT} (age {age}s)"),
        );
    }
    if let Some(Value::Object(load)) = document.get_mut("load") {
        let Some(load_power) = Num::of(load.get("instant_power")) else {
            return;
        };
        let moved = held.sub(Num::of(gateway_solar).unwrap_or(Num::Int(0)));
        let corrected = load_power.add(moved);
        load.insert("instant_power".into(), corrected.to_value());
        recompute_current(load, corrected);
    }
}

/// Average and total current = P / V when the section has a non-zero voltage.
fn recompute_current(section: &mut Map<String, Value>, power: Num) {
    let voltage =
        Num::of(section.get("instant_average_voltage")).filter(|voltage| !voltage.is_zero());
    if let Some(current) = voltage.and_then(|voltage| power.div(voltage)) {
        section.insert("instant_average_current".into(), current.to_value());
        section.insert("instant_total_current".into(), current.to_value());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_voltage_by_number_of_live_phases() {
        let v = |value: f64| Some(Num::Float(value));
        assert_eq!(
            line_voltage([v(120.2), v(120.3), Some(Num::Int(0))]),
            Num::Float(240.5)
        );
        assert_eq!(line_voltage([v(230.0), None, None]), Num::Float(230.0));
        assert_eq!(
            line_voltage([Some(Num::Int(0)), None, Some(Num::Int(0))]),
            Num::Int(0)
        );
        assert_eq!(line_voltage([v(40.0), v(50.0), None]), Num::Float(90.0));
        let three_phase = line_voltage([v(230.0), v(230.0), v(230.0)]).as_f64();
        assert!((three_phase - 398.37).abs() < 0.01, "{three_phase}");
    }

    #[test]
    fn template_embeds_and_parses() {
        assert!(TEMPLATE.get("solar").is_some());
    }
}
