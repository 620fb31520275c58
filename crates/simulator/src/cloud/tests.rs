//! Cloud persona unit tests: token registry rules and app-scale conversion.

use super::owner::app_pct;
use super::tokens::{Registry, TokenCheck};

#[test]
fn app_scale_hides_the_bottom_five_percent() {
    assert_eq!(app_pct(5.0), 0.0);
    assert_eq!(app_pct(100.0), 100.0);
    assert_eq!(app_pct(52.5), 50.0);
    assert_eq!(app_pct(2.0), 0.0);
}

#[test]
fn tokens_expire_and_cold_logins_are_marked() {
    let mut registry = Registry::default();
    let warm = registry.exchange("me@example.com", 1000.0, 60);
    assert_eq!(registry.check(&warm.access_token, 1059.0), TokenCheck::Ok);
    assert_eq!(
        registry.check(&warm.access_token, 1060.0),
        TokenCheck::Invalid
    );
    assert_eq!(registry.check("unknown", 0.0), TokenCheck::Invalid);
    let refreshed = registry
        .refresh(&warm.refresh_token, 1100.0, 60, false)
        .expect("known refresh token");
    assert_eq!(refreshed.refresh_token, warm.refresh_token);
    assert_eq!(
        registry.check(&refreshed.access_token, 1101.0),
        TokenCheck::Ok
    );
    assert!(registry.refresh("nope", 0.0, 60, true).is_none());

    let cold = registry.mint("me@example.com", false, 0.0, 60);
    assert!(cold.access_token.is_empty());
    let from_cold = registry
        .refresh(&cold.refresh_token, 0.0, 60, true)
        .expect("refresh");
    assert_ne!(from_cold.refresh_token, cold.refresh_token);
    assert_eq!(
        registry.check(&from_cold.access_token, 1.0),
        TokenCheck::Cold
    );
    registry.expire_access_tokens();
    assert_eq!(
        registry.check(&refreshed.access_token, 1101.0),
        TokenCheck::Invalid
    );
}
