//! Unit tests of the cloud mode's pure parts: PKCE, URLs, pasted answers, JWTs, files, the
//! mapping against the reference outputs, envelopes, command answers and 429 delays.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::{Value, json};

use super::auth::*;
use super::convert;
use super::files::{self, AuthEntry, StoredTokens};
use super::sites::{EnergySite, energy_sites, recover_site, select_site};
use super::transport::*;
use super::*;
use crate::{GatewayAccess, Secret};

fn fixture(path: &str) -> Value {
    let full = format!("{}/../../testdata/cloud/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|err| panic!("{full}: {err}"));
    serde_json::from_str(&text).expect("fixture JSON")
}

fn response(path: &str) -> Value {
    fixture(path)["response"].clone()
}

/// Compares text, so key order and number formatting (`81.0` vs `81`) count too.
fn assert_same(got: &Value, expected: &Value, name: &str) {
    assert_eq!(
        serde_json::to_string_pretty(got).expect("json"),
        serde_json::to_string_pretty(expected).expect("json"),
        "{name}"
    );
}

#[test]
fn pkce_challenge_is_s256_base64url_without_padding() {
    // Cross-checked with Python: base64.urlsafe_b64encode(sha256(v)).rstrip(b"=").
    let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mJ92K9qeCV1RPVIoQkv6ipdZzJt5H8");
    assert_eq!(
        pkce.challenge,
        "Zm7_yPvq9gb5BSCX5Z1hXpdIwbuQqArUnSJrN-0tBK4"
    );
    let fresh = Pkce::generate().expect("random");
    assert_eq!(fresh.verifier.expose().len(), 43);
    assert!(!fresh.challenge.contains('=') && !fresh.challenge.contains('+'));
    assert_eq!(format!("{:?}", fresh.verifier), "***");
}

#[test]
fn authorize_url_carries_every_parameter() {
    let request = authorize_request("https://sso.test/", DEFAULT_REDIRECT_URI, Some("a@b.co"))
        .expect("request");
    let url = reqwest::Url::parse(&request.url).expect("url");
    assert_eq!(url.path(), "/oauth2/v3/authorize");
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], "ownerapi");
    assert_eq!(query["scope"], "openid email offline_access");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"], request.pkce.challenge);
    assert_eq!(
        query["redirect_uri"],
        "https://auth.tesla.com/void/callback"
    );
    assert_eq!(query["state"], request.state);
    assert_eq!(query["login_hint"], "a@b.co");
    let other = authorize_request("https://sso.test", DEFAULT_REDIRECT_URI, None).expect("again");
    assert_ne!(other.state, request.state);
    assert!(!other.url.contains("login_hint"));
}

#[test]
fn pasted_answers() {
    let state = "s1";
    let cases: [(&str, Option<&str>); 9] = [
        (
            "https://auth.tesla.com/void/callback?code=abc&state=s1",
            Some("abc"),
        ),
        (
            "  https://auth.tesla.com/void/callback?state=s1&code=a%2Fb#x ",
            Some("a/b"),
        ),
        (
            "tesla://auth/callback?code=xyz&state=s1&issuer=x",
            Some("xyz"),
        ),
        ("code=k-1&state=s1", Some("k-1")),
        ("RawCode_123.~", Some("RawCode_123.~")),
        (
            "https://auth.tesla.com/void/callback?code=abc&state=other",
            None,
        ),
        ("https://auth.tesla.com/void/callback?code=abc", None),
        (
            "https://auth.tesla.com/void/callback?error=login_required&state=s1",
            None,
        ),
        ("not a code", None),
    ];
    for (pasted, expected) in cases {
        assert_eq!(
            parse_pasted_code(pasted, state).ok().as_deref(),
            expected,
            "{pasted}"
        );
    }
}

fn jwt_of(payload: &Value) -> String {
    use base64::Engine;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!(
        "{}.{}.sig",
        encode(b"{}"),
        encode(payload.to_string().as_bytes())
    )
}

#[test]
fn jwt_claims_without_signature_check() {
    let token = jwt_of(
        &json!({"email": "a@b.co", "exp": 1700000000, "aud": ["https://owner-api.teslamotors.com/"]}),
    );
    assert_eq!(jwt_email(&token).as_deref(), Some("a@b.co"));
    assert_eq!(jwt_expiry(&token), Some(1_700_000_000.0));
    assert!(jwt_has_owner_audience(&token));
    assert!(!jwt_has_owner_audience(&jwt_of(&json!({"aud": "fleet"}))));
    for bad in ["", "a.b", "a.!!!.c", "x.e30.y"] {
        assert!(jwt_email(bad).is_none(), "{bad}");
    }
}

#[test]
fn token_answers_keep_the_old_refresh_token() {
    let answer = parse_token_answer(
        "/t",
        br#"{"access_token":"A2","expires_in":3600,"token_type":"Bearer"}"#,
    )
    .expect("answer");
    let mut tokens = StoredTokens {
        refresh_token: Secret::new("R1"),
        ..StoredTokens::default()
    };
    client::apply_answer(&mut tokens, answer, 1000.5);
    assert_eq!(tokens.access_token.expose(), "A2");
    assert_eq!(tokens.refresh_token.expose(), "R1");
    assert_eq!(tokens.expires_at, 4600.0);
    assert!(parse_token_answer("/t", br#"{"refresh_token":"R"}"#).is_err());
    assert!(parse_token_answer("/t", b"<html>").is_err());
    assert!(needs_refresh(&tokens, 4600.0 - 30.0));
    assert!(!needs_refresh(&tokens, 4000.0));
    tokens.expires_at = 0.0;
    assert!(
        !needs_refresh(&tokens, 1e12),
        "unknown expiry: wait for a 401"
    );
    tokens.access_token = Secret::default();
    assert!(needs_refresh(&tokens, 0.0), "cold start");
}

#[test]
fn auth_file_round_trip_preserves_foreign_keys_and_is_private() {
    let dir = tempfile::tempdir().expect("dir");
    let path = files::auth_path(dir.path());
    std::fs::write(
        &path,
        r#"{"other@x.co": {"url": "https://auth.tesla.cn/", "sso": {"refresh_token": "O"}},
            "me@x.co": {"url": "https://auth.tesla.com/", "extra": 1,
                        "sso": {"access_token": "", "refresh_token": "R0", "expires_at": 0, "keep": true}}}"#,
    )
    .expect("seed");
    let first = files::read_auth(dir.path(), "")
        .expect("read")
        .expect("first");
    assert_eq!(first.email, "other@x.co");
    let mut entry = files::read_auth(dir.path(), "me@x.co")
        .expect("read")
        .expect("entry");
    assert!(entry.tokens.access_token.is_empty());
    assert_eq!(entry.tokens.refresh_token.expose(), "R0");
    entry.tokens = StoredTokens {
        token_type: "Bearer".into(),
        access_token: Secret::new("A"),
        refresh_token: Secret::new("R"),
        id_token: Secret::new("I"),
        expires_at: 1_700_000_000.7,
        expires_in: 28_800,
    };
    files::write_auth(dir.path(), &entry).expect("write");
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("text")).expect("json");
    assert_eq!(document["other@x.co"]["sso"]["refresh_token"], "O");
    assert_eq!(document["me@x.co"]["extra"], 1);
    assert_eq!(document["me@x.co"]["sso"]["keep"], true);
    assert_eq!(document["me@x.co"]["sso"]["expires_at"], 1_700_000_000u64);
    assert_eq!(document["me@x.co"]["sso"]["id_token"], "I");
    let again = files::read_auth(dir.path(), "me@x.co")
        .expect("read")
        .expect("entry");
    assert_eq!(again.tokens.access_token.expose(), "A");
    assert!(
        files::read_auth(dir.path(), "nobody@x.co")
            .expect("read")
            .is_none()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Only the target remains: no temp files left behind.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    let fresh = tempfile::tempdir().expect("dir");
    files::write_auth(
        fresh.path(),
        &AuthEntry {
            email: "n@x.co".into(),
            url: files::DEFAULT_SSO_URL.into(),
            tokens: StoredTokens::default(),
        },
    )
    .expect("new file");
    assert!(format!("{entry:?}").contains("***") && !format!("{entry:?}").contains("\"R\""));
}

#[test]
fn site_file_is_plain_decimal() {
    let dir = tempfile::tempdir().expect("dir");
    assert_eq!(files::read_site(dir.path()), None);
    files::write_site(dir.path(), 429124).expect("write");
    assert_eq!(
        std::fs::read_to_string(files::site_path(dir.path())).expect("text"),
        "429124"
    );
    assert_eq!(files::read_site(dir.path()), Some(429124));
    std::fs::write(files::site_path(dir.path()), "garbage").expect("write");
    assert_eq!(files::read_site(dir.path()), None);
}

#[test]
fn mapping_matches_the_reference_outputs() {
    let status = response("owner-api/site_status.json");
    let live = response("owner-api/live_status.json");
    let info = response("owner-api/site_info.json");
    let cases = [
        ("api.system_status.soe", convert::soe(&status)),
        ("api.status", convert::status(&info)),
        ("api.system_status.grid_status", convert::grid_status(&live)),
        ("api.site_info.site_name", convert::site_name(&info)),
        ("api.site_info", convert::site_info(&info)),
        ("api.meters.aggregates", convert::aggregates(&live, &info)),
        ("api.operation", convert::operation(&info)),
        (
            "api.system_status",
            convert::system_status(&status, &info, &live),
        ),
        ("vitals", convert::vitals(&info, &live, 1_706_097_600)),
    ];
    for (name, got) in cases {
        assert_same(&got, &fixture(&format!("expected/{name}.json")), name);
    }
    let extra = fixture("expected/grid_charging_export.json");
    assert_eq!(
        json!(convert::grid_charging(&info)),
        extra["get_grid_charging"]
    );
    assert_eq!(json!(convert::grid_export(&info)), extra["get_grid_export"]);
    let hours = convert::time_remaining(&response("owner-api/backup_time_remaining.json"));
    assert_eq!(
        json!(hours),
        fixture("expected/time_remaining.json")["hours"]
    );
}

#[test]
fn mapping_edge_cases() {
    assert_eq!(convert::soe(&json!({}))["percentage"], json!(5.0));
    assert_eq!(
        convert::operation(&json!({}))["backup_reserve_percent"],
        json!(5.0)
    );
    let islanded = json!({"grid_status": "Inactive", "island_status": "off_grid"});
    assert_eq!(
        convert::grid_status(&islanded)["grid_status"],
        "SystemIslandedActive"
    );
    assert_eq!(
        convert::grid_status(&json!({"grid_status": ""}))["grid_status"],
        "SystemGridConnected"
    );
    let vitals = convert::vitals(&json!({"id": "nodashes"}), &islanded, 1);
    let block = &vitals["STSTSM--nodashes"];
    assert_eq!(block["partNumber"], Value::Null);
    assert_eq!(block["alerts"], json!(["UnscheduledIslandContactorOpen"]));
    let info = json!({"components": {"solar": true, "non_export_configured": true,
                                     "disallow_charge_from_grid_with_solar_installed": true}});
    assert_eq!(
        convert::aggregates(&json!({}), &info)["solar"]["num_meters_aggregated"],
        1
    );
    assert_eq!(convert::grid_export(&info), "never");
    assert!(!convert::grid_charging(&info));
}

#[test]
fn products_and_site_choice() {
    let mut products = response("owner-api/products.json");
    if let Some(list) = products.as_array_mut() {
        list.insert(
            0,
            json!({"energy_site_id": 7, "resource_type": "solar", "site_name": "Barn"}),
        );
    }
    let sites = energy_sites(&products);
    assert_eq!(
        sites.iter().map(|site| site.id).collect::<Vec<_>>(),
        vec![429124, 7]
    );
    assert_eq!(
        sites[0].gateway_id.as_deref(),
        Some("1112345-00-E--TG0123456789")
    );
    assert_eq!(select_site(&sites, None).expect("first").id, 429124);
    assert_eq!(select_site(&sites, Some(7)).expect("configured").id, 7);
    assert!(matches!(
        select_site(&sites, Some(1)),
        Err(GatewayError::Config(_))
    ));
    assert!(select_site(&[], None).is_err());

    let site = |id, name: &str, gateway: Option<&str>| EnergySite {
        id,
        resource_type: "battery".into(),
        site_name: Some(name.into()),
        gateway_id: gateway.map(str::to_owned),
    };
    let stale = site(1, "Home", Some("G1"));
    let by_gateway = [site(2, "Other", Some("G1")), site(3, "Home", Some("G3"))];
    assert_eq!(recover_site(&stale, &by_gateway).map(|s| s.id), Some(2));
    let by_name = [site(3, "Home", None), site(4, "Cabin", None)];
    assert_eq!(recover_site(&stale, &by_name).map(|s| s.id), Some(3));
    let ambiguous = [site(3, "Home", None), site(4, "Home", None)];
    assert_eq!(recover_site(&stale, &ambiguous), None);
    assert_eq!(
        recover_site(&stale, &[site(9, "X", None)]).map(|s| s.id),
        Some(9)
    );
}

#[test]
fn envelopes_and_command_answers() {
    assert_eq!(
        unwrap_envelope("/p", br#"{"response": {"a": 1}}"#).expect("ok"),
        json!({"a": 1})
    );
    assert!(matches!(
        unwrap_envelope("/p", b""),
        Err(GatewayError::Empty { .. })
    ));
    assert!(matches!(
        unwrap_envelope("/p", b"{}"),
        Err(GatewayError::Malformed { .. })
    ));
    assert!(matches!(
        unwrap_envelope("/p", b"{"),
        Err(GatewayError::Malformed { .. })
    ));
    let cases: [(Value, Option<&str>); 6] = [
        (json!({"code": 201, "message": "Updated"}), Some("Updated")),
        (
            json!({"Code": 200, "Message": "Backup reserve updated"}),
            Some("Backup reserve updated"),
        ),
        (json!({"CODE": "201"}), Some("")),
        (json!({"code": 400, "message": "bad"}), None),
        (json!({"message": "no code"}), None),
        (json!(true), None),
    ];
    for (answer, expected) in cases {
        assert_eq!(
            command_result("backup", &answer).ok().as_deref(),
            expected,
            "{answer}"
        );
    }
}

#[test]
fn rate_limit_delays() {
    let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("date");
    let mut headers = HeaderMap::new();
    assert_eq!(
        rate_limit_delay(&headers, b"", now),
        DEFAULT_RATE_LIMIT_PAUSE
    );
    assert_eq!(
        rate_limit_delay(
            &headers,
            b"{\"error\":\"Rate limited. Retry in 42 seconds.\"}",
            now
        ),
        Duration::from_secs(42)
    );
    assert_eq!(
        rate_limit_delay(&headers, b"retry after 7s", now),
        Duration::from_secs(7)
    );
    assert_eq!(
        rate_limit_delay(&headers, b"retry 3 apples", now),
        DEFAULT_RATE_LIMIT_PAUSE
    );
    headers.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Sun, 06 Nov 1994 08:50:07 GMT"),
    );
    assert_eq!(
        rate_limit_delay(&headers, b"Retry in 42 seconds", now),
        Duration::from_secs(30)
    );
    headers.insert(RETRY_AFTER, HeaderValue::from_static("99999999"));
    assert_eq!(
        rate_limit_delay(&headers, b"", SystemTime::now()),
        MAX_RATE_LIMIT_PAUSE
    );
}

#[test]
fn config_is_checked_and_tls_offers_h2() {
    let dir = tempfile::tempdir().expect("dir");
    assert!(CloudClient::new(CloudConfig::new("me@example.com", dir.path())).is_ok());
    assert!(CloudClient::new(CloudConfig::new("not-an-email", dir.path())).is_err());
    let plain = CloudConfig {
        owner_api_url: "http://127.0.0.1:1/".into(),
        ..CloudConfig::new("", dir.path())
    };
    assert!(CloudClient::new(plain).is_err());
    let bad_ca = CloudConfig {
        ca_pem: Some("not a pem".into()),
        ..CloudConfig::new("", dir.path())
    };
    assert!(CloudClient::new(bad_ca).is_err());
    let tls = transport::cloud_tls_config(None).expect("tls");
    assert_eq!(
        tls.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
}

#[test]
fn raw_paths_are_classified_without_their_query() {
    use super::RawPath;
    assert_eq!(
        RawPath::classify("/api/devices/vitals?x=1"),
        RawPath::Vitals
    );
    assert_eq!(RawPath::classify("/api/tesla/tariff_rate"), RawPath::Tariff);
    assert_eq!(
        RawPath::classify("/api/system_status/soe#top"),
        RawPath::Document(DataKind::Soe)
    );
    assert_eq!(
        RawPath::classify("/api/customer/registration?x"),
        RawPath::Unknown("/api/customer/registration")
    );
}

/// Errors reach logs, `/health` and API answers: they never name the account (issue 17: no
/// after-the-fact redaction, the client does not put the email in at all).
#[tokio::test]
async fn errors_never_name_the_account_email() {
    let dir = tempfile::tempdir().expect("dir");
    let email = "owner.private@example.com";
    let missing = CloudClient::new(CloudConfig::new(email, dir.path())).expect("client");
    let err = missing
        .connect()
        .await
        .expect_err("no login in the auth directory");
    assert!(matches!(err, GatewayError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("run setup"), "{err}");
    assert!(!err.to_string().contains(email), "{err}");

    let entry = AuthEntry {
        email: email.to_owned(),
        url: files::DEFAULT_SSO_URL.to_owned(),
        tokens: StoredTokens::default(),
    };
    files::write_auth(dir.path(), &entry).expect("auth file without tokens");
    let empty = CloudClient::new(CloudConfig::new(email, dir.path())).expect("client");
    let err = empty.connect().await.expect_err("a login without tokens");
    assert!(!err.to_string().contains(email), "{err}");
}
