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

pub mod cloud;
mod control;
pub mod fleet;
mod local;
pub mod model;
mod sim;
mod tedapi;
mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

pub use cloud::{CloudKnobs, CloudTokens};
pub use control::counter::CounterSnapshot;
pub use control::faults::{FaultKind, FaultSpec};
pub use fleet::{FleetKnobs, FleetRateLimit, RetryStyle};
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
    /// Address of the cloud listener (Tesla SSO and Owner API); `None` starts none.
    pub cloud_bind: Option<SocketAddr>,
    /// The Owner API's `energy_site_id` of the site.
    pub cloud_site_id: u64,
    /// The Owner API's `site_name`.
    pub cloud_site_name: String,
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
            cloud_bind: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            cloud_site_id: 429_124,
            cloud_site_name: "My Home".to_owned(),
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
    let cloud = match config.cloud_bind {
        Some(bind) => Some(start_cloud(bind, Arc::clone(&sim))?),
        None => None,
    };
    tracing::info!(%addr, firmware = %config.firmware, topology = %config.topology, "simulator listening");
    Ok(SimulatorHandle {
        addr,
        sim,
        shutdown,
        cloud,
    })
}

/// The cloud listener: HTTP/2 and HTTP/1.1 (ALPN), certificate from a test CA.
fn start_cloud(bind: SocketAddr, sim: Arc<Sim>) -> Result<CloudListener, SimulatorError> {
    let tls = cloud::tls::generate()?;
    let bind_error = |source| SimulatorError::Bind { addr: bind, source };
    let listener = std::net::TcpListener::bind(bind).map_err(bind_error)?;
    let addr = listener
        .local_addr()
        .and_then(|addr| listener.set_nonblocking(true).map(|()| addr))
        .map_err(bind_error)?;
    let server = axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(Arc::clone(&tls.server)),
    )
    .map_err(bind_error)?;
    let shutdown = axum_server::Handle::new();
    let serving = server
        .handle(shutdown.clone())
        .serve(cloud::app(sim).into_make_service());
    tokio::spawn(async move {
        if let Err(error) = serving.await {
            tracing::error!(%error, "simulator cloud listener stopped");
        }
    });
    tracing::info!(%addr, "simulator cloud (Tesla SSO + Owner API) listening");
    Ok(CloudListener {
        addr,
        ca_pem: tls.ca_pem,
        shutdown,
    })
}

/// The running cloud listener.
#[derive(Debug)]
struct CloudListener {
    addr: SocketAddr,
    ca_pem: String,
    shutdown: axum_server::Handle<SocketAddr>,
}

/// A running simulator; dropping it (or calling [`SimulatorHandle::shutdown`]) stops it.
#[derive(Debug)]
pub struct SimulatorHandle {
    addr: SocketAddr,
    sim: Arc<Sim>,
    shutdown: axum_server::Handle<SocketAddr>,
    cloud: Option<CloudListener>,
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
        if let Some(cloud) = &self.cloud {
            cloud.shutdown.shutdown();
        }
    }
}

/// The cloud personas (Tesla SSO and Owner API, on their own listener).
impl SimulatorHandle {
    /// `https://127.0.0.1:PORT/`: the base of both the SSO (`oauth2/v3/…`) and the Owner API
    /// (`api/1/…`); `None` when the cloud listener is off.
    pub fn cloud_url(&self) -> Option<String> {
        self.cloud
            .as_ref()
            .map(|cloud| format!("https://{}/", cloud.addr))
    }

    /// PEM of the test CA that issued the cloud listener's certificate.
    pub fn cloud_ca_pem(&self) -> Option<String> {
        self.cloud.as_ref().map(|cloud| cloud.ca_pem.clone())
    }

    /// The cloud knobs now.
    pub fn cloud_knobs(&self) -> CloudKnobs {
        self.sim.cloud().knobs()
    }

    /// Replaces the cloud knobs.
    pub fn set_cloud_knobs(&self, knobs: CloudKnobs) {
        self.sim.cloud().set_knobs(knobs);
    }

    /// The current `energy_site_id`.
    pub fn cloud_site_id(&self) -> u64 {
        self.sim.cloud().site().site_id
    }

    /// Renumbers the site (same gateway id, new site id); returns the new id.
    pub fn renumber_cloud_site(&self) -> u64 {
        self.sim.cloud().renumber()
    }

    /// Tokens of a login made elsewhere for the configured email: `bootstrapped` gives a working
    /// access token; otherwise only a refresh token (a "cold" login).
    pub fn mint_cloud_tokens(&self, bootstrapped: bool) -> CloudTokens {
        let now = model::clock::ns_to_secs(self.sim.now_ns());
        let lifetime = self.sim.cloud().knobs().token_lifetime_secs;
        let email = self.sim.config().email.clone();
        self.sim
            .cloud()
            .registry()
            .mint(&email, bootstrapped, now, lifetime)
    }

    /// Expires every issued access token (the next Owner API call answers 401).
    pub fn expire_cloud_access_tokens(&self) {
        self.sim.cloud().registry().expire_access_tokens();
    }
}

/// The Fleet API persona (on the cloud listener, under `/fleet/{region}`).
impl SimulatorHandle {
    /// `https://127.0.0.1:PORT/fleet/{region}`: a region base URL (the Fleet `AUDIENCE`); `None`
    /// when the cloud listener is off.
    pub fn fleet_url(&self, region: &str) -> Option<String> {
        self.cloud
            .as_ref()
            .map(|cloud| format!("https://{}/fleet/{region}", cloud.addr))
    }

    /// The Fleet knobs now (client id and secret, region, token lifetime).
    pub fn fleet_knobs(&self) -> FleetKnobs {
        self.sim.cloud().fleet().knobs()
    }

    /// Replaces the Fleet knobs.
    pub fn set_fleet_knobs(&self, knobs: FleetKnobs) {
        self.sim.cloud().fleet().set_knobs(knobs);
    }

    /// Hosts the developer public key at `/.well-known/appspecific/com.tesla.3p.public-key.pem`
    /// on the cloud listener; `None` makes that URL answer 404.
    pub fn host_fleet_public_key(&self, pem: Option<String>) {
        self.sim.cloud().fleet().set_public_key_pem(pem);
    }

    /// Domains registered through `partner_accounts`.
    pub fn fleet_partner_domains(&self) -> Vec<String> {
        self.sim.cloud().fleet().partner_domains()
    }

    /// Makes the next `limit.times` Fleet API answers 429 (`None` stops it).
    pub fn set_fleet_rate_limit(&self, limit: Option<FleetRateLimit>) {
        self.sim.cloud().fleet().set_rate_limit(limit);
    }

    /// Fleet user tokens of a login made elsewhere (both work).
    pub fn mint_fleet_tokens(&self) -> CloudTokens {
        let now = model::clock::ns_to_secs(self.sim.now_ns());
        let lifetime = self.sim.cloud().fleet().knobs().token_lifetime_secs;
        let email = self.sim.config().email.clone();
        self.sim
            .cloud()
            .fleet()
            .registry()
            .mint(&email, true, now, lifetime)
    }

    /// Expires every issued Fleet access token (the next Fleet call answers 401).
    pub fn expire_fleet_access_tokens(&self) {
        self.sim.cloud().fleet().registry().expire_access_tokens();
    }
}
