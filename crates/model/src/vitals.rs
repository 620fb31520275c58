//! The vitals dictionary: `{device DIN: {signal name: value, ...}}`.

/// Decoded device vitals keyed by device DIN (e.g. `TEPINV--1081100-10-U--CN3210120A0E3`).
///
/// Values stay JSON because every firmware adds signals; the routes that read them pick by name.
pub type Vitals = serde_json::Map<String, serde_json::Value>;
