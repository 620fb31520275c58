//! Identity documents: status, update status, grid codes, powerwalls.

use serde_json::{Value, json};

use super::super::fixtures::Fixtures;
use super::set;
use crate::model::clock::{NANOS_PER_SEC, gateway_start_time, go_duration};
use crate::model::reading::Snapshot;

/// `/api/status`.
pub fn status(snapshot: &Snapshot, fixtures: &Fixtures) -> Value {
    let mut doc = fixtures.status.clone();
    set(&mut doc, "din", json!(snapshot.din()));
    set(
        &mut doc,
        "start_time",
        json!(gateway_start_time(
            snapshot.boot_ns,
            snapshot.utc_offset_secs
        )),
    );
    set(
        &mut doc,
        "up_time_seconds",
        json!(go_duration(snapshot.now_ns - snapshot.boot_ns)),
    );
    set(&mut doc, "version", json!(snapshot.firmware));
    set(
        &mut doc,
        "git_hash",
        json!(git_hash(&snapshot.firmware, fixtures)),
    );
    doc
}

/// The 40-hex build hash for a firmware text: the captured one for the captured version,
/// otherwise the version's short hash extended deterministically.
pub fn git_hash(firmware: &str, fixtures: &Fixtures) -> String {
    if fixtures.status["version"].as_str() == Some(firmware) {
        if let Some(hash) = fixtures.status["git_hash"].as_str() {
            return hash.to_owned();
        }
    }
    let short: String = firmware
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    // FNV-1a of the version text feeds the filler, so a version always maps to one hash.
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    let mut hash = short;
    while hash.len() < 40 {
        for byte in firmware.bytes().chain(hash.clone().into_bytes()) {
            state = (state ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        hash.push_str(&format!("{state:016x}"));
    }
    hash.truncate(40);
    hash
}

/// `/api/powerwalls`: one entry per pack of the model.
pub fn powerwalls(snapshot: &Snapshot, fixtures: &Fixtures) -> Value {
    let mut doc = fixtures.powerwalls.clone();
    let templates = doc["powerwalls"].as_array().cloned().unwrap_or_default();
    let grid_state = if snapshot.grid_connected() {
        "Grid_Compliant"
    } else {
        "Grid_Uncompliant"
    };
    let entries: Vec<Value> = snapshot
        .packs
        .iter()
        .enumerate()
        .map(|(index, pack)| {
            let mut entry = templates
                .get(index)
                .or_else(|| templates.last())
                .cloned()
                .unwrap_or_else(|| json!({}));
            set(&mut entry, "PackagePartNumber", json!(pack.part_number));
            set(&mut entry, "PackageSerialNumber", json!(pack.serial_number));
            set(
                &mut entry,
                "type",
                json!(snapshot.topology.packs[index].kind),
            );
            set(&mut entry, "grid_state", json!(grid_state));
            entry
        })
        .collect();
    set(&mut doc, "powerwalls", Value::Array(entries));
    set(&mut doc, "gateway_din", json!(snapshot.din()));
    doc
}

/// `/api/system/update/status`: current firmware, timestamps in ms.
pub fn update_status(snapshot: &Snapshot, fixtures: &Fixtures) -> Value {
    let mut doc = fixtures.update_status.clone();
    let millis =
        |ns: i128| Value::from(i64::try_from(ns / (NANOS_PER_SEC / 1000)).unwrap_or_default());
    set(&mut doc, "version", json!(snapshot.firmware));
    set(&mut doc, "current_time", millis(snapshot.now_ns));
    set(
        &mut doc,
        "last_status_time",
        millis(snapshot.boot_ns + 60 * NANOS_PER_SEC),
    );
    doc
}

/// `/api/site_info/grid_codes`: the site's own grid code (the captures only hold a timeout).
pub fn grid_codes(fixtures: &Fixtures) -> Value {
    json!([fixtures.site_info["grid_code"].clone()])
}
