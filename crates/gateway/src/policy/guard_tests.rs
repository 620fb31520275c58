use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::policy::{ManualClock, TokioClock};

const SECOND: Duration = Duration::from_secs(1);

fn manual() -> (Arc<ManualClock>, GatewayGuard) {
    let clock = Arc::new(ManualClock::new());
    let guard = GatewayGuard::new(clock.clone());
    (clock, guard)
}

#[test]
fn pause_is_at_least_five_minutes_and_at_most_an_hour() {
    assert_eq!(rate_limit_pause(None), Duration::from_secs(300));
    assert_eq!(
        rate_limit_pause(Some(SECOND * 10)),
        Duration::from_secs(300)
    );
    assert_eq!(
        rate_limit_pause(Some(SECOND * 900)),
        Duration::from_secs(900)
    );
    assert_eq!(
        rate_limit_pause(Some(SECOND * 86_400)),
        Duration::from_secs(3600)
    );
}

#[test]
fn login_backoff_doubles_up_to_ten_minutes() {
    let steps: Vec<u64> = (1..=7).map(|n| login_backoff(n).as_secs()).collect();
    assert_eq!(steps, [30, 60, 120, 240, 480, 600, 600]);
    assert_eq!(login_backoff(u32::MAX), LOGIN_BACKOFF_MAX);
}

#[test]
fn cooldown_holds_back_every_path_until_it_ends() {
    let (clock, guard) = manual();
    assert!(guard.admit("/api/status").is_ok());
    assert_eq!(guard.start_cooldown(Some(SECOND * 20)), SECOND * 300);

    for path in ["/api/status", "/api/meters/aggregates", "/api/login/Basic"] {
        let err = guard.admit(path).unwrap_err();
        assert!(
            matches!(err, GatewayError::CoolingDown { remaining } if remaining == SECOND * 300)
        );
        assert!(err.was_held_back());
    }
    clock.advance(SECOND * 299);
    assert_eq!(guard.cooldown_remaining(), Some(SECOND));
    assert!(guard.admit("/api/status").is_err());
    clock.advance(SECOND);
    assert!(guard.admit("/api/status").is_ok());
    assert_eq!(guard.cooldown_remaining(), None);
}

#[test]
fn a_shorter_cooldown_never_cuts_a_running_one() {
    let (clock, guard) = manual();
    guard.start_cooldown(Some(SECOND * 1200));
    clock.advance(SECOND * 100);
    guard.start_cooldown(None);
    assert_eq!(guard.cooldown_remaining(), Some(SECOND * 1100));
}

#[test]
fn negative_cache_is_per_path_and_expires() {
    let (clock, guard) = manual();
    guard.suppress("/api/devices/vitals", 404, NOT_FOUND_SUPPRESSION);
    assert!(guard.admit("/api/status").is_ok());
    match guard.admit("/api/devices/vitals") {
        Err(GatewayError::Suppressed {
            path,
            status,
            remaining,
        }) => {
            assert_eq!(path, "/api/devices/vitals");
            assert_eq!(status, 404);
            assert_eq!(remaining, SECOND * 600);
        }
        other => panic!("expected Suppressed, got {other:?}"),
    }
    clock.advance(SECOND * 599);
    assert_eq!(
        guard.suppression("/api/devices/vitals"),
        Some((404, SECOND))
    );
    clock.advance(SECOND);
    assert!(guard.admit("/api/devices/vitals").is_ok());
    assert_eq!(guard.suppression("/api/devices/vitals"), None);
}

#[test]
fn cooldown_is_reported_before_a_suppression() {
    let (_clock, guard) = manual();
    guard.suppress("/api/status", 503, SECOND * 300);
    guard.start_cooldown(None);
    assert!(matches!(
        guard.admit("/api/status"),
        Err(GatewayError::CoolingDown { .. })
    ));
}

#[test]
fn negative_cache_stays_bounded() {
    let (clock, guard) = manual();
    for i in 0..MAX_SUPPRESSED_PATHS {
        guard.suppress(
            &format!("/p/{i}"),
            404,
            Duration::from_secs(1000 + i as u64),
        );
    }
    clock.advance(SECOND);
    guard.suppress("/newest", 404, NOT_FOUND_SUPPRESSION);
    assert!(guard.suppression("/newest").is_some());
    // The entry closest to expiry made room.
    assert!(guard.suppression("/p/0").is_none());
    assert!(guard.suppression("/p/1").is_some());
}

#[test]
fn one_relogin_per_window() {
    let (clock, guard) = manual();
    assert!(guard.try_claim_relogin());
    assert!(!guard.try_claim_relogin());
    clock.advance(SECOND * 59);
    assert!(!guard.try_claim_relogin());
    clock.advance(SECOND);
    assert!(guard.try_claim_relogin());
    assert!(!guard.try_claim_relogin());
}

#[test]
fn rejected_logins_back_off_and_success_resets() {
    let (clock, guard) = manual();
    assert!(guard.admit_login("gw").is_ok());
    assert_eq!(guard.login_rejected(401), SECOND * 30);
    match guard.admit_login("gw") {
        Err(GatewayError::LoginBackoff {
            target,
            status,
            remaining,
        }) => assert_eq!(
            (target.as_str(), status, remaining),
            ("gw", 401, SECOND * 30)
        ),
        other => panic!("expected LoginBackoff, got {other:?}"),
    }
    clock.advance(SECOND * 30);
    assert!(guard.admit_login("gw").is_ok());
    assert_eq!(guard.login_rejected(403), SECOND * 60);
    clock.advance(SECOND * 59);
    assert!(guard.admit_login("gw").is_err());
    clock.advance(SECOND);
    assert_eq!(guard.login_rejected(403), SECOND * 120);

    guard.login_succeeded();
    assert!(guard.admit_login("gw").is_ok());
    assert_eq!(guard.login_rejected(401), SECOND * 30);
}

#[tokio::test(start_paused = true)]
async fn tokio_paused_clock_drives_the_guard() {
    let guard = GatewayGuard::new(Arc::new(TokioClock));
    guard.start_cooldown(Some(SECOND * 400));
    guard.suppress("/api/meters/site", 503, rate_limit_pause(None));
    assert!(guard.try_claim_relogin());
    guard.login_rejected(401);

    tokio::time::advance(SECOND * 30).await;
    assert!(guard.admit_login("gw").is_ok());
    assert!(!guard.try_claim_relogin());

    tokio::time::advance(SECOND * 30).await;
    assert!(guard.try_claim_relogin());

    tokio::time::advance(SECOND * 240).await;
    assert!(matches!(
        guard.admit("/api/status"),
        Err(GatewayError::CoolingDown { remaining }) if remaining == SECOND * 100
    ));
    tokio::time::advance(SECOND * 100).await;
    assert!(guard.admit("/api/status").is_ok());
    // The 503 pause (300 s) ran out together with the cooldown's first 300 s.
    assert!(guard.admit("/api/meters/site").is_ok());
}
