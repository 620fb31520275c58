//! Battery blocks: `get_blocks()` (§3.9) and the facade's `battery_blocks()` (§3.12).

use powerwall_model::Vitals;
use serde_json::{Map, Value};

use super::value::{field, items, or_null};

/// Block fields the TEDAPI mapping cannot fill, always null.
const UNKNOWN_FIELDS: [&str; 9] = [
    "energy_charged",
    "energy_discharged",
    "off_grid",
    "vf_mode",
    "wobble_detected",
    "charge_power_clamped",
    "backup_ready",
    "OpSeqState",
    "version",
];

/// One `/api/system_status`-style battery block built from the vitals.
fn block(
    kind: &str,
    part: Value,
    serial: Value,
    pinv: Option<&Value>,
    pod: Option<&Value>,
) -> Value {
    let mut block = Map::new();
    block.insert("Type".into(), Value::from(kind));
    block.insert("PackagePartNumber".into(), part);
    block.insert("PackageSerialNumber".into(), serial);
    block.insert("disabled_reasons".into(), Value::Array(Vec::new()));
    block.insert("pinv_state".into(), or_null(field(pinv, "PINV_State")));
    block.insert(
        "pinv_grid_state".into(),
        or_null(field(pinv, "PINV_GridState")),
    );
    block.insert(
        "nominal_energy_remaining".into(),
        or_null(field(pod, "POD_nom_energy_remaining")),
    );
    block.insert(
        "nominal_full_pack_energy".into(),
        or_null(field(pod, "POD_nom_full_pack_energy")),
    );
    // TEDAPI's PINV_Pout is in kW; the gateway's own /api/system_status reports W.
    block.insert("p_out".into(), or_null(field(pinv, "PINV_Pout")));
    block.insert("q_out".into(), Value::Null);
    block.insert("v_out".into(), or_null(field(pinv, "PINV_Vout")));
    block.insert("f_out".into(), or_null(field(pinv, "PINV_Fout")));
    block.insert("i_out".into(), Value::Null);
    for key in UNKNOWN_FIELDS {
        block.insert(key.into(), Value::Null);
    }
    Value::Object(block)
}

/// `get_blocks()`: `"<P>--<S>"` per `TEPINV--<P>--<S>` vitals block, then one block per expansion.
///
/// Expansion blocks are keyed by serial, typed `BatteryExpansion`, and carry their DIN's part and
/// serial and the two energies of their `TEPOD--<din>` block: every other field is null, as in
/// the reference library 0.22.2 (gateway-protocols §3.9 says "every other field", but the library
/// fills `PackagePartNumber` and `PackageSerialNumber`, as the reference oracle shows).
pub fn get_blocks(vitals: &Vitals, config: Option<&Value>) -> Map<String, Value> {
    let mut blocks = Map::new();
    for (key, pinv) in vitals {
        let Some(din) = key.strip_prefix("TEPINV--") else {
            continue;
        };
        let (part, serial) = din.split_once("--").unwrap_or((din, ""));
        let pod = vitals.get(&format!("TEPOD--{din}"));
        blocks.insert(
            din.to_owned(),
            block("", Value::from(part), Value::from(serial), Some(pinv), pod),
        );
    }
    for battery in items(field(config, "battery_blocks")) {
        for expansion in items(field(Some(battery), "battery_expansions")) {
            let Some(din) = field(Some(expansion), "din").and_then(Value::as_str) else {
                continue;
            };
            // The reference splits on every `--` and takes the first two parts.
            let mut parts = din.split("--");
            let (Some(part), Some(serial)) = (parts.next(), parts.next()) else {
                continue;
            };
            let pod = vitals.get(&format!("TEPOD--{din}"));
            blocks.insert(
                serial.to_owned(),
                block(
                    "BatteryExpansion",
                    Value::from(part),
                    Value::from(serial),
                    None,
                    pod,
                ),
            );
        }
    }
    blocks
}

/// The facade's `battery_blocks()`: system-status blocks keyed by serial, with THC state and temperature.
///
/// A block without a serial string is keyed `"null"`, as the reference's JSON output shows it.
pub fn battery_blocks(system_status: Option<&Value>, vitals: Option<&Vitals>) -> Option<Value> {
    let mut result = Map::new();
    for block in items(field(Some(system_status?), "battery_blocks")) {
        let Value::Object(fields) = block else {
            continue;
        };
        let mut fields = fields.clone();
        let serial = fields
            .shift_remove("PackageSerialNumber")
            .unwrap_or(Value::Null);
        let key = serial
            .as_str()
            .map_or_else(|| "null".to_owned(), str::to_owned);
        result.insert(key, Value::Object(fields));
    }
    for (key, thc) in vitals.into_iter().flatten() {
        let Some(din) = key.strip_prefix("TETHC--") else {
            continue;
        };
        let serial = din.split_once("--").map_or(din, |(_, serial)| serial);
        let entry = result
            .entry(serial.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(fields) = entry {
            fields.insert("THC_State".into(), or_null(field(Some(thc), "THC_State")));
            fields.insert(
                "temperature".into(),
                or_null(field(Some(thc), "THC_AmbientTemp")),
            );
        }
    }
    Some(Value::Object(result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The reference splits an expansion DIN on every `--` and keeps the first two parts; a DIN
    /// without `--` is skipped.
    #[test]
    fn expansion_blocks_carry_the_first_two_din_parts() {
        let config = json!({"battery_blocks": [{"battery_expansions": [
            {"din": "2707000-11-J--TG1--extra"},
            {"din": "no-separator"},
            {"din": null},
        ]}]});
        let blocks = get_blocks(&Vitals::default(), Some(&config));
        let keys: Vec<&String> = blocks.keys().collect();
        assert_eq!(keys, ["TG1"]);
        assert_eq!(blocks["TG1"]["PackagePartNumber"], "2707000-11-J");
        assert_eq!(blocks["TG1"]["PackageSerialNumber"], "TG1");
        assert_eq!(blocks["TG1"]["nominal_energy_remaining"], Value::Null);
    }
}
