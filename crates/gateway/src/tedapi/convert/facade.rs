//! Facade computations over the local-API documents (§3.12), the same in every access mode:
//! levels, power, grid state, reserve, time remaining, strings, temperatures and alerts.
//!
//! Each function takes the documents it reads (as produced by this module, or by a gateway in
//! local mode), so callers decide where the documents come from and how fresh they are.

use powerwall_model::Vitals;
use serde_json::{Map, Value, json};

use super::value::{Num, field, items, lookup, truthy};

/// How [`grid_status`] renders the gateway's grid state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridStatusKind {
    /// `"UP"`, `"DOWN"` or `"SYNCING"`.
    Text,
    /// `1`, `0` or `-1`.
    Numeric,
    /// The document itself as sorted JSON text.
    Json,
}

/// `p / 0.95 − 5 / 0.95`: the gateway's raw percentage on the Tesla app's scale (unclamped).
fn app_scale(raw: f64) -> f64 {
    raw / 0.95 - 5.0 / 0.95
}

/// `level(scale)`: the `/api/system_status/soe` percentage, app-scaled on request; null if absent.
pub fn level(soe: Option<&Value>, scale: bool) -> Value {
    let Some(percentage) = lookup(soe, &["percentage"]) else {
        return Value::Null;
    };
    match Num::of(Some(percentage)) {
        Some(raw) if scale => Value::from(app_scale(raw.as_f64())),
        _ => percentage.clone(),
    }
}

/// `power()`: each section's `instant_power`; all `0.0` when any section cannot be read.
pub fn power(aggregates: Option<&Value>) -> Value {
    let mut result = Map::new();
    for name in ["site", "solar", "battery", "load"] {
        match field(aggregates, name)
            .and_then(Value::as_object)
            .and_then(|section| section.get("instant_power"))
        {
            Some(value) => result.insert(name.to_owned(), value.clone()),
            None => return json!({"site": 0.0, "solar": 0.0, "battery": 0.0, "load": 0.0}),
        };
    }
    Value::Object(result)
}

/// `grid_status(kind)` from `/api/system_status/grid_status`; null when unknown or unavailable.
pub fn grid_status(document: Option<&Value>, kind: GridStatusKind) -> Value {
    if kind == GridStatusKind::Json {
        let Some(document) = document else {
            return Value::Null;
        };
        let mut sorted = document.clone();
        sort_keys_deep(&mut sorted);
        return serde_json::to_string_pretty(&sorted).map_or(Value::Null, Value::from);
    }
    let state = lookup(document, &["grid_status"]).and_then(Value::as_str);
    let (text, number) = match state {
        Some("SystemGridConnected") => ("UP", 1),
        Some("SystemIslandedActive" | "SystemMicroGridFaulted" | "SystemWaitForUser") => {
            ("DOWN", 0)
        }
        Some("SystemTransitionToGrid" | "SystemTransitionToIsland" | "SystemIslandedReady") => {
            ("SYNCING", -1)
        }
        _ => return Value::Null,
    };
    if kind == GridStatusKind::Text {
        Value::from(text)
    } else {
        Value::from(number)
    }
}

fn sort_keys_deep(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys_deep);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys_deep),
        _ => {}
    }
}

/// `get_reserve(scale)`: `/api/operation` reserve as a float, app-scaled and floored at 0 on request.
pub fn get_reserve(operation: Option<&Value>, scale: bool) -> Value {
    let Some(reserve) = Num::of(lookup(operation, &["backup_reserve_percent"])) else {
        return Value::Null;
    };
    if !scale {
        return Value::from(reserve.as_f64());
    }
    let scaled = app_scale(reserve.as_f64());
    // Reference quirk kept: `max(0, x)` returns the integer 0 when the scaled reserve is not positive.
    if scaled > 0.0 {
        Value::from(scaled)
    } else {
        Value::from(0)
    }
}

/// `get_mode()`: `/api/operation` `real_mode`.
pub fn get_mode(operation: Option<&Value>) -> Value {
    lookup(operation, &["real_mode"])
        .cloned()
        .unwrap_or(Value::Null)
}

/// `get_grid_charging()` in TEDAPI: true unless config forbids charging from grid with solar.
pub fn get_grid_charging(config: Option<&Value>) -> Value {
    if !config.is_some_and(Value::is_object) {
        return Value::Null;
    }
    let disallowed = lookup(
        config,
        &[
            "site_info",
            "disallow_charge_from_grid_with_solar_installed",
        ],
    );
    Value::Bool(disallowed.and_then(Value::as_bool) != Some(true))
}

/// `get_grid_export()` in TEDAPI: config's preferred export rule, `battery_ok` by default.
pub fn get_grid_export(config: Option<&Value>) -> Value {
    if !config.is_some_and(Value::is_object) {
        return Value::Null;
    }
    let rule = lookup(config, &["site_info", "customer_preferred_export_rule"])
        .filter(|rule| truthy(Some(rule)));
    rule.cloned().unwrap_or_else(|| Value::from("battery_ok"))
}

/// `get_time_remaining()` in TEDAPI: hours = remaining Wh / LOAD W; null if either is falsy.
pub fn get_time_remaining(status: Option<&Value>) -> Value {
    let remaining = Num::of(lookup(
        status,
        &["control", "systemStatus", "nominalEnergyRemainingWh"],
    ));
    let load = items(lookup(status, &["control", "meterAggregates"]))
        .iter()
        .find(|entry| {
            lookup(Some(entry), &["location"])
                .and_then(Value::as_str)
                .is_some_and(|location| location.to_uppercase() == "LOAD")
        })
        .and_then(|entry| Num::of(lookup(Some(entry), &["realPowerW"])));
    match (remaining, load) {
        (Some(remaining), Some(load)) if !remaining.is_zero() => {
            remaining.div(load).map_or(Value::Null, Num::to_value)
        }
        _ => Value::Null,
    }
}

/// `temps()`: `THC_AmbientTemp` per `TETHC--*` block, plus PW3 pack maxima once any is reported.
pub fn temps(vitals: Option<&Vitals>) -> Value {
    let mut result = Map::new();
    let blocks = || vitals.into_iter().flatten();
    for (key, block) in blocks().filter(|(key, _)| key.starts_with("TETHC--")) {
        result.insert(
            key.clone(),
            field(Some(block), "THC_AmbientTemp")
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    let packs = || {
        blocks().filter(|(key, block)| {
            key.starts_with("TEPOD--") && block.get("HVP_PackTempMax").is_some()
        })
    };
    if packs().any(|(_, block)| field(Some(block), "HVP_PackTempMax").is_some()) {
        for (key, block) in packs() {
            result.insert(
                key.clone(),
                field(Some(block), "HVP_PackTempMax")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
        }
    }
    Value::Object(result)
}

/// `alerts()` (alerts only): every vitals alert, else the inverter alerts of `/api/solar_powerwall`,
/// plus the grid state, with `SystemGridConnected` renamed `SystemConnectedToGrid`; first-seen order.
pub fn alerts(
    vitals: Option<&Vitals>,
    grid_status: Option<&Value>,
    solar_powerwall: Option<&Value>,
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        let name = if name == "SystemGridConnected" {
            "SystemConnectedToGrid"
        } else {
            name
        };
        if !names.iter().any(|known| known == name) {
            names.push(name.to_owned());
        }
    };
    match vitals.filter(|vitals| !vitals.is_empty()) {
        Some(vitals) => {
            for block in vitals.values() {
                items(field(Some(block), "alerts"))
                    .iter()
                    .filter_map(Value::as_str)
                    .for_each(&mut add);
            }
        }
        None => {
            for group in ["pvac_alerts", "pvs_alerts"] {
                if let Some(Value::Object(flags)) = field(solar_powerwall, group) {
                    flags
                        .iter()
                        .filter(|(_, flag)| **flag == Value::Bool(true))
                        .for_each(|(name, _)| add(name));
                }
            }
        }
    }
    if truthy(field(grid_status, "grid_services_active")) {
        add("GridServicesActive");
    } else if let Some(state) = field(grid_status, "grid_status").and_then(Value::as_str) {
        add(state);
    }
    names
}

/// Key fragments that mark a per-string signal.
const STRING_SIGNALS: [&str; 5] = [
    "PVAC_PVCurrent",
    "PVAC_PVMeasuredPower",
    "PVAC_PVMeasuredVoltage",
    "PVAC_PvState",
    "PVS_String",
];
/// Name suffix per inverter: none for the first, then 1…8 (cycling, as the reference does).
const INVERTER_SUFFIXES: [&str; 9] = ["", "1", "2", "3", "4", "5", "6", "7", "8"];
/// Fallback names for `/api/solar_powerwall` string entries, in order.
const FALLBACK_LETTERS: [char; 4] = ['A', 'B', 'C', 'D'];

/// `strings(verbose)`: `{"A": {"Current", "Power", "Voltage", "State", "Connected"}, "A1": …}`, or
/// with `verbose` the signals per `PVAC--*` device; from `/api/solar_powerwall` when vitals are empty.
pub fn strings(vitals: Option<&Vitals>, verbose: bool, solar_powerwall: Option<&Value>) -> Value {
    let Some(vitals) = vitals.filter(|vitals| !vitals.is_empty()) else {
        return Value::Object(from_solar_powerwall(solar_powerwall));
    };
    let mut result = Map::new();
    let inverters = vitals.iter().filter(|(key, _)| key.starts_with("PVAC"));
    for (position, (key, block)) in inverters.enumerate() {
        let merged = with_pvs_strings(vitals, key, block);
        if verbose {
            let mut signals = Map::new();
            signals.insert(
                "PVAC_Pout".into(),
                merged.get("PVAC_Pout").cloned().unwrap_or(Value::Null),
            );
            for (name, value) in merged.iter().filter(|(name, _)| is_string_signal(name)) {
                signals.insert(name.clone(), value.clone());
            }
            result.insert(key.clone(), Value::Object(signals));
            continue;
        }
        let suffix = INVERTER_SUFFIXES[position % INVERTER_SUFFIXES.len()];
        for (name, value) in merged.iter().filter(|(name, _)| is_string_signal(name)) {
            let (letter, reading) = name_and_reading(name);
            let entry = result
                .entry(format!("{letter}{suffix}"))
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(fields) = entry {
                fields.insert(reading.into(), value.clone());
            }
        }
    }
    Value::Object(result)
}

fn is_string_signal(name: &str) -> bool {
    STRING_SIGNALS
        .iter()
        .any(|fragment| name.contains(fragment))
}

/// The string letter and output field of a per-string signal name.
fn name_and_reading(name: &str) -> (String, &'static str) {
    let last = name.chars().last().map(String::from).unwrap_or_default();
    for reading in ["Current", "Power", "Voltage", "State"] {
        if name.contains(reading) {
            return (last, reading);
        }
    }
    // `PVS_StringX_Connected`: the letter is the eleventh character.
    (
        name.chars().nth(10).map(String::from).unwrap_or_default(),
        "Connected",
    )
}

/// A copy of the PVAC block with the `*String*` keys of its `PVS--<din>` block merged in.
fn with_pvs_strings(vitals: &Vitals, key: &str, block: &Value) -> Map<String, Value> {
    let mut merged = block.as_object().cloned().unwrap_or_default();
    let pvs_key = format!("PVS{}", key.get(4..).unwrap_or_default());
    if let Some(Value::Object(pvs)) = vitals.get(&pvs_key) {
        for (name, value) in pvs.iter().filter(|(name, _)| name.contains("String")) {
            merged.insert(name.clone(), value.clone());
        }
    }
    merged
}

/// Names `A, B, C, D, A1, …, D8` for `pvac_status.string_vitals[]` (extras ignored).
fn from_solar_powerwall(solar_powerwall: Option<&Value>) -> Map<String, Value> {
    let mut result = Map::new();
    let entries = items(super::value::lookup(
        solar_powerwall,
        &["pvac_status", "string_vitals"],
    ));
    let names = INVERTER_SUFFIXES.iter().flat_map(|suffix| {
        FALLBACK_LETTERS
            .iter()
            .map(move |letter| format!("{letter}{suffix}"))
    });
    for (name, entry) in names.zip(entries) {
        let read = |key: &str| field(Some(entry), key).cloned().unwrap_or(Value::Null);
        let mut fields = Map::new();
        fields.insert("Connected".into(), read("connected"));
        fields.insert("Voltage".into(), read("measured_voltage"));
        fields.insert("Current".into(), read("current"));
        fields.insert("Power".into(), read("measured_power"));
        result.insert(name, Value::Object(fields));
    }
    result
}
