use serde_json::json;

use super::*;

fn screened(
    has_action: bool,
    body: Result<&str, BodyRefusal>,
    writable: bool,
) -> Result<ControlForm, Reply> {
    screen(has_action, body, writable, |token| token == "secret")
}

#[test]
fn screening_order_and_statuses() {
    let bad_request = Err(Reply::error(INVALID_REQUEST));
    // Step 3 (parsing) comes before the backend check and the token.
    assert_eq!(
        screened(false, Ok("value=1&token=secret"), true),
        bad_request
    );
    assert_eq!(
        screened(true, Err(BodyRefusal::NoLength), false),
        bad_request
    );
    assert_eq!(
        screened(true, Err(BodyRefusal::TooLarge(8000)), true),
        bad_request
    );
    assert_eq!(screened(true, Err(BodyRefusal::NotUtf8), true), bad_request);
    assert_eq!(
        screened(true, Err(BodyRefusal::BadLength), true),
        bad_request
    );
    // Step 4 (no write backend) comes before the token.
    assert_eq!(
        screened(true, Ok("value=1&token=wrong"), false),
        Err(Reply::error(NO_BACKEND))
    );
    // Step 5: missing, empty or wrong token.
    for body in [
        "value=1",
        "value=1&token=",
        "value=1&token=wrong",
        "token=secre",
    ] {
        let reply = screened(true, Ok(body), true).expect_err("unauthorized");
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(reply.body, json!({"unauthorized": TOKEN_INVALID}));
    }
    let form = screened(true, Ok("value=50&token=secret"), true).expect("authorised");
    assert_eq!(form.value.as_deref(), Some("50"));
}

#[test]
fn replies_never_echo_the_token() {
    let reply = screened(true, Ok("value=1&token=hunter2"), true).expect_err("wrong");
    assert!(!reply.body.to_string().contains("hunter2"));
}

#[test]
fn failure_results() {
    assert!(is_failure(&Value::Null));
    assert!(is_failure(&json!(false)));
    assert!(is_failure(&json!({"error": "Failed to write config"})));
    assert!(!is_failure(
        &json!({"real_mode": "backup", "backup_reserve_percent": 50})
    ));
    assert!(!is_failure(&json!(true)));
    assert!(!is_failure(&json!("Updated")));
}

#[test]
fn simple_writes() {
    let ok = simple_write(Ok(json!(true)), "grid_charging", "x");
    assert_eq!(ok, Reply::ok(json!({"grid_charging": "Set Successfully"})));
    let failed = simple_write(
        Err(powerwall_gateway::GatewayError::Unsupported {
            mode: "local",
            what: "grid".into(),
        }),
        "grid_export",
        "x",
    );
    assert_eq!(failed, Reply::error("Failed to set grid_export"));
    assert_eq!(failed.status, StatusCode::BAD_REQUEST);
    let none = simple_write(Ok(Value::Null), "grid_charging", "x");
    assert_eq!(none, Reply::error("Failed to set grid_charging"));
}

#[test]
fn operation_reads() {
    let op = |doc: Value| powerwall_model::Operation::from_json(&doc).expect("typed");
    let reserve = operation_read(
        Action::Reserve,
        Some(&op(
            json!({"real_mode": "backup", "backup_reserve_percent": 52.5}),
        )),
    );
    assert_eq!(reserve, json!({"reserve": 50.0}));
    let clamped = operation_read(
        Action::Reserve,
        Some(&op(
            json!({"real_mode": "backup", "backup_reserve_percent": 2}),
        )),
    );
    assert_eq!(clamped, json!({"reserve": 0.0}));
    assert_eq!(operation_read(Action::Reserve, None), json!({"reserve": 0}));
    assert_eq!(
        operation_read(Action::Mode, Some(&op(json!({"real_mode": "autonomous"})))),
        json!({"mode": "autonomous"})
    );
    assert_eq!(
        operation_read(Action::Mode, None),
        json!({"mode": "unknown"})
    );
}

#[test]
fn grid_reads_from_site_info() {
    assert!(!grid_charging(None));
    assert!(grid_charging(Some(&json!({}))));
    assert!(grid_charging(Some(
        &json!({"disallow_charge_from_grid_with_solar_installed": false})
    )));
    assert!(!grid_charging(Some(
        &json!({"disallow_charge_from_grid_with_solar_installed": true})
    )));
    assert_eq!(grid_export(None), "unknown");
    assert_eq!(grid_export(Some(&json!({}))), "battery_ok");
    assert_eq!(
        grid_export(Some(&json!({"customer_preferred_export_rule": "PV_ONLY"}))),
        "pv_only"
    );
}

#[test]
fn observed_descriptions() {
    assert_eq!(describe_observed(None), "not observed");
    assert_eq!(
        describe_observed(Some(
            &json!({"backup_reserve_percent": 52.5, "real_mode": "backup"})
        )),
        "observed raw 52.5, mode backup"
    );
    assert_eq!(
        describe_observed(Some(&json!({}))),
        "observed raw unknown, mode unknown"
    );
}

#[test]
fn modes_with_a_write_path() {
    assert!(writable(AccessMode::Local));
    assert!(writable(AccessMode::TedapiHybrid));
    for mode in [
        AccessMode::TedapiFull,
        AccessMode::V1r,
        AccessMode::Cloud,
        AccessMode::Fleet,
    ] {
        assert!(!writable(mode), "{mode}");
    }
    assert!(reads_tedapi_config(AccessMode::TedapiFull));
    assert!(!reads_tedapi_config(AccessMode::Local));
}
