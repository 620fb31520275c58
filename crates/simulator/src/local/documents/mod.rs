//! Local-API documents rendered from a model snapshot in the captured shapes.
//!
//! Each builder clones the captured document and overwrites what the model knows, so fields the
//! model does not simulate keep their captured values and every key the gateway sends is present.
mod gateway;
mod power;
mod solar;

pub use gateway::{git_hash, grid_codes, powerwalls, status, update_status};
pub use power::{aggregates, grid_status, meters_site, operation, soe, system_status};
pub use solar::{pv_strings, solar_powerwall};

use std::f64::consts::PI;

use serde_json::Value;

use crate::model::clock::ns_to_secs;
use crate::model::reading::Snapshot;

/// A JSON number that prints as an integer when the value is whole (`27`, not `27.0`), as the
/// gateway's Go encoder does.
pub fn num(value: f64) -> Value {
    if !value.is_finite() {
        return Value::Null;
    }
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        return Value::from(value as i64);
    }
    Value::from(value)
}

/// A slow deterministic wobble so electrical readings are not frozen constants.
fn wobble(snapshot: &Snapshot, period_secs: f64, amplitude: f64) -> f64 {
    amplitude * (2.0 * PI * ns_to_secs(snapshot.now_ns) / period_secs).sin()
}

fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(map) = target.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

/// Grid line-to-neutral voltage at the site meter; 0 when the site is islanded.
pub fn grid_phase_voltage(snapshot: &Snapshot) -> f64 {
    if snapshot.grid_connected() {
        121.7 + wobble(snapshot, 173.0, 0.3)
    } else {
        0.0
    }
}

/// Site-meter average voltage. The captured synchrometer reports √3 × its line-to-neutral
/// voltage (about 211 V on a 240 V split-phase service); kept for fidelity.
pub fn grid_voltage(snapshot: &Snapshot) -> f64 {
    grid_phase_voltage(snapshot) * 3.0_f64.sqrt()
}

/// Frequency the Powerwalls see (grid-following or grid-forming).
pub fn battery_frequency(snapshot: &Snapshot) -> f64 {
    60.0 + wobble(snapshot, 61.0, 0.02)
}

/// Battery inverter output voltage.
pub fn battery_voltage(snapshot: &Snapshot) -> f64 {
    243.9 + wobble(snapshot, 131.0, 0.4)
}
