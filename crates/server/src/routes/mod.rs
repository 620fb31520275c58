//! The HTTP surface: `app()` builds the router every listener serves.

mod admin;
mod control;
mod data;
mod dispatch;
mod docs;
mod error;
mod framing;
pub mod gateway_set;
mod gateway_write;
mod gateways;
mod passthrough;
mod ui;
mod ws;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use powerwall_gateway::AccessMode;
use tokio::time::Instant;

use tokio::sync::{Semaphore, watch};

use crate::engine::on_demand::OnDemand;
use crate::engine::overview::Overview;
use crate::engine::{EngineHandle, Snapshot};
use crate::settings::{Freshness, Settings};
use crate::stats::RequestStats;
use gateway_set::{GatewayRuntime, GatewaySet};

/// What a route needs to answer: the gateways' engines, the settings and the process counters.
///
/// Each state serves one gateway (`gateway`, an index into the set): the legacy routes are built
/// once per gateway, so `/gw/<id>/…` and `/api/gateways/<id>/control/…` reuse them unchanged.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
    gateway: usize,
}

struct AppInner {
    gateways: GatewaySet,
    overview: watch::Receiver<Arc<Overview>>,
    ws_slots: Arc<Semaphore>,
    ws_frames: Arc<ws::FrameCache>,
    settings: Arc<Settings>,
    stats: RequestStats,
    started_wall: SystemTime,
}

impl AppState {
    /// State for the configured gateways, serving the default gateway.
    pub fn new(
        gateways: GatewaySet,
        overview: watch::Receiver<Arc<Overview>>,
        settings: Arc<Settings>,
    ) -> Self {
        let gateway = gateways.default_index();
        let ws_slots = Arc::new(Semaphore::new(settings.web.ws_max_clients));
        Self {
            inner: Arc::new(AppInner {
                gateways,
                overview,
                ws_slots,
                ws_frames: Arc::default(),
                settings,
                stats: RequestStats::default(),
                started_wall: SystemTime::now(),
            }),
            gateway,
        }
    }

    /// The same state serving the gateway at `index` (clamped to the set).
    fn for_gateway(&self, index: usize) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            gateway: index.min(self.inner.gateways.len().saturating_sub(1)),
        }
    }

    /// Requests the web catch-all has sent to the default gateway (for `/health`).
    pub fn web_passthrough_requests(&self) -> u64 {
        self.served().web.requests()
    }

    /// The latest cross-gateway overview (an `Arc` clone; never waits).
    fn overview(&self) -> Arc<Overview> {
        self.inner.overview.borrow().clone()
    }

    /// A receiver of overviews, for streaming.
    fn overview_updates(&self) -> watch::Receiver<Arc<Overview>> {
        self.inner.overview.clone()
    }

    /// Admission of WebSocket clients (one permit each).
    fn ws_slots(&self) -> &Arc<Semaphore> {
        &self.inner.ws_slots
    }

    /// WebSocket frames shared by every client.
    fn ws_frames(&self) -> &Arc<ws::FrameCache> {
        &self.inner.ws_frames
    }

    /// Every configured gateway.
    fn gateways(&self) -> &GatewaySet {
        &self.inner.gateways
    }

    /// The gateway these routes serve: the default one, or the one a per-gateway path names.
    fn served(&self) -> &Arc<GatewayRuntime> {
        self.inner.gateways.at(self.gateway)
    }

    /// The default gateway's latest snapshot (an `Arc` clone; never waits on the gateway).
    fn snapshot(&self) -> Arc<Snapshot> {
        self.served().snapshot()
    }

    /// The default gateway's engine (client, commands).
    fn engine(&self) -> &EngineHandle {
        &self.served().engine
    }

    /// The validated settings.
    fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Request counters.
    fn stats(&self) -> &RequestStats {
        &self.inner.stats
    }

    /// The default gateway's freshness rules.
    fn freshness(&self) -> &Freshness {
        &self.served().freshness
    }

    /// "Now" for data ages.
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// The served gateway's cloud link (cloud mode, or its hybrid cloud control connection).
    fn cloud_link(&self) -> Option<&Arc<crate::cloud_link::CloudLink>> {
        self.served().cloud.as_ref()
    }

    /// What a client can read and control on the served gateway.
    fn capabilities(&self) -> crate::engine::capabilities::Capabilities {
        self.served().info.capabilities
    }

    /// The access mode of the default gateway's client.
    fn gateway_mode(&self) -> AccessMode {
        self.served().info.mode
    }

    /// The address the default gateway's client talks to.
    fn gateway_target(&self) -> &str {
        &self.served().info.target
    }

    /// On-demand reads of the default gateway's paths outside the poll plan.
    fn on_demand(&self) -> &OnDemand {
        &self.served().on_demand
    }

    /// The default gateway's credential-free web passthrough.
    fn web_passthrough(&self) -> &passthrough::web::WebPassthrough {
        &self.served().web
    }

    /// Fail-fast (§8.4): `PW_FAIL_FAST` and `PW_HEALTH_CHECK` on and the link degraded.
    fn fail_fast_active(&self) -> bool {
        let freshness = self.freshness();
        freshness.fail_fast && freshness.health_check && self.snapshot().health.is_degraded()
    }
}

/// Builds the router: the multi-gateway API, and the legacy proxy routes of the default gateway
/// at the root and of every gateway under `/gw/<id>/`; all of it also under `base_url`.
pub fn app(state: AppState, base_url: &str) -> Router {
    let legacy: Vec<Router> = (0..state.gateways().len())
        .map(|index| legacy_routes(state.for_gateway(index)))
        .collect();
    let default_legacy = legacy_routes(state.clone());
    let main = Router::new()
        .merge(gateways::routes())
        .merge(ws::routes())
        .with_state(state.clone())
        .fallback_service(default_legacy);
    dispatch::router(dispatch::Dispatch::new(state, base_url, legacy, main))
}

/// The legacy proxy routes, serving the gateway of `state`.
fn legacy_routes(state: AppState) -> Router {
    Router::new()
        .merge(data::routes())
        .merge(admin::routes())
        .merge(passthrough::routes())
        .merge(control::routes())
        .merge(ui::routes())
        .merge(ui::console::routes())
        .merge(docs::routes())
        .fallback(passthrough::fallback)
        .with_state(state)
}
