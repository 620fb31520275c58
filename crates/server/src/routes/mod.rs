//! The HTTP surface: `app()` builds the router every listener serves.

mod admin;
mod control;
mod data;
mod framing;
pub mod gateway_set;
mod passthrough;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use powerwall_gateway::AccessMode;
use tokio::time::Instant;

use crate::engine::on_demand::OnDemand;
use crate::engine::{EngineHandle, Snapshot};
use crate::settings::{Freshness, Settings};
use crate::stats::RequestStats;
use gateway_set::{GatewayRuntime, GatewaySet};

/// What a route needs to answer: the gateways' engines, the settings and the process counters.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

struct AppInner {
    gateways: GatewaySet,
    settings: Arc<Settings>,
    stats: RequestStats,
    started_wall: SystemTime,
}

impl AppState {
    /// State for the configured gateways.
    pub fn new(gateways: GatewaySet, settings: Arc<Settings>) -> Self {
        Self {
            inner: Arc::new(AppInner {
                gateways,
                settings,
                stats: RequestStats::default(),
                started_wall: SystemTime::now(),
            }),
        }
    }

    /// Requests the web catch-all has sent to the default gateway (for `/health`).
    pub fn web_passthrough_requests(&self) -> u64 {
        self.default_gateway().web.requests()
    }

    /// Every configured gateway.
    #[allow(dead_code)] // used by the multi-gateway routes that land next
    fn gateways(&self) -> &GatewaySet {
        &self.inner.gateways
    }

    /// The gateway the legacy proxy routes serve.
    fn default_gateway(&self) -> &Arc<GatewayRuntime> {
        self.inner.gateways.default_gateway()
    }

    /// The default gateway's latest snapshot (an `Arc` clone; never waits on the gateway).
    fn snapshot(&self) -> Arc<Snapshot> {
        self.default_gateway().snapshot()
    }

    /// The default gateway's engine (client, commands).
    fn engine(&self) -> &EngineHandle {
        &self.default_gateway().engine
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
        &self.default_gateway().freshness
    }

    /// "Now" for data ages.
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// The access mode of the default gateway's client.
    fn gateway_mode(&self) -> AccessMode {
        self.default_gateway().info.mode
    }

    /// The address the default gateway's client talks to.
    fn gateway_target(&self) -> &str {
        &self.default_gateway().info.target
    }

    /// On-demand reads of the default gateway's paths outside the poll plan.
    fn on_demand(&self) -> &OnDemand {
        &self.default_gateway().on_demand
    }

    /// The default gateway's credential-free web passthrough.
    fn web_passthrough(&self) -> &passthrough::web::WebPassthrough {
        &self.default_gateway().web
    }

    /// Fail-fast (§8.4): `PW_FAIL_FAST` and `PW_HEALTH_CHECK` on and the link degraded.
    fn fail_fast_active(&self) -> bool {
        let freshness = self.freshness();
        freshness.fail_fast && freshness.health_check && self.snapshot().health.is_degraded()
    }
}

/// Builds the router: legacy proxy routes, served under `base_url` as well as at the root.
pub fn app(state: AppState, base_url: &str) -> Router {
    let routes = Router::new()
        .merge(data::routes())
        .merge(admin::routes())
        .merge(passthrough::routes())
        .merge(control::routes())
        .fallback(passthrough::fallback)
        .with_state(state.clone());
    let base: Arc<str> = Arc::from(base_url);
    // An outer router with only a fallback lets the middleware rewrite the path before routing.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(move |request, next| {
            strip_base_url(base.clone(), state.clone(), request, next)
        }))
}

/// `PROXY_BASE_URL`: `/pwp/csv` is served as `/csv`; bare paths keep working. Also the method
/// rules of §2.2: OPTIONS is a CORS pre-flight, POST only reaches `/control…` (else 400), and
/// methods other than GET, HEAD, POST and OPTIONS get 405.
async fn strip_base_url(
    base: Arc<str>,
    state: AppState,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    if method == Method::OPTIONS {
        return framing::preflight();
    }
    if !matches!(method, Method::GET | Method::HEAD | Method::POST) {
        return framing::method_not_allowed();
    }
    if base.as_ref() != "/"
        && let Some(rest) = request.uri().path().strip_prefix(base.as_ref())
    {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("/{rest}{query}").parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    if method == Method::POST && !request.uri().path().starts_with("/control") {
        state.stats().count_error();
        return framing::invalid_request();
    }
    next.run(request).await
}
