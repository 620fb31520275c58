//! Unit tests of `poller.rs`: error classification and the SolarOnly probe's reading (the poll
//! timing is in `poller_timing_tests.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn failures_are_classified() {
    let timeout = GatewayError::Timeout {
        target: "127.0.0.1:1".into(),
        timeout: Duration::from_secs(5),
    };
    assert!(is_upstream_failure(&timeout));
    assert!(matches!(classify(&timeout), ErrorKind::Network("Timeout")));
    let busy = GatewayError::Status {
        path: "/api/x".into(),
        status: 502,
    };
    assert!(is_upstream_failure(&busy) && !busy.is_link_failure());
    let missing = GatewayError::Status {
        path: "/api/x".into(),
        status: 404,
    };
    assert!(!is_upstream_failure(&missing));
    assert!(matches!(classify(&missing), ErrorKind::Document));
    let cooling = GatewayError::CoolingDown {
        remaining: Duration::from_secs(3),
    };
    assert!(!is_upstream_failure(&cooling));
    assert!(matches!(classify(&cooling), ErrorKind::HeldBack));
    assert_eq!(probe_outcome(&Err(cooling)), ProbeOutcome::HeldBack);
    let limited = GatewayError::RateLimited {
        path: "/tedapi/v1".into(),
        status: 429,
        retry_after: Duration::from_secs(300),
    };
    assert!(is_upstream_failure(&limited));
    assert!(matches!(classify(&limited), ErrorKind::Problem));
    assert_eq!(probe_outcome(&Err(limited)), ProbeOutcome::HeldBack);
    let rejected = GatewayError::LoginRejected {
        target: "127.0.0.1:1".into(),
        status: 401,
        credential: "PW_PASSWORD",
    };
    assert!(!is_upstream_failure(&rejected));
    assert!(matches!(classify(&rejected), ErrorKind::Problem));
}

#[test]
fn probe_needs_a_version() {
    let answer = |json| probe_outcome(&Ok(RawBody::Json(json)));
    assert_eq!(
        answer(serde_json::json!({"version": "23.28.2 27626f98"})),
        ProbeOutcome::Answered
    );
    assert_eq!(
        answer(serde_json::json!({"version": null})),
        ProbeOutcome::Failed
    );
    assert_eq!(answer(serde_json::Value::Null), ProbeOutcome::Failed);
}
