//! Tesla's cloud personas (gateway-protocols §10.6): the SSO token service (`/oauth2/v3/*`) and
//! the Owner API (`/api/1/*`), plus the Fleet API persona (`crate::fleet`, `/fleet/{region}/…`), over the same physical model as the gateway personas, so a reserve
//! written through the cloud shows in the local `/api/operation` and `/test/state`.
//!
//! Both live on their own HTTPS listener (HTTP/2 and HTTP/1.1 by ALPN) with a certificate issued
//! by a test CA generated at start; clients trust it through [`crate::SimulatorHandle::cloud_ca_pem`].

pub mod knobs;
pub(crate) mod oauth;
pub(crate) mod owner;
pub(crate) mod tls;
pub(crate) mod tokens;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Version};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use knobs::CloudKnobs;
pub use tls::CloudTls;
pub use tokens::CloudTokens;

use crate::sim::Sim;
use tokens::Registry;

/// Cloud-side settings of the site that the gateway model does not carry.
#[derive(Debug, Clone)]
pub(crate) struct CloudSite {
    /// The current `energy_site_id` (changes when the site is renumbered).
    pub(crate) site_id: u64,
    /// `components.disallow_charge_from_grid_with_solar_installed`.
    pub(crate) disallow_grid_charging: bool,
    /// `components.customer_preferred_export_rule`.
    pub(crate) export_rule: String,
}

/// Everything the cloud personas keep between requests.
#[derive(Debug)]
pub struct CloudState {
    knobs: Mutex<CloudKnobs>,
    registry: Mutex<Registry>,
    site: Mutex<CloudSite>,
    fleet: crate::fleet::FleetState,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CloudState {
    /// A fresh state for a site with `site_id`.
    pub fn new(site_id: u64) -> Self {
        Self {
            knobs: Mutex::new(CloudKnobs::default()),
            registry: Mutex::new(Registry::default()),
            site: Mutex::new(CloudSite {
                site_id,
                disallow_grid_charging: false,
                export_rule: "battery_ok".to_owned(),
            }),
            fleet: crate::fleet::FleetState::default(),
        }
    }

    /// The knobs now.
    pub fn knobs(&self) -> CloudKnobs {
        lock(&self.knobs).clone()
    }

    /// Replaces the knobs.
    pub fn set_knobs(&self, knobs: CloudKnobs) {
        *lock(&self.knobs) = knobs;
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    /// The Fleet API persona's state.
    pub fn fleet(&self) -> &crate::fleet::FleetState {
        &self.fleet
    }

    pub(crate) fn site(&self) -> MutexGuard<'_, CloudSite> {
        lock(&self.site)
    }

    /// Gives the site a new id (same gateway): the old id answers 404 from now on.
    pub fn renumber(&self) -> u64 {
        let mut site = self.site();
        site.site_id += 1000;
        site.site_id
    }
}

/// Tesla refuses HTTP/1.1 since June 2026 (gateway-protocols §5.1); the knob makes us do so too.
async fn reject_http1(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    if sim.cloud().knobs().reject_http1 && request.version() != Version::HTTP_2 {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({"error": "HTTP/2 required"})),
        )
            .into_response();
    }
    next.run(request).await
}

/// HTTP/2 requests name their host in the `:authority` pseudo-header, not in `Host`: copy it
/// over so answers that quote the host (the Fleet 412's base URL) name it with its port.
async fn host_from_authority(mut request: axum::extract::Request) -> axum::extract::Request {
    if !request.headers().contains_key(axum::http::header::HOST) {
        let authority = request
            .uri()
            .authority()
            .and_then(|authority| axum::http::HeaderValue::from_str(authority.as_str()).ok());
        if let Some(value) = authority {
            request
                .headers_mut()
                .insert(axum::http::header::HOST, value);
        }
    }
    request
}

/// The cloud listener's application: SSO and Owner API, counted and subject to injected faults.
pub(crate) fn app(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/oauth2/v3/authorize", get(oauth::authorize))
        .route("/oauth2/v3/token", post(oauth::token))
        .route("/api/1/products", get(owner::products))
        .route(
            "/api/1/energy_sites/{id}/{name}",
            get(owner::site_get).post(owner::site_post),
        )
        .merge(crate::fleet::routes())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&sim),
            reject_http1,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&sim),
            crate::control::faults::inject,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&sim),
            crate::control::counter::count,
        ))
        .layer(middleware::map_request(host_from_authority))
        .with_state(sim)
}
