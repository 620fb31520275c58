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

fn written(result: Value) -> ControlOutcome {
    ControlOutcome {
        command: engine_control::Command::GridCharging(true),
        backend: crate::engine::capabilities::BackendKind::Cloud,
        result,
        read_back: engine_control::ReadBack::Unavailable,
    }
}

#[test]
fn simple_writes() {
    let ok = grid_reply(Ok(written(json!(true))), "grid_charging");
    assert_eq!(ok, Reply::ok(json!({"grid_charging": "Set Successfully"})));
    let failed = grid_reply(
        Err(ControlError::Backend(
            powerwall_gateway::GatewayError::Unsupported {
                mode: "local",
                what: "grid".into(),
            },
        )),
        "grid_export",
    );
    assert_eq!(failed, Reply::error("Failed to set grid_export"));
    assert_eq!(failed.status, StatusCode::BAD_REQUEST);
    let none = grid_reply(Err(ControlError::Rejected(Value::Null)), "grid_charging");
    assert_eq!(none, Reply::error("Failed to set grid_charging"));
}

#[test]
fn operation_replies() {
    let document = json!({"real_mode": "backup", "backup_reserve_percent": 50});
    let ok = operation_reply(Ok(written(document.clone())), WriteKind::Reserve);
    assert_eq!(ok, Reply::ok(document));
    let error = json!({"error": "Failed to write config"});
    let refused = operation_reply(Err(ControlError::Rejected(error.clone())), WriteKind::Mode);
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body, error);
    for (outcome, kind, text) in [
        (
            ControlError::Rejected(Value::Null),
            WriteKind::Reserve,
            "Failed to set reserve",
        ),
        (
            ControlError::Rejected(json!(false)),
            WriteKind::ModeWithLevel,
            "Failed to set reserve+mode",
        ),
        (ControlError::NotSupported, WriteKind::Mode, NO_BACKEND),
        (ControlError::RunSetup, WriteKind::Mode, NO_BACKEND),
    ] {
        assert_eq!(operation_reply(Err(outcome), kind), Reply::error(text));
    }
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
