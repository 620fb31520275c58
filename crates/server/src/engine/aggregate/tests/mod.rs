//! Tests of the multi-gateway models over hand-built snapshots: shared builders.

mod status;
mod totals;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use powerwall_gateway::{AccessMode, DataKind};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::*;
use crate::engine::readings::Readings;
use crate::engine::snapshot::Document;
use crate::settings::SiteKind;

use DataKind::{Aggregates, GridStatus, Soe, SystemStatus, Vitals};

/// Wall-clock base of every document (a fixed epoch, so outputs can be compared byte for byte).
pub(super) const WALL_BASE: u64 = 1_795_236_000;

/// One test gateway: identity and snapshot.
pub(super) struct Gw {
    pub(super) info: GatewayInfo,
    pub(super) snapshot: Snapshot,
}

pub(super) fn freshness() -> Freshness {
    Freshness {
        poll_interval: Duration::from_secs(5),
        cache_ttl: Duration::from_secs(30),
        graceful_degradation: true,
        health_check: true,
        fail_fast: false,
    }
}

pub(super) fn info(id: &str, target: &str, mode: AccessMode) -> GatewayInfo {
    GatewayInfo {
        id: id.into(),
        name: format!("Gateway {id}"),
        kind: SiteKind::Powerwall,
        timezone: "America/Los_Angeles".into(),
        target: target.into(),
        mode,
        poll_interval: Duration::from_secs(5),
        site_id: None,
        capabilities: crate::engine::capabilities::Capabilities::decide(mode, None, false),
    }
}

/// A connected gateway whose documents were read at `base` (wall `WALL_BASE + wall_offset`) and
/// expire 60 s later.
pub(super) fn connected(
    id: &str,
    base: Instant,
    wall_offset: u64,
    docs: Vec<(DataKind, Value)>,
) -> Gw {
    let mut snapshot = Snapshot::empty();
    for (kind, json) in docs {
        snapshot.documents.insert(
            kind,
            Document {
                json: Arc::new(json),
                fetched_at: base,
                fetched_wall: UNIX_EPOCH + Duration::from_secs(WALL_BASE + wall_offset),
                expires_at: base + Duration::from_secs(60),
            },
        );
    }
    snapshot.health.state = LinkState::Connected;
    snapshot.health.last_success_wall =
        Some(UNIX_EPOCH + Duration::from_secs(WALL_BASE + wall_offset));
    Gw {
        info: info(id, "10.0.0.5", AccessMode::TedapiFull),
        snapshot,
    }
}

/// Documents of a site: powers (site, battery, load, solar), pack energies, raw SOE, grid state.
pub(super) fn site(
    powers: [f64; 4],
    pack: Option<(f64, f64)>,
    soe: Option<f64>,
    grid: &str,
) -> Vec<(DataKind, Value)> {
    let [site, battery, load, solar] = powers;
    let mut docs = vec![
        (
            Aggregates,
            json!({
                "site": {"instant_power": site},
                "battery": {"instant_power": battery},
                "load": {"instant_power": load},
                "solar": {"instant_power": solar},
            }),
        ),
        (
            GridStatus,
            json!({"grid_status": grid, "grid_services_active": false}),
        ),
    ];
    if let Some((full, remaining)) = pack {
        docs.push((
            SystemStatus,
            json!({"nominal_full_pack_energy": full, "nominal_energy_remaining": remaining}),
        ));
    }
    if let Some(soe) = soe {
        docs.push((Soe, json!({ "percentage": soe })));
    }
    docs
}

pub(super) fn views<'a>(gateways: &'a [Gw], freshness: &'a Freshness) -> Vec<GatewayView<'a>> {
    gateways
        .iter()
        .map(|gw| GatewayView {
            info: &gw.info,
            snapshot: &gw.snapshot,
            freshness,
        })
        .collect()
}

/// The gateways as their pollers would publish them: typed readings built from the documents
/// (tests edit documents and freshness after building a snapshot).
pub(super) fn published(gateways: &[Gw]) -> Vec<Gw> {
    gateways
        .iter()
        .map(|gw| {
            let mut snapshot = gw.snapshot.clone();
            snapshot.readings = Arc::new(Readings::build(
                &snapshot.documents,
                &snapshot.admin.fresh_until,
                |_| true,
            ));
            Gw {
                info: gw.info.clone(),
                snapshot,
            }
        })
        .collect()
}

pub(super) fn run(gateways: &[Gw], now: Instant) -> (Vec<Value>, AggregateBodies) {
    let freshness = freshness();
    let gateways = published(gateways);
    let views = views(&gateways, &freshness);
    let statuses: Vec<Value> = views.iter().map(|v| gateway_status(v, now)).collect();
    let bodies = aggregate(&views, &statuses, now);
    (statuses, bodies)
}

pub(super) const UP: &str = "SystemGridConnected";
pub(super) const DOWN: &str = "SystemIslandedActive";
pub(super) const SYNCING: &str = "SystemTransitionToGrid";

/// Three sites with different pack sizes: 13.5 kWh at 80 %, 27 kWh at 20 %, 40.5 kWh at 50 %.
pub(super) fn three_sites(base: Instant) -> Vec<Gw> {
    vec![
        connected(
            "home",
            base,
            0,
            site(
                [100.0, -2000.0, 3100.0, 5000.0],
                Some((13_500.0, 10_800.0)),
                Some(80.0),
                UP,
            ),
        ),
        connected(
            "barn",
            base,
            2,
            site(
                [-500.5, 1000.0, 700.0, 200.25],
                Some((27_000.0, 5_400.0)),
                Some(20.0),
                UP,
            ),
        ),
        connected(
            "shop",
            base,
            4,
            site(
                [0.0, 0.0, 1500.0, 1500.0],
                Some((40_500.0, 20_250.0)),
                Some(50.0),
                UP,
            ),
        ),
    ]
}

/// `home` of [`three_sites`] after its link failed: data kept only by graceful degradation.
pub(super) fn degrade(gw: &mut Gw, base: Instant) {
    gw.snapshot.health.state = LinkState::Unreachable;
    gw.snapshot.health.last_error = Some("Timeout talking to 10.0.0.5".into());
    for kind in gw.snapshot.documents.keys() {
        gw.snapshot
            .admin
            .fresh_until
            .insert(*kind, base + Duration::from_secs(10));
    }
}
