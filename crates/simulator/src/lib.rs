//! A faithful fake Tesla Energy Gateway for tests and demos.
//!
//! One physical model of a site ([`model`]) sits behind every persona. Today the personas are
//! the gateway's local legacy API (`local`, gateway-protocols §1 and §10.2) and TEDAPI v1 with its
//! bearer variant (`tedapi`, §2, §10.3, §10.4: protobuf over `/tedapi/*`, answers rendered from
//! the same model, readable through [`SimulatorHandle::tedapi_documents`]); v1r, cloud and Fleet
//! personas are meant to be added over the same model. The site's make-up is chosen at start
//! ([`TopologyKind`]: two Powerwall 2, or Powerwall 3 sites). A control API under `/test`
//! (`control`) keeps the original simulator's scenario endpoints (§9.2) and adds a JSON surface
//! for the clock, firmware, sessions, request counters and fault injection (§10.8).
//!
//! Everything listens on one HTTPS address with a certificate generated at start.

mod control;
mod local;
pub mod model;
mod sim;
mod tedapi;
mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

pub use control::counter::CounterSnapshot;
pub use control::faults::{FaultKind, FaultSpec};
pub use model::reading::SiteReading;
pub use model::topology::TopologyKind;
pub use tedapi::TedapiDocuments;
pub use tedapi::knobs::{GzipKnob, TedapiConcurrency, TedapiKnobs};

use sim::Sim;

/// Everything needed to start a simulator.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Address to listen on (port 0 picks a free port).
    pub bind: SocketAddr,
    /// Customer password accepted by `POST /api/login/Basic`.
    pub customer_password: String,
    /// Email reported in login answers when the client sends none.
    pub email: String,
    /// Gateway (QR sticker) password, kept for the TEDAPI persona.
    pub gateway_password: String,
    /// Firmware version text reported by `/api/status` (switchable at run time).
    pub firmware: String,
    /// Simulation clock start as Unix seconds; `None` starts at the real time.
    pub start_epoch: Option<f64>,
    /// Whether the simulation clock starts frozen.
    pub freeze_clock: bool,
    /// Site time zone as a fixed offset from UTC in seconds (default −8 h, America/Los_Angeles).
    pub utc_offset_secs: i32,
    /// Which site is simulated (default: two Powerwall 2).
    pub topology: TopologyKind,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            customer_password: "password".to_owned(),
            email: "me@example.com".to_owned(),
            gateway_password: "ABCDEFGHIJ".to_owned(),
            firmware: "23.28.2 27626f98".to_owned(),
            start_epoch: None,
            freeze_clock: false,
            utc_offset_secs: -8 * 3600,
            topology: TopologyKind::Pw2,
        }
    }
}

/// Why a simulator could not start or a control call was refused.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The self-signed certificate or the TLS configuration could not be built.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// A bundled fixture did not parse (a build problem, not a run-time one).
    #[error("bundled fixture {name} is invalid: {reason}")]
    Fixture {
        /// Which fixture.
        name: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A control call named something that does not exist or gave a bad value.
    #[error("{0}")]
    Control(String),
}

/// Starts a simulator and returns once its socket is listening.
///
/// Must be called inside a tokio runtime; the server task is spawned on it.
pub async fn start(config: SimulatorConfig) -> Result<SimulatorHandle, SimulatorError> {
    let sim = Arc::new(Sim::new(&config)?);
    let tls = tls::server_config(config.bind.ip())?;
    let listener =
        std::net::TcpListener::bind(config.bind).map_err(|source| SimulatorError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener
        .local_addr()
        .and_then(|addr| listener.set_nonblocking(true).map(|()| addr))
        .map_err(|source| SimulatorError::Bind {
            addr: config.bind,
            source,
        })?;
    let server = axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(tls),
    )
    .map_err(|source| SimulatorError::Bind {
        addr: config.bind,
        source,
    })?;
    let shutdown = axum_server::Handle::new();
    let app = sim::app(Arc::clone(&sim));
    // HTTP/1.1 only, like the TLS ALPN offer (see `tls`): a "drop" fault then always reaches the
    // client as a connection closed before any response.
    let serving = server
        .http1_only()
        .handle(shutdown.clone())
        .serve(app.into_make_service());
    tokio::spawn(async move {
        if let Err(error) = serving.await {
            tracing::error!(%error, "simulator server stopped");
        }
    });
    tracing::info!(%addr, firmware = %config.firmware, topology = %config.topology, "simulator listening");
    Ok(SimulatorHandle {
        addr,
        sim,
        shutdown,
    })
}

/// A running simulator; dropping it (or calling [`SimulatorHandle::shutdown`]) stops it.
#[derive(Debug)]
pub struct SimulatorHandle {
    addr: SocketAddr,
    sim: Arc<Sim>,
    shutdown: axum_server::Handle<SocketAddr>,
}

impl SimulatorHandle {
    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port` as a gateway client expects it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `https://host:port`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Stops listening and closes open connections (the socket refuses connections afterwards).
    pub fn shutdown(self) {
        drop(self);
    }

    /// The configuration the simulator was started with (the bound address is [`Self::addr`]).
    pub fn config(&self) -> &SimulatorConfig {
        self.sim.config()
    }

    /// The site's physical values now, exactly as the local API serves them at this instant.
    pub fn reading(&self) -> SiteReading {
        self.sim.reading()
    }

    /// The TEDAPI JSON documents (config, DeviceController answers, components) of the site now,
    /// all rendered from one instant of the model.
    pub fn tedapi_documents(&self) -> TedapiDocuments {
        self.sim.tedapi_documents()
    }

    /// Applies a `/test/scenario/<name>` scenario (or `live`) as the control API would.
    pub fn set_scenario(&self, name: &str) -> Result<(), SimulatorError> {
        self.sim.apply_scenario(name)
    }

    /// Switches the reported firmware version (e.g. to `23.44.0 9064fc6a` to drop vitals).
    pub fn set_firmware(&self, version: &str) -> Result<(), SimulatorError> {
        self.sim.set_firmware(version)
    }

    /// Moves the simulation clock forward (or back with a negative value) by `secs`.
    pub fn advance_clock(&self, secs: f64) -> Result<(), SimulatorError> {
        self.sim.advance_clock(secs)
    }

    /// Freezes or releases the simulation clock.
    pub fn freeze_clock(&self, frozen: bool) {
        self.sim.freeze_clock(frozen);
    }

    /// Gateway API requests seen so far (everything except `/test`).
    pub fn counter(&self) -> CounterSnapshot {
        self.sim.counter_snapshot()
    }

    /// Current and highest number of TEDAPI requests handled at once (reset with the counters).
    pub fn tedapi_concurrency(&self) -> TedapiConcurrency {
        self.sim.tedapi().concurrency()
    }

    /// Sets the TEDAPI knobs as `POST /test/config` would.
    pub fn set_tedapi_knobs(&self, knobs: TedapiKnobs) {
        self.sim.tedapi().set_knobs(knobs);
    }

    /// Injects a fault as `POST /test/faults` would; returns its id.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, SimulatorError> {
        self.sim.add_fault(spec)
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.sim.clear_faults();
    }

    /// Invalidates every login session.
    pub fn revoke_sessions(&self) {
        self.sim.revoke_sessions();
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}
