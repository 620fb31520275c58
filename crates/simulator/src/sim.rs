//! The shared state behind every listener and the router that ties personas and control together.
//!
//! Each part has its own `std::sync::Mutex`, held only for plain computation (never across an
//! `.await`) and never two at a time, so there is no lock ordering to get wrong.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::middleware;

use crate::cloud::CloudState;
use crate::control::counter::{CounterSnapshot, RequestCounter};
use crate::control::faults::{FaultSpec, FaultTable};
use crate::local::auth::Sessions;
use crate::local::fixtures::Fixtures;
use crate::local::vitals::VitalsSeed;
use crate::model::World;
use crate::model::clock::SimClock;
use crate::model::reading::{SiteReading, Snapshot};
use crate::model::scenarios;
use crate::model::site::{Operation, Site};
use crate::model::topology::Topology;
use crate::tedapi::TedapiDocuments;
use crate::tedapi::knobs::TedapiState;
use crate::{SimulatorConfig, SimulatorError, control, local, tedapi};

/// Locks a mutex, recovering the data if a panicking thread poisoned it: a bug in one request
/// must not take the whole simulator down with it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Everything one simulator instance shares between requests.
pub struct Sim {
    world: Mutex<World>,
    sessions: Mutex<Sessions>,
    faults: Mutex<FaultTable>,
    counter: Mutex<RequestCounter>,
    tedapi: TedapiState,
    cloud: CloudState,
    fixtures: Fixtures,
    vitals: VitalsSeed,
    config: SimulatorConfig,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("bind", &self.config.bind)
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// Builds the model and loads the fixtures.
    pub fn new(config: &SimulatorConfig) -> Result<Self, SimulatorError> {
        validate(config)?;
        let clock = SimClock::new(config.start_epoch, config.freeze_clock);
        let now = clock.now_ns();
        let site = Site::new(
            Topology::build(config.topology)?,
            config.firmware.clone(),
            config.utc_offset_secs,
            now,
        )?;
        Ok(Self {
            world: Mutex::new(World { clock, site }),
            sessions: Mutex::new(Sessions::default()),
            faults: Mutex::new(FaultTable::default()),
            counter: Mutex::new(RequestCounter::default()),
            tedapi: TedapiState::default(),
            cloud: CloudState::new(config.cloud_site_id),
            fixtures: Fixtures::load()?,
            vitals: VitalsSeed::load()?,
            config: config.clone(),
        })
    }

    /// The clock and the site.
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    /// Login sessions and auth knobs.
    pub fn sessions(&self) -> MutexGuard<'_, Sessions> {
        lock(&self.sessions)
    }

    /// Injected faults.
    pub fn faults(&self) -> MutexGuard<'_, FaultTable> {
        lock(&self.faults)
    }

    /// Request counters and log.
    pub fn counter(&self) -> MutexGuard<'_, RequestCounter> {
        lock(&self.counter)
    }

    /// TEDAPI knobs and in-flight counts.
    pub fn tedapi(&self) -> &TedapiState {
        &self.tedapi
    }

    /// Cloud personas' knobs, tokens and site settings.
    pub fn cloud(&self) -> &CloudState {
        &self.cloud
    }

    /// Captured documents.
    pub fn fixtures(&self) -> &Fixtures {
        &self.fixtures
    }

    /// The vitals seed.
    pub fn vitals(&self) -> &VitalsSeed {
        &self.vitals
    }

    /// The configuration it was started with (passwords included: TEDAPI will need the
    /// gateway password).
    pub fn config(&self) -> &SimulatorConfig {
        &self.config
    }

    /// The customer password logins must present.
    pub fn customer_password(&self) -> &str {
        &self.config.customer_password
    }

    /// Email echoed by a login that sends none.
    pub fn default_email(&self) -> &str {
        &self.config.email
    }

    /// Current simulation time.
    pub fn now_ns(&self) -> i128 {
        self.world().now_ns()
    }

    /// Current simulation time and the site's UTC offset.
    pub fn now_and_offset(&self) -> (i128, i32) {
        let world = self.world();
        (world.now_ns(), world.site.utc_offset_secs)
    }

    /// The site advanced to now.
    pub fn snapshot(&self) -> Snapshot {
        self.world().snapshot()
    }

    /// The TEDAPI JSON documents of the site now, all from one snapshot.
    pub fn tedapi_documents(&self) -> TedapiDocuments {
        TedapiDocuments::render(&self.snapshot(), &self.fixtures)
    }

    /// Public reading of the site now.
    pub fn reading(&self) -> SiteReading {
        SiteReading::from(&self.snapshot())
    }

    /// Replaces the operation settings and returns the site afterwards.
    pub fn set_operation(&self, operation: Operation) -> Snapshot {
        let mut world = self.world();
        let now = world.now_ns();
        world.site.set_operation(operation, now);
        world.snapshot()
    }

    /// Applies a §9.2 scenario, or `live`.
    pub fn apply_scenario(&self, name: &str) -> Result<(), SimulatorError> {
        let mut world = self.world();
        let now = world.now_ns();
        if name == scenarios::LIVE {
            world.site.go_live(now);
            return Ok(());
        }
        let scenario = scenarios::find(name)
            .ok_or_else(|| SimulatorError::Control(format!("unknown scenario {name:?}")))?;
        world.site.apply_scenario(scenario, now);
        Ok(())
    }

    /// Switches the firmware version.
    pub fn set_firmware(&self, version: &str) -> Result<(), SimulatorError> {
        let version = version.trim();
        if version.is_empty() || version.len() > 100 {
            return Err(SimulatorError::Control(
                "firmware version must be 1–100 characters".to_owned(),
            ));
        }
        let mut world = self.world();
        let now = world.now_ns();
        world.site.advance_to(now);
        world.site.firmware = version.to_owned();
        Ok(())
    }

    /// Moves the clock; the model integrates over the jump on its next read.
    pub fn advance_clock(&self, secs: f64) -> Result<(), SimulatorError> {
        if !secs.is_finite() || secs.abs() > 20.0 * 365.25 * 86_400.0 {
            return Err(SimulatorError::Control(
                "advance must be finite and within ±20 years".to_owned(),
            ));
        }
        let mut world = self.world();
        world.clock.advance(secs);
        let now = world.now_ns();
        if secs < 0.0 {
            world.site.advance_to(now);
        }
        Ok(())
    }

    /// Freezes or releases the clock.
    pub fn freeze_clock(&self, frozen: bool) {
        let mut world = self.world();
        if frozen {
            world.clock.freeze();
        } else {
            world.clock.unfreeze();
        }
    }

    /// Current request counts.
    pub fn counter_snapshot(&self) -> CounterSnapshot {
        self.counter().snapshot()
    }

    /// Adds a fault.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, SimulatorError> {
        self.faults().add(spec).map_err(SimulatorError::Control)
    }

    /// Clears every fault.
    pub fn clear_faults(&self) {
        self.faults().clear();
    }

    /// Invalidates every session.
    pub fn revoke_sessions(&self) {
        self.sessions().revoke_all();
    }
}

fn validate(config: &SimulatorConfig) -> Result<(), SimulatorError> {
    if config.firmware.trim().is_empty() {
        return Err(SimulatorError::Config(
            "firmware must not be empty".to_owned(),
        ));
    }
    if config.utc_offset_secs.abs() > 18 * 3600 {
        return Err(SimulatorError::Config(
            "utc offset must be within ±18 h".to_owned(),
        ));
    }
    if config
        .start_epoch
        .is_some_and(|epoch| !epoch.is_finite() || !(0.0..=4.0e9).contains(&epoch))
    {
        return Err(SimulatorError::Config(
            "start epoch must be between 0 and 4e9 seconds".to_owned(),
        ));
    }
    Ok(())
}

/// The whole HTTP application: `/test` control routes, everything else the gateway personas
/// (local and TEDAPI: counted and subject to injected faults; TEDAPI requests are also tracked
/// in flight, outermost, so that injected delays count as time in flight).
pub fn app(sim: Arc<Sim>) -> Router {
    let gateway = local::routes::router(Arc::clone(&sim))
        .merge(tedapi::routes::router())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&sim),
            tedapi::knobs::pw3_portal,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&sim),
            control::faults::inject,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&sim),
            control::counter::count,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&sim),
            tedapi::knobs::track_in_flight,
        ))
        .with_state(Arc::clone(&sim));
    control::router().with_state(sim).fallback_service(gateway)
}
