//! Tests of the multi-gateway models over hand-built snapshots.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use powerwall_gateway::{AccessMode, DataKind};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::*;
use crate::engine::render::test_support::fixture;
use crate::engine::render::{route_json, test_support::presentation};
use crate::engine::snapshot::Document;
use crate::settings::SiteKind;

use DataKind::{Aggregates, GridStatus, Soe, SystemStatus, Vitals};

/// Wall-clock base of every document (a fixed epoch, so outputs can be compared byte for byte).
const WALL_BASE: u64 = 1_795_236_000;

/// One test gateway: identity and snapshot.
struct Gw {
    info: GatewayInfo,
    snapshot: Snapshot,
}

fn freshness() -> Freshness {
    Freshness {
        poll_interval: Duration::from_secs(5),
        cache_ttl: Duration::from_secs(30),
        graceful_degradation: true,
        health_check: true,
        fail_fast: false,
    }
}

fn info(id: &str, target: &str, mode: AccessMode) -> GatewayInfo {
    GatewayInfo {
        id: id.into(),
        name: format!("Gateway {id}"),
        kind: SiteKind::Powerwall,
        timezone: "America/Los_Angeles".into(),
        target: target.into(),
        mode,
        poll_interval: Duration::from_secs(5),
        site_id: None,
    }
}

/// A connected gateway whose documents were read at `base` (wall `WALL_BASE + wall_offset`) and
/// expire 60 s later.
fn connected(id: &str, base: Instant, wall_offset: u64, docs: Vec<(DataKind, Value)>) -> Gw {
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
fn site(
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

fn views<'a>(gateways: &'a [Gw], freshness: &'a Freshness) -> Vec<GatewayView<'a>> {
    gateways
        .iter()
        .map(|gw| GatewayView {
            info: &gw.info,
            snapshot: &gw.snapshot,
            freshness,
        })
        .collect()
}

fn run(gateways: &[Gw], now: Instant) -> (Vec<Value>, AggregateBodies) {
    let freshness = freshness();
    let views = views(gateways, &freshness);
    let statuses: Vec<Value> = views.iter().map(|v| gateway_status(v, now)).collect();
    let bodies = aggregate(&views, &statuses, now);
    (statuses, bodies)
}

const UP: &str = "SystemGridConnected";
const DOWN: &str = "SystemIslandedActive";
const SYNCING: &str = "SystemTransitionToGrid";

/// Three sites with different pack sizes: 13.5 kWh at 80 %, 27 kWh at 20 %, 40.5 kWh at 50 %.
fn three_sites(base: Instant) -> Vec<Gw> {
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

#[test]
fn power_sums_over_included_gateways() {
    let base = Instant::now();
    let (_, bodies) = run(&three_sites(base), base);
    let full = &bodies.full;
    assert_eq!(full["total_site_power"], json!(-400.5));
    assert_eq!(full["total_battery_power"], json!(-1000.0));
    assert_eq!(full["total_load_power"], json!(5300.0));
    assert_eq!(full["total_solar_power"], json!(6700.25));
    assert_eq!(full["total_grid_power"], full["total_site_power"]);
    assert_eq!(full["num_gateways"], json!(3));
    assert_eq!(full["num_online"], json!(3));
    assert_eq!(full["num_degraded"], json!(0));
    assert_eq!(
        bodies.power,
        json!({"site": -400.5, "battery": -1000.0, "load": 5300.0, "solar": 6700.25,
               "grid": -400.5, "timestamp": WALL_BASE as f64})
    );
}

#[test]
fn soe_is_weighted_by_pack_energy() {
    let base = Instant::now();
    let gateways = three_sites(base);
    // Two sites: 13.5 kWh at 80 % and 27 kWh at 20 % hold 16.2 of 40.5 kWh = 40 %, not the 50 % mean.
    let (_, two) = run(&gateways[..2], base);
    assert_eq!(two.full["total_battery_percent_raw"], json!(40.0));
    // App scale: (40 − 5) / 0.95 = 36.842… → 36.84.
    assert_eq!(two.full["total_battery_percent"], json!(36.84));
    assert_eq!(two.full["total_battery_capacity"], json!(40_500.0));
    assert_eq!(two.full["total_energy_remaining"], json!(16_200.0));
    assert_eq!(two.full["soe_method"], json!("energy_weighted"));
    assert_eq!(two.full["soe_basis"], json!(["home", "barn"]));
    // All three: (10.8 + 5.4 + 20.25) / (13.5 + 27 + 40.5) = 36.45 / 81 = 45 %.
    let (_, all) = run(&gateways, base);
    assert_eq!(all.full["total_battery_percent_raw"], json!(45.0));
    assert_eq!(all.full["total_battery_capacity"], json!(81_000.0));
    assert_eq!(
        all.soe,
        json!({"percentage": 42.11, "raw_percentage": 45.0, "num_gateways": 3,
               "timestamp": WALL_BASE as f64})
    );
    assert_eq!(
        all.battery,
        json!({"total_capacity": 81_000.0, "battery_percent": 42.11, "battery_percent_raw": 45.0,
               "battery_power": -1000.0, "num_gateways": 3, "num_online": 3,
               "timestamp": WALL_BASE as f64})
    );
}

#[test]
fn soe_without_pack_energies() {
    let base = Instant::now();
    // One site reports pack energies, one only a level: the weighted figure rests on the first.
    let mixed = vec![
        connected(
            "a",
            base,
            0,
            site([0.0; 4], Some((13_500.0, 6_750.0)), Some(50.0), UP),
        ),
        connected("b", base, 0, site([0.0; 4], None, Some(90.0), UP)),
    ];
    let (_, bodies) = run(&mixed, base);
    assert_eq!(bodies.full["total_battery_percent_raw"], json!(50.0));
    assert_eq!(bodies.full["soe_basis"], json!(["a"]));
    // Nobody reports pack energies: the plain mean of the raw levels, capacity unknown.
    let levels_only = vec![
        connected("a", base, 0, site([0.0; 4], None, Some(80.0), UP)),
        connected("b", base, 0, site([0.0; 4], None, Some(20.0), UP)),
    ];
    let (_, bodies) = run(&levels_only, base);
    assert_eq!(bodies.full["total_battery_percent_raw"], json!(50.0));
    assert_eq!(bodies.full["soe_method"], json!("mean"));
    assert_eq!(bodies.full["total_battery_capacity"], Value::Null);
    // A zero pack (solar-only site) and no level: nothing to report, null rather than 0.
    let nothing = vec![connected(
        "a",
        base,
        0,
        site([0.0; 4], Some((0.0, 0.0)), None, UP),
    )];
    let (statuses, bodies) = run(&nothing, base);
    for key in [
        "total_battery_percent_raw",
        "total_battery_percent",
        "total_battery_capacity",
        "soe_method",
    ] {
        assert_eq!(bodies.full[key], Value::Null, "{key}");
    }
    assert_eq!(statuses[0]["data"]["soe"], Value::Null);
}

#[test]
fn per_gateway_soe_is_clamped_app_scale() {
    let base = Instant::now();
    let soe_of = |raw: f64| {
        let (statuses, _) = run(
            &[connected("a", base, 0, site([0.0; 4], None, Some(raw), UP))],
            base,
        );
        (
            statuses[0]["data"]["soe_raw"].clone(),
            statuses[0]["data"]["soe"].clone(),
        )
    };
    assert_eq!(soe_of(85.5), (json!(85.5), json!(84.74)));
    assert_eq!(soe_of(3.0), (json!(3.0), json!(0.0)));
    assert_eq!(soe_of(100.0), (json!(100.0), json!(100.0)));
}

#[test]
fn grid_worst_state_wins() {
    let base = Instant::now();
    let combined = |states: &[&str]| {
        let gateways: Vec<Gw> = states
            .iter()
            .enumerate()
            .map(|(i, state)| {
                connected(&format!("g{i}"), base, 0, site([0.0; 4], None, None, state))
            })
            .collect();
        run(&gateways, base).1.full["grid_status"].clone()
    };
    assert_eq!(combined(&[UP, DOWN]), json!("DOWN"));
    assert_eq!(combined(&[UP, SYNCING]), json!("SYNCING"));
    assert_eq!(combined(&[SYNCING, DOWN, UP]), json!("DOWN"));
    assert_eq!(combined(&[UP, UP]), json!("UP"));
    assert_eq!(combined(&["SystemIslandedReady", UP]), json!("SYNCING"));
    assert_eq!(combined(&["SystemMicroGridFaulted"]), json!("DOWN"));
    // An unknown state is ignored; with nothing known the state is null.
    assert_eq!(combined(&["Bogus", UP]), json!("UP"));
    assert_eq!(combined(&["Bogus"]), Value::Null);
    assert_eq!(combined(&[]), Value::Null);
}

/// `home` of [`three_sites`] after its link failed: data kept only by graceful degradation.
fn degrade(gw: &mut Gw, base: Instant) {
    gw.snapshot.health.state = LinkState::Unreachable;
    gw.snapshot.health.last_error = Some("Timeout talking to 10.0.0.5".into());
    for kind in gw.snapshot.documents.keys() {
        gw.snapshot
            .admin
            .fresh_until
            .insert(*kind, base + Duration::from_secs(10));
    }
}

#[test]
fn degraded_gateway_is_counted_and_included() {
    let base = Instant::now();
    let mut gateways = three_sites(base);
    degrade(&mut gateways[0], base);
    let now = base + Duration::from_secs(20);
    let (statuses, bodies) = run(&gateways, now);
    assert_eq!(bodies.full["num_online"], json!(2));
    assert_eq!(bodies.full["num_degraded"], json!(1));
    assert_eq!(bodies.full["total_load_power"], json!(5300.0));
    assert_eq!(bodies.soe["num_gateways"], json!(2));
    let home = &statuses[0];
    assert_eq!(home["online"], json!(false));
    assert_eq!(home["error"], json!("Timeout talking to 10.0.0.5"));
    assert_eq!(
        home["gateway"]["last_error"],
        json!("Timeout talking to 10.0.0.5")
    );
    assert_eq!(home["last_updated"], json!(WALL_BASE as f64));
    assert_eq!(
        home["data"]["aggregates"]["load"]["instant_power"],
        json!(3100.0)
    );
    assert_eq!(
        home["data"]["freshness"]["aggregates"]["stale"],
        json!(true)
    );
    assert_eq!(
        bodies.full["gateways_summary"]["home"],
        json!({"online": false, "stale": true, "last_updated": WALL_BASE as f64, "included": true})
    );
    assert_eq!(bodies.full["gateways"]["home"], *home);
    // Before its window ends the same data is still fresh and the gateway is not flagged.
    let (early, _) = run(&gateways, base + Duration::from_secs(5));
    assert_eq!(
        early[0]["data"]["freshness"]["aggregates"]["stale"],
        json!(false)
    );

    // Without graceful degradation stale data is not served at all.
    let strict = Freshness {
        graceful_degradation: false,
        ..freshness()
    };
    let strict_views = views(&gateways, &strict);
    let status = gateway_status(&strict_views[0], now);
    assert_eq!(status["data"], Value::Null);
    let bodies = aggregate(&strict_views, &[], now);
    assert_eq!(bodies.full["num_degraded"], json!(0));
    assert_eq!(bodies.full["total_load_power"], json!(2200.0));
}

#[test]
fn expired_data_is_excluded_and_totals_are_null() {
    let base = Instant::now();
    let mut gateways = three_sites(base);
    // `barn` was read 50 s earlier, so its documents have expired 20 s from now.
    for document in gateways[1].snapshot.documents.values_mut() {
        document.expires_at = base + Duration::from_secs(10);
    }
    let (statuses, bodies) = run(&gateways, base + Duration::from_secs(20));
    assert_eq!(statuses[1]["data"], Value::Null);
    assert_eq!(statuses[1]["last_updated"], Value::Null);
    assert_eq!(bodies.full["total_load_power"], json!(4600.0));
    assert_eq!(bodies.full["num_online"], json!(2));
    assert!(bodies.full["gateways"].get("barn").is_none());
    assert_eq!(
        bodies.full["gateways_summary"]["barn"]["included"],
        json!(false)
    );

    // Past every expiry nothing is servable: every total is null, never 0.
    let (statuses, bodies) = run(&gateways, base + Duration::from_secs(61));
    assert!(statuses.iter().all(|status| status["data"].is_null()));
    for key in [
        "total_site_power",
        "total_battery_power",
        "total_load_power",
        "total_solar_power",
        "total_grid_power",
        "total_battery_percent",
        "total_battery_percent_raw",
        "total_battery_capacity",
        "grid_status",
        "timestamp",
        "newest_timestamp",
    ] {
        assert_eq!(bodies.full[key], Value::Null, "{key}");
    }
    assert_eq!(bodies.full["num_gateways"], json!(3));
    assert_eq!(bodies.full["num_online"], json!(0));
    assert_eq!(bodies.full["gateways"], json!({}));
    assert_eq!(bodies.power["site"], Value::Null);
    assert_eq!(bodies.strings, json!({}));

    // No gateway configured at all.
    let (_, none) = run(&[], base);
    assert_eq!(none.full["num_gateways"], json!(0));
    assert_eq!(none.full["total_site_power"], Value::Null);
}

#[test]
fn timestamp_is_the_oldest_data_time() {
    let base = Instant::now();
    let (statuses, bodies) = run(&three_sites(base), base);
    assert_eq!(bodies.full["timestamp"], json!(WALL_BASE as f64));
    assert_eq!(
        bodies.full["newest_timestamp"],
        json!((WALL_BASE + 4) as f64)
    );
    assert_eq!(statuses[2]["last_updated"], json!((WALL_BASE + 4) as f64));
    assert_eq!(
        statuses[2]["data"]["timestamp"],
        json!((WALL_BASE + 4) as f64)
    );
}

#[test]
fn status_before_the_first_poll() {
    let gw = Gw {
        info: info("default", "192.168.91.1:443", AccessMode::TedapiHybrid),
        snapshot: Snapshot::empty(),
    };
    let (statuses, bodies) = run(std::slice::from_ref(&gw), Instant::now());
    let status = &statuses[0];
    assert_eq!(status["online"], json!(false));
    assert_eq!(status["data"], Value::Null);
    assert_eq!(status["error"], json!("Initializing..."));
    assert_eq!(status["last_updated"], Value::Null);
    let gateway = &status["gateway"];
    assert_eq!(gateway["host"], json!("192.168.91.1"));
    assert_eq!(gateway["port"], json!(443));
    assert_eq!(gateway["tedapi_expected"], json!(true));
    assert_eq!(gateway["mode"], json!("tedapi-hybrid"));
    assert_eq!(gateway["type"], json!("powerwall"));
    assert_eq!(gateway["poll_interval_s"], json!(5.0));
    assert_eq!(
        bodies.full["gateways_summary"]["default"]["included"],
        json!(false)
    );
}

#[test]
fn targets_split_into_host_and_port() {
    use super::status::split_target;
    assert_eq!(split_target("10.0.0.5"), ("10.0.0.5".into(), None));
    assert_eq!(
        split_target("10.0.0.5:4443"),
        ("10.0.0.5".into(), Some(4443))
    );
    assert_eq!(
        split_target("[fe80::1]:443"),
        ("[fe80::1]".into(), Some(443))
    );
    assert_eq!(split_target("fe80::1"), ("fe80::1".into(), None));
    assert_eq!(split_target("gw.local:x"), ("gw.local:x".into(), None));
}

#[test]
fn device_data_matches_the_legacy_routes() {
    let base = Instant::now();
    let vitals = fixture("local/simulator/api.devices.vitals.decoded.json");
    let mut docs = site([0.0; 4], None, Some(50.0), UP);
    docs.push((Vitals, vitals.clone()));
    let gateways = vec![
        connected("a", base, 0, docs.clone()),
        connected("b", base, 0, site([0.0; 4], None, None, UP)),
    ];
    let (statuses, bodies) = run(&gateways, base);
    let legacy = |route: &str| {
        let documents = gateways[0].snapshot.documents.clone();
        route_json(route, &documents, &presentation(false, 100)).unwrap()
    };
    let data = &statuses[0]["data"];
    for (field, route) in [
        ("vitals", "/vitals"),
        ("strings", "/strings"),
        ("temps", "/temps"),
        ("alerts", "/alerts"),
        ("freq", "/freq"),
    ] {
        assert_eq!(data[field], legacy(route), "{field}");
    }
    assert_eq!(data["grid_status"], json!("UP"));
    assert_eq!(data["connection_mode"], json!("TEDAPI"));
    assert_eq!(data["tedapi_mode"], json!("full"));
    assert_eq!(bodies.vitals, json!({ "a": vitals }));
    assert_eq!(bodies.strings["a"], legacy("/strings"));
    // `b` has no vitals: no vitals entry, but its grid-status alert is known.
    assert!(bodies.vitals.get("b").is_none());
    assert_eq!(bodies.alerts["b"], json!(["SystemConnectedToGrid"]));
}

/// Every object key in `value`, at every depth.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                out.push(key.to_lowercase());
                keys(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, out)),
        _ => {}
    }
}

#[test]
fn no_credential_is_ever_serialised() {
    let base = Instant::now();
    let mut gateways = three_sites(base);
    degrade(&mut gateways[1], base);
    gateways.push(Gw {
        info: info("new", "10.0.0.9", AccessMode::Local),
        snapshot: Snapshot::empty(),
    });
    let (statuses, bodies) = run(&gateways, base + Duration::from_secs(20));
    let mut all = statuses;
    all.extend([
        bodies.full,
        bodies.power,
        bodies.soe,
        bodies.battery,
        bodies.strings,
        bodies.alerts,
        bodies.vitals,
    ]);
    let mut found = Vec::new();
    for value in &all {
        keys(value, &mut found);
    }
    for secret in [
        "password",
        "gw_pwd",
        "email",
        "token",
        "secret",
        "rsa_key_path",
    ] {
        assert!(
            !found.iter().any(|key| key.contains(secret)),
            "{secret} in {found:?}"
        );
    }
}

#[test]
fn output_depends_only_on_snapshots_and_windows() {
    let base = Instant::now();
    let mut gateways = three_sites(base);
    degrade(&mut gateways[2], base);
    let bytes = |now: Instant| {
        let (statuses, bodies) = run(&gateways, now);
        serde_json::to_vec(&(
            statuses,
            bodies.full,
            bodies.power,
            bodies.soe,
            bodies.battery,
        ))
        .unwrap()
    };
    // Inside the windows the bytes stay the same however time passes.
    assert_eq!(bytes(base), bytes(base + Duration::from_secs(1)));
    assert_eq!(
        bytes(base + Duration::from_secs(11)),
        bytes(base + Duration::from_secs(40))
    );
    // Crossing a boundary (the stale mark at 10 s) is what changes them.
    assert_ne!(bytes(base), bytes(base + Duration::from_secs(11)));
}
