//! Tests of the cross-gateway totals.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::*;

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
    let gateways = published(&gateways);
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
fn connected_link_with_stale_aggregates_is_degraded() {
    let base = Instant::now();
    let mut gateways = three_sites(base);
    // The link answers (other documents succeed) but the aggregates read keeps failing.
    gateways[1]
        .snapshot
        .admin
        .fresh_until
        .insert(Aggregates, base + Duration::from_secs(10));
    let (statuses, bodies) = run(&gateways, base + Duration::from_secs(15));
    assert_eq!(statuses[1]["online"], json!(false));
    assert_eq!(statuses[1]["error"], Value::Null);
    assert_eq!(
        statuses[1]["data"]["freshness"]["aggregates"]["stale"],
        json!(true)
    );
    assert_eq!(
        statuses[1]["data"]["freshness"]["soe"]["stale"],
        json!(false)
    );
    assert_eq!(bodies.full["num_online"], json!(2));
    assert_eq!(bodies.full["num_degraded"], json!(1));
    assert_eq!(
        bodies.full["gateways_summary"]["barn"]["stale"],
        json!(true)
    );
}
