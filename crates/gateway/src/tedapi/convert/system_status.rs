//! `/api/system_status` (§3.7): pack energies, power limits and the battery blocks.

use std::sync::LazyLock;

use serde_json::Value;

use super::TedapiInputs;
use super::blocks::get_blocks;
use super::msa::complete_signal_sum;
use super::status::grid_state;
use super::value::{Num, embedded, field, items, lookup, or_null, sum, truthy};
use super::vitals::vitals;

/// The reference's system-status template (fixed strings, zeros, `score` 10000).
static TEMPLATE: LazyLock<Value> = LazyLock::new(|| {
    embedded(include_str!(
        "../../../../../testdata/tedapi/stubs/api.system_status.template.json"
    ))
});

/// `/api/system_status`; `None` unless the basic status and config are objects.
pub fn system_status(inputs: &TedapiInputs) -> Option<Value> {
    let status = inputs.status_object()?;
    let config = inputs.config_object()?;
    let Value::Object(mut document) = TEMPLATE.clone() else {
        return None;
    };
    let energy = lookup(Some(status), &["control", "systemStatus"]);
    let usable_power = inverter_nominal_power(status);
    let limit = power_limit(config, usable_power);
    let controller = inputs.controller_object();
    let charge =
        complete_signal_sum(controller, "POD_available_charge_power").unwrap_or(Num::Int(0));
    let discharge =
        complete_signal_sum(controller, "POD_available_dischg_power").unwrap_or(Num::Int(0));
    let block_count = Value::from(items(lookup(Some(status), &["control", "batteryBlocks"])).len());
    let blocks: Vec<Value> = vitals(inputs)
        .map(|vitals| {
            get_blocks(&vitals, Some(config))
                .into_iter()
                .map(|(_, block)| block)
                .collect()
        })
        .unwrap_or_default();

    let mut set = |key: &str, value: Value| {
        document.insert(key.to_owned(), value);
    };
    set(
        "nominal_full_pack_energy",
        or_null(field(energy, "nominalFullPackEnergyWh")),
    );
    set(
        "nominal_energy_remaining",
        or_null(field(energy, "nominalEnergyRemainingWh")),
    );
    for key in [
        "max_charge_power",
        "max_discharge_power",
        "max_apparent_power",
    ] {
        set(key, limit.map_or(Value::Null, Num::to_value));
    }
    set("instantaneous_max_discharge_power", discharge.to_value());
    set("instantaneous_max_charge_power", charge.to_value());
    set("grid_services_power", Value::Null);
    set(
        "system_island_state",
        grid_state(Some(status)).map_or(Value::Null, Value::from),
    );
    set("available_blocks", block_count.clone());
    set("battery_blocks", Value::Array(blocks));
    set("solar_real_power_limit", Value::Null);
    set("blocks_controlled", block_count);
    set("inverter_nominal_usable_power", usable_power.to_value());
    Some(Value::Object(document))
}

/// Σ `PINV_Pnom` over inverters that are not MIA and report a positive number (0 if none; PW3 has none).
fn inverter_nominal_power(status: &Value) -> Num {
    let ratings = items(lookup(Some(status), &["esCan", "bus", "PINV"]))
        .iter()
        .filter_map(|pinv| {
            let capability = field(Some(pinv), "PINV_PowerCapability");
            if field(capability, "isMIA").and_then(Value::as_bool) == Some(true) {
                return None;
            }
            Num::of(field(capability, "PINV_Pnom")).filter(|watts| watts.as_f64() > 0.0)
        });
    sum(ratings)
}

/// The smaller of the site's nominal AC power (kW → W, rounded) and the inverters' sum; `None` if neither.
fn power_limit(config: &Value, inverter_power: Num) -> Option<Num> {
    let site_power = Num::of(lookup(
        Some(config),
        &["site_info", "nominal_system_power_ac"],
    ))
    .filter(|kilowatts| kilowatts.as_f64() > 0.0)
    .map(|kilowatts| match kilowatts.mul(Num::Int(1000)) {
        Num::Float(watts) => Num::Int(watts.round_ties_even() as i64),
        watts => watts,
    });
    let candidates = site_power
        .into_iter()
        .chain(Some(inverter_power))
        .filter(|watts| truthy(Some(&watts.to_value())));
    candidates.reduce(|smaller, next| {
        if next.as_f64() < smaller.as_f64() {
            next
        } else {
            smaller
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn power_limit_is_the_smaller_truthy_value() {
        let config = json!({"site_info": {"nominal_system_power_ac": 5.8}});
        assert_eq!(power_limit(&config, Num::Int(10_000)), Some(Num::Int(5800)));
        assert_eq!(power_limit(&json!({}), Num::Int(0)), None);
        assert_eq!(
            power_limit(&json!({}), Num::Int(7600)),
            Some(Num::Int(7600))
        );
    }

    #[test]
    fn mia_or_non_positive_ratings_do_not_count() {
        let status = json!({"esCan": {"bus": {"PINV": [
            {"PINV_PowerCapability": {"PINV_Pnom": 5000}},
            {"PINV_PowerCapability": {"isMIA": true, "PINV_Pnom": 5000}},
            {"PINV_PowerCapability": {"PINV_Pnom": -1}},
            null,
        ]}}});
        assert_eq!(inverter_nominal_power(&status), Num::Int(5000));
    }

    #[test]
    fn template_embeds_and_parses() {
        assert_eq!(TEMPLATE.get("score"), Some(&json!(10000)));
    }
}
