//! Golden and robustness tests of the TEDAPI conversions.
//!
//! Golden files are the reference mapping's outputs for the fixture inputs
//! (`testdata/tedapi/expected/`); comparisons are exact, including key order and int/float types.

mod aggregates;
mod golden_pw2;
mod golden_pw3;
mod robustness;

use std::path::PathBuf;

use serde_json::Value;

/// `testdata/tedapi/<relative>` parsed as JSON.
fn fixture(relative: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/tedapi")
        .join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The file names of a fixture directory, sorted.
fn fixture_names(relative: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/tedapi")
        .join(relative);
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Panics with the JSON path of the first difference (value, type, int/float kind or key order).
#[track_caller]
fn assert_same_json(actual: &Value, expected: &Value, what: &str) {
    if let Some(difference) = first_difference(actual, expected, "$") {
        panic!("{what}: {difference}\nactual:   {actual}\nexpected: {expected}");
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(number) if number.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn first_difference(actual: &Value, expected: &Value, path: &str) -> Option<String> {
    if kind(actual) != kind(expected) {
        return Some(format!(
            "{path}: {} {actual} instead of {} {expected}",
            kind(actual),
            kind(expected)
        ));
    }
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) if a.is_f64() => {
            let (a, e) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            (a.to_bits() != e.to_bits()).then(|| format!("{path}: {a:?} instead of {e:?}"))
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Some(format!("{path}: {} items instead of {}", a.len(), e.len()));
            }
            a.iter()
                .zip(e)
                .enumerate()
                .find_map(|(index, (a, e))| first_difference(a, e, &format!("{path}[{index}]")))
        }
        (Value::Object(a), Value::Object(e)) => {
            for key in e.keys() {
                if !a.contains_key(key) {
                    return Some(format!("{path}: missing key {key:?}"));
                }
            }
            for key in a.keys() {
                if !e.contains_key(key) {
                    return Some(format!("{path}: unexpected key {key:?}"));
                }
            }
            for (key, value) in e {
                if let Some(difference) = first_difference(&a[key], value, &format!("{path}.{key}"))
                {
                    return Some(difference);
                }
            }
            let (actual_order, expected_order): (Vec<_>, Vec<_>) =
                (a.keys().collect(), e.keys().collect());
            (actual_order != expected_order).then(|| {
                format!("{path}: key order {actual_order:?} instead of {expected_order:?}")
            })
        }
        _ => (actual != expected).then(|| format!("{path}: {actual} instead of {expected}")),
    }
}

#[test]
fn the_comparison_reports_kind_order_and_sign_differences() {
    use serde_json::json;
    assert!(first_difference(&json!(1), &json!(1.0), "$").is_some());
    assert!(first_difference(&json!(-0.0), &json!(0.0), "$").is_some());
    assert!(first_difference(&json!({"a": 1, "b": 2}), &json!({"b": 2, "a": 1}), "$").is_some());
    let nested = first_difference(
        &json!({"a": [1, {"b": null}]}),
        &json!({"a": [1, {"b": 2}]}),
        "$",
    );
    assert_eq!(
        nested.as_deref(),
        Some("$.a[1].b: null null instead of integer 2")
    );
    assert_eq!(
        first_difference(&json!({"a": [1.5]}), &json!({"a": [1.5]}), "$"),
        None
    );
}
