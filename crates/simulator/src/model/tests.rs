//! Model tests across modules: balance, SOE bounds and integration, scenarios, start-up seed.

use powerwall_model::GridState;

use super::World;
use super::clock::{NANOS_PER_SEC, SimClock};
use super::reading::{SiteReading, Snapshot};
use super::scenarios::{self, SCENARIOS};
use super::site::{RealMode, Site};
use super::topology::Topology;

/// 2024-06-21 10:00 local (−08:00): the sun is up.
const JUNE_MORNING: f64 = 1_718_992_800.0;
const OFFSET: i32 = -8 * 3600;

fn world_at(epoch: f64) -> World {
    let clock = SimClock::new(Some(epoch), true);
    let now = clock.now_ns();
    let site = Site::new(
        Topology::from_fixture().unwrap(),
        "23.28.2 27626f98".to_owned(),
        OFFSET,
        now,
    )
    .unwrap();
    World { clock, site }
}

fn check_balance(snapshot: &Snapshot) {
    let flows = snapshot.flows;
    assert_eq!(
        flows.home_w,
        flows.solar_w + flows.battery_w + flows.site_w,
        "{flows:?}"
    );
    let packs: f64 = snapshot.packs.iter().map(|pack| pack.p_out_w).sum();
    assert_eq!(packs, flows.battery_w);
    if !snapshot.grid_connected() {
        assert_eq!(flows.site_w, 0.0);
    }
}

#[test]
fn starts_with_the_original_startup_values() {
    let mut world = world_at(JUNE_MORNING);
    let reading = SiteReading::from(&world.snapshot());
    assert_eq!(
        (
            reading.solar_w,
            reading.home_w,
            reading.battery_w,
            reading.site_w
        ),
        (6500.0, 900.0, -3500.0, -2100.0)
    );
    assert_eq!(reading.soe_raw_pct, scenarios::STARTUP_SOE_RAW_PCT);
    assert_eq!(reading.grid_status, "SystemGridConnected");
    assert_eq!(reading.reserve_raw_pct, 81.0);
    assert_eq!(reading.active_scenario.as_deref(), Some("live"));
}

#[test]
fn live_balance_is_exact_around_the_clock_on_and_off_grid() {
    let mut world = world_at(JUNE_MORNING);
    for step in 0..(3 * 24 * 12) {
        world.clock.advance(300.0);
        if step % 97 == 0 {
            let now = world.now_ns();
            world.site.toggle_grid(now);
        }
        let snapshot = world.snapshot();
        check_balance(&snapshot);
        assert!(snapshot.flows.solar_w >= 0.0);
        assert!(snapshot.flows.battery_w.abs() <= 10_800.0);
    }
}

#[test]
fn soe_stays_between_reserve_and_full() {
    let mut world = world_at(JUNE_MORNING);
    let reserve = world.site.operation.backup_reserve_percent;
    let mut reached_reserve = false;
    let (mut min_after, mut max) = (f64::INFINITY, 0.0_f64);
    for _ in 0..(7 * 24 * 6) {
        world.clock.advance(600.0);
        let soe = world.snapshot().soe_raw_pct;
        reached_reserve |= soe >= reserve;
        if reached_reserve {
            min_after = min_after.min(soe);
        }
        max = max.max(soe);
    }
    assert!(
        reached_reserve,
        "a sunny week should lift the SOE above the reserve"
    );
    assert!(min_after >= reserve - 1e-9, "fell to {min_after}");
    assert!(max <= 100.0, "rose to {max}");
    assert!(max > 99.9, "a sunny week should fill the packs, max {max}");
}

#[test]
fn soe_integrates_pinned_battery_power_over_an_advanced_clock() {
    let mut world = world_at(JUNE_MORNING);
    let now = world.now_ns();
    world
        .site
        .pin_powers(Some(0.0), Some(500.0), Some(-1000.0), now);
    let before = world.snapshot();
    world.clock.advance(3600.0);
    let after = world.snapshot();
    let full = before.full_pack_energy_wh();
    let expected = before.soe_raw_pct + 1000.0 / full * 100.0;
    assert!(
        (after.soe_raw_pct - expected).abs() < 1e-9,
        "{} vs {expected}",
        after.soe_raw_pct
    );
    assert!(
        (after.counters.battery_imported_wh - before.counters.battery_imported_wh - 1000.0).abs()
            < 1e-6
    );
    assert!(
        (after.counters.site_imported_wh - before.counters.site_imported_wh - 1500.0).abs() < 1e-6
    );
    assert!(
        (after.counters.load_imported_wh - before.counters.load_imported_wh - 500.0).abs() < 1e-6
    );
}

#[test]
fn pinned_discharge_stops_at_the_reserve_and_charge_at_full() {
    let mut world = world_at(JUNE_MORNING);
    let now = world.now_ns();
    world.site.pin_soe(Some(82.0), now);
    world.site.pin_soe(None, now);
    world
        .site
        .pin_powers(Some(0.0), Some(5000.0), Some(5000.0), now);
    world.clock.advance(4.0 * 3600.0);
    assert_eq!(world.snapshot().soe_raw_pct, 81.0);
    let now = world.now_ns();
    world
        .site
        .pin_powers(Some(8000.0), Some(0.0), Some(-8000.0), now);
    world.clock.advance(10.0 * 3600.0);
    let snapshot = world.snapshot();
    assert_eq!(snapshot.soe_raw_pct, 100.0);
    // Pinned values are still served exactly.
    assert_eq!(snapshot.flows.battery_w, -8000.0);
    check_balance(&snapshot);
}

#[test]
fn a_pinned_soe_stays_exactly() {
    let mut world = world_at(JUNE_MORNING);
    let now = world.now_ns();
    let raw = 0.95 * 42.0 + 5.0;
    world.site.pin_soe(Some(raw), now);
    world.clock.advance(7200.0);
    assert_eq!(world.snapshot().soe_raw_pct, raw);
}

#[test]
fn scenarios_pin_their_table_values() {
    let mut world = world_at(JUNE_MORNING);
    for scenario in &SCENARIOS {
        let now = world.now_ns();
        world.site.apply_scenario(scenario, now);
        world.clock.advance(120.0);
        let snapshot = world.snapshot();
        let flows = snapshot.flows;
        assert_eq!(
            (flows.solar_w, flows.home_w, flows.battery_w, flows.site_w),
            (
                scenario.solar_w,
                scenario.home_w,
                scenario.battery_w,
                scenario.grid_w
            ),
            "{}",
            scenario.name
        );
        assert_eq!(snapshot.grid_connected(), scenario.grid_connected);
        assert_eq!(snapshot.active_scenario.as_deref(), Some(scenario.name));
        check_balance(&snapshot);
    }
}

#[test]
fn going_live_fades_from_the_pinned_values() {
    let mut world = world_at(JUNE_MORNING);
    let now = world.now_ns();
    world
        .site
        .apply_scenario(scenarios::find("grid-powered").unwrap(), now);
    world.site.go_live(now);
    let snapshot = world.snapshot();
    assert_eq!(
        (snapshot.flows.solar_w, snapshot.flows.home_w),
        (0.0, 900.0)
    );
    assert!(snapshot.pins.solar_w.is_none());
    world.clock.advance(4.0 * 3600.0);
    let later = world.snapshot();
    assert!(
        later.flows.solar_w > 1000.0,
        "midday sun: {}",
        later.flows.solar_w
    );
    check_balance(&later);
}

#[test]
fn backup_mode_never_discharges_on_grid() {
    let mut world = world_at(JUNE_MORNING);
    let now = world.now_ns();
    let mut operation = world.site.operation.clone();
    operation.real_mode = RealMode::Backup;
    operation.backup_reserve_percent = 20.0;
    world.site.set_operation(operation, now);
    world.site.pin_soe(Some(90.0), now);
    world.site.pin_soe(None, now);
    for _ in 0..(2 * 24 * 4) {
        world.clock.advance(900.0);
        assert!(world.snapshot().flows.battery_w <= 0.0);
    }
}

#[test]
fn islanded_battery_covers_the_home_below_the_reserve() {
    let mut world = world_at(JUNE_MORNING + 12.0 * 3600.0);
    let now = world.now_ns();
    world.site.go_live(now);
    world.site.set_grid(GridState::IslandedActive, now);
    world.clock.advance(1800.0);
    let snapshot = world.snapshot();
    // Evening, SOE (24 %) below the 81 % reserve: off grid the reserve is what gets used.
    assert!(snapshot.flows.battery_w > 0.0, "{:?}", snapshot.flows);
    assert_eq!(snapshot.flows.site_w, 0.0);
    check_balance(&snapshot);
}

#[test]
fn clock_going_back_does_not_integrate() {
    let mut world = world_at(JUNE_MORNING);
    world.clock.advance(3600.0);
    let first = world.snapshot().counters;
    world.clock.advance(-1800.0);
    let now = world.now_ns();
    world.site.advance_to(now);
    world.clock.advance(1800.0);
    let second = world.snapshot().counters;
    assert!(second.load_imported_wh > first.load_imported_wh);
    assert_eq!(
        world.site.updated_ns(),
        1_718_992_800 * NANOS_PER_SEC + 3600 * NANOS_PER_SEC
    );
}
