//! Unit tests of `state`.
use super::*;

fn map(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

#[test]
fn state_patch_validation() {
    let patch = parse_patch(&map(
        json!({"solar_w": -50, "home_w": null, "grid_status": "SystemIslandedActive"}),
    ))
    .unwrap();
    assert_eq!(patch.solar_w, Some(Some(-50.0)));
    assert_eq!(patch.home_w, Some(None));
    assert_eq!(patch.grid, Some(GridState::IslandedActive));
    assert!(
        parse_patch(&map(json!({"site_w": 5})))
            .unwrap_err()
            .contains("derived")
    );
    assert!(parse_patch(&map(json!({"soe_raw_pct": 101}))).is_err());
    assert!(parse_patch(&map(json!({"grid_status": "Sideways"}))).is_err());
    assert!(parse_patch(&map(json!({"bogus": 1}))).is_err());
}

#[test]
fn config_is_all_or_nothing() {
    let mut knobs = AuthKnobs::default();
    apply_config(
        &mut knobs,
        &map(json!({"login_lockout_after": 3, "unauthorized_status": 403})),
    )
    .unwrap();
    assert_eq!(
        (knobs.login_lockout_after, knobs.unauthorized_status),
        (Some(3), 403)
    );
    let before = knobs.clone();
    assert!(
        apply_config(
            &mut knobs,
            &map(json!({"session_lifetime_secs": 5, "unauthorized_status": 500}))
        )
        .is_err()
    );
    assert_eq!(knobs, before);
    apply_config(&mut knobs, &map(json!({"login_lockout_after": null}))).unwrap();
    assert_eq!(knobs.login_lockout_after, None);
}
