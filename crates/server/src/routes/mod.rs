//! The HTTP surface: `app()` builds the router every listener serves.

mod admin;
mod control;
mod data;
mod framing;
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
}

impl AppState {
    /// State for one gateway's engine.
    pub fn new(engine: EngineHandle, settings: Arc<Settings>) -> Self {
        let gateway_target = engine.access().target().to_owned();
        let gateway_mode = engine.access().mode();
        Self {
            inner: Arc::new(AppInner {
                engine,
                settings,
                stats: RequestStats::default(),
                started_wall: SystemTime::now(),
                gateway_target,
                gateway_mode,
            }),
        }
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
    #[allow(dead_code)]
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
}

/// Builds the router: legacy proxy routes, served under `base_url` as well as at the root.
pub fn app(state: AppState, base_url: &str) -> Router {
    let routes = Router::new()
        .merge(data::routes())
        .merge(admin::routes())
        .merge(passthrough::routes())
        .merge(control::routes())
        .fallback(passthrough::fallback)
        .with_state(state);
    let base: Arc<str> = Arc::from(base_url);
    // An outer router with only a fallback lets the middleware rewrite the path before routing.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(move |request, next| {
            strip_base_url(base.clone(), request, next)
        }))
}

/// `PROXY_BASE_URL`: `/pwp/csv` is served as `/csv`; bare paths keep working.
async fn strip_base_url(base: Arc<str>, mut request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return framing::preflight();
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
    next.run(request).await
}
