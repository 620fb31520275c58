//! The HTTP surface: `app()` builds the router every listener serves.

mod framing;
mod health;
mod legacy;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use powerwall_gateway::AccessMode;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::engine::Snapshot;
use crate::settings::Freshness;
use crate::stats::RequestStats;

/// What a route needs to answer: the latest snapshot and the process-wide facts.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

struct AppInner {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    freshness: Freshness,
    stats: RequestStats,
    started_wall: SystemTime,
    gateway_target: String,
    gateway_mode: AccessMode,
}

impl AppState {
    /// State for one gateway's snapshots.
    pub fn new(
        snapshots: watch::Receiver<Arc<Snapshot>>,
        freshness: Freshness,
        gateway_target: String,
        gateway_mode: AccessMode,
    ) -> Self {
        Self {
            inner: Arc::new(AppInner {
                snapshots,
                freshness,
                stats: RequestStats::default(),
                started_wall: SystemTime::now(),
                gateway_target,
                gateway_mode,
            }),
        }
    }

    /// The latest snapshot (an `Arc` clone; never waits on the gateway).
    fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshots.borrow().clone()
    }

    /// Request counters.
    fn stats(&self) -> &RequestStats {
        &self.inner.stats
    }

    /// The freshness rules.
    fn freshness(&self) -> &Freshness {
        &self.inner.freshness
    }

    /// "Now" for data ages.
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Builds the router: legacy proxy routes, served under `base_url` as well as at the root.
pub fn app(state: AppState, base_url: &str) -> Router {
    let routes = Router::new()
        .route("/aggregates", get(legacy::aggregates))
        .route("/api/meters/aggregates", get(legacy::aggregates))
        .route("/soe", get(legacy::soe))
        .route("/api/system_status/soe", get(legacy::soe_app))
        .route("/api/system_status/grid_status", get(legacy::grid_status))
        .route("/version", get(legacy::version))
        .route("/health", get(health::health))
        .fallback(fallback)
        .with_state(state);
    let base: Arc<str> = Arc::from(base_url);
    // An outer router with only a fallback lets the middleware rewrite the path before routing.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(move |request, next| {
            strip_base_url(base.clone(), request, next)
        }))
}

async fn fallback(method: Method) -> Response {
    if method == Method::OPTIONS {
        framing::preflight()
    } else {
        framing::not_found()
    }
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
