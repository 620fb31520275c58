//! The four aggregates sections: power, voltage, current and where the numbers came from (§3.6).

use powerwall_model::Vitals;
use serde_json::Value;

use super::line_voltage;
use crate::tedapi::convert::value::{Num, field, items, lookup, num_or_zero, sum, truthy};
use crate::tedapi::convert::vitals::{CtReading, pw3_voltages};

/// One computed aggregates section.
#[derive(Debug)]
pub(super) struct Section<'a> {
    /// `instant_power` as delivered by `control.meterAggregates`.
    pub(super) power: Option<&'a Value>,
    /// `instant_average_voltage`.
    pub(super) voltage: Option<Num>,
    /// `instant_average_current` and `instant_total_current` (P / V).
    pub(super) current: Option<Num>,
    /// `i_a/b/c_current` when the section reports phase currents (`None` items are `null`).
    pub(super) phase_currents: Option<[Option<Num>; 3]>,
    /// `num_meters_aggregated`.
    pub(super) meters: usize,
    /// `disclaimer`.
    pub(super) disclaimer: String,
}

/// `P / V` when both are known and V is not zero.
fn current_from(power: Option<&Value>, voltage: Option<Num>) -> Option<Num> {
    Num::of(power)?.div(voltage?)
}

/// The reference's `message.get(key, 0)`: 0 only for a missing key (or message); a key the
/// gateway sent as `null` (an absent meter's readings, e.g. Meter Y on a Powerwall 3) stays null.
fn get_or_zero(message: Option<&Value>, key: &str) -> Option<Num> {
    match message
        .and_then(Value::as_object)
        .and_then(|map| map.get(key))
    {
        None => Some(Num::Int(0)),
        Some(value) => Num::of(Some(value)),
    }
}

/// `VLL`, with 0 meaning "no voltage".
fn nonzero_line_voltage(values: [Option<Num>; 3]) -> Option<Num> {
    Some(line_voltage(values)).filter(|voltage| !voltage.is_zero())
}

/// `|current|` carrying the sign of the real power.
fn signed_current(current: Num, real_power: Option<Num>) -> Num {
    if real_power.is_some_and(|power| power.as_f64() < 0.0) {
        current.abs().neg()
    } else {
        current
    }
}

fn signed_ct_current(ct: &CtReading) -> Num {
    let magnitude = num_or_zero(Some(&ct.current)).abs();
    if ct.real_power.as_f64() < 0.0 {
        magnitude.neg()
    } else {
        magnitude
    }
}

/// Site: Meter X, else Meter Z, else Neurio site CTs, else remote-meter site CTs.
///
/// `neurio` is `None` when the status has no Neurio readings.
pub(super) fn site_section<'a>(
    status: &'a Value,
    power: Option<&'a Value>,
    neurio: Option<&[CtReading]>,
    remote: &[CtReading],
) -> Section<'a> {
    let bus = lookup(Some(status), &["esCan", "bus"]);
    let island = lookup(bus, &["ISLANDER", "ISLAND_AcMeasurements"]);
    let mut voltages: [Option<Num>; 3] = [None; 3];
    let mut currents = [Num::Int(0); 3];
    let mut source = None;
    for (meter, message) in [
        ("X", lookup(bus, &["SYNC", "METER_X_AcMeasurements"])),
        ("Z", lookup(bus, &["MSA", "METER_Z_AcMeasurements"])),
    ] {
        if !truthy(message) || truthy(field(message, "isMIA")) {
            continue;
        }
        for (phase, (line, ct)) in [(1, 'A'), (2, 'B'), (3, 'C')].into_iter().enumerate() {
            voltages[phase] = Some(num_or_zero(field(
                island,
                &format!("ISLAND_VL{line}N_Main"),
            )));
            let current = num_or_zero(field(message, &format!("METER_{meter}_CT{ct}_I")));
            let real_power = Num::of(field(
                message,
                &format!("METER_{meter}_CT{ct}_InstRealPower"),
            ));
            currents[phase] = signed_current(current, real_power);
        }
        source = Some(if meter == "X" { "Meter X" } else { "Meter Z" });
        break;
    }
    if source.is_none() {
        let site_cts = neurio
            .unwrap_or_default()
            .iter()
            .filter(|ct| ct.is_at("site"));
        for (phase, ct) in site_cts.take(3).enumerate() {
            currents[phase] = signed_ct_current(ct);
            voltages[phase] = Num::of(Some(&ct.voltage));
            source = Some("Neurio");
        }
    }
    if source.is_none() {
        for ct in remote.iter().filter(|ct| ct.is_at("site") && ct.index < 3) {
            currents[ct.index] = signed_ct_current(ct);
            voltages[ct.index] = Some(num_or_zero(Some(&ct.voltage)));
            source = Some("Remote Meter");
        }
    }
    if voltages[2].is_some_and(Num::is_zero) {
        voltages[2] = None;
    }
    let voltage = nonzero_line_voltage(voltages);
    Section {
        power,
        voltage,
        current: current_from(power, voltage),
        phase_currents: Some(currents.map(Some)),
        meters: 1,
        disclaimer: format!("site: voltage/current from {}", source.unwrap_or("unknown")),
    }
}

/// Load: islander load-side voltages; current computed from power.
pub(super) fn load_section<'a>(status: &'a Value, power: Option<&'a Value>) -> Section<'a> {
    let island = lookup(
        Some(status),
        &["esCan", "bus", "ISLANDER", "ISLAND_AcMeasurements"],
    );
    let voltages = [1, 2, 3].map(|line| {
        Some(num_or_zero(field(
            island,
            &format!("ISLAND_VL{line}N_Load"),
        )))
    });
    let voltage = nonzero_line_voltage(voltages);
    Section {
        power,
        voltage,
        current: current_from(power, voltage),
        phase_currents: None,
        meters: 1,
        disclaimer: "load: voltage from ISLAND_AcMeasurements, current calculated from power"
            .into(),
    }
}

/// The mean of the truthy values (a float), with how many were used.
fn mean_of_truthy<'v>(values: impl Iterator<Item = Option<&'v Value>>) -> (Option<Num>, usize) {
    let used: Vec<Num> = values
        .filter(|value| truthy(*value))
        .filter_map(Num::of)
        .collect();
    let count = used.len();
    let count_num = Num::Int(i64::try_from(count).unwrap_or(i64::MAX));
    (sum(used).div(count_num), count)
}

/// Battery: mean inverter output voltage (PW3 blocks, then `esCan.bus.PINV[]`).
pub(super) fn battery_section<'a>(
    status: &'a Value,
    power: Option<&'a Value>,
    pw3: Option<&Vitals>,
) -> Section<'a> {
    let bus_voltages = items(lookup(Some(status), &["esCan", "bus", "PINV"]))
        .iter()
        .map(|pinv| lookup(Some(pinv), &["PINV_Status", "PINV_Vout"]));
    let (voltage, count) =
        mean_of_truthy(pw3_voltages(pw3, "TEPINV--", "PINV_Vout").chain(bus_voltages));
    Section {
        power,
        voltage,
        current: current_from(power, voltage),
        phase_currents: None,
        meters: count,
        disclaimer: "battery: voltage from PINV, calculated current from power".into(),
    }
}

/// Solar: inverter voltage, Meter Y currents, remote-meter solar CTs as the fallback for either.
pub(super) fn solar_section<'a>(
    status: &'a Value,
    power: Option<&'a Value>,
    pw3: Option<&Vitals>,
    remote: &[CtReading],
) -> Section<'a> {
    let bus = lookup(Some(status), &["esCan", "bus"]);
    let bus_voltages = items(field(bus, "PVAC"))
        .iter()
        .filter(|pvac| truthy(field(Some(pvac), "packageSerialNumber")))
        .map(|pvac| lookup(Some(pvac), &["PVAC_Status", "PVAC_Vout"]));
    let (mut voltage, count) =
        mean_of_truthy(pw3_voltages(pw3, "PVAC--", "PVAC_Vout").chain(bus_voltages));
    let mut voltage_source = voltage.map(|_| "PVAC");
    let meter_y = lookup(bus, &["SYNC", "METER_Y_AcMeasurements"]);
    let mut currents = ['A', 'B', 'C'].map(|ct| get_or_zero(meter_y, &format!("METER_Y_CT{ct}_I")));
    let mut current_source = currents
        .iter()
        .any(|current| current.is_some_and(|current| !current.is_zero()))
        .then_some("Meter Y");
    if voltage.is_none() {
        let voltages = [1, 2, 3].map(|line| Num::of(field(meter_y, &format!("METER_Y_VL{line}N"))));
        voltage = nonzero_line_voltage(voltages);
        voltage_source = voltage.map(|_| "Meter Y");
    }
    if voltage_source.is_none() || current_source.is_none() {
        let solar_cts: Vec<&CtReading> = remote
            .iter()
            .filter(|ct| ct.is_at("solar") && ct.index < 3)
            .collect();
        if current_source.is_none() && !solar_cts.is_empty() {
            // The remote meter replaces all three phases; a phase without a CT reads 0.
            currents = [Some(Num::Int(0)); 3];
            for ct in &solar_cts {
                currents[ct.index] = Some(signed_ct_current(ct));
            }
            current_source = Some("Remote Meter");
        }
        if voltage.is_none() {
            let mut voltages: [Option<Num>; 3] = [None; 3];
            for ct in &solar_cts {
                voltages[ct.index] = Num::of(Some(&ct.voltage));
            }
            if voltages[2].is_some_and(Num::is_zero) {
                voltages[2] = None;
            }
            voltage = nonzero_line_voltage(voltages);
            voltage_source = voltage.map(|_| "Remote Meter");
        }
    }
    let current_text = current_source.map_or_else(
        || "calculated current from power".to_owned(),
        |source| format!("current from {source}"),
    );
    Section {
        power,
        voltage,
        current: current_from(power, voltage),
        phase_currents: Some(currents),
        meters: count,
        disclaimer: format!(
            "solar: voltage from {}, {current_text}",
            voltage_source.unwrap_or("unknown")
        ),
    }
}
