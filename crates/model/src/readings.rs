//! What a consumer of typed readings (MQTT, metrics, history) must know besides the value: is it
//! fresh, kept past its freshness while the gateway fails, or not something this mode supports.

use serde::Serialize;

/// How current a reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// From the latest polls, inside its freshness window.
    Fresh,
    /// The last good value, served past its freshness while the gateway fails.
    Stale,
    /// Not known now: not read yet, or dropped after the degradation window.
    Missing,
    /// This access mode does not provide it.
    Unsupported,
}

/// A typed value with its freshness; `value` is `None` unless fresh or stale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field<T> {
    /// The value, when fresh or stale.
    pub value: Option<T>,
    /// How current it is.
    pub freshness: Freshness,
}

impl<T> Field<T> {
    /// A field without a value.
    pub fn empty(freshness: Freshness) -> Self {
        Self {
            value: None,
            freshness,
        }
    }

    /// The value mapped by `read`, with the same freshness (`None` stays `None`).
    pub fn map<U>(self, read: impl FnOnce(T) -> Option<U>) -> Field<U> {
        Field {
            value: self.value.and_then(read),
            freshness: self.freshness,
        }
    }

    /// Whether a value is there and fresh.
    pub fn is_fresh(&self) -> bool {
        self.value.is_some() && self.freshness == Freshness::Fresh
    }
}
