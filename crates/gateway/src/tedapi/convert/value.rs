//! Null-safe reads of TEDAPI JSON and the reference's number semantics.
//!
//! The reference mapping is dynamically typed: integers stay integers through sums and products,
//! every division yields a float, and "truthy" means present, non-null, non-zero and non-empty.
//! [`Num`] and the helpers here reproduce exactly that, so the JSON we emit has the same types.

use serde_json::{Map, Value};

/// A JSON number with the reference's integer/float distinction kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    /// An integer (JSON integer literal, or integer arithmetic).
    Int(i64),
    /// A float (JSON literal with a fraction or exponent, or any division).
    Float(f64),
}

impl Num {
    /// The number in `value`; booleans, strings and nulls are not numbers.
    pub(crate) fn of(value: Option<&Value>) -> Option<Num> {
        let Some(Value::Number(number)) = value else {
            return None;
        };
        if let Some(int) = number.as_i64() {
            Some(Num::Int(int))
        } else {
            number.as_f64().map(Num::Float)
        }
    }

    /// The JSON value; a non-finite float becomes `null` (JSON has no NaN).
    pub(crate) fn to_value(self) -> Value {
        match self {
            Num::Int(int) => Value::from(int),
            Num::Float(float) => Value::from(float),
        }
    }

    /// The value as a float, for comparisons.
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(int) => int as f64,
            Num::Float(float) => float,
        }
    }

    /// Zero (of either kind) is falsy.
    pub(crate) fn is_zero(self) -> bool {
        self.as_f64() == 0.0
    }

    /// `self + other`, integer when both are integers (float on overflow).
    pub(crate) fn add(self, other: Num) -> Num {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a
                .checked_add(b)
                .map_or(Num::Float(a as f64 + b as f64), Num::Int),
            _ => Num::Float(self.as_f64() + other.as_f64()),
        }
    }

    /// `self - other`, integer when both are integers (float on overflow).
    pub(crate) fn sub(self, other: Num) -> Num {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a
                .checked_sub(b)
                .map_or(Num::Float(a as f64 - b as f64), Num::Int),
            _ => Num::Float(self.as_f64() - other.as_f64()),
        }
    }

    /// `self × other`, integer when both are integers (float on overflow).
    pub(crate) fn mul(self, other: Num) -> Num {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a
                .checked_mul(b)
                .map_or(Num::Float(a as f64 * b as f64), Num::Int),
            _ => Num::Float(self.as_f64() * other.as_f64()),
        }
    }

    /// True division (always a float); `None` when dividing by zero.
    pub(crate) fn div(self, other: Num) -> Option<Num> {
        if other.is_zero() {
            return None;
        }
        Some(Num::Float(self.as_f64() / other.as_f64()))
    }

    /// `|self|`, keeping the kind.
    pub(crate) fn abs(self) -> Num {
        match self {
            Num::Int(int) => int
                .checked_abs()
                .map_or(Num::Float((int as f64).abs()), Num::Int),
            Num::Float(float) => Num::Float(float.abs()),
        }
    }

    /// `-self`, keeping the kind (`-0.0` stays a negative float zero, as in the reference).
    pub(crate) fn neg(self) -> Num {
        match self {
            Num::Int(int) => int
                .checked_neg()
                .map_or(Num::Float(-(int as f64)), Num::Int),
            Num::Float(float) => Num::Float(-float),
        }
    }

    /// Truncation toward zero to an integer (`int(x)` in the reference).
    pub(crate) fn truncate(self) -> Num {
        match self {
            Num::Int(_) => self,
            // `as` saturates; gateway energies are nowhere near i64 range.
            Num::Float(float) if float.is_finite() => Num::Int(float.trunc() as i64),
            Num::Float(_) => self,
        }
    }
}

/// Sum starting from integer 0, like the reference's `sum()`.
pub(crate) fn sum(values: impl IntoIterator<Item = Num>) -> Num {
    values.into_iter().fold(Num::Int(0), Num::add)
}

/// `value or 0`: the number, or integer 0 when missing or falsy.
pub(crate) fn num_or_zero(value: Option<&Value>) -> Num {
    Num::of(value).unwrap_or(Num::Int(0))
}

/// Nested read by object keys; `None` when a step is missing, not an object, or the leaf is null.
pub(crate) fn lookup<'a>(root: Option<&'a Value>, path: &[&str]) -> Option<&'a Value> {
    let mut current = root?;
    for key in path {
        current = current.as_object()?.get(*key)?;
    }
    (!current.is_null()).then_some(current)
}

/// One key of an object (`None` for a missing key, a null, or a non-object parent).
pub(crate) fn field<'a>(object: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    lookup(object, &[key])
}

/// The reference's truthiness: present, non-null, non-zero, non-empty.
pub(crate) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(number)) => number.as_f64().is_some_and(|float| float != 0.0),
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(map)) => !map.is_empty(),
    }
}

/// The items of a JSON array (empty for anything else).
pub(crate) fn items(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

/// The text of a JSON string (`None` for anything else).
pub(crate) fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

/// A copy of the value, or `null`.
pub(crate) fn or_null(value: Option<&Value>) -> Value {
    value.cloned().unwrap_or(Value::Null)
}

/// `x or default`: the value when truthy, else the default.
pub(crate) fn truthy_or(value: Option<&Value>, default: Value) -> Value {
    if truthy(value) {
        or_null(value)
    } else {
        default
    }
}

/// `block.alerts.active or []`.
pub(crate) fn active_alerts(block: Option<&Value>) -> Value {
    truthy_or(
        lookup(block, &["alerts", "active"]),
        Value::Array(Vec::new()),
    )
}

/// How the reference prints a value inside a key such as `TESYNC--<part>--<serial>`.
pub(crate) fn key_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "None".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(true)) => "True".to_owned(),
        Some(Value::Bool(false)) => "False".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// `{"ecuType": n}` as carried by every device block.
pub(crate) fn ecu_type(code: i64) -> Value {
    let mut attributes = Map::new();
    attributes.insert("ecuType".to_owned(), Value::from(code));
    Value::Object(attributes)
}

/// First non-null of a signal's `value`, `boolValue`, `textValue` (the reference's order).
pub(crate) fn signal_value(signal: &Value) -> Value {
    ["value", "boolValue", "textValue"]
        .iter()
        .find_map(|key| field(Some(signal), key))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Parses an embedded JSON document; a broken embed yields `null` (a unit test guards each).
pub(crate) fn embedded(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_arithmetic_stays_integer_and_division_is_float() {
        assert_eq!(Num::Int(2).add(Num::Int(3)), Num::Int(5));
        assert_eq!(Num::Int(2).mul(Num::Float(1.5)), Num::Float(3.0));
        assert_eq!(Num::Int(6).div(Num::Int(3)), Some(Num::Float(2.0)));
        assert_eq!(Num::Int(1).div(Num::Int(0)), None);
        assert_eq!(
            Num::Float(13.5).mul(Num::Int(1000)).truncate(),
            Num::Int(13500)
        );
        assert!(Num::Float(0.0).neg().as_f64().is_sign_negative());
    }

    #[test]
    fn lookup_is_null_safe() {
        let doc = json!({"a": {"b": null, "c": [1]}, "d": 5});
        assert_eq!(lookup(Some(&doc), &["a", "b"]), None);
        assert_eq!(lookup(Some(&doc), &["d", "x"]), None);
        assert_eq!(lookup(None, &["a"]), None);
        assert_eq!(items(lookup(Some(&doc), &["a", "c"])).len(), 1);
        assert!(
            !truthy(Some(&json!(0.0))) && !truthy(Some(&json!({}))) && truthy(Some(&json!("x")))
        );
        assert_eq!(key_text(None), "None");
    }
}
