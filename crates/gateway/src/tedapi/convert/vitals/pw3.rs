//! Powerwall 3 blocks from the per-device components answers (`get_pw3_vitals`, §2.13, §3.8.9).

use std::collections::HashMap;

use powerwall_model::Vitals;
use serde_json::{Map, Value};

use super::pw3_pch::pch_blocks;
// The names the components query asks for are the ones reported (one list, in the wire module).
use crate::tedapi::convert::value::{Num, field, items, lookup, signal_value, text, truthy};
use crate::tedapi::wire::extra_signals::components_extra;

/// Component groups whose first entry contributes alerts.
const GROUPS: [&str; 5] = ["pws", "pch", "bms", "hvp", "baggr"];

/// One components query the client must make for [`pw3_vitals`] (§2.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentsRequest {
    /// Path on the gateway: `/tedapi/v1`, or `/tedapi/device/<DIN>/v1` on multi-Powerwall sites.
    pub url_suffix: String,
    /// Recipient DIN; `None` for the gateway-level query (recipient = gateway DIN, sender `local 1`).
    pub din: Option<String>,
    /// Routed through the leader: sender `din = gateway DIN` and tail 2 (multi-Powerwall sites).
    pub via_leader: bool,
}

/// The `Powerwall3` battery blocks of config with their DINs, in config order.
fn powerwall3_blocks(config: Option<&Value>) -> impl Iterator<Item = (&str, &Value)> {
    items(field(config, "battery_blocks"))
        .iter()
        .filter_map(|block| {
            let kind = text(field(Some(block), "type"))?;
            let din = text(field(Some(block), "vin"))?;
            kind.contains("Powerwall3").then_some((din, block))
        })
}

/// The components requests behind [`pw3_vitals`]: the gateway-level one, then one per PW3 block.
pub fn pw3_component_requests(config: Option<&Value>) -> Vec<ComponentsRequest> {
    let several = items(field(config, "battery_blocks")).len() > 1;
    let mut requests = vec![ComponentsRequest {
        url_suffix: "/tedapi/v1".into(),
        din: None,
        via_leader: false,
    }];
    for (din, _) in powerwall3_blocks(config) {
        let url_suffix = if several {
            format!("/tedapi/device/{din}/v1")
        } else {
            "/tedapi/v1".to_owned()
        };
        requests.push(ComponentsRequest {
            url_suffix,
            din: Some(din.to_owned()),
            via_leader: several,
        });
    }
    requests
}

/// Assembles the PW3 blocks; `answers` maps a battery DIN to its components answer.
///
/// `None` when the gateway-level answer is empty (the reference fails the call); a Powerwall whose
/// answer is missing or has no `components.pch` is skipped.
pub fn pw3_vitals(
    config: Option<&Value>,
    gateway_components: Option<&Value>,
    answers: &HashMap<String, Value>,
) -> Option<Vitals> {
    if !truthy(gateway_components) {
        return None;
    }
    let mut vitals = Vitals::new();
    for (din, block) in powerwall3_blocks(config) {
        let Some(components) = answers
            .get(din)
            .and_then(|answer| field(Some(answer), "components"))
        else {
            continue;
        };
        if field(Some(components), "pch").is_none() {
            continue;
        }
        add_powerwall3(&mut vitals, din, block, components);
    }
    Some(vitals)
}

fn add_powerwall3(vitals: &mut Vitals, din: &str, block: &Value, components: &Value) {
    let group = |name: &str| items(field(Some(components), name));
    let alerts = first_entry_alerts(components);
    let expansions: Vec<(&str, &str)> = items(field(Some(block), "battery_expansions"))
        .iter()
        .filter_map(|expansion| text(field(Some(expansion), "din")))
        .filter_map(|expansion| {
            expansion
                .split_once("--")
                .map(|(_, serial)| (serial, expansion))
        })
        .filter(|(serial, _)| !serial.is_empty())
        .collect();
    for (index, bms) in group("bms").iter().enumerate() {
        let kwh_to_wh = |name: &str| {
            let signals = items(field(Some(bms), "signals"));
            let named = signals
                .iter()
                .filter(|signal| text(field(Some(signal), "name")) == Some(name));
            let last = named
                .filter_map(|signal| Num::of(field(Some(signal), "value")))
                .next_back();
            last.map_or(Num::Int(0), |kwh| kwh.mul(Num::Int(1000)).truncate())
        };
        let remaining = kwh_to_wh("BMS_nominalEnergyRemaining");
        let full = kwh_to_wh("BMS_nominalFullPackEnergy");
        if full.is_zero() {
            continue;
        }
        let hvp = group("hvp").get(index);
        let pod_din = if index == 0 {
            din.to_owned()
        } else {
            let serial = text(field(hvp, "serialNumber"));
            // A pack slot without a configured expansion is a phantom and is not reported.
            let Some((_, expansion)) = expansions.iter().find(|(known, _)| Some(*known) == serial)
            else {
                continue;
            };
            (*expansion).to_owned()
        };
        let mut pod = Map::new();
        pod.insert("alerts".into(), Value::Array(alerts.clone()));
        pod.insert("POD_nom_energy_remaining".into(), remaining.to_value());
        pod.insert(
            "POD_nom_energy_to_be_charged".into(),
            full.sub(remaining).to_value(),
        );
        pod.insert("POD_nom_full_pack_energy".into(), full.to_value());
        pod.extend(named_signals(
            std::slice::from_ref(bms),
            components_extra("bmsSignalNames"),
        ));
        pod.extend(named_signals(
            hvp.map(std::slice::from_ref).unwrap_or_default(),
            components_extra("hvpSignalNames"),
        ));
        vitals.insert(format!("TEPOD--{pod_din}"), Value::Object(pod));
    }
    let (pvac, pvs, ac) = pch_blocks(group("pch"), din);
    vitals.insert(format!("PVAC--{din}"), Value::Object(pvac));
    vitals.insert(format!("PVS--{din}"), Value::Object(pvs));
    let mut pinv = named_signals(group("pch"), components_extra("pchSignalNames"));
    pinv.extend(named_signals(
        group("pws"),
        components_extra("pwsSignalNames"),
    ));
    pinv.extend(named_signals(
        group("baggr"),
        components_extra("baggrSignalNames"),
    ));
    pinv.insert("PINV_Fout".into(), ac.frequency.clone());
    pinv.insert("PINV_VSplit1".into(), ac.voltage_an.clone());
    pinv.insert("PINV_VSplit2".into(), ac.voltage_bn.clone());
    pinv.insert("PINV_Vout".into(), ac.voltage_ab.clone());
    // PCH_BatteryPower is in W; PINV_Pout is kW like the PW2 inverter's.
    let kilowatts = Num::of(Some(&ac.battery_power)).and_then(|watts| watts.div(Num::Int(1000)));
    // A missing battery power reads as 0 kW (the reference's default), not null.
    let kilowatts = kilowatts.map_or(Value::from(0), Num::to_value);
    pinv.insert("PINV_Pout".into(), kilowatts);
    pinv.insert("PINV_State".into(), ac.mode.clone());
    vitals.insert(format!("TEPINV--{din}"), Value::Object(pinv));
}

/// Union (first-seen order) of the alert names of the first entry of every component group.
fn first_entry_alerts(components: &Value) -> Vec<Value> {
    let mut alerts: Vec<Value> = Vec::new();
    for group in GROUPS {
        let first = items(field(Some(components), group)).first();
        for alert in items(field(first, "activeAlerts")) {
            let Some(name) = field(Some(alert), "name") else {
                continue;
            };
            if !alerts.contains(name) {
                alerts.push(name.clone());
            }
        }
    }
    alerts
}

/// `name → first non-null value` over the entries' signals, `null` when never delivered.
fn named_signals(entries: &[Value], names: &[&str]) -> Map<String, Value> {
    let mut map = Map::new();
    for name in names {
        let value = entries
            .iter()
            .flat_map(|entry| items(field(Some(entry), "signals")))
            .filter(|signal| text(field(Some(signal), "name")) == Some(*name))
            .map(signal_value)
            .find(|value| !value.is_null());
        map.insert((*name).to_owned(), value.unwrap_or(Value::Null));
    }
    map
}

/// Shared with the aggregates: the PW3 `PVAC--*`/`TEPINV--*` blocks' voltage (`PVAC_Vout`/`PINV_Vout`).
pub(crate) fn pw3_voltages<'a>(
    pw3: Option<&'a Vitals>,
    prefix: &'a str,
    key: &'a str,
) -> impl Iterator<Item = Option<&'a Value>> + 'a {
    pw3.into_iter()
        .flat_map(|vitals| vitals.iter())
        .filter(move |(name, _)| name.starts_with(prefix))
        .map(move |(_, block)| lookup(Some(block), &[key]))
}
