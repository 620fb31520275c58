//! The final check: one live reading through the new login, as the server will read it.

use std::fmt;

use powerwall_gateway::{DataKind, GatewayAccess, GatewayError};
use powerwall_model::scale::raw_to_app_pct;
use serde_json::Value;

/// What the summary shows of the live data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveReading {
    /// Battery charge on the Tesla app's scale, percent.
    pub battery_pct: f64,
    /// Battery power, W (positive = discharging).
    pub battery_w: f64,
    /// Home consumption, W.
    pub home_w: f64,
    /// Solar production, W.
    pub solar_w: f64,
    /// Grid power, W (positive = importing).
    pub grid_w: f64,
}

/// Connects (site and token) and reads the charge and the power flows once, through any cloud
/// client (Owner API or Fleet API).
pub async fn read_live(
    client: &(impl GatewayAccess + ?Sized),
) -> Result<LiveReading, GatewayError> {
    client.connect().await?;
    let soe = client.fetch(DataKind::Soe).await?;
    let aggregates = client.fetch(DataKind::Aggregates).await?;
    let raw_pct = soe["percentage"]
        .as_f64()
        .ok_or_else(|| GatewayError::Malformed {
            path: "/api/system_status/soe".to_owned(),
            detail: "no percentage".to_owned(),
        })?;
    let power = |section: &str| -> f64 {
        aggregates
            .get(section)
            .and_then(|meter| meter.get("instant_power"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    Ok(LiveReading {
        battery_pct: raw_to_app_pct(raw_pct).clamp(0.0, 100.0),
        battery_w: power("battery"),
        home_w: power("load"),
        solar_w: power("solar"),
        grid_w: power("site"),
    })
}

impl fmt::Display for LiveReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let battery = match self.battery_w {
            watts if watts > 0.5 => format!("discharging {watts:.0} W"),
            watts if watts < -0.5 => format!("charging {:.0} W", -watts),
            _ => "idle".to_owned(),
        };
        let grid = match self.grid_w {
            watts if watts > 0.5 => format!("importing {watts:.0} W"),
            watts if watts < -0.5 => format!("exporting {:.0} W", -watts),
            _ => "idle".to_owned(),
        };
        write!(
            f,
            "battery {:.1} % ({battery}), home {:.0} W, solar {:.0} W, grid {grid}",
            self.battery_pct, self.home_w, self.solar_w
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reading_names_directions_in_words() {
        let reading = LiveReading {
            battery_pct: 81.24,
            battery_w: -1200.0,
            home_w: 2300.0,
            solar_w: 3500.4,
            grid_w: 0.0,
        };
        assert_eq!(
            reading.to_string(),
            "battery 81.2 % (charging 1200 W), home 2300 W, solar 3500 W, grid idle"
        );
        let exporting = LiveReading {
            battery_w: 500.0,
            grid_w: -40.0,
            ..reading
        };
        let text = exporting.to_string();
        assert!(text.contains("(discharging 500 W)") && text.ends_with("grid exporting 40 W"));
    }
}
