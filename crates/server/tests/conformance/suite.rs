//! The suite body every access mode runs: legacy data routes answer the simulator's values,
//! `/health` and `/stats` name the mode, a reserve write round-trips (or is refused where the mode
//! has no write path), and the upstream request count grows.

use serde_json::{Value, json};

use super::{Mode, SECRET, Site, app_scale, close, upstream_requests, write_requests};
use crate::common::*;

/// The site the suite pins (the proxy documentation's sample values; site = −2100 W).
pub const PINNED: PinnedSite = PinnedSite {
    solar_w: 6500.0,
    home_w: 900.0,
    battery_w: -3500.0,
    site_w: -2100.0,
    soe_raw_pct: 23.975388,
    reserve_raw_pct: 81.0,
};

/// The values the suite pins in the simulator before the server starts.
pub struct PinnedSite {
    /// Solar power, W.
    pub solar_w: f64,
    /// Home power, W.
    pub home_w: f64,
    /// Battery power, W (negative charging).
    pub battery_w: f64,
    /// Grid power the simulator derives (home − battery − solar), W.
    pub site_w: f64,
    /// Battery level on the gateway's raw scale.
    pub soe_raw_pct: f64,
    /// Backup reserve on the gateway's raw scale.
    pub reserve_raw_pct: f64,
}

/// Runs the whole suite for `mode`: a frozen simulator with [`PINNED`] and our server.
pub async fn run(mode: Mode) {
    let sim = super::frozen_simulator().await;
    sim_post(
        &sim,
        "/test/state",
        json!({
            "solar_w": PINNED.solar_w, "home_w": PINNED.home_w, "battery_w": PINNED.battery_w,
            "soe_raw_pct": PINNED.soe_raw_pct, "reserve_raw_pct": PINNED.reserve_raw_pct,
            "real_mode": "self_consumption", "grid_status": "SystemGridConnected",
        }),
    )
    .await;
    let site = mode.start_on(sim).await;
    let first_upstream = upstream_requests(&site.server).await;
    assert!(
        first_upstream > 0,
        "{mode:?}: the first poll asked upstream"
    );
    data_routes_answer_the_simulator(&site).await;
    admin_routes_name_the_mode(&site).await;
    reserve_write(&site).await;
    eventually("upstream request count to grow", || async {
        (upstream_requests(&site.server).await > first_upstream).then_some(())
    })
    .await;
    site.shutdown().await;
}

fn number(body: &Value, pointer: &str) -> f64 {
    body.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} is not a number: {body}"))
}

/// Power, battery level (both scales) and grid status from every legacy data route.
async fn data_routes_answer_the_simulator(site: &Site) {
    let (mode, server) = (site.mode, &site.server);
    let meters = [
        ("site", PINNED.site_w),
        ("load", PINNED.home_w),
        ("solar", PINNED.solar_w),
        ("battery", PINNED.battery_w),
    ];
    for path in ["/aggregates", "/api/meters/aggregates", "/pw/aggregates"] {
        let aggregates = get_json(server, path).await;
        for (meter, want) in meters {
            let got = number(&aggregates, &format!("/{meter}/instant_power"));
            assert!(close(got, want), "{mode:?} {path} {meter}: {got} != {want}");
        }
    }
    for (name, meter, want) in [
        ("site", "site", PINNED.site_w),
        ("grid", "site", PINNED.site_w),
        ("load", "load", PINNED.home_w),
        ("home", "load", PINNED.home_w),
        ("solar", "solar", PINNED.solar_w),
        ("battery", "battery", PINNED.battery_w),
    ] {
        let body = get_json(server, &format!("/pw/{name}")).await;
        let got = number(&body, "/instant_power");
        assert!(close(got, want), "{mode:?} /pw/{name} ({meter}): {got}");
    }
    let power = get_json(server, "/pw/power").await;
    for (key, want) in [
        ("site", PINNED.site_w),
        ("load", PINNED.home_w),
        ("solar", PINNED.solar_w),
        ("battery", PINNED.battery_w),
    ] {
        assert!(
            close(number(&power, &format!("/{key}")), want),
            "{mode:?} /pw/power: {power}"
        );
    }

    // `/soe` and `/pw/level` are the gateway's raw scale, `/api/system_status/soe` the app's.
    let raw = number(&get_json(server, "/soe").await, "/percentage");
    assert!(close(raw, PINNED.soe_raw_pct), "{mode:?} /soe: {raw}");
    let level = number(&get_json(server, "/pw/level").await, "/level");
    assert!(
        close(level, PINNED.soe_raw_pct),
        "{mode:?} /pw/level: {level}"
    );
    let app = number(
        &get_json(server, "/api/system_status/soe").await,
        "/percentage",
    );
    assert!(
        close(app, app_scale(PINNED.soe_raw_pct)),
        "{mode:?} /api/system_status/soe: {app}"
    );

    for path in ["/api/system_status/grid_status", "/pw/grid_status"] {
        let grid = get_json(server, path).await;
        assert_eq!(
            grid["grid_status"], "SystemGridConnected",
            "{mode:?} {path}"
        );
    }
    assert_eq!(
        get_json(server, "/pw/is_connected").await,
        json!({"is_connected": true}),
        "{mode:?}"
    );
    assert_eq!(
        get(server, "/csv").await,
        (200, "-2100.00,900.00,6500.00,-3500.00,23.98\n".to_owned()),
        "{mode:?} /csv"
    );
    // Reserve and mode arrive with the operation document (a slower tier in local mode).
    eventually("reserve in /pw/get_reserve", || async {
        let reserve = get_json(server, "/pw/get_reserve").await["reserve"].as_f64()?;
        close(reserve, app_scale(PINNED.reserve_raw_pct)).then_some(())
    })
    .await;
    assert_eq!(
        get_json(server, "/pw/get_mode").await,
        json!({"mode": "self_consumption"}),
        "{mode:?}"
    );
}

/// `/health` and `/stats` name the mode; the link is connected.
async fn admin_routes_name_the_mode(site: &Site) {
    let (mode, server) = (site.mode, &site.server);
    let health = get_json(server, "/health").await;
    assert_eq!(health["mode"], mode.proxy_mode(), "{mode:?}");
    assert_eq!(health["gateway"]["mode"], mode.gateway_mode(), "{mode:?}");
    assert_eq!(health["gateway"]["state"], "connected", "{mode:?}");
    let stats = get_json(server, "/stats").await;
    assert_eq!(stats["mode"], mode.proxy_mode(), "{mode:?}");
    assert_eq!(stats["cloudmode"], mode == Mode::Cloud, "{mode:?}");
    assert_eq!(stats["fleetapi"], mode == Mode::Fleet, "{mode:?}");
}

/// A reserve write with a wrong token writes nothing; with the right one it reaches the gateway
/// and reads back through `GET /control/reserve`, or is refused where the mode has no write path.
async fn reserve_write(site: &Site) {
    let (mode, server, sim) = (site.mode, &site.server, &site.sim);
    let reserve = get_json(server, "/control/reserve").await;
    assert!(
        close(
            number(&reserve, "/reserve"),
            app_scale(PINNED.reserve_raw_pct)
        ),
        "{mode:?}: {reserve}"
    );
    let no_backend = json!({
        "error": "Control Command Error: Unable to connect to cloud mode - Run Setup"
    });
    let refused = if mode.writes() {
        (
            401,
            json!({"unauthorized": "Control Command Token Invalid"}),
        )
    } else {
        // Checked before the token: a wrong token gets the same answer.
        (400, no_backend.clone())
    };
    let wrong = post_form(server, "/control/reserve", "value=20&token=wrong").await;
    assert_eq!(wrong, refused, "{mode:?}");
    assert_eq!(write_requests(sim), 0, "{mode:?}: nothing written");

    let form = format!("value=50&token={SECRET}");
    let (status, body) = post_form(server, "/control/reserve", &form).await;
    if !mode.writes() {
        assert_eq!((status, body), (400, no_backend), "{mode:?}");
        assert_eq!(write_requests(sim), 0, "{mode:?}: nothing written");
        assert!(close(sim.reading().reserve_raw_pct, PINNED.reserve_raw_pct));
        return;
    }
    assert_eq!(status, 200, "{mode:?}: {body}");
    // Each backend's own answer.
    match mode {
        Mode::Local => assert_eq!(body["backup_reserve_percent"], json!(50), "{body}"),
        Mode::Cloud => assert_eq!(body["set_backup_reserve_percent"]["result"], "Updated"),
        Mode::Fleet => assert_eq!(
            body["set_backup_reserve_percent"]["backup_reserve_percent"], 50,
            "{body}"
        ),
        Mode::Tedapi => unreachable!("no write path"),
    }
    assert_eq!(write_requests(sim), 1, "{mode:?}: one write");
    let raw = mode.raw_reserve_after_write(50.0);
    let got = sim.reading().reserve_raw_pct;
    assert!(close(got, raw), "{mode:?}: raw reserve {got} != {raw}");
    // A GET right after the POST shows the new value.
    let read_back = get_json(server, "/control/reserve").await;
    let got = number(&read_back, "/reserve");
    assert!(close(got, app_scale(raw)), "{mode:?}: read back {got}");
    if matches!(mode, Mode::Cloud | Mode::Fleet) {
        // Tesla's APIs keep the app value as written.
        assert_eq!(read_back["reserve"], 50.0, "{mode:?}");
    }
}
