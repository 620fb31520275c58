//! The Tesla cloud core shared by the Owner API client ([`crate::cloud`]) and the Fleet API
//! client ([`crate::fleet`]): they differ in how a request is authenticated and where it goes,
//! not in what they do with the energy site.
//!
//! - [`exchange`]: one counted HTTP exchange, the 429 back-off window, an optional HTTP/1.1 retry;
//! - [`call`]: the authenticated call (bearer token, 401 → one shared refresh and one retry);
//! - [`site`]: the energy-site documents in the local API's shapes, `fetch_raw` and the writes
//!   (reserve, mode, grid charging, grid export), over a client's cached reads and commands;
//! - [`access`]: `GatewayAccess` and `GatewayControl` of every client that is a [`site::TeslaSite`].

mod access;
pub(crate) mod call;
pub(crate) mod exchange;
pub(crate) mod site;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

pub use site::SiteDocument;

/// Locks a mutex whose holders only swap whole values, so a poisoned lock is still consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Wall-clock Unix seconds with the fraction (token expiry is wall-clock by nature).
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs_f64())
        .unwrap_or(0.0)
}

/// Checks that a configured Tesla URL parses and is `https` (`name` names it in the error).
pub(crate) fn check_https(name: &str, url: &str) -> Result<(), crate::GatewayError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|err| crate::GatewayError::Config(format!("{name} URL {url:?}: {err}")))?;
    if parsed.scheme() != "https" {
        return Err(crate::GatewayError::Config(format!(
            "{name} URL {url:?} must be https"
        )));
    }
    Ok(())
}

/// The generation of a client's tokens, so that concurrent 401s share one refresh.
#[derive(Debug, Default)]
pub(crate) struct TokenGate {
    generation: AtomicU64,
    refreshing: tokio::sync::Mutex<()>,
}

impl TokenGate {
    /// The current generation (bumped at every token change).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Marks a token change.
    pub(crate) fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The right to refresh, or `None` when another caller changed the tokens since `seen`
    /// (waits for a refresh in progress first).
    pub(crate) async fn begin(&self, seen: u64) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        let guard = self.refreshing.lock().await;
        (self.generation() == seen).then_some(guard)
    }
}

/// The selected energy site of a client, chosen once by whoever asks first.
#[derive(Debug)]
pub(crate) struct SiteSlot<T> {
    site: Mutex<Option<T>>,
    choosing: tokio::sync::Mutex<()>,
}

impl<T> Default for SiteSlot<T> {
    fn default() -> Self {
        Self {
            site: Mutex::new(None),
            choosing: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T: Clone> SiteSlot<T> {
    /// The chosen site, if any.
    pub(crate) fn get(&self) -> Option<T> {
        lock(&self.site).clone()
    }

    /// Replaces (or, with `None`, forgets) the chosen site.
    pub(crate) fn set(&self, site: Option<T>) {
        *lock(&self.site) = site;
    }

    /// The chosen site, else the one `choose` answers (one chooser at a time).
    pub(crate) async fn get_or_choose<F, Fut, E>(&self, choose: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        if let Some(site) = self.get() {
            return Ok(site);
        }
        let _choosing = self.choosing.lock().await;
        if let Some(site) = self.get() {
            return Ok(site);
        }
        let site = choose().await?;
        self.set(Some(site.clone()));
        Ok(site)
    }
}
