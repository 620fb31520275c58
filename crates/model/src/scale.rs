//! Conversions between the gateway's raw percentages and the Tesla app's scale.
//!
//! The app hides the bottom 5 % of the pack: `app = raw / 0.95 − 5 / 0.95`, `raw = app · 0.95 + 5`.

/// Converts a raw (gateway) percentage to the app scale, unclamped (raw 3 gives a negative value).
pub fn raw_to_app_pct(raw_pct: f64) -> f64 {
    raw_pct / 0.95 - 5.0 / 0.95
}

/// Converts an app-scale percentage to the raw (gateway) scale.
pub fn app_to_raw_pct(app_pct: f64) -> f64 {
    app_pct * 0.95 + 5.0
}

/// Converts a raw reserve to the app scale, clamped at zero as the app shows it.
pub fn reserve_raw_to_app_pct(raw_pct: f64) -> f64 {
    raw_to_app_pct(raw_pct).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_scale_matches_the_proxy_observation() {
        let app = raw_to_app_pct(23.975388);
        assert!((app - 19.974092631578948).abs() < 1e-9);
        assert_eq!(raw_to_app_pct(100.0), 100.0);
        assert_eq!(raw_to_app_pct(5.0), 0.0);
        assert!(raw_to_app_pct(3.0) < 0.0);
    }

    #[test]
    fn reserve_round_trips_and_clamps() {
        assert!((app_to_raw_pct(reserve_raw_to_app_pct(81.0)) - 81.0).abs() < 1e-9);
        assert_eq!(reserve_raw_to_app_pct(2.0), 0.0);
    }
}
