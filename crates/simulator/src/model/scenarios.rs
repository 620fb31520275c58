//! The original simulator's scenarios (gateway-protocols §9.2), value for value.
//!
//! The table's grid column is advisory there (grid is recomputed as home − battery − solar) and
//! is kept here only so a test can show the recomputation agrees with the published table.

/// One row of the §9.2 scenario table (W; battery positive = discharging).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    /// Name used in `/test/scenario/<name>`.
    pub name: &'static str,
    /// Solar production.
    pub solar_w: f64,
    /// Home consumption.
    pub home_w: f64,
    /// The table's grid value (advisory).
    pub grid_w: f64,
    /// Battery power.
    pub battery_w: f64,
    /// Whether the grid is up.
    pub grid_connected: bool,
}

const fn row(
    name: &'static str,
    solar_w: f64,
    home_w: f64,
    grid_w: f64,
    battery_w: f64,
    grid_connected: bool,
) -> Scenario {
    Scenario {
        name,
        solar_w,
        home_w,
        grid_w,
        battery_w,
        grid_connected,
    }
}

/// The start-up state of the original simulator (the live model's seed).
pub const STARTUP: Scenario = row("startup", 6500.0, 900.0, -2100.0, -3500.0, true);

/// The raw SOE the original simulator starts with.
pub const STARTUP_SOE_RAW_PCT: f64 = 23.975388097174584;

/// The eleven named scenarios, in the original page's order.
pub const SCENARIOS: [Scenario; 11] = [
    row("battery-exporting", 0.0, 900.0, -2100.0, 3000.0, true),
    row("solar-exporting", 1500.0, 400.0, -1100.0, 0.0, true),
    row("solar-powered", 900.0, 900.0, 0.0, 0.0, true),
    row("grid-powered", 0.0, 900.0, 900.0, 0.0, true),
    row("self-powered", 500.0, 900.0, 0.0, 400.0, true),
    row("battery-powered", 0.0, 900.0, 0.0, 900.0, true),
    row("grid-charging", 0.0, 900.0, 1200.0, -300.0, true),
    row("solar-charging", 1200.0, 900.0, 0.0, -300.0, true),
    row("sunny-day-outage", 4300.0, 1200.0, 0.0, -3100.0, false),
    row("cloudy-day-outage", 600.0, 1400.0, 0.0, 800.0, false),
    row("nighttime-outage", 0.0, 900.0, 0.0, 900.0, false),
];

/// Name of the extension that removes every pin and lets the site evolve on its own.
pub const LIVE: &str = "live";

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|scenario| scenario.name == name)
}

impl Scenario {
    /// Grid power as the original recomputes it: home − battery − solar.
    pub fn site_w(&self) -> f64 {
        self.home_w - self.battery_w - self.solar_w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_unique() {
        let mut names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 11);
        assert!(find("grid-charging").is_some());
        assert!(find(LIVE).is_none());
        assert!(find("startup").is_none());
    }

    #[test]
    fn recomputed_grid_matches_the_table() {
        for scenario in SCENARIOS.iter().chain([&STARTUP]) {
            let site = scenario.site_w();
            assert_eq!(site, scenario.grid_w, "{}", scenario.name);
            assert_eq!(
                scenario.solar_w + scenario.battery_w + site,
                scenario.home_w
            );
            if !scenario.grid_connected {
                assert_eq!(site, 0.0, "{}", scenario.name);
            }
        }
    }
}
