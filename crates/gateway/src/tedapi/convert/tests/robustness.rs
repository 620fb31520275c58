//! Null-safety: empty, missing, mistyped and MIA inputs give nulls or omissions, never a panic.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::fixture;
use crate::tedapi::convert::{
    BootEstimate, TedapiInputs, alerts, battery_blocks, boot_estimate, fan_speeds, get_blocks,
    local_document, pw3_component_requests, pw3_vitals, strings, system_status, temps, vitals,
};

/// Every path the dispatcher answers from TEDAPI data.
const CONVERTED_PATHS: [&str; 8] = [
    "/api/status",
    "/api/system_status/soe",
    "/api/system_status/grid_status",
    "/api/site_info",
    "/api/site_info/site_name",
    "/api/operation",
    "/api/meters/aggregates",
    "/api/system_status",
];

/// Values substituted for every node of a document.
fn replacements() -> Vec<Option<Value>> {
    vec![
        None,
        Some(Value::Null),
        Some(json!("junk")),
        Some(json!([null, 1, {}])),
        Some(json!({})),
        Some(json!(true)),
        Some(json!(-1.5)),
    ]
}

/// Runs every conversion and facade computation on the inputs.
fn convert_everything(inputs: &TedapiInputs) {
    for path in CONVERTED_PATHS {
        let _ = local_document(path, inputs);
    }
    let vitals = vitals(inputs);
    if let Some(vitals) = &vitals {
        let _ = get_blocks(vitals, inputs.config);
    }
    let status = system_status(inputs);
    let _ = battery_blocks(status.as_ref(), vitals.as_ref());
    let _ = strings(vitals.as_ref(), false, None);
    let _ = strings(vitals.as_ref(), true, None);
    let _ = temps(vitals.as_ref());
    let _ = alerts(vitals.as_ref(), None, None);
    let _ = fan_speeds(inputs);
    let previous = BootEstimate {
        gateway_time: crate::tedapi::convert::GatewayTime {
            epoch_micros: 0,
            offset_seconds: 0,
        },
        uptime_ms: 1.0,
        start: crate::tedapi::convert::GatewayTime {
            epoch_micros: 0,
            offset_seconds: 0,
        },
    };
    let _ = boot_estimate(inputs.controller, Some(&previous));
}

/// Every path (object keys and array indexes) inside a document.
fn node_paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let children: Vec<(Step, &Value)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(key, child)| (Step::Key(key.clone()), child))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, child)| (Step::Index(index), child))
            .collect(),
        _ => return,
    };
    for (step, child) in children {
        prefix.push(step);
        out.push(prefix.clone());
        node_paths(child, prefix, out);
        prefix.pop();
    }
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// A copy of `document` with the node at `path` replaced (or removed for `None`).
fn mutated(document: &Value, path: &[Step], replacement: &Option<Value>) -> Value {
    let mut copy = document.clone();
    let Some((last, parents)) = path.split_last() else {
        return copy;
    };
    let mut parent = &mut copy;
    for step in parents {
        parent = match step {
            Step::Key(key) => &mut parent[key.as_str()],
            Step::Index(index) => &mut parent[*index],
        };
    }
    match (parent, last, replacement) {
        (Value::Object(map), Step::Key(key), None) => {
            map.shift_remove(key);
        }
        (Value::Array(items), Step::Index(index), None) => {
            items.remove(*index);
        }
        (Value::Object(map), Step::Key(key), Some(value)) => {
            map.insert(key.clone(), value.clone());
        }
        (Value::Array(items), Step::Index(index), Some(value)) => items[*index] = value.clone(),
        _ => {}
    }
    copy
}

fn for_every_mutation(document: &Value, mut check: impl FnMut(&Value)) {
    let mut paths = Vec::new();
    node_paths(document, &mut Vec::new(), &mut paths);
    for path in &paths {
        for replacement in replacements() {
            check(&mutated(document, path, &replacement));
        }
    }
}

#[test]
fn degenerate_documents_do_not_panic() {
    let shapes = [
        Value::Null,
        json!({}),
        json!([]),
        json!("x"),
        json!(42),
        fixture("config.skeleton.json"),
        fixture("status.skeleton.json"),
    ];
    for config in &shapes {
        for status in &shapes {
            let inputs = TedapiInputs {
                config: Some(config),
                status: Some(status),
                controller: Some(status),
                ..Default::default()
            };
            convert_everything(&inputs);
        }
    }
    convert_everything(&TedapiInputs::default());
}

#[test]
fn every_mutation_of_the_pw2_sample_is_survived() {
    let config = fixture("config.json");
    let status = fixture("status.json");
    for_every_mutation(&status, |status| {
        convert_everything(&TedapiInputs {
            config: Some(&config),
            status: Some(status),
            controller: Some(status),
            ..Default::default()
        });
    });
    for_every_mutation(&config, |config| {
        convert_everything(&TedapiInputs {
            config: Some(config),
            status: Some(&status),
            controller: Some(&status),
            ..Default::default()
        });
    });
}

#[test]
fn every_mutation_of_the_pw3_answer_is_survived() {
    let config = fixture("pw3/config.three-pw3.json");
    let leader = fixture("pw3/components.leader.json");
    let status = fixture("status.json");
    let check = |config: &Value, answer: &Value| {
        let dins = pw3_component_requests(Some(config))
            .into_iter()
            .filter_map(|request| request.din);
        let answers: HashMap<String, Value> = dins.map(|din| (din, answer.clone())).collect();
        let pw3 = pw3_vitals(Some(config), Some(answer), &answers);
        let inputs = TedapiInputs {
            config: Some(config),
            status: Some(&status),
            controller: Some(&status),
            pw3_vitals: pw3.as_ref(),
            is_pw3: true,
            ..Default::default()
        };
        convert_everything(&inputs);
    };
    for_every_mutation(&leader, |answer| check(&config, answer));
    for_every_mutation(&config, |config| check(config, &leader));
}

#[test]
fn mia_and_missing_devices_give_nulls() {
    let config = fixture("config.json");
    let mut status = fixture("status.json");
    status["esCan"]["bus"]["PVS"] = json!([]);
    status["esCan"]["bus"]["PINV"] = json!([status["esCan"]["bus"]["PINV"][0].clone()]);
    status["esCan"]["bus"]["POD"] = Value::Null;
    status["esCan"]["bus"]["PVAC"][0]["PVAC_Logging"] = json!({"isMIA": true});
    status["esCan"]["bus"]["SYNC"] = Value::Null;
    status["esCan"]["bus"]["MSA"] = json!({"isMIA": true});
    let inputs = TedapiInputs {
        config: Some(&config),
        status: Some(&status),
        controller: Some(&status),
        ..Default::default()
    };
    let vitals = vitals(&inputs).expect("config and controller");
    let pvac = &vitals["PVAC--1538100-00-F--C123456789JKL"];
    assert_eq!(
        pvac["PVAC_PvState_A"],
        Value::Null,
        "no PVS entry → no string state"
    );
    assert_eq!(pvac["PVAC_PVMeasuredPower_A"], Value::Null);
    assert!(!vitals.contains_key("PVS--1538100-00-F--C123456789JKL"));
    assert_eq!(
        vitals["TEPINV--3012170-05-B--TG123456789GHI"]["PINV_Vout"],
        Value::Null
    );
    assert_eq!(
        vitals["TEPOD--2012170-25-E--TG123456789DEF"]["POD_nom_energy_remaining"],
        Value::Null
    );
    assert!(vitals.contains_key("TESYNC--None--None"));
    assert!(vitals.contains_key("TESLA--None"));
    assert!(!vitals.keys().any(|key| key.starts_with("TEMSA")));
    let aggregates = local_document("/api/meters/aggregates", &inputs).expect("config and status");
    assert_eq!(
        aggregates["site"]["disclaimer"],
        "site: voltage/current from unknown"
    );
}

#[test]
fn unknown_and_fixed_paths() {
    let inputs = TedapiInputs::default();
    assert_eq!(
        local_document("/api/system/networks", &inputs),
        Some(json!({"ERROR": "Unknown API: /api/system/networks"}))
    );
    assert_eq!(local_document("/api/meters/solar", &inputs), None);
    assert_eq!(local_document("/api/status", &inputs), None);
    assert_eq!(
        local_document("/api/customer", &inputs),
        Some(json!({"registered": true}))
    );
}
