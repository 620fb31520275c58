//! Power flows at one instant and how the battery, grid and pins settle them.
//!
//! Signs follow the local API: site > 0 imports, battery > 0 discharges, solar > 0 produces,
//! load > 0 consumes. Every published set satisfies `load = solar + battery + site` bit for bit:
//! the load is recomputed as that sum after the site (or, off grid, the free term) is derived.

use serde::Serialize;

/// Instantaneous power flows in W.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Flows {
    /// Solar production.
    pub solar_w: f64,
    /// Home consumption (the `load` meter).
    pub home_w: f64,
    /// Battery power (positive discharging).
    pub battery_w: f64,
    /// Grid power at the site meter (positive importing).
    pub site_w: f64,
}

impl Flows {
    /// On grid: the site meter takes whatever solar and battery leave over.
    ///
    /// With fractional values `home − battery − solar` can miss the balance by one ulp, so the
    /// site value is nudged by an ulp or two until `solar + battery + site` gives the home value
    /// back exactly; only if that fails is the home value recomputed from the sum.
    pub fn on_grid(solar_w: f64, home_w: f64, battery_w: f64) -> Self {
        let first = home_w - battery_w - solar_w;
        let supply = solar_w + battery_w;
        let site_w = [0_i64, 1, -1, 2, -2]
            .into_iter()
            .map(|ulps| nudge(first, ulps))
            .find(|site| supply + site == home_w)
            .unwrap_or(first);
        Self {
            solar_w,
            battery_w,
            site_w,
            home_w: solar_w + battery_w + site_w,
        }
    }

    /// Off grid: nothing crosses the site meter.
    pub fn off_grid(solar_w: f64, battery_w: f64) -> Self {
        Self {
            solar_w,
            battery_w,
            site_w: 0.0,
            home_w: solar_w + battery_w + 0.0,
        }
    }

    /// `load − (solar + battery + site)`: zero for every published value.
    pub fn balance_error_w(&self) -> f64 {
        self.home_w - (self.solar_w + self.battery_w + self.site_w)
    }
}

/// Moves a finite value by `ulps` units in the last place (toward +∞ for positive counts).
fn nudge(value: f64, ulps: i64) -> f64 {
    if ulps == 0 || !value.is_finite() || value == 0.0 {
        return value;
    }
    let bits = value.to_bits() as i64;
    let step = if value > 0.0 { ulps } else { -ulps };
    f64::from_bits((bits + step) as u64)
}

/// A power value and whether a test pinned it (pins are served exactly and never adjusted,
/// except a battery pin that contradicts an islanded site).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    /// The value in W.
    pub value: f64,
    /// Whether it was pinned.
    pub pinned: bool,
}

/// What the battery can do at this instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryLimits {
    /// Maximum charge power in W (positive number).
    pub max_charge_w: f64,
    /// Maximum discharge power in W.
    pub max_discharge_w: f64,
    /// False when the packs are full.
    pub can_charge: bool,
    /// False when the SOE is at its floor (reserve on grid, empty off grid).
    pub can_discharge: bool,
}

impl BatteryLimits {
    /// Clamps a wanted battery power to what the packs can do now.
    pub fn clamp(&self, wanted_w: f64) -> f64 {
        let low = if self.can_charge {
            -self.max_charge_w
        } else {
            0.0
        };
        let high = if self.can_discharge {
            self.max_discharge_w
        } else {
            0.0
        };
        wanted_w.clamp(low, high)
    }
}

/// What self-powered dispatch asks of the battery before limits: cover a deficit unless the
/// mode keeps the battery for backup, absorb any surplus.
pub fn dispatch_w(backup_only: bool, solar_w: f64, home_w: f64) -> f64 {
    let deficit = home_w - solar_w;
    if deficit > 0.0 && backup_only {
        0.0
    } else {
        deficit
    }
}

/// Settles the flows of a grid-connected site.
pub fn settle_on_grid(
    solar: Term,
    home: Term,
    battery_pin: Option<f64>,
    battery_w: impl FnOnce() -> f64,
) -> Flows {
    let battery = battery_pin.unwrap_or_else(battery_w);
    Flows::on_grid(solar.value, home.value, battery)
}

/// Settles the flows of an islanded site: the battery covers the difference within its limits,
/// then loads are shed or solar is curtailed, never a pinned value.
pub fn settle_off_grid(
    solar: Term,
    home: Term,
    battery_pin: Option<f64>,
    limits: BatteryLimits,
) -> Flows {
    let (mut solar_w, home_w) = (solar.value, home.value);
    if let Some(battery_w) = battery_pin {
        match (solar.pinned, home.pinned) {
            // Physics wins over a battery pin that cannot hold without a grid.
            (true, true) => return Flows::off_grid(solar_w, home_w - solar_w),
            (false, true) => solar_w = home_w - battery_w,
            (true, false) => {}
            (false, false) => solar_w = solar_w.min((home_w - battery_w).max(0.0)),
        }
        return Flows::off_grid(solar_w, battery_w);
    }
    let need = home_w - solar_w;
    let mut battery_w = limits.clamp(need);
    // A shortfall sheds load (the home term is recomputed below) unless the load is pinned.
    if battery_w < need && home.pinned {
        battery_w = need;
    } else if battery_w > need {
        if solar.pinned {
            battery_w = need;
        } else {
            solar_w = home_w - battery_w;
        }
    }
    Flows::off_grid(solar_w, battery_w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(value: f64) -> Term {
        Term {
            value,
            pinned: false,
        }
    }

    fn pin(value: f64) -> Term {
        Term {
            value,
            pinned: true,
        }
    }

    const ROOMY: BatteryLimits = BatteryLimits {
        max_charge_w: 5000.0,
        max_discharge_w: 5000.0,
        can_charge: true,
        can_discharge: true,
    };

    #[test]
    fn on_grid_balance_is_exact_even_for_fractions() {
        let samples = [
            (123.456, 456.789, -345.678),
            (0.1, 0.3, 0.0),
            (6500.0, 900.0, -3500.0),
            (-50.0, 900.0, 0.0),
        ];
        for (solar, home, battery) in samples {
            let flows = settle_on_grid(pin(solar), pin(home), Some(battery), || 0.0);
            assert_eq!(flows.balance_error_w(), 0.0, "{flows:?}");
            assert_eq!(flows.solar_w, solar);
            assert_eq!(flows.battery_w, battery);
            assert_eq!(flows.home_w, home);
        }
        let flows = settle_on_grid(pin(6500.0), pin(900.0), Some(-3500.0), || 0.0);
        assert_eq!((flows.site_w, flows.home_w), (-2100.0, 900.0));
    }

    #[test]
    fn dispatch_covers_deficit_and_absorbs_surplus() {
        assert_eq!(dispatch_w(false, 500.0, 900.0), 400.0);
        assert_eq!(dispatch_w(true, 500.0, 900.0), 0.0);
        assert_eq!(dispatch_w(true, 1500.0, 900.0), -600.0);
        let tight = BatteryLimits {
            can_discharge: false,
            ..ROOMY
        };
        assert_eq!(tight.clamp(400.0), 0.0);
        assert_eq!(tight.clamp(-9000.0), -5000.0);
    }

    #[test]
    fn off_grid_never_uses_the_site_meter() {
        let flows = settle_off_grid(free(600.0), free(1400.0), None, ROOMY);
        assert_eq!(
            (flows.battery_w, flows.site_w, flows.home_w),
            (800.0, 0.0, 1400.0)
        );
        // Empty battery: the home is shed down to what the sun gives.
        let empty = BatteryLimits {
            can_discharge: false,
            ..ROOMY
        };
        let flows = settle_off_grid(free(600.0), free(1400.0), None, empty);
        assert_eq!((flows.battery_w, flows.home_w), (0.0, 600.0));
        // Full battery: solar is curtailed to the load.
        let full = BatteryLimits {
            can_charge: false,
            ..ROOMY
        };
        let flows = settle_off_grid(free(4300.0), free(1200.0), None, full);
        assert_eq!(
            (flows.solar_w, flows.battery_w, flows.home_w),
            (1200.0, 0.0, 1200.0)
        );
        // Scenario pins that are consistent stay exact.
        let flows = settle_off_grid(pin(4300.0), pin(1200.0), Some(-3100.0), ROOMY);
        assert_eq!(
            (flows.solar_w, flows.home_w, flows.battery_w, flows.site_w),
            (4300.0, 1200.0, -3100.0, 0.0)
        );
        for flows in [
            flows,
            settle_off_grid(pin(1500.0), pin(400.0), Some(0.0), ROOMY),
        ] {
            assert_eq!(flows.balance_error_w(), 0.0);
            assert_eq!(flows.site_w, 0.0);
        }
    }
}
