//! Gateway identity and firmware (`/api/status`).

use serde::{Deserialize, Serialize};

/// `/api/status` (the fields the server uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayStatus {
    /// Device identification number of the gateway.
    #[serde(default)]
    pub din: Option<String>,
    /// Firmware version text, e.g. `23.44.0 9064fc6a`.
    #[serde(default)]
    pub version: Option<String>,
    /// Git hash of the firmware build.
    #[serde(default)]
    pub git_hash: Option<String>,
    /// Boot time, `YYYY-MM-DD HH:MM:SS +ZZZZ`.
    #[serde(default)]
    pub start_time: Option<String>,
    /// Uptime as a Go duration string.
    #[serde(default)]
    pub up_time_seconds: Option<String>,
    /// `teg` for gateways.
    #[serde(default)]
    pub device_type: Option<String>,
    /// `pvinverter` on a solar-only inverter.
    #[serde(default)]
    pub teg_type: Option<String>,
}

impl GatewayStatus {
    /// Reads the typed view of a status document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::ModelError> {
        crate::from_document("/api/status", value)
    }

    /// The firmware version, when reported.
    pub fn firmware(&self) -> Option<FirmwareVersion> {
        self.version.as_deref().map(FirmwareVersion::new)
    }
}

/// A firmware version text with the proxy's integer form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareVersion(pub String);

impl FirmwareVersion {
    /// Wraps a version text as the gateway reports it.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text as reported.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The proxy's `vint`: `23.44.0 9064fc6a` → 234400, `1.2` → 10200; `None` when unparseable.
    ///
    /// Text before the first space, only digits, `.`, `/`, `\` kept, padded to three parts with
    /// `.0`, each part a decimal integer, summed as `part × 100^position-from-right`.
    pub fn vint(&self) -> Option<i64> {
        let head = self.0.split(' ').next().unwrap_or_default();
        let kept: String = head
            .chars()
            .filter(|c| c.is_ascii_digit() || matches!(c, '.' | '/' | '\\'))
            .collect();
        let mut parts: Vec<&str> = kept.split('.').collect();
        while parts.len() < 3 {
            parts.push("0");
        }
        let mut total: i64 = 0;
        for part in &parts {
            let value: i64 = part.parse().ok()?;
            total = total.checked_mul(100)?.checked_add(value)?;
        }
        Some(total)
    }

    /// Whether this firmware still serves `/api/devices/vitals` (removed in 23.44.0).
    pub fn has_local_vitals(&self) -> bool {
        self.vint().is_some_and(|v| v < 234_400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vint_examples_from_the_spec() {
        let cases = [
            ("23.44.0 9064fc6a", Some(234400)),
            ("24.4.0", Some(240400)),
            ("21.1.1", Some(210101)),
            ("1.2", Some(10200)),
            ("25.10.1-beta", Some(251001)),
            ("22.9.2", Some(220902)),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(FirmwareVersion::new(text).vint(), expected, "{text:?}");
        }
    }

    #[test]
    fn vitals_cutoff() {
        assert!(FirmwareVersion::new("23.28.2 27626f98").has_local_vitals());
        assert!(!FirmwareVersion::new("23.44.0 9064fc6a").has_local_vitals());
        assert!(!FirmwareVersion::new("garbage").has_local_vitals());
    }

    #[test]
    fn status_fixture() {
        let json = crate::local_fixture("simulator/api.status.json");
        let status = GatewayStatus::from_json(&json).unwrap();
        assert_eq!(status.din.as_deref(), Some("1232100-00-E--TG123456789ABC"));
        assert_eq!(status.firmware().unwrap().vint(), Some(234400));
    }
}
