//! What the site is made of: gateway, battery packs, solar inverter, meters.
//!
//! Seeded from the captured `/api/system_status` of a two-Powerwall-2 site
//! (`testdata/local/bogus/api.system_status.json`).

use serde_json::Value;

use crate::SimulatorError;

/// The captured two-pack `/api/system_status` the topology is read from.
pub(crate) const SYSTEM_STATUS_FIXTURE: &str =
    include_str!("../../../../testdata/local/bogus/api.system_status.json");

/// Gateway DIN (the original simulator's, shared with the TEDAPI fixtures).
pub const GATEWAY_DIN: &str = "1232100-00-E--TG123456789ABC";

/// One Powerwall battery block.
#[derive(Debug, Clone, PartialEq)]
pub struct PackSpec {
    /// `PackagePartNumber`.
    pub part_number: String,
    /// `PackageSerialNumber`.
    pub serial_number: String,
    /// `nominal_full_pack_energy` in Wh.
    pub full_pack_energy_wh: f64,
    /// `type` in `/api/powerwalls` (`SolarPowerwall` for the first, `ACPW` for the others).
    pub kind: &'static str,
}

/// The physical site behind every persona.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    /// Battery blocks in gateway order.
    pub packs: Vec<PackSpec>,
    /// System charge limit in W (`max_charge_power`).
    pub max_charge_w: f64,
    /// System discharge limit in W (`max_discharge_power`).
    pub max_discharge_w: f64,
    /// Solar inverter rating in W (`/api/solars`).
    pub solar_rating_w: f64,
}

impl Topology {
    /// Reads the packs and limits from the captured `/api/system_status`.
    pub fn from_fixture() -> Result<Self, SimulatorError> {
        let bad = |reason: &str| SimulatorError::Fixture {
            name: "api.system_status.json",
            reason: reason.to_owned(),
        };
        let doc: Value =
            serde_json::from_str(SYSTEM_STATUS_FIXTURE).map_err(|e| bad(&e.to_string()))?;
        let blocks = doc["battery_blocks"]
            .as_array()
            .ok_or_else(|| bad("no battery_blocks"))?;
        let mut packs = Vec::with_capacity(blocks.len());
        for (index, block) in blocks.iter().enumerate() {
            let text = |key: &str| {
                block[key]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(key))
            };
            let serial = text("PackageSerialNumber")?;
            packs.push(PackSpec {
                part_number: text("PackagePartNumber")?,
                // The capture redacted both serials to the same value; the last digit is bumped
                // per pack so DINs and serials stay unique, as on a real site.
                serial_number: unique_serial(&serial, index),
                full_pack_energy_wh: block["nominal_full_pack_energy"]
                    .as_f64()
                    .ok_or_else(|| bad("nominal_full_pack_energy"))?,
                kind: if index == 0 { "SolarPowerwall" } else { "ACPW" },
            });
        }
        if packs.is_empty() {
            return Err(bad("battery_blocks is empty"));
        }
        let number = |key: &str| doc[key].as_f64().ok_or_else(|| bad(key));
        Ok(Self {
            packs,
            max_charge_w: number("max_charge_power")?,
            max_discharge_w: number("max_discharge_power")?,
            solar_rating_w: 7600.0,
        })
    }

    /// Total nominal pack energy in Wh.
    pub fn full_pack_energy_wh(&self) -> f64 {
        self.packs.iter().map(|pack| pack.full_pack_energy_wh).sum()
    }

    /// Each pack's share of the total energy (used to split power and counters).
    pub fn shares(&self) -> Vec<f64> {
        let total = self.full_pack_energy_wh();
        self.packs
            .iter()
            .map(|pack| pack.full_pack_energy_wh / total)
            .collect()
    }
}

fn unique_serial(serial: &str, index: usize) -> String {
    if index == 0 {
        return serial.to_owned();
    }
    let (head, last) = serial.split_at(serial.len().saturating_sub(1));
    let digit = last
        .parse::<usize>()
        .map(|d| (d + index) % 10)
        .unwrap_or(index % 10);
    format!("{head}{digit}")
}

/// Splits `total` by `shares`, rounding every part but the last to `step` so the parts add up
/// to `total` exactly whenever `total` is a multiple of `step`.
pub fn split_exact(total: f64, shares: &[f64], step: f64) -> Vec<f64> {
    let mut parts = Vec::with_capacity(shares.len());
    let mut rest = total;
    for (index, share) in shares.iter().enumerate() {
        if index + 1 == shares.len() {
            parts.push(rest);
        } else {
            let part = (total * share / step).round() * step;
            parts.push(part);
            rest -= part;
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_powerwall_two_packs() {
        let topology = Topology::from_fixture().unwrap();
        assert_eq!(topology.packs.len(), 2);
        assert_eq!(topology.packs[0].part_number, "2012170-25-E");
        assert_eq!(topology.packs[1].part_number, "3012170-05-B");
        assert_ne!(
            topology.packs[0].serial_number,
            topology.packs[1].serial_number
        );
        assert_eq!(topology.full_pack_energy_wh(), 25995.0);
        assert_eq!(topology.max_discharge_w, 10800.0);
    }

    #[test]
    fn split_adds_up() {
        let parts = split_exact(-3500.0, &[0.51, 0.49], 1.0);
        assert_eq!(parts.iter().sum::<f64>(), -3500.0);
        assert_eq!(parts, vec![-1785.0, -1715.0]);
    }
}
