//! The configured gateways as routes see them: each one's engine, on-demand reader and web relay.

use std::sync::Arc;
use std::time::Duration;

use powerwall_gateway::http::GatewayHttpSettings;

use super::passthrough::web::WebPassthrough;
use crate::cloud_link::CloudLink;
use crate::engine::control::{Controller, Timing};
use crate::engine::on_demand::{OnDemand, OnDemandConfig};
use crate::engine::{EngineHandle, GatewayInfo, Snapshot};
use crate::settings::{Freshness, GatewaySettings, Settings};

/// One gateway: identity, poller handle, and the on-demand paths that reach it.
pub struct GatewayRuntime {
    /// Who it is (no credentials).
    pub info: GatewayInfo,
    /// Its poller.
    pub engine: EngineHandle,
    /// Its freshness rules (its own poll interval).
    pub freshness: Freshness,
    /// Its request timeout.
    pub timeout: Duration,
    /// On-demand reads of gateway paths outside the poll plan.
    pub on_demand: Arc<OnDemand>,
    /// The credential-free web relay of the catch-all.
    pub web: WebPassthrough,
    /// The cloud link: the connection itself in cloud mode, or the hybrid cloud control
    /// connection of a local or TEDAPI gateway; control writes go through it when present.
    pub cloud: Option<Arc<CloudLink>>,
    /// Its control: backend choice, writes and read-back.
    pub controller: Controller,
}

impl GatewayRuntime {
    /// Wraps the running engine of `gateway`, with its own on-demand caches.
    pub fn new(
        gateway: &GatewaySettings,
        info: GatewayInfo,
        engine: EngineHandle,
        settings: &Settings,
        cloud: Option<Arc<CloudLink>>,
    ) -> Self {
        let freshness = settings.freshness_of(gateway);
        let timeout = gateway.timeout;
        let on_demand = Arc::new(OnDemand::new(
            Arc::clone(engine.access()),
            OnDemandConfig::for_gateway(&freshness, timeout),
        ));
        let controller = Controller::new(
            Arc::new(engine.clone()),
            cloud.clone(),
            Arc::clone(&on_demand),
            Timing::for_gateway(timeout, freshness.poll_interval),
        );
        let web = WebPassthrough::new(
            info.mode,
            &info.target,
            &freshness,
            GatewayHttpSettings {
                timeout,
                pool_max_idle: settings.gateway_pool_max_idle,
            },
            Arc::clone(on_demand.pause()),
        );
        Self {
            info,
            engine,
            freshness,
            timeout,
            on_demand,
            web,
            cloud,
            controller,
        }
    }

    /// The latest snapshot (never waits on the gateway).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.engine.snapshot()
    }
}

/// Every configured gateway in configuration order, and which one the legacy routes serve.
pub struct GatewaySet {
    gateways: Vec<Arc<GatewayRuntime>>,
    default: usize,
}

impl GatewaySet {
    /// A set of at least one gateway; `default` must index into it (clamped otherwise).
    pub fn new(gateways: Vec<Arc<GatewayRuntime>>, default: usize) -> Option<Self> {
        if gateways.is_empty() {
            return None;
        }
        let default = default.min(gateways.len() - 1);
        Some(Self { gateways, default })
    }

    /// The gateway the legacy proxy routes serve.
    pub fn default_gateway(&self) -> &Arc<GatewayRuntime> {
        self.at(self.default)
    }

    /// Index of the default gateway.
    pub fn default_index(&self) -> usize {
        self.default
    }

    /// The gateway at `index`, or the default one when out of range.
    pub fn at(&self, index: usize) -> &Arc<GatewayRuntime> {
        self.gateways
            .get(index)
            .unwrap_or(&self.gateways[self.default])
    }

    /// The gateway with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<GatewayRuntime>> {
        self.gateways.iter().find(|gateway| gateway.info.id == id)
    }

    /// The index of the gateway with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.gateways
            .iter()
            .position(|gateway| gateway.info.id == id)
    }

    /// All gateways in configuration order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Arc<GatewayRuntime>> {
        self.gateways.iter()
    }

    /// How many gateways are configured.
    pub fn len(&self) -> usize {
        self.gateways.len()
    }

    /// Never true (a set has at least one gateway); here for API completeness.
    pub fn is_empty(&self) -> bool {
        self.gateways.is_empty()
    }
}
