//! Unit tests of `auth`.
use super::*;

#[test]
fn parses_the_reference_form_body() {
    let request =
        parse_login(b"username=customer&password=ABCDE&email=a%40b.c&clientInfo=timezone");
    assert_eq!(request.username.as_deref(), Some("customer"));
    assert_eq!(request.password.as_deref(), Some("ABCDE"));
    assert_eq!(request.email.as_deref(), Some("a@b.c"));
}

#[test]
fn parses_a_json_body() {
    let body = br#"{"username":"customer","password":"p w","email":"x@y.z","clientInfo":{"timezone":"UTC"}}"#;
    let request = parse_login(body);
    assert_eq!(request.username.as_deref(), Some("customer"));
    assert_eq!(request.password.as_deref(), Some("p w"));
    assert_eq!(request.email.as_deref(), Some("x@y.z"));
}

#[test]
fn garbage_yields_no_fields() {
    assert_eq!(parse_login(b"\xff\xfe{"), LoginRequest::default());
    assert_eq!(parse_login(b"[1,2]").username, None);
}

#[test]
fn sessions_expire_and_revoke() {
    let mut sessions = Sessions::default();
    sessions.knobs.session_lifetime_secs = 10.0;
    let token = sessions.issue_as(0, false);
    assert!(token.ends_with("==") && token.len() == 88);
    assert_eq!(
        sessions.check_token(&token, 9 * NANOS_PER_SEC),
        SessionCheck::Valid
    );
    assert_eq!(
        sessions.check_token(&token, 10 * NANOS_PER_SEC),
        SessionCheck::Expired
    );
    assert_eq!(sessions.check_token("nope", 0), SessionCheck::Missing);
    let other = sessions.issue_as(0, false);
    let credentials = Credentials {
        bearer: Some(other.clone()),
        cookie: None,
    };
    sessions.revoke(&credentials);
    assert_eq!(sessions.check(&credentials, 0), SessionCheck::Expired);
}

#[test]
fn lockout_after_failures() {
    let mut sessions = Sessions::default();
    sessions.knobs.login_lockout_after = Some(2);
    sessions.record_failure(0);
    assert_eq!(sessions.lockout_remaining_secs(0), None);
    sessions.record_failure(0);
    assert_eq!(sessions.lockout_remaining_secs(NANOS_PER_SEC), Some(299));
    assert_eq!(sessions.lockout_remaining_secs(300 * NANOS_PER_SEC), None);
}

#[test]
fn cookie_pair_and_bearer_are_read() {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::COOKIE,
        HeaderValue::from_static("AuthCookie=abc==; UserRecord=xyz"),
    );
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer tok=="),
    );
    let credentials = Credentials::from_headers(&headers);
    assert_eq!(credentials.cookie.as_deref(), Some("abc=="));
    assert_eq!(credentials.bearer.as_deref(), Some("tok=="));
    let mut lone = HeaderMap::new();
    lone.insert(header::COOKIE, HeaderValue::from_static("AuthCookie=abc=="));
    assert_eq!(Credentials::from_headers(&lone).cookie, None);
}
