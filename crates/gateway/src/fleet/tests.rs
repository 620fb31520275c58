//! Unit tests of the Fleet mode's pure parts: the mapping against every reference output,
//! 429 delays, cache jitter, cost projection, the token file, setup helpers.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::{Value, json};

use super::client::{cache_jitter, choose_site_id, energy_site_ids, fleet_rate_limit_pause};
use super::setup::*;
use super::*;

/// The reference outputs were computed with the clock frozen at this instant.
const FROZEN_NOW: u64 = 1_706_097_600;

fn fixture(path: &str) -> Value {
    let full = format!(
        "{}/../../testdata/fleetapi/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|err| panic!("{full}: {err}"));
    serde_json::from_str(&text).expect("fixture JSON")
}

fn response(name: &str) -> Value {
    fixture(&format!("fleet-api/{name}.json"))["response"].clone()
}

/// Compares text, so key order and number formatting (`24.0` vs `24`) count too.
fn assert_same(got: &Value, expected: &Value, name: &str) {
    assert_eq!(
        serde_json::to_string_pretty(got).expect("json"),
        serde_json::to_string_pretty(expected).expect("json"),
        "{name}"
    );
}

#[test]
fn mapping_matches_every_reference_output() {
    let live = response("live_status");
    let info = response("site_info");
    let status = response("site_status");
    let documents = [
        ("api.status", DataKind::Status),
        ("api.meters.aggregates", DataKind::Aggregates),
        ("api.system_status.soe", DataKind::Soe),
        ("api.system_status.grid_status", DataKind::GridStatus),
        ("api.system_status", DataKind::SystemStatus),
        ("api.operation", DataKind::Operation),
        ("api.site_info", DataKind::SiteInfo),
        ("api.site_info.site_name", DataKind::SiteName),
        ("vitals", DataKind::Vitals),
    ];
    let mut checked = Vec::new();
    for (name, kind) in documents {
        let got = map_document(kind, &live, &info, &status, FROZEN_NOW);
        assert_same(&got, &fixture(&format!("expected/{name}.json")), name);
        checked.push(format!("{name}.json"));
    }
    let hours = crate::cloud::convert::time_remaining(&response("backup_time_remaining"));
    assert_same(
        &json!({"hours": hours}),
        &fixture("expected/time_remaining.json"),
        "time_remaining",
    );
    checked.push("time_remaining.json".to_owned());
    let grid = json!({
        "get_grid_charging": crate::cloud::convert::grid_charging(&info),
        "get_grid_export": crate::cloud::convert::grid_export(&info),
    });
    assert_same(
        &grid,
        &fixture("expected/grid_charging_export.json"),
        "grid",
    );
    checked.push("grid_charging_export.json".to_owned());
    // Every reference file was compared.
    let dir = format!(
        "{}/../../testdata/fleetapi/expected",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("expected dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    checked.sort();
    assert_eq!(files, checked);
}

#[test]
fn soe_comes_from_live_status_and_pack_energy_is_null() {
    let live = json!({"percentage_charged": 0});
    let status = json!({"percentage_charged": 90, "energy_left": 1});
    let soe = map_document(DataKind::Soe, &live, &Value::Null, &status, 0);
    assert!((soe["percentage"].as_f64().expect("number") - 5.0).abs() < 1e-9);
    let system = map_document(DataKind::SystemStatus, &live, &json!({}), &json!({}), 0);
    assert_eq!(system["nominal_full_pack_energy"], Value::Null);
    assert_eq!(system["nominal_energy_remaining"], Value::Null);
}

#[test]
fn tariff_is_site_info_tariff_content() {
    assert_eq!(
        tariff(&json!({"tariff_content": {"utility": "X"}})),
        json!({"utility": "X"})
    );
    assert_eq!(tariff(&json!({})), json!({}));
}

#[test]
fn rate_limit_pause_reads_header_date_body_and_clamps() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut headers = HeaderMap::new();
    headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    assert_eq!(
        fleet_rate_limit_pause(&headers, b"", now),
        Duration::from_secs(7)
    );
    let date = httpdate::fmt_http_date(now + Duration::from_secs(42));
    headers.insert(RETRY_AFTER, HeaderValue::from_str(&date).expect("header"));
    assert_eq!(
        fleet_rate_limit_pause(&headers, b"", now),
        Duration::from_secs(42)
    );
    let past = httpdate::fmt_http_date(now - Duration::from_secs(42));
    headers.insert(RETRY_AFTER, HeaderValue::from_str(&past).expect("header"));
    assert_eq!(fleet_rate_limit_pause(&headers, b"", now), Duration::ZERO);
    headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
    assert_eq!(
        fleet_rate_limit_pause(&headers, b"", now),
        Duration::from_secs(60)
    );
    let empty = HeaderMap::new();
    let body = br#"{"error":"Too many requests. Retry in 23 seconds"}"#;
    assert_eq!(
        fleet_rate_limit_pause(&empty, body, now),
        Duration::from_secs(23)
    );
    assert_eq!(
        fleet_rate_limit_pause(&empty, b"Retry in 900 s", now),
        Duration::from_secs(60)
    );
    assert_eq!(
        fleet_rate_limit_pause(&empty, b"slow down", now),
        Duration::from_secs(10)
    );
}

#[test]
fn cache_jitter_stays_below_a_quarter_of_the_ttl_and_ten_seconds() {
    for _ in 0..200 {
        assert!(cache_jitter(Duration::from_secs(5)) < Duration::from_millis(1250));
        assert!(cache_jitter(Duration::from_secs(600)) < Duration::from_secs(10));
    }
    assert_eq!(cache_jitter(Duration::ZERO), Duration::ZERO);
}

#[test]
fn http_version_setting_forms() {
    for forced in ["1.1", "1", "http1.1", "HTTP/1.1", " http/1.1 "] {
        assert!(http1_forced(forced), "{forced}");
    }
    for kept in ["", "2", "h2", "http2", "1.0"] {
        assert!(!http1_forced(kept), "{kept}");
    }
}

#[test]
fn usage_projects_a_month_at_tesla_prices() {
    let counts = CallCounts {
        data: 2_880,
        command: 10,
        auth: 3,
    };
    let usage = project_usage(counts, Duration::from_secs(86_400));
    assert_eq!(usage.calls_total, 2_890);
    assert!((usage.per_day_rate - 2_890.0).abs() < 1e-9);
    assert!((usage.projected_monthly_calls - 86_700.0).abs() < 1e-6);
    // 86 400 data / 500 + 300 commands / 1 000.
    assert!((usage.projected_monthly_cost_usd - 173.1).abs() < 1e-9);
    assert!((usage.projected_monthly_cost_after_discount_usd - 163.1).abs() < 1e-9);
    // A short observation counts as one hour, not as a few seconds.
    let early = project_usage(counts, Duration::from_secs(10));
    assert!((early.per_day_rate - 2_890.0 * 24.0).abs() < 1e-6);
    let idle = project_usage(CallCounts::default(), Duration::from_secs(10));
    assert_eq!(idle.projected_monthly_cost_after_discount_usd, 0.0);
}

#[test]
fn token_file_round_trips_keeps_unknown_keys_and_is_private() {
    let dir = tempfile::tempdir().expect("dir");
    let text = r#"{"CLIENT_ID": "cid", "CLIENT_SECRET": "sec", "DOMAIN": "example.com",
        "REDIRECT_URI": "https://example.com/access", "AUDIENCE": "https://fleet.example",
        "partner_token": "pt", "partner_account": {"response": {"domain": "example.com"}},
        "access_token": "at", "refresh_token": "rt", "site_id": "429124", "future": [1]}"#;
    let file = FleetTokenFile::from_json(text).expect("parses");
    assert_eq!(file.site_id, Some(429_124));
    assert_eq!(file.client_secret.expose(), "sec");
    assert_eq!(file.extra["future"], json!([1]));
    file.write(dir.path()).expect("written");
    let back = FleetTokenFile::read(dir.path())
        .expect("reads")
        .expect("exists");
    assert_eq!(back, file);
    let raw: Value =
        serde_json::from_str(&std::fs::read_to_string(fleet_file_path(dir.path())).expect("text"))
            .expect("json");
    assert_eq!(raw["site_id"], json!(429_124));
    assert_eq!(raw["partner_account"]["response"]["domain"], "example.com");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(fleet_file_path(dir.path()))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let empty = FleetTokenFile::from_json(r#"{"site_id": ""}"#).expect("parses");
    assert_eq!(empty.site_id, None);
    assert!(
        FleetTokenFile::read(&dir.path().join("none"))
            .expect("ok")
            .is_none()
    );
    assert!(FleetTokenFile::from_json("[1]").is_none());
}

#[test]
fn site_selection_needs_a_listed_site() {
    let products = response("products");
    let ids = energy_site_ids(&products);
    assert_eq!(ids, vec![429_124]);
    assert_eq!(choose_site_id(&ids, None).expect("first"), 429_124);
    assert_eq!(
        choose_site_id(&ids, Some(429_124)).expect("listed"),
        429_124
    );
    let error = choose_site_id(&ids, Some(7))
        .expect_err("unlisted")
        .to_string();
    assert!(
        error.contains("energy site 7") && error.contains("429124"),
        "{error}"
    );
    assert!(choose_site_id(&[], None).is_err());
    let sites = energy_sites(&products);
    assert_eq!(sites[0].name.as_deref(), Some("My Home"));
    assert!(choose_site(&sites, Some(1)).is_err());
}

#[test]
fn code_is_extracted_from_a_redirect_or_taken_bare() {
    let url = "https://example.com/access?locale=en-US&code=NA_abc123&state=xyz&issuer=x";
    assert_eq!(extract_code(url, None).expect("code"), "NA_abc123");
    assert_eq!(extract_code(url, Some("xyz")).expect("code"), "NA_abc123");
    assert!(extract_code(url, Some("other")).is_err());
    assert_eq!(
        extract_code("  NA_abc123\n", None).expect("bare"),
        "NA_abc123"
    );
    assert_eq!(extract_code("code=c1&state=s", None).expect("query"), "c1");
    assert!(extract_code("", None).is_err());
    assert!(extract_code("https://example.com/access?error=denied", None).is_err());
    assert!(extract_code("not a code!", None).is_err());
}

#[test]
fn regions_and_urls() {
    assert_eq!(Region::parse("EU"), Some(Region::Eu));
    assert_eq!(Region::parse("na").map(Region::audience), Some(NA_AUDIENCE));
    assert_eq!(Region::Cn.audience(), CN_AUDIENCE);
    assert_eq!(Region::parse("mars"), None);
    assert_eq!(
        pem_url("example.com", None),
        "https://example.com/.well-known/appspecific/com.tesla.3p.public-key.pem"
    );
    assert_eq!(
        pem_url("example.com", Some("https://127.0.0.1:9/")),
        "https://127.0.0.1:9/.well-known/appspecific/com.tesla.3p.public-key.pem"
    );
    let state = random_state().expect("state");
    assert_eq!(state.len(), STATE_LENGTH);
    assert!(state.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_ne!(state, random_state().expect("state"));
}

#[test]
fn key_pair_is_p256_and_written_privately() {
    let pair = generate_key_pair().expect("pair");
    assert!(
        pair.private_pem
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let spki = pem_der(&pair.public_pem).expect("der");
    assert_eq!(spki.len(), 91);
    assert_eq!(spki[26], 0x04, "uncompressed point");
    // ring reads the private key back, and it matches the public key.
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
    let der = pem_der(pair.private_pem.expose()).expect("der");
    let rng = ring::rand::SystemRandom::new();
    let parsed =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der, &rng).expect("pkcs8");
    assert_eq!(parsed.public_key().as_ref(), &spki[26..]);
    let dir = tempfile::tempdir().expect("dir");
    let (private, public) = write_key_pair(dir.path(), &pair).expect("written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &std::path::Path| {
            std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
        };
        assert_eq!(mode(&private), 0o600);
        assert_eq!(mode(&public), 0o644);
    }
    assert_eq!(
        std::fs::read_to_string(public).expect("text"),
        pair.public_pem
    );
    assert_eq!(format!("{:?}", pair.private_pem), "***");
}
