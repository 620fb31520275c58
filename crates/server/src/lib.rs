//! `powerwall-server`: a drop-in replacement for the pyPowerwall caching proxy.
//!
//! Data flow: one poller per gateway reads its poll plan (one request in flight) and publishes
//! immutable snapshots; routes only read the latest snapshot, so no client request ever waits on
//! the gateway for data the plan covers.

pub mod clock;
pub mod cloud_link;
pub mod engine;
pub mod json;
pub mod routes;
pub mod settings;
pub mod setup;
pub mod stats;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use powerwall_gateway::cloud::CloudClient;
use powerwall_gateway::fleet::FleetClient;
use powerwall_gateway::hybrid::HybridClient;
use powerwall_gateway::local::LocalClient;
use powerwall_gateway::tedapi::client::{TedapiClient, TedapiConfig};
use powerwall_gateway::{GatewayAccess, GatewayError, Secret};
use powerwall_simulator::{SimulatorConfig, SimulatorHandle};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cloud_link::{CloudLink, CloudReads, CloudRole};
use crate::engine::capabilities::{BackendKind, Capabilities};
use crate::engine::overview::{OverviewPublisher, OverviewSource};
use crate::engine::{GatewayEngine, GatewayInfo, PollPlan};
use crate::routes::AppState;
use crate::routes::gateway_set::{GatewayRuntime, GatewaySet};
use crate::settings::{ControlLinkConfig, GatewaySettings, GatewaySource, HttpsMode, Settings};

/// Starts a built-in simulator for one gateway and returns the richest source it offers: TEDAPI
/// with the gateway password, so every data family (vitals, strings, temperatures) is live.
async fn simulated_source(
    settings: &Settings,
    gateway: &GatewaySettings,
) -> anyhow::Result<(GatewaySource, SimulatorHandle)> {
    let sim_config = SimulatorConfig::default();
    let simulator = powerwall_simulator::start(sim_config.clone())
        .await
        .context("starting the built-in simulator")?;
    tracing::info!(
        "built-in simulator for gateway {} listening on {}",
        gateway.id,
        simulator.url()
    );
    let tedapi = TedapiConfig {
        timeout: gateway.timeout,
        pool_max_idle: settings.gateway_pool_max_idle,
        cache_ttl: gateway.poll_interval,
        tiers: gateway.tiers,
        ..TedapiConfig::new(simulator.host(), Secret::new(sim_config.gateway_password))
    };
    Ok((GatewaySource::Tedapi(tedapi), simulator))
}

/// A gateway's client, and its cloud link in cloud and Fleet API modes.
type BuiltAccess = (Arc<dyn GatewayAccess>, Option<Arc<CloudLink>>);

/// The client for a configured source, and its cloud link in cloud and Fleet API modes.
fn build_access(source: GatewaySource) -> Result<BuiltAccess, GatewayError> {
    if let GatewaySource::Cloud(config) = source {
        tracing::info!("Cloud Mode");
        let client = Arc::new(CloudClient::new(config)?);
        let link = Arc::new(CloudLink::new(Arc::clone(&client), CloudRole::Main));
        return Ok((Arc::new(CloudReads::new(client)), Some(link)));
    }
    if let GatewaySource::Fleet(config) = source {
        tracing::info!(
            "FleetAPI Mode (polled every {} s at most; every Fleet API call is billed, see \
             /health fleet_api)",
            config.cache_ttl.as_secs()
        );
        let client = Arc::new(FleetClient::new(config)?);
        let link = Arc::new(CloudLink::new(Arc::clone(&client), CloudRole::Main));
        return Ok((Arc::new(CloudReads::new(client)), Some(link)));
    }
    let access: Arc<dyn GatewayAccess> = match source {
        GatewaySource::Local(config) => Arc::new(LocalClient::new(config)?),
        GatewaySource::Tedapi(config) => Arc::new(TedapiClient::new(config)?),
        GatewaySource::Hybrid { local, tedapi } => Arc::new(HybridClient::new(
            LocalClient::new(local)?,
            TedapiClient::new(tedapi)?,
        )),
        GatewaySource::Cloud(_) | GatewaySource::Fleet(_) | GatewaySource::Simulated => {
            return Err(GatewayError::Config(
                "the simulator must be started before its client is built".to_owned(),
            ));
        }
    };
    Ok((access, None))
}

/// The hybrid cloud control connection of a local or TEDAPI gateway (server-api "Hybrid cloud
/// connection"), over the Owner API or the Fleet API, when configured.
fn build_cloud_control(
    config: Option<ControlLinkConfig>,
) -> Result<Option<Arc<CloudLink>>, GatewayError> {
    let Some(config) = config else {
        return Ok(None);
    };
    tracing::info!(
        "Hybrid cloud connection: control writes go to the Tesla {} (auth directory {:?})",
        match config {
            ControlLinkConfig::Cloud(_) => "cloud",
            ControlLinkConfig::Fleet(_) => "Fleet API",
        },
        config.auth_dir()
    );
    let link = match config {
        ControlLinkConfig::Cloud(config) => CloudLink::new(
            Arc::new(CloudClient::new(config)?),
            CloudRole::HybridControl,
        ),
        ControlLinkConfig::Fleet(config) => CloudLink::new(
            Arc::new(FleetClient::new(config)?),
            CloudRole::HybridControl,
        ),
    };
    Ok(Some(Arc::new(link)))
}

/// The backend kind of a hybrid cloud control link.
fn link_kind(link: &CloudLink) -> BackendKind {
    if link.fleet().is_some() {
        BackendKind::Fleet
    } else {
        BackendKind::Cloud
    }
}

/// A server that is listening, with its pollers and (in `--simulate`) its simulators.
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    engines: Vec<(String, GatewayEngine)>,
    overview: OverviewPublisher,
    default_gateway: usize,
    simulators: Vec<SimulatorHandle>,
    stop: oneshot::Sender<()>,
    serve: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The address it listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https` with `PW_HTTPS=yes`, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// `scheme://addr` (no trailing slash), for building request URLs.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.addr)
    }

    /// The in-process simulator of the default gateway, when started with `--simulate`.
    pub fn simulator(&self) -> Option<&SimulatorHandle> {
        self.simulators.first()
    }

    /// The client behind the default gateway's poller.
    pub fn gateway(&self) -> &Arc<dyn GatewayAccess> {
        self.engines[self.default_gateway].1.access()
    }

    /// The client behind the poller of the gateway with this id.
    pub fn gateway_by_id(&self, id: &str) -> Option<&Arc<dyn GatewayAccess>> {
        self.engines
            .iter()
            .find(|(engine_id, _)| engine_id == id)
            .map(|(_, engine)| engine.access())
    }

    /// Stops accepting connections, finishes in-flight requests, stops polling.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.serve.await.context("server task failed")??;
        drop(self.overview);
        drop(self.engines);
        for simulator in self.simulators {
            simulator.shutdown();
        }
        Ok(())
    }
}

/// Starts the simulators (if asked), one poller per gateway and the HTTP listener.
pub async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
    let mut simulators = Vec::new();
    let mut engines = Vec::new();
    let mut runtimes = Vec::new();
    let mut sources = Vec::new();
    for gateway in &settings.gateways {
        let source = match gateway.source.clone() {
            GatewaySource::Simulated => {
                let (source, simulator) = simulated_source(&settings, gateway).await?;
                simulators.push(simulator);
                source
            }
            source => source,
        };
        let (access, main_link) = build_access(source)
            .with_context(|| format!("configuring the client of gateway {}", gateway.id))?;
        let hybrid_link = build_cloud_control(gateway.cloud_control.clone())
            .with_context(|| format!("configuring the cloud control of gateway {}", gateway.id))?;
        let capabilities = Capabilities::decide(
            access.mode(),
            hybrid_link.as_deref().map(link_kind),
            settings.control.enabled(),
        );
        let info = GatewayInfo::new(gateway, access.target(), access.mode())
            .with_capabilities(capabilities);
        let cloud = main_link.or(hybrid_link);
        if let Some(link) = &cloud {
            link.connect_in_background(&gateway.id);
        }
        let engine = GatewayEngine::spawn(
            access,
            PollPlan::for_mode(info.mode, gateway.tiers),
            settings.freshness_of(gateway),
            settings.presentation.clone(),
            settings.diagnostics.clone(),
        );
        tracing::info!(
            "gateway {} ({}): {} in mode {}, polled every {} s",
            info.id,
            info.name,
            info.target,
            info.mode,
            info.poll_interval.as_secs()
        );
        sources.push(OverviewSource {
            info: info.clone(),
            freshness: settings.freshness_of(gateway),
            snapshots: engine.snapshots(),
        });
        runtimes.push(Arc::new(GatewayRuntime::new(
            gateway,
            info,
            engine.handle(),
            &settings,
            cloud,
        )));
        engines.push((gateway.id.clone(), engine));
    }
    let gateways =
        GatewaySet::new(runtimes, settings.default_gateway).context("no gateway is configured")?;
    let default_gateway = settings
        .default_gateway
        .min(engines.len().saturating_sub(1));
    let settings = Arc::new(settings);
    let overview = OverviewPublisher::spawn(sources);
    let state = AppState::new(gateways, overview.subscribe(), Arc::clone(&settings));
    let app = routes::app(state, &settings.base_url);
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {} (PW_BIND_ADDRESS/PW_PORT)", settings.listen))?;
    let addr = listener
        .local_addr()
        .context("reading the listen address")?;
    let (stop, stopped) = oneshot::channel::<()>();
    let tls = settings.web.https == HttpsMode::Yes;
    let serve = if tls {
        serve_tls(listener, app, settings.listen, stopped)?
    } else {
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        })
    };
    let scheme = if tls { "https" } else { "http" };
    tracing::info!(
        "powerwall-server listening on {scheme}://{addr} ({} gateway(s))",
        engines.len()
    );
    Ok(RunningServer {
        addr,
        tls,
        engines,
        overview,
        default_gateway,
        simulators,
        stop,
        serve,
    })
}

/// How long in-flight requests may finish after a TLS listener is told to stop.
const TLS_DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `app` over TLS (HTTP/1.1, keep-alive) with a certificate generated now.
fn serve_tls(
    listener: TcpListener,
    app: axum::Router,
    listen: SocketAddr,
    stopped: oneshot::Receiver<()>,
) -> anyhow::Result<JoinHandle<std::io::Result<()>>> {
    let config = tls::server_config(listen.ip())?;
    let listener = listener
        .into_std()
        .context("preparing the listener for TLS")?;
    let server = axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(config),
    )
    .context("starting the TLS listener")?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        let _ = stopped.await;
        stopper.graceful_shutdown(Some(TLS_DRAIN));
    });
    // Not `http1_only()`: in axum-server that also turns off connection upgrades, which the
    // WebSocket routes need over `wss:`. ALPN still offers HTTP/1.1 only (see tls.rs).
    let serving = server.handle(handle).serve(app.into_make_service());
    Ok(tokio::spawn(serving))
}
