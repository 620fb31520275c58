//! The full DeviceController's `components.msa[]` list: per-device signals keyed by serial.
//!
//! PW2 battery modules, the synchroniser, fans and the Backup Switch all publish extra signals
//! here (V2024_06 query with appended signal names, §2.6). Only entries with a serial are real
//! devices; serial-less entries are empty placeholder slots.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::value::{Num, field, items, lookup, signal_value, sum, text};

/// One serial-bearing entry of `components.msa[]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MsaEntry<'a> {
    /// The entry as delivered.
    pub(crate) raw: &'a Value,
    /// Its non-empty `serialNumber`.
    pub(crate) serial: &'a str,
}

impl<'a> MsaEntry<'a> {
    /// The entry's `signals[]`.
    pub(crate) fn signals(self) -> &'a [Value] {
        items(field(Some(self.raw), "signals"))
    }

    /// Signal name → first non-null of value/boolValue/textValue (a repeated name: the last wins).
    pub(crate) fn signal_map(self, prefix: &str) -> Map<String, Value> {
        let mut map = Map::new();
        for signal in self.signals() {
            if let Some(name) =
                text(field(Some(signal), "name")).filter(|name| name.starts_with(prefix))
            {
                map.insert(name.to_owned(), signal_value(signal));
            }
        }
        map
    }

    /// The `value` field of the first signal with this name.
    pub(crate) fn number_signal(self, name: &str) -> Option<&'a Value> {
        self.signals()
            .iter()
            .find(|signal| text(field(Some(signal), "name")) == Some(name))
            .and_then(|signal| field(Some(signal), "value"))
    }

    /// The prefix before the first `_` shared by all signal names; empty if mixed or none.
    pub(crate) fn family(self) -> &'a str {
        let mut family: Option<&str> = None;
        for signal in self.signals() {
            let name = text(field(Some(signal), "name")).unwrap_or("");
            let prefix = name.split('_').next().unwrap_or("");
            match family {
                None => family = Some(prefix),
                Some(seen) if seen == prefix => {}
                Some(_) => return "",
            }
        }
        family.unwrap_or("")
    }
}

/// The serial-bearing entries of the controller's `components.msa[]`, in order.
pub(crate) fn msa_entries(controller: Option<&Value>) -> Vec<MsaEntry<'_>> {
    items(lookup(controller, &["components", "msa"]))
        .iter()
        .filter_map(|raw| {
            let serial =
                text(field(Some(raw), "serialNumber")).filter(|serial| !serial.is_empty())?;
            Some(MsaEntry { raw, serial })
        })
        .collect()
}

/// Per-package-serial msa signals of the PW2 battery modules (§3.8.5).
#[derive(Debug, Default)]
pub(crate) struct ModuleSignals {
    /// THC serial → its `THC_AmbientTemp` value.
    pub(crate) ambient: HashMap<String, Value>,
    /// THC serial → its `THC_*` signals (first THC entry wins).
    pub(crate) thc: HashMap<String, Map<String, Value>>,
    /// Package serial → the `PINV_*` signals of the paired inverter.
    pub(crate) pinv: HashMap<String, Map<String, Value>>,
    /// Package serial → the `POD_*` signals of the POD entry sharing the paired inverter's serial.
    pub(crate) pod: HashMap<String, Map<String, Value>>,
}

/// Collects the module signals; `package_serials` are the `esCan.bus.THC[]` package serials.
pub(crate) fn module_signals(
    controller: Option<&Value>,
    package_serials: &[&str],
) -> ModuleSignals {
    let entries = msa_entries(controller);
    let mut modules = ModuleSignals::default();
    for entry in &entries {
        if modules.ambient.contains_key(entry.serial) {
            continue;
        }
        if let Some(ambient) = entry.number_signal("THC_AmbientTemp") {
            modules
                .ambient
                .insert(entry.serial.to_owned(), ambient.clone());
        }
    }
    for entry in entries.iter().filter(|entry| entry.family() == "THC") {
        if !modules.thc.contains_key(entry.serial) {
            modules
                .thc
                .insert(entry.serial.to_owned(), entry.signal_map("THC_"));
        }
    }
    let Some(pairs) = pair_modules(&entries, package_serials) else {
        return modules;
    };
    for (package, inverter) in pairs {
        modules
            .pinv
            .insert(package.to_owned(), inverter.signal_map("PINV_"));
        let pod = entries
            .iter()
            .find(|entry| entry.serial == inverter.serial && entry.family() == "POD");
        if let Some(pod) = pod {
            modules
                .pod
                .insert(package.to_owned(), pod.signal_map("POD_"));
        }
    }
    modules
}

/// Package serial → its PINV entry, linked only by order: THC then PINV, strictly alternating.
///
/// The two serials of a module share nothing, so any irregularity makes every pairing doubtful
/// and the whole pairing is dropped rather than risk attributing one battery's data to another.
fn pair_modules<'a, 'e>(
    entries: &'e [MsaEntry<'a>],
    package_serials: &[&str],
) -> Option<Vec<(&'a str, &'e MsaEntry<'a>)>> {
    let known: HashSet<&str> = package_serials.iter().copied().collect();
    let mut pending: Option<&'a str> = None;
    let mut seen_thc = HashSet::new();
    let mut seen_pinv = HashSet::new();
    let mut pairs = Vec::new();
    for entry in entries {
        let family = entry.family();
        if let Some(package) = pending {
            if family != "PINV" || !seen_pinv.insert(entry.serial) {
                return None;
            }
            pairs.push((package, entry));
            pending = None;
        } else if family == "THC" {
            if !known.contains(entry.serial) || !seen_thc.insert(entry.serial) {
                return None;
            }
            pending = Some(entry.serial);
        } else if family == "PINV" {
            return None;
        }
    }
    (pending.is_none() && pairs.len() == known.len()).then_some(pairs)
}

/// Sum over serials of the last finite, non-negative `value` of the named signal.
///
/// `None` unless every serial carrying the signal supplied a usable value (§3.7).
pub(crate) fn complete_signal_sum(controller: Option<&Value>, name: &str) -> Option<Num> {
    let mut by_serial: Vec<(&str, Option<Num>)> = Vec::new();
    for entry in msa_entries(controller) {
        for signal in entry.signals() {
            if text(field(Some(signal), "name")) != Some(name) {
                continue;
            }
            let usable = Num::of(field(Some(signal), "value"))
                .filter(|value| value.as_f64().is_finite() && value.as_f64() >= 0.0);
            match by_serial
                .iter_mut()
                .find(|(serial, _)| *serial == entry.serial)
            {
                Some(slot) if usable.is_some() => slot.1 = usable,
                Some(_) => {}
                None => by_serial.push((entry.serial, usable)),
            }
        }
    }
    let values: Option<Vec<Num>> = by_serial.iter().map(|(_, value)| *value).collect();
    values.map(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(serial: &str, names: &[&str]) -> Value {
        let signals: Vec<Value> = names
            .iter()
            .map(|name| json!({"name": name, "value": 1}))
            .collect();
        json!({"partNumber": "P", "serialNumber": serial, "signals": signals})
    }

    fn controller(entries: Vec<Value>) -> Value {
        json!({"components": {"msa": entries}})
    }

    #[test]
    fn pairs_thc_then_pinv_in_order_and_finds_the_pod() {
        let doc = controller(vec![
            entry("", &["THC_State"]),
            entry("PKG1", &["THC_State", "THC_AmbientTemp"]),
            entry("INV1", &["PINV_Qout"]),
            entry("INV1", &["POD_available_charge_power"]),
            entry("SYNC1", &["SYNC_Uptime"]),
        ]);
        let modules = module_signals(Some(&doc), &["PKG1"]);
        assert_eq!(modules.ambient.get("PKG1"), Some(&json!(1)));
        assert!(modules.pinv["PKG1"].contains_key("PINV_Qout"));
        assert!(modules.pod["PKG1"].contains_key("POD_available_charge_power"));
    }

    #[test]
    fn any_irregularity_drops_the_whole_pairing() {
        let cases = [
            vec![
                entry("PKG1", &["THC_State"]),
                entry("SYNC", &["SYNC_Uptime"]),
                entry("INV1", &["PINV_Qout"]),
            ],
            vec![entry("INV1", &["PINV_Qout"]), entry("PKG1", &["THC_State"])],
            vec![entry("PKG1", &["THC_State"])],
            vec![
                entry("OTHER", &["THC_State"]),
                entry("INV1", &["PINV_Qout"]),
            ],
            vec![
                entry("PKG1", &["THC_State", "PINV_Qout"]),
                entry("INV1", &["PINV_Qout"]),
            ],
        ];
        for entries in cases {
            let doc = controller(entries);
            assert!(module_signals(Some(&doc), &["PKG1"]).pinv.is_empty());
        }
    }

    #[test]
    fn signal_sums_need_every_registered_serial() {
        let signal = |value: Value| json!({"name": "POD_available_charge_power", "value": value});
        let full = controller(vec![
            json!({"serialNumber": "A", "signals": [signal(json!(100))]}),
            json!({"serialNumber": "B", "signals": [signal(json!(50.5))]}),
        ]);
        assert_eq!(
            complete_signal_sum(Some(&full), "POD_available_charge_power"),
            Some(Num::Float(150.5))
        );
        let partial = controller(vec![
            json!({"serialNumber": "A", "signals": [signal(json!(100))]}),
            json!({"serialNumber": "B", "signals": [signal(json!(true))]}),
        ]);
        assert_eq!(
            complete_signal_sum(Some(&partial), "POD_available_charge_power"),
            None
        );
    }
}
