//! JSON rendered the way the Python proxy renders it, so diff-based tools and scrapers see no drift.
//!
//! Python's `json.dumps` defaults: `", "` between items, `": "` after keys, non-ASCII escaped as
//! `\uXXXX`. Numbers keep the type they arrived with (serde_json's `Number`), and computed floats use
//! the shortest round-trip form with a fractional part (`80.0`), which serde_json already does;
//! non-finite floats become `null` (Python would print invalid `NaN`).

use std::io;

use bytes::Bytes;
use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};

/// Formatter producing Python's default compact separators and ASCII-only output.
#[derive(Debug, Default)]
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        item_separator(writer, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        item_separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if fragment.is_ascii() {
            return writer.write_all(fragment.as_bytes());
        }
        let mut units = [0u16; 2];
        for ch in fragment.chars() {
            if ch.is_ascii() {
                writer.write_all(&[ch as u8])?;
            } else {
                for unit in ch.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let text: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(writer, "\\u{byte:04x}"),
        };
        writer.write_all(text)
    }
}

/// Python's `", "` before every item but the first.
fn item_separator<W: ?Sized + io::Write>(writer: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

/// Serializes a value as the Python proxy would (compact, `", "` and `": "`).
pub fn to_python_bytes<T: Serialize + ?Sized>(value: &T) -> Bytes {
    let mut out = Vec::with_capacity(256);
    let mut serializer = Serializer::with_formatter(&mut out, PythonFormatter);
    match value.serialize(&mut serializer) {
        Ok(()) => Bytes::from(out),
        // Only a Serialize impl that fails on purpose gets here; "null" is the proxy's no-data form.
        Err(_) => Bytes::from_static(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: &serde_json::Value) -> String {
        String::from_utf8(to_python_bytes(value).to_vec()).unwrap()
    }

    #[test]
    fn uses_python_separators() {
        assert_eq!(
            text(&json!({"a": 1, "b": [1, 2]})),
            r#"{"a": 1, "b": [1, 2]}"#
        );
        assert_eq!(text(&json!({})), "{}");
        assert_eq!(text(&json!([])), "[]");
    }

    #[test]
    fn keeps_number_types() {
        let parsed: serde_json::Value =
            serde_json::from_str(r#"{"i": -2100, "f": 60.019999999999996, "z": -0.0, "r": 80.0}"#)
                .unwrap();
        assert_eq!(
            text(&parsed),
            r#"{"i": -2100, "f": 60.019999999999996, "z": -0.0, "r": 80.0}"#
        );
        assert_eq!(text(&json!(19.974092631578948)), "19.974092631578948");
    }

    #[test]
    fn escapes_non_ascii_like_python() {
        assert_eq!(
            text(&json!("Café ☀ 😀")),
            r#""Caf\u00e9 \u2600 \ud83d\ude00""#
        );
        assert_eq!(text(&json!("a\"b\\c\n")), r#""a\"b\\c\n""#);
    }

    #[test]
    fn non_finite_floats_become_null() {
        assert_eq!(text(&json!({"x": f64::NAN})), r#"{"x": null}"#);
    }
}
