//! Lenient readers of configuration values (pydantic's "lax" coercions, which existing gateways
//! files rely on) and the closest-key suggestion for typos.

use serde_json::Value;

use super::cli::parse_yes_no;

/// What kind of value `value` is, for error messages.
pub(super) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Plain text: a string or a number (YAML reads `site_id: 12345` as a number); trimmed; `null`
/// and blank text mean "not set".
pub(super) fn text(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => {
            let text = text.trim();
            Ok((!text.is_empty()).then(|| text.to_owned()))
        }
        Value::Number(number) => Ok(Some(number.to_string())),
        other => Err(format!("expected text, got {}", describe(other))),
    }
}

/// A credential: only a string, kept exactly as written (no trimming); empty means "not set".
///
/// Numbers are refused: YAML turns `0123` into 123, so an unquoted numeric password would be
/// silently altered.
pub(super) fn credential(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok((!text.is_empty()).then(|| text.clone())),
        Value::Number(_) => Err("a number here may lose digits; write it in quotes".to_owned()),
        other => Err(format!("expected text, got {}", describe(other))),
    }
}

/// A boolean: YAML/JSON booleans, 0/1, or yes/no/true/false/on/off in any case.
pub(super) fn boolean(value: &Value) -> Result<Option<bool>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(flag) => Ok(Some(*flag)),
        Value::Number(number) => match number.as_u64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(format!("expected a boolean, got {number}")),
        },
        Value::String(text) => parse_yes_no(text).map(Some),
        other => Err(format!("expected a boolean, got {}", describe(other))),
    }
}

/// A whole number: an integer, a whole-number float (`8675.0`) or such a number in text.
pub(super) fn integer(value: &Value) -> Result<Option<i64>, String> {
    let whole = |n: f64| {
        (n.fract() == 0.0 && n.abs() < 9.0e15)
            .then_some(n as i64)
            .ok_or_else(|| format!("expected a whole number, got {n}"))
    };
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => match number.as_i64() {
            Some(n) => Ok(Some(n)),
            None => whole(number.as_f64().unwrap_or(f64::NAN)).map(Some),
        },
        Value::String(text) => {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            if let Ok(n) = text.parse::<i64>() {
                return Ok(Some(n));
            }
            match text.parse::<f64>() {
                Ok(n) => whole(n).map(Some),
                Err(_) => Err(format!("expected a whole number, got {text:?}")),
            }
        }
        other => Err(format!("expected a whole number, got {}", describe(other))),
    }
}

/// An integer within `min..=max`.
pub(super) fn bounded(value: &Value, min: i64, max: i64) -> Result<Option<i64>, String> {
    match integer(value)? {
        Some(n) if !(min..=max).contains(&n) => {
            Err(format!("must be between {min} and {max}, got {n}"))
        }
        other => Ok(other),
    }
}

/// A list of strings.
pub(super) fn string_list(value: &Value) -> Result<Option<Vec<String>>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(format!(
                    "expected a list of text, found {}",
                    describe(other)
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => Err(format!("expected a list of text, got {}", describe(other))),
    }
}

/// "unknown key `gw_pw`" plus, when a known key is a likely typo of it, "(did you mean `gw_pwd`?)".
pub(super) fn unknown_key_message(key: &str, known: &[&str]) -> String {
    let mut message = format!("unknown key {key:?}");
    if let Some(best) = closest(key, known) {
        message.push_str(&format!(" (did you mean {best:?}?)"));
    }
    message.push_str(&format!("; known keys: {}", known.join(", ")));
    message
}

/// The known key nearest to `key` by edit distance, if near enough to be a typo.
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let key = key.to_ascii_lowercase().replace('-', "_");
    known
        .iter()
        .map(|candidate| (edit_distance(&key, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).clamp(1, 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance where swapping two neighbours counts as one edit (`prot` → `port`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_accept_the_lax_spellings() {
        for (value, expected) in [
            (json!(true), Some(true)),
            (json!("yes"), Some(true)),
            (json!("On"), Some(true)),
            (json!("0"), Some(false)),
            (json!(1), Some(true)),
            (json!("off"), Some(false)),
            (Value::Null, None),
        ] {
            assert_eq!(boolean(&value), Ok(expected), "{value}");
        }
        assert!(boolean(&json!("perhaps")).is_err());
        assert!(boolean(&json!(2)).is_err());
        assert!(boolean(&json!([true])).is_err());
    }

    #[test]
    fn integers_accept_whole_floats_and_text() {
        assert_eq!(integer(&json!(8675)), Ok(Some(8675)));
        assert_eq!(integer(&json!(8675.0)), Ok(Some(8675)));
        assert_eq!(integer(&json!(" 10 ")), Ok(Some(10)));
        assert_eq!(integer(&json!("10.0")), Ok(Some(10)));
        assert!(integer(&json!(2.5)).is_err());
        assert!(integer(&json!("ten")).is_err());
        assert!(bounded(&json!(0), 1, 65535).is_err());
        assert!(bounded(&json!(70000), 1, 65535).is_err());
    }

    #[test]
    fn credentials_must_be_text() {
        assert_eq!(credential(&json!(" pw ")), Ok(Some(" pw ".to_owned())));
        assert_eq!(credential(&json!("")), Ok(None));
        assert!(credential(&json!(123)).unwrap_err().contains("quotes"));
        assert_eq!(text(&json!(12345)), Ok(Some("12345".to_owned())));
    }

    #[test]
    fn typos_get_a_suggestion() {
        let known = ["id", "gw_pwd", "password", "timezone", "host"];
        assert_eq!(closest("gw_pw", &known), Some("gw_pwd"));
        assert_eq!(closest("GW-PWD", &known), Some("gw_pwd"));
        assert_eq!(closest("pasword", &known), Some("password"));
        assert_eq!(closest("colour", &known), None);
        assert_eq!(closest("hsot", &known), Some("host"));
        let message = unknown_key_message("timezon", &known);
        assert!(message.contains("did you mean \"timezone\""), "{message}");
    }
}
