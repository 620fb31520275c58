//! Point-in-time views of the site: the internal [`Snapshot`] the personas render from, and the
//! public [`SiteReading`] that `/test/state` and `SimulatorHandle::reading` return.

use powerwall_model::{FirmwareVersion, GridState};
use serde::Serialize;

use super::clock::{ns_to_secs, rfc3339_nanos};
use super::flows::Flows;
use super::site::{EnergyCounters, Operation, Pins, Site};
use super::topology::{Topology, split_exact};

/// One battery pack at an instant, values as `/api/system_status` serves them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackReading {
    /// `PackagePartNumber`.
    pub part_number: String,
    /// `PackageSerialNumber`.
    pub serial_number: String,
    /// `nominal_full_pack_energy`, Wh.
    pub full_pack_energy_wh: f64,
    /// `nominal_energy_remaining`, Wh (whole Wh, as the gateway reports).
    pub remaining_wh: f64,
    /// `p_out`, W (the packs add up to the battery meter exactly).
    pub p_out_w: f64,
    /// `energy_charged`, Wh.
    pub energy_charged_wh: f64,
    /// `energy_discharged`, Wh.
    pub energy_discharged_wh: f64,
}

/// Everything a persona needs to render a document, captured at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Simulation time of the snapshot.
    pub now_ns: i128,
    /// Site offset from UTC.
    pub utc_offset_secs: i32,
    /// Whether the simulation clock is frozen.
    pub frozen: bool,
    /// Power flows.
    pub flows: Flows,
    /// Raw SOE, percent.
    pub soe_raw_pct: f64,
    /// Packs in gateway order.
    pub packs: Vec<PackReading>,
    /// Lifetime counters.
    pub counters: EnergyCounters,
    /// Grid state.
    pub grid: GridState,
    /// When the grid last changed state.
    pub last_toggle_ns: Option<i128>,
    /// Operation settings.
    pub operation: Operation,
    /// Firmware version text.
    pub firmware: String,
    /// Boot time.
    pub boot_ns: i128,
    /// Active scenario name.
    pub active_scenario: Option<String>,
    /// Pinned values.
    pub pins: Pins,
    /// Physical make-up.
    pub topology: Topology,
}

impl Snapshot {
    /// Advances `site` to `now_ns` and captures it.
    pub fn capture(site: &mut Site, now_ns: i128, frozen: bool) -> Self {
        site.advance_to(now_ns);
        let flows = site.flows_at(now_ns);
        let soe_raw_pct = site.soe_raw_pct();
        let shares = site.topology.shares();
        let powers = split_exact(flows.battery_w, &shares, 10.0);
        let packs = site
            .topology
            .packs
            .iter()
            .zip(shares.iter().zip(powers))
            .map(|(pack, (share, p_out_w))| PackReading {
                part_number: pack.part_number.clone(),
                serial_number: pack.serial_number.clone(),
                full_pack_energy_wh: pack.full_pack_energy_wh,
                remaining_wh: (soe_raw_pct / 100.0 * pack.full_pack_energy_wh).round(),
                p_out_w,
                energy_charged_wh: (site.counters.battery_imported_wh * share).round(),
                energy_discharged_wh: (site.counters.battery_exported_wh * share).round(),
            })
            .collect();
        Self {
            now_ns,
            utc_offset_secs: site.utc_offset_secs,
            frozen,
            flows,
            soe_raw_pct,
            packs,
            counters: site.counters,
            grid: site.grid.clone(),
            last_toggle_ns: site.last_toggle_ns,
            operation: site.operation.clone(),
            firmware: site.firmware.clone(),
            boot_ns: site.boot_ns,
            active_scenario: site.active_scenario.clone(),
            pins: site.pins,
            topology: site.topology.clone(),
        }
    }

    /// Whether the grid is up.
    pub fn grid_connected(&self) -> bool {
        self.grid == GridState::Connected
    }

    /// Whether this firmware still serves `/api/devices/vitals` (removed in 23.44.0).
    pub fn has_vitals(&self) -> bool {
        FirmwareVersion::new(self.firmware.as_str()).has_local_vitals()
    }

    /// Sum of the packs' served remaining energy.
    pub fn remaining_wh(&self) -> f64 {
        self.packs.iter().map(|pack| pack.remaining_wh).sum()
    }

    /// Sum of the packs' full energy.
    pub fn full_pack_energy_wh(&self) -> f64 {
        self.packs.iter().map(|pack| pack.full_pack_energy_wh).sum()
    }

    /// Gateway DIN (on Powerwall 3 sites the leader's).
    pub fn din(&self) -> String {
        self.topology.gateway_din()
    }

    /// `now` as the gateway's RFC 3339 text with nanoseconds and offset.
    pub fn now_text(&self) -> String {
        rfc3339_nanos(self.now_ns, self.utc_offset_secs)
    }
}

/// Which values are pinned by the control API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PinnedFlags {
    /// Solar power pinned.
    pub solar: bool,
    /// Home power pinned.
    pub home: bool,
    /// Battery power pinned.
    pub battery: bool,
    /// SOE pinned.
    pub soe: bool,
}

/// Lifetime energy counters in Wh.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EnergyReading {
    /// Site meter `energy_imported`.
    pub site_imported_wh: f64,
    /// Site meter `energy_exported`.
    pub site_exported_wh: f64,
    /// Battery meter `energy_exported` (discharged).
    pub battery_exported_wh: f64,
    /// Battery meter `energy_imported` (charged).
    pub battery_imported_wh: f64,
    /// Load meter `energy_imported`.
    pub load_imported_wh: f64,
    /// Solar meter `energy_exported`.
    pub solar_exported_wh: f64,
}

/// The site's physical values at one instant, exactly as the local API serves them then.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteReading {
    /// Simulation time, Unix seconds.
    pub now: f64,
    /// Simulation time as the gateway prints it.
    pub now_rfc3339: String,
    /// Whether the simulation clock is frozen.
    pub frozen: bool,
    /// Solar `instant_power`, W.
    pub solar_w: f64,
    /// Load `instant_power`, W.
    pub home_w: f64,
    /// Battery `instant_power`, W (positive discharging).
    pub battery_w: f64,
    /// Site `instant_power`, W (positive importing).
    pub site_w: f64,
    /// `/api/system_status/soe` percentage (raw scale).
    pub soe_raw_pct: f64,
    /// `grid_status` text.
    pub grid_status: String,
    /// Whether the grid is up.
    pub grid_connected: bool,
    /// `backup_reserve_percent` (raw scale).
    pub reserve_raw_pct: f64,
    /// `real_mode`.
    pub real_mode: String,
    /// Firmware version text.
    pub firmware: String,
    /// Whether `/api/devices/vitals` is served with this firmware.
    pub vitals_supported: bool,
    /// Active scenario (`live`, a §9.2 name, or `null` after a manual change).
    pub active_scenario: Option<String>,
    /// What is pinned.
    pub pinned: PinnedFlags,
    /// `nominal_full_pack_energy`, Wh.
    pub nominal_full_pack_energy_wh: f64,
    /// `nominal_energy_remaining`, Wh.
    pub nominal_energy_remaining_wh: f64,
    /// Gateway uptime, seconds.
    pub uptime_secs: f64,
    /// Lifetime counters.
    pub energy: EnergyReading,
}

impl From<&Snapshot> for SiteReading {
    fn from(snapshot: &Snapshot) -> Self {
        let c = &snapshot.counters;
        Self {
            now: ns_to_secs(snapshot.now_ns),
            now_rfc3339: snapshot.now_text(),
            frozen: snapshot.frozen,
            solar_w: snapshot.flows.solar_w,
            home_w: snapshot.flows.home_w,
            battery_w: snapshot.flows.battery_w,
            site_w: snapshot.flows.site_w,
            soe_raw_pct: snapshot.soe_raw_pct,
            grid_status: snapshot.grid.gateway_text().to_owned(),
            grid_connected: snapshot.grid_connected(),
            reserve_raw_pct: snapshot.operation.backup_reserve_percent,
            real_mode: snapshot.operation.real_mode.as_str().to_owned(),
            firmware: snapshot.firmware.clone(),
            vitals_supported: snapshot.has_vitals(),
            active_scenario: snapshot.active_scenario.clone(),
            pinned: PinnedFlags {
                solar: snapshot.pins.solar_w.is_some(),
                home: snapshot.pins.home_w.is_some(),
                battery: snapshot.pins.battery_w.is_some(),
                soe: snapshot.pins.soe_raw_pct.is_some(),
            },
            nominal_full_pack_energy_wh: snapshot.full_pack_energy_wh(),
            nominal_energy_remaining_wh: snapshot.remaining_wh(),
            uptime_secs: ns_to_secs(snapshot.now_ns - snapshot.boot_ns),
            energy: EnergyReading {
                site_imported_wh: c.site_imported_wh,
                site_exported_wh: c.site_exported_wh,
                battery_exported_wh: c.battery_exported_wh,
                battery_imported_wh: c.battery_imported_wh,
                load_imported_wh: c.load_imported_wh,
                solar_exported_wh: c.solar_exported_wh,
            },
        }
    }
}
