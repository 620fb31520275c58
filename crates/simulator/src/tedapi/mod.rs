//! The TEDAPI JSON documents of the site, generated from the one physical model
//! (gateway-protocols §2.13, §2.15, §10.3).
//!
//! Every document of a [`TedapiDocuments`] is rendered from the same [`Snapshot`], so the
//! numbers a TEDAPI client derives (§3) are the ones the local API serves at that instant:
//! `meterAggregates` are the model's flows, pack energies add up to the served totals, the grid
//! state follows the control API. The HTTP persona wraps these documents: [`routes`] (paths and
//! framing), [`auth`] (Basic / installer bearer), [`dispatch`] (envelope routing, signed-query
//! whitelisting, answers), [`gzip`], [`knobs`] (run-time knobs, in-flight tracking) and
//! [`label`] (counter keys by query).

pub mod auth;
pub mod dispatch;
pub mod gzip;
pub mod knobs;
pub mod label;
pub mod routes;

mod components;
mod config;
mod controller;
mod escan;
mod msa;
mod values;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_profile;
#[cfg(test)]
mod tests_shape;
#[cfg(test)]
mod tests_sums;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::local::documents::git_hash;
use crate::local::fixtures::Fixtures;
use crate::model::reading::Snapshot;
use values::Ctx;

/// The TEDAPI JSON documents of the site at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TedapiDocuments {
    /// Gateway DIN (`GET /tedapi/din`; on Powerwall 3 sites the leader's DIN).
    pub din: String,
    /// `config.json` (config request, §2.15).
    pub config: Value,
    /// DeviceController answer to the basic query (the client's "status").
    pub status: Value,
    /// DeviceController answer to the full query (the client's "controller"), with
    /// `components.msa`, `teslaRemoteMeter` and `ieee20305`.
    pub controller: Value,
    /// Components answers by recipient DIN: the gateway-level answer under the gateway DIN
    /// (empty component lists on a Powerwall 2 site), one per Powerwall 3 (leader and followers).
    pub components: BTreeMap<String, Value>,
}

impl TedapiDocuments {
    /// Renders every document from one snapshot (the fixtures give the site's identity texts).
    pub(crate) fn render(snapshot: &Snapshot, fixtures: &Fixtures) -> Self {
        let hash = git_hash(&snapshot.firmware, fixtures);
        let ctx = Ctx::new(snapshot, &hash, &fixtures.site_info);
        let din = snapshot.din();
        let mut answers = BTreeMap::new();
        answers.insert(din.clone(), components::gateway_answer(&ctx));
        for unit in snapshot.topology.units() {
            if let Some(answer) = components::unit_answer(&ctx, unit) {
                answers.insert(snapshot.topology.packs[unit].din(), answer);
            }
        }
        Self {
            din,
            config: config::document(&ctx),
            status: controller::document(&ctx, false),
            controller: controller::document(&ctx, true),
            components: answers,
        }
    }

    /// The components answer for a recipient DIN (`None`: no such Powerwall 3 on this site;
    /// expansions are never addressed directly, §2.13).
    pub fn components_for(&self, din: &str) -> Option<&Value> {
        self.components.get(din)
    }
}
