//! The site's state and how it evolves: flows, SOE integration, counters, pins and settings.
//!
//! The model is advanced lazily: every reader first integrates from the last update to "now"
//! (simulation time) in small steps, then reads. Callers hold the site's mutex only for that.

use powerwall_model::GridState;
use serde_json::Value;

use super::clock::{NANOS_PER_SEC, ns_to_secs};
use super::flows::{self, BatteryLimits, Flows, Term};
use super::scenarios::{self, Scenario};
use super::sun;
use super::topology::Topology;
use crate::SimulatorError;

const OPERATION_FIXTURE: &str = include_str!("../../../../testdata/local/bogus/api.operation.json");
const AGGREGATES_FIXTURE: &str =
    include_str!("../../../../testdata/local/simulator/api.meters.aggregates.json");

/// Integration step for normal polling gaps; long clock jumps use fewer, longer steps.
const STEP_NS: i128 = 10 * NANOS_PER_SEC;
const MAX_STEPS: i128 = 200_000;
/// How fast the seed (start-up or last pinned values) fades into the live model.
const TRANSIENT_TAU_SECS: f64 = 600.0;
/// The gateway had been up this long when the captured `/api/status` was taken.
const INITIAL_UPTIME_NS: i128 = 5_549_900 * NANOS_PER_SEC + 998_412_744;

/// `real_mode` of `/api/operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealMode {
    /// Self-powered: the battery covers the home and absorbs surplus solar.
    SelfConsumption,
    /// Backup only: the battery never discharges while the grid is up.
    Backup,
    /// Time-based control (modelled like self-consumption).
    Autonomous,
}

impl RealMode {
    /// Parses the gateway's text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "self_consumption" => Some(Self::SelfConsumption),
            "backup" => Some(Self::Backup),
            "autonomous" => Some(Self::Autonomous),
            _ => None,
        }
    }

    /// The gateway's text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SelfConsumption => "self_consumption",
            Self::Backup => "backup",
            Self::Autonomous => "autonomous",
        }
    }
}

/// The `/api/operation` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Operating mode.
    pub real_mode: RealMode,
    /// Backup reserve, raw scale (0–100).
    pub backup_reserve_percent: f64,
    /// `freq_shift_load_shed_soe`, passed through.
    pub freq_shift_load_shed_soe: Value,
    /// `freq_shift_load_shed_delta_f`, passed through.
    pub freq_shift_load_shed_delta_f: Value,
}

/// Lifetime energy counters in Wh, per meter, as `/api/meters/aggregates` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EnergyCounters {
    /// Site meter, energy taken from the grid.
    pub site_imported_wh: f64,
    /// Site meter, energy sent to the grid.
    pub site_exported_wh: f64,
    /// Battery meter, energy discharged (`energy_exported`).
    pub battery_exported_wh: f64,
    /// Battery meter, energy charged (`energy_imported`).
    pub battery_imported_wh: f64,
    /// Load meter, energy consumed.
    pub load_imported_wh: f64,
    /// Solar meter, energy produced.
    pub solar_exported_wh: f64,
    /// Solar meter, energy drawn (negative solar).
    pub solar_imported_wh: f64,
}

/// Values a test has fixed; unpinned values come from the live model.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pins {
    /// Pinned solar power.
    pub solar_w: Option<f64>,
    /// Pinned home power.
    pub home_w: Option<f64>,
    /// Pinned battery power.
    pub battery_w: Option<f64>,
    /// Pinned raw SOE (stays exactly at this value).
    pub soe_raw_pct: Option<f64>,
}

/// A seed that fades into the live model, so releasing pins (and start-up) has no jump.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Transient {
    start_ns: i128,
    solar_bias_w: f64,
    home_bias_w: f64,
    battery_bias_w: f64,
}

impl Transient {
    /// What is left of the seed's offsets from the live model at `at_ns` (solar, home, battery).
    fn offsets_at(&self, at_ns: i128) -> (f64, f64, f64) {
        let elapsed = ns_to_secs(at_ns - self.start_ns).max(0.0);
        let fade = (-elapsed / TRANSIENT_TAU_SECS).exp();
        (
            fade * self.solar_bias_w,
            fade * self.home_bias_w,
            fade * self.battery_bias_w,
        )
    }
}

/// The whole mutable state of one simulated site.
#[derive(Debug, Clone)]
pub struct Site {
    /// Physical make-up.
    pub topology: Topology,
    /// Fixed site time-zone offset.
    pub utc_offset_secs: i32,
    /// Reported firmware version.
    pub firmware: String,
    /// When the gateway booted (simulation ns).
    pub boot_ns: i128,
    /// Grid state.
    pub grid: GridState,
    /// When the grid state last changed (simulation ns), if it did since start.
    pub last_toggle_ns: Option<i128>,
    /// Operating mode and reserve.
    pub operation: Operation,
    /// Pinned values.
    pub pins: Pins,
    /// Name of the active scenario (`live`, a §9.2 name, or none after a manual change).
    pub active_scenario: Option<String>,
    /// Lifetime counters.
    pub counters: EnergyCounters,
    /// The integrated raw SOE (kept in percent so seeded and pinned values round-trip exactly).
    soe_pct: f64,
    updated_ns: i128,
    transient: Option<Transient>,
}

impl Site {
    /// A site in live mode, seeded with the original simulator's start-up state (§9.2).
    pub fn new(
        topology: Topology,
        firmware: String,
        utc_offset_secs: i32,
        now_ns: i128,
    ) -> Result<Self, SimulatorError> {
        let operation = seed_operation()?;
        let counters = seed_counters()?;
        let mut site = Self {
            topology,
            utc_offset_secs,
            firmware,
            boot_ns: now_ns - INITIAL_UPTIME_NS,
            grid: GridState::Connected,
            last_toggle_ns: None,
            operation,
            pins: Pins::default(),
            active_scenario: Some(scenarios::LIVE.to_owned()),
            counters,
            soe_pct: scenarios::STARTUP_SOE_RAW_PCT,
            updated_ns: now_ns,
            transient: None,
        };
        let startup = scenarios::STARTUP;
        site.seed_transient(
            now_ns,
            Flows::on_grid(startup.solar_w, startup.home_w, startup.battery_w),
        );
        Ok(site)
    }

    /// Whether the grid is up (only `SystemGridConnected` counts).
    pub fn grid_connected(&self) -> bool {
        self.grid == GridState::Connected
    }

    /// Raw SOE in percent, exactly as served.
    pub fn soe_raw_pct(&self) -> f64 {
        self.pins.soe_raw_pct.unwrap_or(self.soe_pct)
    }

    /// Energy left in the packs, consistent with the served SOE.
    pub fn remaining_wh(&self) -> f64 {
        self.soe_raw_pct() / 100.0 * self.topology.full_pack_energy_wh()
    }

    /// Simulation time the model was last advanced to.
    pub fn updated_ns(&self) -> i128 {
        self.updated_ns
    }

    /// Integrates energy from the last update to `now_ns`; a clock moved backwards only resets
    /// the integration start.
    pub fn advance_to(&mut self, now_ns: i128) {
        let span = now_ns - self.updated_ns;
        if span <= 0 {
            self.updated_ns = now_ns;
            return;
        }
        let steps = ((span + STEP_NS - 1) / STEP_NS).clamp(1, MAX_STEPS);
        let mut at = self.updated_ns;
        for index in 0..steps {
            let next = self.updated_ns + span * (index + 1) / steps;
            let flows = self.flows_at(at);
            self.integrate(&flows, ns_to_secs(next - at));
            at = next;
        }
        self.updated_ns = now_ns;
    }

    /// Power flows at `at_ns` for the current SOE, pins and settings.
    pub fn flows_at(&self, at_ns: i128) -> Flows {
        let epoch = ns_to_secs(at_ns);
        let (solar_offset, home_offset, battery_offset) = self
            .transient
            .map_or((0.0, 0.0, 0.0), |transient| transient.offsets_at(at_ns));
        let rating = self.topology.solar_rating_w;
        let live_solar = (sun::solar_w(epoch, self.utc_offset_secs, rating) + solar_offset)
            .round()
            .max(0.0);
        let live_home = (sun::home_w(epoch, self.utc_offset_secs) + home_offset)
            .round()
            .max(0.0);
        let solar = term(self.pins.solar_w, live_solar);
        let home = term(self.pins.home_w, live_home);
        let limits = self.limits();
        if self.grid_connected() {
            let backup_only = self.operation.real_mode == RealMode::Backup;
            flows::settle_on_grid(solar, home, self.pins.battery_w, || {
                let wanted =
                    flows::dispatch_w(backup_only, solar.value, home.value) + battery_offset;
                limits.clamp(wanted.round())
            })
        } else {
            flows::settle_off_grid(solar, home, self.pins.battery_w, limits)
        }
    }

    /// The SOE below which the battery stops discharging: the reserve on grid, empty off grid.
    fn floor_pct(&self) -> f64 {
        if self.grid_connected() {
            self.operation.backup_reserve_percent
        } else {
            0.0
        }
    }

    fn limits(&self) -> BatteryLimits {
        let soe = self.soe_raw_pct();
        BatteryLimits {
            max_charge_w: self.topology.max_charge_w,
            max_discharge_w: self.topology.max_discharge_w,
            can_charge: soe < 100.0,
            can_discharge: soe > self.floor_pct(),
        }
    }

    fn integrate(&mut self, flows: &Flows, dt_secs: f64) {
        let wh = |w: f64| w.max(0.0) * dt_secs / 3600.0;
        let c = &mut self.counters;
        c.site_imported_wh += wh(flows.site_w);
        c.site_exported_wh += wh(-flows.site_w);
        c.battery_exported_wh += wh(flows.battery_w);
        c.battery_imported_wh += wh(-flows.battery_w);
        c.load_imported_wh += wh(flows.home_w);
        c.solar_exported_wh += wh(flows.solar_w);
        c.solar_imported_wh += wh(-flows.solar_w);
        if self.pins.soe_raw_pct.is_some() {
            return;
        }
        let full_wh = self.topology.full_pack_energy_wh();
        let before = self.soe_pct;
        let after = before - flows.battery_w * dt_secs / 3600.0 / full_wh * 100.0;
        let floor = self.floor_pct().min(before);
        // Discharge stops at the floor (or where it already was, if below); charge stops at full.
        self.soe_pct = if flows.battery_w > 0.0 {
            after.max(floor)
        } else {
            after.min(100.0)
        }
        .max(0.0);
    }

    fn seed_transient(&mut self, now_ns: i128, seed: Flows) {
        let epoch = ns_to_secs(now_ns);
        let solar = sun::solar_w(epoch, self.utc_offset_secs, self.topology.solar_rating_w);
        let home = sun::home_w(epoch, self.utc_offset_secs);
        let backup_only = self.operation.real_mode == RealMode::Backup;
        let dispatched =
            self.limits()
                .clamp(flows::dispatch_w(backup_only, seed.solar_w, seed.home_w));
        self.transient = Some(Transient {
            start_ns: now_ns,
            solar_bias_w: seed.solar_w - solar,
            home_bias_w: seed.home_w - home,
            battery_bias_w: seed.battery_w - dispatched,
        });
    }

    /// Pins a §9.2 scenario: its three powers and its grid state, until another is chosen.
    pub fn apply_scenario(&mut self, scenario: &Scenario, now_ns: i128) {
        self.advance_to(now_ns);
        self.pins.solar_w = Some(scenario.solar_w);
        self.pins.home_w = Some(scenario.home_w);
        self.pins.battery_w = Some(scenario.battery_w);
        let grid = if scenario.grid_connected {
            GridState::Connected
        } else {
            GridState::IslandedActive
        };
        self.set_grid(grid, now_ns);
        self.transient = None;
        self.active_scenario = Some(scenario.name.to_owned());
    }

    /// Removes every pin; the current values fade into the live model.
    pub fn go_live(&mut self, now_ns: i128) {
        self.advance_to(now_ns);
        let current = self.flows_at(now_ns);
        self.soe_pct = self.soe_raw_pct();
        self.pins = Pins::default();
        self.seed_transient(now_ns, current);
        self.active_scenario = Some(scenarios::LIVE.to_owned());
    }

    /// Sets the grid state, stamping the toggle time when it changes.
    pub fn set_grid(&mut self, grid: GridState, now_ns: i128) {
        self.advance_to(now_ns);
        if grid != self.grid {
            self.last_toggle_ns = Some(now_ns);
        }
        self.grid = grid;
    }

    /// Flips between connected and islanded; returns whether the grid is now connected.
    pub fn toggle_grid(&mut self, now_ns: i128) -> bool {
        let next = if self.grid_connected() {
            GridState::IslandedActive
        } else {
            GridState::Connected
        };
        self.set_grid(next, now_ns);
        self.active_scenario = None;
        self.grid_connected()
    }

    /// Pins (or with `None` releases) the raw SOE.
    pub fn pin_soe(&mut self, raw_pct: Option<f64>, now_ns: i128) {
        self.advance_to(now_ns);
        // The integration continues from the pinned value once the pin is released.
        self.soe_pct = raw_pct.unwrap_or_else(|| self.soe_raw_pct());
        self.pins.soe_raw_pct = raw_pct;
    }

    /// Replaces the power pins (any `None` is released).
    pub fn pin_powers(
        &mut self,
        solar_w: Option<f64>,
        home_w: Option<f64>,
        battery_w: Option<f64>,
        now_ns: i128,
    ) {
        self.advance_to(now_ns);
        self.pins.solar_w = solar_w;
        self.pins.home_w = home_w;
        self.pins.battery_w = battery_w;
    }

    /// Replaces the operation settings (full overwrite, already validated).
    pub fn set_operation(&mut self, operation: Operation, now_ns: i128) {
        self.advance_to(now_ns);
        self.operation = operation;
    }

    /// Restarts the gateway: uptime starts again from zero, identity unchanged.
    pub fn reboot(&mut self, now_ns: i128) {
        self.advance_to(now_ns);
        self.boot_ns = now_ns;
    }
}

fn term(pin: Option<f64>, live: f64) -> Term {
    Term {
        value: pin.unwrap_or(live),
        pinned: pin.is_some(),
    }
}

fn seed_operation() -> Result<Operation, SimulatorError> {
    let bad = |reason: &str| SimulatorError::Fixture {
        name: "api.operation.json",
        reason: reason.to_owned(),
    };
    let doc: Value = serde_json::from_str(OPERATION_FIXTURE).map_err(|e| bad(&e.to_string()))?;
    Ok(Operation {
        real_mode: doc["real_mode"]
            .as_str()
            .and_then(RealMode::parse)
            .ok_or_else(|| bad("real_mode"))?,
        backup_reserve_percent: doc["backup_reserve_percent"]
            .as_f64()
            .ok_or_else(|| bad("backup_reserve_percent"))?,
        freq_shift_load_shed_soe: doc["freq_shift_load_shed_soe"].clone(),
        freq_shift_load_shed_delta_f: doc["freq_shift_load_shed_delta_f"].clone(),
    })
}

fn seed_counters() -> Result<EnergyCounters, SimulatorError> {
    let doc: Value =
        serde_json::from_str(AGGREGATES_FIXTURE).map_err(|e| SimulatorError::Fixture {
            name: "simulator api.meters.aggregates.json",
            reason: e.to_string(),
        })?;
    let read = |meter: &str, key: &str| doc[meter][key].as_f64().unwrap_or(0.0);
    Ok(EnergyCounters {
        site_imported_wh: read("site", "energy_imported"),
        site_exported_wh: read("site", "energy_exported"),
        battery_exported_wh: read("battery", "energy_exported"),
        battery_imported_wh: read("battery", "energy_imported"),
        load_imported_wh: read("load", "energy_imported"),
        solar_exported_wh: read("solar", "energy_exported"),
        solar_imported_wh: read("solar", "energy_imported"),
    })
}
