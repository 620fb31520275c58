//! What the site is made of: gateway, battery packs, solar inverters, meters.
//!
//! Three topologies can be chosen at start ([`TopologyKind`]). The default Powerwall 2 site is
//! seeded from the captured `/api/system_status` of a two-Powerwall-2 site
//! (`testdata/local/bogus/api.system_status.json`); the Powerwall 3 sites are built in
//! [`super::pw3`] from the DINs of the TEDAPI PW3 fixtures.

use serde_json::Value;

use crate::SimulatorError;

pub use super::kind::TopologyKind;

/// The captured two-pack `/api/system_status` the topology is read from.
pub(crate) const SYSTEM_STATUS_FIXTURE: &str =
    include_str!("../../../../testdata/local/bogus/api.system_status.json");

/// Gateway DIN of the Powerwall 2 site (the original simulator's, shared with the TEDAPI fixtures).
pub const GATEWAY_DIN: &str = "1232100-00-E--TG123456789ABC";

/// Nameplate energy of one Powerwall 2, Powerwall 3 or expansion pack in kWh; the gateway's
/// `nominal_system_energy_ac` is the sum of nameplates (27 for two packs), not of measured energy.
pub const PACK_NAMEPLATE_KWH: f64 = 13.5;

/// The PV strings of the Powerwall 2 site's solar inverter, in the proportions of the captured
/// PVAC vitals (A 441 W, B disconnected, C 746 W, D 731 W) and at their captured voltages.
pub const PW2_STRINGS: [PvStringSpec; 4] = [
    PvStringSpec::new('A', 441.0, 256.9),
    PvStringSpec::new('B', 0.0, 0.0),
    PvStringSpec::new('C', 746.0, 294.4),
    PvStringSpec::new('D', 731.0, 294.8),
];

/// PINV/POD modules inside the two captured Powerwall 2 packs (part numbers from the captured
/// vitals; the capture redacted the serials, these are invented in the same format).
const PW2_MODULES: [(&str, &str); 2] = [
    ("1081100-13-V", "TG1211000A1"),
    ("1081100-10-U", "TG1211000B2"),
];

/// A part number and a serial number; `part--serial` is the device's DIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceId {
    /// Part number (`1232100-00-E`).
    pub part_number: String,
    /// Serial number (`TG123456789ABC`).
    pub serial_number: String,
}

impl DeviceId {
    /// A device identity from its two halves.
    pub fn new(part_number: &str, serial_number: &str) -> Self {
        Self {
            part_number: part_number.to_owned(),
            serial_number: serial_number.to_owned(),
        }
    }

    /// Parses a `part--serial` DIN (`None` without the separator).
    pub fn from_din(din: &str) -> Option<Self> {
        din.split_once("--")
            .map(|(part, serial)| Self::new(part, serial))
    }

    /// `part--serial`.
    pub fn din(&self) -> String {
        format!("{}--{}", self.part_number, self.serial_number)
    }
}

/// What a battery pack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackRole {
    /// A Powerwall 2 (pack and inverter in one unit).
    Powerwall2,
    /// The main pack of a Powerwall 3 (pack and inverter in one unit).
    Powerwall3,
    /// A Powerwall 3 expansion pack (energy only, served by its Powerwall 3's inverter).
    Expansion,
}

/// One battery pack.
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
    /// What the pack is.
    pub role: PackRole,
    /// Index in [`Topology::packs`] of the Powerwall whose inverter serves this pack: the pack
    /// itself, or for an expansion its Powerwall 3.
    pub unit: usize,
    /// The module behind the pack: on a Powerwall 2 its PINV/POD module (own part and serial,
    /// paired with the package only by order), on a Powerwall 3 the pack itself (the HVP).
    pub module: DeviceId,
}

impl PackSpec {
    /// `part--serial`.
    pub fn din(&self) -> String {
        format!("{}--{}", self.part_number, self.serial_number)
    }

    /// Whether this pack is a Powerwall (a battery block with an inverter), not an expansion.
    pub fn is_unit(&self) -> bool {
        self.role != PackRole::Expansion
    }
}

/// One PV string input of a solar inverter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PvStringSpec {
    /// String letter (`A`–`F`).
    pub letter: char,
    /// Relative share of the site's solar production (0: nothing connected).
    pub weight: f64,
    /// DC voltage while producing.
    pub voltage_v: f64,
}

impl PvStringSpec {
    /// A string input.
    pub const fn new(letter: char, weight: f64, voltage_v: f64) -> Self {
        Self {
            letter,
            weight,
            voltage_v,
        }
    }

    /// Whether a PV string is wired to this input.
    pub fn connected(&self) -> bool {
        self.weight > 0.0
    }
}

/// A solar inverter: a Tesla PVAC, or the inverter inside a Powerwall 3.
#[derive(Debug, Clone, PartialEq)]
pub struct PvInverterSpec {
    /// Its identity (on a Powerwall 3, the Powerwall's own).
    pub id: DeviceId,
    /// Nameplate AC power in W (`config.solars[].power_rating_watts`).
    pub rating_w: f64,
    /// Index in [`Topology::packs`] of the Powerwall 3 it is part of; `None` for a PVAC.
    pub host: Option<usize>,
    /// Every string input, in letter order.
    pub strings: Vec<PvStringSpec>,
}

impl PvInverterSpec {
    /// Sum of its strings' weights.
    pub fn weight(&self) -> f64 {
        self.strings.iter().map(|string| string.weight).sum()
    }
}

/// The physical site behind every persona.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    /// Which of the selectable sites this is.
    pub kind: TopologyKind,
    /// The gateway (on Powerwall 3 sites, the leader Powerwall 3 itself).
    pub gateway: DeviceId,
    /// Battery packs in gateway order (each Powerwall 3 followed by its expansions).
    pub packs: Vec<PackSpec>,
    /// System charge limit in W (`max_charge_power`).
    pub max_charge_w: f64,
    /// System discharge limit in W (`max_discharge_power`).
    pub max_discharge_w: f64,
    /// Peak of the PV array in W (drives the sun curve).
    pub solar_rating_w: f64,
    /// Solar inverters; their string weights split the site's solar production.
    pub inverters: Vec<PvInverterSpec>,
    /// Backup Gateway synchroniser (TESYNC), if the site has one.
    pub synchronizer: Option<DeviceId>,
    /// Backup Switch (MSA), if the site has one.
    pub backup_switch: Option<DeviceId>,
    /// Serial of the Neurio meter measuring solar, if the site has one.
    pub neurio_serial: Option<String>,
}

impl Topology {
    /// The site of the chosen kind.
    pub fn build(kind: TopologyKind) -> Result<Self, SimulatorError> {
        match kind {
            TopologyKind::Pw2 => Self::from_fixture(),
            TopologyKind::Pw3 => Ok(super::pw3::topology(false)),
            TopologyKind::Pw3Multi => Ok(super::pw3::topology(true)),
        }
    }

    /// The Powerwall 2 site: packs and limits from the captured `/api/system_status`.
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
            let (module_part, module_serial) = PW2_MODULES[index % PW2_MODULES.len()];
            packs.push(PackSpec {
                part_number: text("PackagePartNumber")?,
                // The capture redacted both serials to the same value; the last digit is bumped
                // per pack so DINs and serials stay unique, as on a real site.
                serial_number: unique_serial(&serial, index),
                full_pack_energy_wh: block["nominal_full_pack_energy"]
                    .as_f64()
                    .ok_or_else(|| bad("nominal_full_pack_energy"))?,
                kind: if index == 0 { "SolarPowerwall" } else { "ACPW" },
                role: PackRole::Powerwall2,
                unit: index,
                module: DeviceId::new(module_part, &unique_serial(module_serial, index / 2)),
            });
        }
        if packs.is_empty() {
            return Err(bad("battery_blocks is empty"));
        }
        let number = |key: &str| doc[key].as_f64().ok_or_else(|| bad(key));
        let gateway = DeviceId::from_din(GATEWAY_DIN).ok_or_else(|| bad("gateway DIN"))?;
        Ok(Self {
            kind: TopologyKind::Pw2,
            gateway,
            packs,
            max_charge_w: number("max_charge_power")?,
            max_discharge_w: number("max_discharge_power")?,
            solar_rating_w: 7600.0,
            inverters: vec![PvInverterSpec {
                id: DeviceId::new("1538100-00-F", "C123456789JKL"),
                rating_w: 7600.0,
                host: None,
                strings: PW2_STRINGS.to_vec(),
            }],
            synchronizer: Some(DeviceId::new("1493315-01-F", "J123456789MNO")),
            backup_switch: None,
            neurio_serial: Some("V1234567890".to_owned()),
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

    /// Indices in [`Self::packs`] of the Powerwalls (battery blocks), expansions left out.
    pub fn units(&self) -> Vec<usize> {
        (0..self.packs.len())
            .filter(|&index| self.packs[index].is_unit())
            .collect()
    }

    /// Gateway DIN.
    pub fn gateway_din(&self) -> String {
        self.gateway.din()
    }

    /// `nominal_system_energy_ac`: the packs' nameplate energy in kWh.
    pub fn nominal_energy_kwh(&self) -> f64 {
        PACK_NAMEPLATE_KWH * self.packs.len() as f64
    }

    /// `nominal_system_power_ac`: the system discharge limit in kW.
    pub fn nominal_power_kw(&self) -> f64 {
        self.max_discharge_w / 1000.0
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
        assert_ne!(
            topology.packs[0].module.serial_number,
            topology.packs[1].module.serial_number
        );
        assert_eq!(topology.full_pack_energy_wh(), 25995.0);
        assert_eq!(topology.max_discharge_w, 10800.0);
        assert_eq!(topology.units(), vec![0, 1]);
        assert_eq!(topology.nominal_energy_kwh(), 27.0);
        assert_eq!(topology.gateway_din(), GATEWAY_DIN);
    }

    #[test]
    fn kinds_parse_and_print() {
        for kind in [TopologyKind::Pw2, TopologyKind::Pw3, TopologyKind::Pw3Multi] {
            assert_eq!(kind.as_str().parse::<TopologyKind>(), Ok(kind));
            assert_eq!(Topology::build(kind).unwrap().kind, kind);
        }
        assert!("pw4".parse::<TopologyKind>().is_err());
        assert_eq!(TopologyKind::default(), TopologyKind::Pw2);
    }

    #[test]
    fn split_adds_up() {
        let parts = split_exact(-3500.0, &[0.51, 0.49], 1.0);
        assert_eq!(parts.iter().sum::<f64>(), -3500.0);
        assert_eq!(parts, vec![-1785.0, -1715.0]);
    }
}
