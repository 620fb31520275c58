//! The Powerwall 3 sites: a leader Powerwall 3 (which is also the gateway) with one expansion
//! pack, and optionally two follower Powerwall 3.
//!
//! DINs are those of the TEDAPI PW3 fixtures (`testdata/tedapi/pw3/config.three-pw3.json`) so
//! the fixtures and the simulator describe the same site. Pack energies are realistic measured
//! values (a little off the 13.5 kWh nameplate), PV arrays sit on the Powerwalls' own inverters.

use super::topology::{
    DeviceId, PackRole, PackSpec, PvInverterSpec, PvStringSpec, Topology, TopologyKind,
};

/// Part number of a Powerwall 3.
const PW3_PART: &str = "1707000-11-J";
/// Part number of a Powerwall 3 expansion pack.
const EXPANSION_PART: &str = "2707000-11-J";
/// Leader serial (its DIN is the gateway DIN and `config.json` `vin`).
const LEADER_SERIAL: &str = "TG12000000001Z";
/// Serial of the leader's expansion pack.
const EXPANSION_SERIAL: &str = "TG12000000004Z";
/// Serials of the two followers of `pw3-multi`.
const FOLLOWER_SERIALS: [&str; 2] = ["TG12000000002Z", "TG12000000003Z"];
/// Continuous power of one Powerwall 3 (charge and discharge, as the gateway reports both).
const PW3_POWER_W: f64 = 11_500.0;
/// Backup Switch measuring the site (invented identity; no capture names one).
const BACKUP_SWITCH: (&str, &str) = ("1624171-00-E", "TG124000001XB");

/// String layout of the leader's array: four strings on two roof faces, E and F unused.
const LEADER_STRINGS: [PvStringSpec; 6] = [
    PvStringSpec::new('A', 3000.0, 382.0),
    PvStringSpec::new('B', 3000.0, 376.5),
    PvStringSpec::new('C', 2000.0, 301.0),
    PvStringSpec::new('D', 2000.0, 297.5),
    PvStringSpec::new('E', 0.0, 0.0),
    PvStringSpec::new('F', 0.0, 0.0),
];

/// String layout of the first follower: two strings on A and B.
const FOLLOWER_STRINGS: [PvStringSpec; 6] = [
    PvStringSpec::new('A', 3000.0, 365.0),
    PvStringSpec::new('B', 3000.0, 361.0),
    PvStringSpec::new('C', 0.0, 0.0),
    PvStringSpec::new('D', 0.0, 0.0),
    PvStringSpec::new('E', 0.0, 0.0),
    PvStringSpec::new('F', 0.0, 0.0),
];

fn pack(part: &str, serial: &str, full_wh: f64, role: PackRole, unit: usize) -> PackSpec {
    PackSpec {
        part_number: part.to_owned(),
        serial_number: serial.to_owned(),
        full_pack_energy_wh: full_wh,
        kind: match role {
            PackRole::Expansion => "BatteryExpansion",
            _ => "Powerwall3",
        },
        role,
        unit,
        module: DeviceId::new(part, serial),
    }
}

fn inverter(serial: &str, host: usize, strings: &[PvStringSpec]) -> PvInverterSpec {
    PvInverterSpec {
        id: DeviceId::new(PW3_PART, serial),
        rating_w: PW3_POWER_W,
        host: Some(host),
        strings: strings.to_vec(),
    }
}

/// The `pw3` site, or with `multi` the `pw3-multi` site.
pub fn topology(multi: bool) -> Topology {
    let mut packs = vec![
        pack(PW3_PART, LEADER_SERIAL, 13_560.0, PackRole::Powerwall3, 0),
        pack(
            EXPANSION_PART,
            EXPANSION_SERIAL,
            13_490.0,
            PackRole::Expansion,
            0,
        ),
    ];
    let mut inverters = vec![inverter(LEADER_SERIAL, 0, &LEADER_STRINGS)];
    if multi {
        packs.push(pack(
            PW3_PART,
            FOLLOWER_SERIALS[0],
            13_520.0,
            PackRole::Powerwall3,
            2,
        ));
        packs.push(pack(
            PW3_PART,
            FOLLOWER_SERIALS[1],
            13_470.0,
            PackRole::Powerwall3,
            3,
        ));
        inverters.push(inverter(FOLLOWER_SERIALS[0], 2, &FOLLOWER_STRINGS));
    }
    // Every Powerwall 3 has an inverter with six string inputs, even with nothing wired to them.
    for (index, spec) in packs.iter().enumerate() {
        let hosted = inverters.iter().any(|inv| inv.host == Some(index));
        if spec.role == PackRole::Powerwall3 && !hosted {
            let idle: Vec<PvStringSpec> = "ABCDEF"
                .chars()
                .map(|letter| PvStringSpec::new(letter, 0.0, 0.0))
                .collect();
            inverters.push(inverter(&spec.serial_number, index, &idle));
        }
    }
    let units = packs.iter().filter(|p| p.is_unit()).count() as f64;
    let solar_rating_w = inverters
        .iter()
        .flat_map(|inv| inv.strings.iter())
        .map(|string| string.weight)
        .sum();
    Topology {
        kind: if multi {
            TopologyKind::Pw3Multi
        } else {
            TopologyKind::Pw3
        },
        gateway: DeviceId::new(PW3_PART, LEADER_SERIAL),
        packs,
        max_charge_w: PW3_POWER_W * units,
        max_discharge_w: PW3_POWER_W * units,
        solar_rating_w,
        inverters,
        synchronizer: None,
        backup_switch: Some(DeviceId::new(BACKUP_SWITCH.0, BACKUP_SWITCH.1)),
        neurio_serial: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_powerwall_three_with_expansion() {
        let site = topology(false);
        assert_eq!(site.gateway_din(), "1707000-11-J--TG12000000001Z");
        assert_eq!(site.units(), vec![0]);
        assert_eq!(site.packs[1].din(), "2707000-11-J--TG12000000004Z");
        assert_eq!(site.packs[1].unit, 0);
        assert_eq!(site.inverters.len(), 1);
        assert_eq!(site.solar_rating_w, 10_000.0);
        assert_eq!(site.max_discharge_w, 11_500.0);
        assert_eq!(site.nominal_energy_kwh(), 27.0);
    }

    #[test]
    fn multi_has_followers_each_with_an_inverter() {
        let site = topology(true);
        assert_eq!(site.units(), vec![0, 2, 3]);
        let hosts: Vec<Option<usize>> = site.inverters.iter().map(|inv| inv.host).collect();
        assert_eq!(hosts, vec![Some(0), Some(2), Some(3)]);
        assert!(site.inverters.iter().all(|inv| inv.strings.len() == 6));
        assert_eq!(site.inverters[2].weight(), 0.0);
        assert_eq!(site.solar_rating_w, 16_000.0);
        assert_eq!(site.max_charge_w, 34_500.0);
        assert_eq!(site.packs[3].din(), "1707000-11-J--TG12000000003Z");
    }
}
