//! Tesla's Fleet API persona (gateway-protocols §10.7), on the cloud listener under region
//! prefixes (`/fleet/na/api/1/…`, `/fleet/eu/…`, `/fleet/cn/…`) over the same physical model as
//! every other persona: a reserve written here shows in the local `/api/operation`.
//!
//! Also here: the Fleet flavour of the SSO token endpoint (client credentials, authorization code
//! with client secret and audience, refresh), the developer domain's public-key PEM
//! (`/.well-known/appspecific/com.tesla.3p.public-key.pem`), partner registration, the account's
//! region (other regions answer 412) and a 429 knob with the three ways Tesla names the delay.

pub mod knobs;
pub(crate) mod oauth;
mod routes;

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

pub use knobs::{FleetKnobs, FleetRateLimit, RetryStyle};

use crate::cloud::tokens::Registry;
use crate::sim::Sim;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Everything the Fleet persona keeps between requests.
#[derive(Debug, Default)]
pub struct FleetState {
    knobs: Mutex<FleetKnobs>,
    /// User tokens (codes, access and refresh tokens) of Fleet logins.
    registry: Mutex<Registry>,
    partner_tokens: Mutex<HashSet<String>>,
    partner_domains: Mutex<Vec<String>>,
    public_key_pem: Mutex<Option<String>>,
    /// The active 429 injection and how many answers it still affects.
    rate_limit: Mutex<Option<FleetRateLimit>>,
}

impl FleetState {
    /// The knobs now.
    pub fn knobs(&self) -> FleetKnobs {
        lock(&self.knobs).clone()
    }

    /// Replaces the knobs.
    pub fn set_knobs(&self, knobs: FleetKnobs) {
        *lock(&self.knobs) = knobs;
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    /// Remembers an issued partner token.
    pub(crate) fn add_partner_token(&self, token: String) {
        lock(&self.partner_tokens).insert(token);
    }

    /// Whether `token` is an issued partner token.
    pub(crate) fn is_partner_token(&self, token: &str) -> bool {
        lock(&self.partner_tokens).contains(token)
    }

    /// Records a registered partner domain.
    pub(crate) fn register_domain(&self, domain: &str) {
        let mut domains = lock(&self.partner_domains);
        if !domains.iter().any(|known| known == domain) {
            domains.push(domain.to_owned());
        }
    }

    /// Domains registered through `partner_accounts`.
    pub fn partner_domains(&self) -> Vec<String> {
        lock(&self.partner_domains).clone()
    }

    /// The hosted developer public key (`None`: the PEM URL answers 404).
    pub fn public_key_pem(&self) -> Option<String> {
        lock(&self.public_key_pem).clone()
    }

    /// Hosts (or with `None` removes) the developer public key.
    pub fn set_public_key_pem(&self, pem: Option<String>) {
        *lock(&self.public_key_pem) = pem;
    }

    /// Starts a 429 injection (replacing any other).
    pub fn set_rate_limit(&self, limit: Option<FleetRateLimit>) {
        *lock(&self.rate_limit) = limit.filter(|limit| limit.times > 0);
    }

    /// Consumes one 429 of the active injection, if any.
    pub(crate) fn take_rate_limit(&self) -> Option<FleetRateLimit> {
        let mut slot = lock(&self.rate_limit);
        let limit = slot.clone()?;
        if limit.times <= 1 {
            *slot = None;
        } else if let Some(active) = slot.as_mut() {
            active.times -= 1;
        }
        Some(limit)
    }
}

/// The Fleet routes, merged into the cloud listener's application.
pub(crate) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route(
            "/.well-known/appspecific/com.tesla.3p.public-key.pem",
            get(routes::public_key),
        )
        .route("/fleet/{region}/api/1/products", get(routes::products))
        .route(
            "/fleet/{region}/api/1/partner_accounts",
            post(routes::partner_accounts),
        )
        .route(
            "/fleet/{region}/api/1/energy_sites/{id}/{name}",
            get(routes::site_get).post(routes::site_post),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_counts_down_then_stops() {
        let state = FleetState::default();
        state.set_rate_limit(Some(FleetRateLimit {
            style: RetryStyle::Body,
            secs: 5,
            times: 2,
        }));
        assert_eq!(state.take_rate_limit().map(|limit| limit.secs), Some(5));
        assert!(state.take_rate_limit().is_some());
        assert!(state.take_rate_limit().is_none());
        state.set_rate_limit(Some(FleetRateLimit {
            style: RetryStyle::Seconds,
            secs: 5,
            times: 0,
        }));
        assert!(state.take_rate_limit().is_none());
    }

    #[test]
    fn audiences_are_region_bases() {
        assert!(oauth::valid_audience(
            "https://fleet-api.prd.na.vn.cloud.tesla.com"
        ));
        assert!(oauth::valid_audience("https://127.0.0.1:9/fleet/eu/"));
        assert!(!oauth::valid_audience("https://127.0.0.1:9/"));
        assert!(!oauth::valid_audience("http://127.0.0.1:9/fleet/na"));
    }
}
