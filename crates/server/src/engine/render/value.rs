//! Small readers over gateway JSON that behave like the proxy's Python arithmetic.

use serde_json::{Map, Value, json};

/// `document[key]`, if the document is an object holding that key.
pub fn field<'a>(document: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    document?.as_object()?.get(key)
}

/// `document[key]`, or `null`.
pub fn field_or_null(document: Option<&Value>, key: &str) -> Value {
    field(document, key).cloned().unwrap_or(Value::Null)
}

/// `document[key]` when it is present and not null (the "present" of §15 item 22).
pub fn present<'a>(document: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    field(document, key).filter(|value| !value.is_null())
}

/// The value, or the integer `0` when it is null (the proxy's `or 0` defaults).
pub fn or_zero(value: Value) -> Value {
    if value.is_null() { json!(0) } else { value }
}

/// A number as f64; anything else is 0 (the CSV rule for missing or null values).
pub fn f64_or_zero(value: &Value) -> f64 {
    value
        .as_f64()
        .filter(|number| number.is_finite())
        .unwrap_or(0.0)
}

/// `a - b` as Python computes it: integers stay integers, anything else is a float.
pub fn subtract(a: &Value, b: &Value) -> Value {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64())
        && let Some(difference) = a.checked_sub(b)
    {
        return json!(difference);
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => json!(a - b),
        _ => Value::Null,
    }
}

/// Python's `int(value)` for a flag: `true` → 1, numbers truncated, numeric text parsed;
/// `false`, null, missing and anything unparsable → 0 (the original crashed on those, §15 item 8).
pub fn flag(value: Option<&Value>) -> Value {
    let number = match value {
        Some(Value::Bool(flag)) => i64::from(*flag),
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i64)
            })
            .unwrap_or(0),
        Some(Value::String(text)) => text.trim().parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    json!(number)
}

/// The objects in `document[key]` when it is an array (non-objects skipped).
pub fn objects<'a>(document: Option<&'a Value>, key: &str) -> Vec<&'a Map<String, Value>> {
    field(document, key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtraction_keeps_python_types() {
        assert_eq!(subtract(&json!(900), &json!(-50)), json!(950));
        assert_eq!(subtract(&json!(900.5), &json!(-50)), json!(950.5));
        assert_eq!(subtract(&json!(900.0), &json!(-50)), json!(950.0));
        assert_eq!(subtract(&json!("x"), &json!(1)), Value::Null);
    }

    #[test]
    fn flags_are_integers() {
        assert_eq!(flag(Some(&json!(true))), json!(1));
        assert_eq!(flag(Some(&json!(false))), json!(0));
        assert_eq!(flag(Some(&json!(1.9))), json!(1));
        assert_eq!(flag(Some(&json!("1"))), json!(1));
        assert_eq!(flag(Some(&json!("yes"))), json!(0));
        assert_eq!(flag(Some(&Value::Null)), json!(0));
        assert_eq!(flag(None), json!(0));
    }

    #[test]
    fn zero_defaults() {
        assert_eq!(or_zero(Value::Null), json!(0));
        assert_eq!(or_zero(json!(80.0)), json!(80.0));
        assert_eq!(f64_or_zero(&Value::Null), 0.0);
        assert_eq!(f64_or_zero(&json!("12")), 0.0);
        assert_eq!(f64_or_zero(&json!(-2100)), -2100.0);
    }
}
