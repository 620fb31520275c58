//! The HTTP surface: `app()` builds the router every listener serves.

mod admin;
mod control;
mod data;
mod framing;
mod passthrough;
mod ui;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use powerwall_gateway::AccessMode;
use tokio::time::Instant;

use crate::engine::on_demand::{OnDemand, OnDemandConfig};
use crate::engine::{EngineHandle, Snapshot};
use crate::settings::{Freshness, Settings};
use crate::stats::RequestStats;

/// What a route needs to answer: the gateway's engine, the settings and the process counters.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

struct AppInner {
    engine: EngineHandle,
    settings: Arc<Settings>,
    stats: RequestStats,
    started_wall: SystemTime,
    gateway_target: String,
    gateway_mode: AccessMode,
    on_demand: OnDemand,
    web: passthrough::web::WebPassthrough,
}

impl AppState {
    /// State for one gateway's engine.
    pub fn new(engine: EngineHandle, settings: Arc<Settings>) -> Self {
        let gateway_target = engine.access().target().to_owned();
        let gateway_mode = engine.access().mode();
        let on_demand = OnDemand::new(
            Arc::clone(engine.access()),
            OnDemandConfig::from_settings(&settings),
        );
        let web = passthrough::web::WebPassthrough::new(
            gateway_mode,
            &gateway_target,
            &settings,
            Arc::clone(on_demand.pause()),
        );
        Self {
            inner: Arc::new(AppInner {
                engine,
                settings,
                stats: RequestStats::default(),
                started_wall: SystemTime::now(),
                gateway_target,
                gateway_mode,
                on_demand,
                web,
            }),
        }
    }

    /// Requests the web catch-all has sent to the gateway (for `/health`).
    pub fn web_passthrough_requests(&self) -> u64 {
        self.inner.web.requests()
    }

    /// The latest snapshot (an `Arc` clone; never waits on the gateway).
    fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.engine.snapshot()
    }

    /// The gateway's engine (client, commands).
    #[allow(dead_code)]
    fn engine(&self) -> &EngineHandle {
        &self.inner.engine
    }

    /// The validated settings.
    fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Request counters.
    fn stats(&self) -> &RequestStats {
        &self.inner.stats
    }

    /// The freshness rules.
    fn freshness(&self) -> &Freshness {
        &self.inner.settings.freshness
    }

    /// "Now" for data ages.
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// The access mode of the gateway client.
    fn gateway_mode(&self) -> AccessMode {
        self.inner.gateway_mode
    }

    /// On-demand reads of gateway paths outside the poll plan.
    fn on_demand(&self) -> &OnDemand {
        &self.inner.on_demand
    }

    /// The credential-free web passthrough of the catch-all.
    fn web_passthrough(&self) -> &passthrough::web::WebPassthrough {
        &self.inner.web
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
        .merge(ui::routes())
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
