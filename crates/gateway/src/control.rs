//! Values of the control (write) operations: operation modes, grid export rules, reserve levels.
//!
//! Each type parses the exact spellings the proxy accepts (proxy-api §6.8) so an invalid value can
//! never reach a gateway.

use std::fmt;

/// The battery operation mode (`real_mode` of `/api/operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationMode {
    /// `self_consumption`: the battery powers the home from solar.
    SelfConsumption,
    /// `backup`: the battery is kept full for outages.
    Backup,
    /// `autonomous`: time-based control.
    Autonomous,
}

impl OperationMode {
    /// Every mode, in the proxy's documented order.
    pub const ALL: [OperationMode; 3] = [Self::SelfConsumption, Self::Backup, Self::Autonomous];

    /// Parses the exact (case-sensitive) gateway spelling; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == text)
    }

    /// The gateway spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfConsumption => "self_consumption",
            Self::Backup => "backup",
            Self::Autonomous => "autonomous",
        }
    }
}

impl fmt::Display for OperationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the site may export to the grid (`customer_preferred_export_rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GridExportRule {
    /// `battery_ok`: solar and battery may export.
    BatteryOk,
    /// `pv_only`: only solar may export.
    PvOnly,
    /// `never`: nothing is exported.
    Never,
}

impl GridExportRule {
    /// Every rule, in the proxy's documented order.
    pub const ALL: [GridExportRule; 3] = [Self::BatteryOk, Self::PvOnly, Self::Never];

    /// Parses a rule case-insensitively (the proxy lower-cases before use); anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|rule| rule.as_str().eq_ignore_ascii_case(text))
    }

    /// The gateway spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BatteryOk => "battery_ok",
            Self::PvOnly => "pv_only",
            Self::Never => "never",
        }
    }
}

impl fmt::Display for GridExportRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A backup reserve level from 0 to 100 %, in whatever scale the caller chose (the backends differ:
/// see [`crate::GatewayAccess::set_operation`]). Construction refuses anything outside 0–100.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct ReserveLevel(f64);

impl ReserveLevel {
    /// A level from a number; `None` outside 0–100 or when not finite.
    pub fn new(percent: f64) -> Option<Self> {
        (percent.is_finite() && (0.0..=100.0).contains(&percent)).then_some(Self(percent))
    }

    /// A level from whole percent; `None` above 100.
    pub fn whole(percent: u64) -> Option<Self> {
        (percent <= 100).then_some(Self(percent as f64))
    }

    /// Parses ASCII decimal digits only (no sign, decimals or spaces, as the proxy checks),
    /// then the 0–100 range; anything else is `None`.
    pub fn parse_digits(text: &str) -> Option<Self> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<u64>().ok().and_then(Self::whole)
    }

    /// The percentage.
    pub fn percent(self) -> f64 {
        self.0
    }

    /// The level as JSON: an integer when it is whole (`50`, as the reference sends `int(value)`),
    /// else a float.
    pub fn to_json(self) -> serde_json::Value {
        if self.0.fract() == 0.0 {
            // In range 0–100 and whole, so the conversion is exact.
            serde_json::Value::from(self.0 as u64)
        } else {
            serde_json::Value::from(self.0)
        }
    }
}

impl fmt::Display for ReserveLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.fract() == 0.0 {
            write!(f, "{}", self.0 as u64)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_exactly() {
        for mode in OperationMode::ALL {
            assert_eq!(OperationMode::parse(mode.as_str()), Some(mode));
        }
        for bad in [
            "Backup",
            "BACKUP",
            "",
            " backup",
            "backup ",
            "garbage",
            "self consumption",
        ] {
            assert_eq!(OperationMode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn export_rules_parse_in_any_case() {
        assert_eq!(
            GridExportRule::parse("PV_ONLY"),
            Some(GridExportRule::PvOnly)
        );
        assert_eq!(
            GridExportRule::parse("Battery_Ok"),
            Some(GridExportRule::BatteryOk)
        );
        assert_eq!(GridExportRule::parse("never"), Some(GridExportRule::Never));
        for bad in ["", "none", "pv-only", "always", " never"] {
            assert_eq!(GridExportRule::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reserve_levels_are_digits_from_0_to_100() {
        let cases: [(&str, Option<f64>); 14] = [
            ("0", Some(0.0)),
            ("50", Some(50.0)),
            ("050", Some(50.0)),
            ("100", Some(100.0)),
            ("101", None),
            ("99999999999999999999999", None),
            ("-5", None),
            ("+5", None),
            ("50.5", None),
            (" 50", None),
            ("abc", None),
            ("", None),
            ("\u{b2}", None),
            ("\u{664}", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                ReserveLevel::parse_digits(text).map(ReserveLevel::percent),
                expected,
                "{text:?}"
            );
        }
        assert!(ReserveLevel::new(f64::NAN).is_none());
        assert!(ReserveLevel::new(-0.5).is_none());
        assert!(ReserveLevel::new(100.5).is_none());
        assert_eq!(
            ReserveLevel::new(52.5).map(|l| l.to_string()),
            Some("52.5".into())
        );
    }

    #[test]
    fn reserve_json_keeps_whole_numbers_integral() {
        let whole = ReserveLevel::whole(50).expect("in range");
        assert_eq!(
            serde_json::to_string(&whole.to_json()).ok(),
            Some("50".into())
        );
        assert_eq!(whole.to_string(), "50");
        let frac = ReserveLevel::new(23.5).expect("in range");
        assert_eq!(
            serde_json::to_string(&frac.to_json()).ok(),
            Some("23.5".into())
        );
    }
}
