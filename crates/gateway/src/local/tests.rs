use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::policy::ManualClock;

fn config(host: &str) -> LocalConfig {
    let mut config = LocalConfig::new(host, "ABCDE");
    config.timeout = Duration::from_secs(2);
    config
}

fn test_client(host: &str) -> (Arc<ManualClock>, LocalClient) {
    let clock = Arc::new(ManualClock::new());
    let client = LocalClient::with_clock(config(host), clock.clone()).expect("valid config");
    (clock, client)
}

#[test]
fn construction_validates_settings() {
    let (_, client) = test_client(" 10.0.1.99:8443 ");
    assert_eq!(client.mode(), AccessMode::Local);
    assert_eq!(client.target(), "10.0.1.99:8443");
    assert_eq!(
        client.url("/api/status"),
        "https://10.0.1.99:8443/api/status"
    );
    let (_, client) = test_client("fe80::1");
    assert_eq!(client.url("/api/status"), "https://[fe80::1]/api/status");

    let bad = [
        config("10.0.0.1:99999"),
        LocalConfig::new("10.0.0.1", ""),
        LocalConfig {
            timeout: Duration::ZERO,
            ..config("10.0.0.1")
        },
        LocalConfig {
            cache_file: Some(PathBuf::from("/")),
            ..config("10.0.0.1")
        },
    ];
    for config in bad {
        let err = LocalClient::new(config).expect_err("invalid");
        assert!(matches!(err, GatewayError::Config(_)), "{err}");
    }
}

#[test]
fn config_debug_never_shows_the_password() {
    let text = format!("{:?}", config("10.0.0.1"));
    assert!(!text.contains("ABCDE"), "{text}");
}

#[tokio::test]
async fn cooldown_and_negative_cache_send_nothing() {
    let (clock, client) = test_client("127.0.0.1:9");
    client.guard().start_cooldown(None);
    for kind in DataKind::ALL
        .into_iter()
        .filter(|kind| *kind != DataKind::FanSpeeds)
    {
        let err = client.fetch(kind).await.expect_err("held back");
        assert!(matches!(err, GatewayError::CoolingDown { .. }), "{err}");
    }
    assert!(client.connect().await.is_err());
    assert_eq!(client.upstream(), UpstreamStats::default());

    clock.advance(Duration::from_secs(300));
    client
        .guard()
        .suppress("/api/meters", 404, Duration::from_secs(600));
    let err = client
        .fetch_raw("/api/meters")
        .await
        .expect_err("suppressed");
    assert!(
        matches!(err, GatewayError::Suppressed { status: 404, .. }),
        "{err}"
    );
    assert_eq!(client.upstream().requests, 0);
}

#[tokio::test]
async fn rejected_login_backs_off_without_sending() {
    let (clock, client) = test_client("127.0.0.1:9");
    client.guard().login_rejected(401);
    let err = client
        .fetch(DataKind::Status)
        .await
        .expect_err("backing off");
    assert!(
        matches!(err, GatewayError::LoginBackoff { status: 401, .. }),
        "{err}"
    );
    assert!(err.was_held_back());
    assert_eq!(client.upstream().requests, 0);
    clock.advance(Duration::from_secs(30));
    assert!(client.guard().admit_login("x").is_ok());
}

#[tokio::test]
async fn disabled_vitals_are_unsupported_without_a_request() {
    let (_, client) = test_client("127.0.0.1:9");
    client
        .vitals_removed_by
        .set("23.44.0 9064fc6a".to_owned())
        .expect("first set");
    assert!(client.vitals_disabled());
    for result in [
        client.fetch(DataKind::Vitals).await.map(|_| ()),
        client.fetch_raw(VITALS_PATH).await.map(|_| ()),
    ] {
        let err = result.expect_err("unsupported");
        assert!(
            matches!(err, GatewayError::Unsupported { mode: "local", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("23.44.0"), "{err}");
    }
    assert_eq!(client.upstream().requests, 0);
}

#[tokio::test]
async fn bad_passthrough_paths_are_refused_locally() {
    let (_, client) = test_client("127.0.0.1:9");
    for path in [
        "api/status",
        "//evil.example/x",
        "/api/a b",
        "/api/x#frag",
        "/api/\u{e9}",
    ] {
        let err = client.fetch_raw(path).await.expect_err("invalid");
        assert!(matches!(err, GatewayError::Config(_)), "{path:?}: {err}");
    }
    assert_eq!(client.upstream().requests, 0);
}

#[tokio::test]
async fn unreachable_gateway_counts_one_failed_login() {
    // Port 9 (discard) on loopback is closed in test environments: the connection is refused.
    let (_, client) = test_client("127.0.0.1:9");
    let err = client.fetch(DataKind::Status).await.expect_err("refused");
    match &err {
        GatewayError::Unreachable { target, .. } | GatewayError::Timeout { target, .. } => {
            assert_eq!(target, "127.0.0.1:9");
        }
        other => panic!("expected a transport error, got {other}"),
    }
    let stats = client.upstream();
    assert_eq!((stats.requests, stats.logins, stats.errors), (1, 1, 1));
    // A transport failure is not a rejection: no back-off, no cooldown.
    assert!(client.guard().admit_login("x").is_ok());
    assert_eq!(client.guard().cooldown_remaining(), None);
}

#[tokio::test]
async fn cached_session_is_used_without_a_login() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".powerwall");
    std::fs::write(&path, r#"{"AuthCookie": "tok==", "UserRecord": "rec=="}"#).expect("write");
    let mut settings = config("127.0.0.1:9");
    settings.cache_file = Some(path);
    let client = LocalClient::new(settings).expect("valid");
    client.connect().await.expect("session from the cache file");
    assert_eq!(client.upstream(), UpstreamStats::default());
    // The GET itself goes out (and fails: nothing listens), but no login precedes it.
    assert!(client.fetch(DataKind::Soe).await.is_err());
    let stats = client.upstream();
    assert_eq!((stats.requests, stats.logins), (1, 0));
}
