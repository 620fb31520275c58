use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::policy::ManualClock;

const SECOND: Duration = Duration::from_secs(1);

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).expect("valid status")
}

#[test]
fn classification_table() {
    let ra = Some(SECOND * 900);
    let cases = [
        (200, Attempt::First, Outcome::Success),
        (204, Attempt::Retry, Outcome::Success),
        (401, Attempt::First, Outcome::RenewSession),
        (403, Attempt::First, Outcome::RenewSession),
        (401, Attempt::Retry, Outcome::SessionRejected),
        (403, Attempt::Retry, Outcome::SessionRejected),
        (404, Attempt::First, Outcome::NotFound),
        (
            429,
            Attempt::First,
            Outcome::RateLimited { retry_after: ra },
        ),
        (
            503,
            Attempt::Retry,
            Outcome::Unavailable { retry_after: ra },
        ),
        (302, Attempt::First, Outcome::Failed),
        (400, Attempt::First, Outcome::Failed),
        (418, Attempt::First, Outcome::Failed),
        (500, Attempt::First, Outcome::Failed),
        (502, Attempt::First, Outcome::Failed),
    ];
    for (code, attempt, expected) in cases {
        assert_eq!(
            classify(status(code), ra, attempt),
            expected,
            "{code} {attempt:?}"
        );
    }
}

fn guard() -> (Arc<ManualClock>, GatewayGuard) {
    let clock = Arc::new(ManualClock::new());
    (clock.clone(), GatewayGuard::new(clock))
}

#[test]
fn not_found_suppresses_the_path_for_ten_minutes() {
    let (clock, guard) = guard();
    let err = apply_failure(&guard, "/api/x", status(404), Outcome::NotFound);
    assert!(matches!(err, GatewayError::Status { status: 404, .. }));
    assert_eq!(guard.suppression("/api/x"), Some((404, SECOND * 600)));
    assert!(guard.admit("/api/status").is_ok());
    clock.advance(SECOND * 600);
    assert!(guard.admit("/api/x").is_ok());
}

#[test]
fn too_many_requests_pauses_everything_honouring_retry_after() {
    for (retry_after, pause) in [
        (None, 300),
        (Some(60), 300),
        (Some(1800), 1800),
        (Some(90_000), 3600),
    ] {
        let (_, guard) = guard();
        let outcome = classify(
            status(429),
            retry_after.map(Duration::from_secs),
            Attempt::First,
        );
        let err = apply_failure(&guard, "/api/status", status(429), outcome);
        match err {
            GatewayError::RateLimited {
                status: 429,
                retry_after,
                ..
            } => assert_eq!(retry_after, SECOND * pause),
            other => panic!("expected RateLimited, got {other}"),
        }
        assert_eq!(guard.cooldown_remaining(), Some(SECOND * pause));
        assert!(matches!(
            guard.admit("/api/anything"),
            Err(GatewayError::CoolingDown { .. })
        ));
    }
}

#[test]
fn unavailable_suppresses_only_that_path() {
    let (_, guard) = guard();
    let outcome = classify(status(503), Some(SECOND * 400), Attempt::First);
    let err = apply_failure(&guard, "/api/meters/site", status(503), outcome);
    assert!(
        matches!(err, GatewayError::RateLimited { status: 503, retry_after, .. } if retry_after == SECOND * 400)
    );
    assert_eq!(guard.cooldown_remaining(), None);
    assert_eq!(
        guard.suppression("/api/meters/site"),
        Some((503, SECOND * 400))
    );
    assert!(guard.admit("/api/status").is_ok());
}

#[test]
fn rejected_retry_suppresses_but_first_rejection_does_not() {
    let (_, guard) = guard();
    let err = apply_failure(&guard, "/api/a", status(401), Outcome::RenewSession);
    assert!(matches!(
        err,
        GatewayError::Unauthorized { status: 401, .. }
    ));
    assert_eq!(guard.suppression("/api/a"), None);
    let err = apply_failure(&guard, "/api/a", status(403), Outcome::SessionRejected);
    assert!(matches!(
        err,
        GatewayError::Unauthorized { status: 403, .. }
    ));
    assert_eq!(guard.suppression("/api/a"), Some((403, SECOND * 600)));
}

#[test]
fn other_failures_leave_no_trace() {
    let (_, guard) = guard();
    for code in [400, 418, 500, 502] {
        let err = apply_failure(&guard, "/api/a", status(code), Outcome::Failed);
        assert!(matches!(err, GatewayError::Status { status, .. } if status == code));
    }
    assert!(guard.admit("/api/a").is_ok());
}

#[test]
fn body_decoding_by_content_type() {
    let decode = |ct: Option<&str>, body: &'static [u8], raw: bool| {
        decode_body("/p", ct, Bytes::from_static(body), raw)
    };
    let json = Some("application/json; charset=utf-8");
    assert_eq!(
        decode(json, b"{\"a\":1}", false).ok(),
        Some(RawBody::Json(serde_json::json!({"a": 1})))
    );
    assert_eq!(
        decode(Some("Application/JSON"), b"null", false).ok(),
        Some(RawBody::Json(serde_json::Value::Null))
    );
    assert!(matches!(
        decode(json, b"{oops", false),
        Err(GatewayError::Malformed { .. })
    ));
    assert!(matches!(
        decode(json, b"", false),
        Err(GatewayError::Empty { .. })
    ));
    assert!(matches!(
        decode(json, b" \n", false),
        Err(GatewayError::Empty { .. })
    ));
    assert!(matches!(
        decode(None, b"", true),
        Err(GatewayError::Empty { .. })
    ));
    assert_eq!(
        decode(Some("text/plain"), b"TIMEOUT!", false).ok(),
        Some(RawBody::Text("TIMEOUT!".into()))
    );
    assert_eq!(
        decode(None, b"{\"a\":1}", false).ok(),
        Some(RawBody::Text("{\"a\":1}".into()))
    );
    assert_eq!(
        decode(Some("application/octet-stream"), b"abc", false).ok(),
        Some(RawBody::Bytes(Bytes::from_static(b"abc")))
    );
    assert_eq!(
        decode(Some("text/plain"), b"\xff\xfe", false).ok(),
        Some(RawBody::Bytes(Bytes::from_static(b"\xff\xfe")))
    );
    // Raw paths (vitals) stay bytes whatever the content type says.
    assert_eq!(
        decode(json, b"\x0a\x00", true).ok(),
        Some(RawBody::Bytes(Bytes::from_static(b"\x0a\x00")))
    );
}

#[test]
fn passthrough_path_table() {
    for path in ["/api/status", "/api/meters?x=1&y=%20", "/api/../x"] {
        assert!(check_path(path).is_ok(), "{path}");
    }
    for path in [
        "",
        "api/status",
        "//host/x",
        "/a b",
        "/a\tb",
        "/a#b",
        "/\u{e9}",
    ] {
        assert!(
            matches!(check_path(path), Err(GatewayError::Config(_))),
            "{path:?}"
        );
    }
}
