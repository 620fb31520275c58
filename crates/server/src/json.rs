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

/// Python's `json.dumps(indent=4, sort_keys=True)` layout: `","` at line ends, `": "` after keys,
/// four-space indent, `{}`/`[]` for empty containers, ASCII-only strings.
#[derive(Debug, Default)]
struct PythonPrettyFormatter {
    depth: usize,
    has_items: bool,
}

impl PythonPrettyFormatter {
    fn newline_and_indent<W: ?Sized + io::Write>(&self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\n")?;
        for _ in 0..self.depth {
            writer.write_all(b"    ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_items = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if self.has_items {
            self.newline_and_indent(writer)?;
        }
        // The enclosing container necessarily has at least this item.
        self.has_items = true;
        writer.write_all(bracket)
    }

    fn item<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        self.has_items = true;
        self.newline_and_indent(writer)
    }
}

impl Formatter for PythonPrettyFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        PythonFormatter.write_string_fragment(writer, fragment)
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        PythonFormatter.write_char_escape(writer, escape)
    }
}

/// Serializes a value as Python's `json.dumps(value, indent=4, sort_keys=True)` would: keys sorted
/// at every level (code-point order, as Python sorts `str`), four-space indent.
pub fn to_python_pretty_bytes(value: &serde_json::Value) -> Bytes {
    let mut sorted = value.clone();
    sort_keys_deep(&mut sorted);
    let mut out = Vec::with_capacity(1024);
    let mut serializer = Serializer::with_formatter(&mut out, PythonPrettyFormatter::default());
    match sorted.serialize(&mut serializer) {
        Ok(()) => Bytes::from(out),
        Err(_) => Bytes::from_static(b"null"),
    }
}

/// Sorts object keys at every nesting level.
fn sort_keys_deep(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys_deep);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_keys_deep),
        _ => {}
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

    fn pretty(value: &serde_json::Value) -> String {
        String::from_utf8(to_python_pretty_bytes(value).to_vec()).unwrap()
    }

    #[test]
    fn pretty_matches_python_indent_4_sort_keys() {
        let value = json!({"b": {"z": 1, "a": [1, "é", {}]}, "a": [], "c": {}, "d": null});
        let expected = "{\n    \"a\": [],\n    \"b\": {\n        \"a\": [\n            1,\n            \"\\u00e9\",\n            {}\n        ],\n        \"z\": 1\n    },\n    \"c\": {},\n    \"d\": null\n}";
        assert_eq!(pretty(&value), expected);
        assert_eq!(pretty(&json!({})), "{}");
        assert_eq!(pretty(&json!([])), "[]");
        assert_eq!(pretty(&json!(null)), "null");
        assert_eq!(pretty(&json!(["b", "a"])), "[\n    \"b\",\n    \"a\"\n]");
        assert_eq!(
            pretty(&json!({"x": f64::NAN, "y": 80.0})),
            "{\n    \"x\": null,\n    \"y\": 80.0\n}"
        );
    }
}
