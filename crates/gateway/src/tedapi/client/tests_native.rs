//! The classic API over the customer login (§2.14), the bounded lock wait (proxy-api §8.1) and
//! `/tedapi/battery`, against the in-process fake gateway with paused or manual clocks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use super::test_fake::{FakeGateway, client_over, client_with_clock, config, fixture, status};
use super::transport::{Incoming, Outgoing, TransportError};
use super::*;
use crate::policy::ManualClock;
use crate::poll::DEFAULT_SLOW_PERIOD;
use crate::tedapi::wire::QueryRole;

fn native_document() -> Value {
    let section = |exported: f64, imported: f64| json!({"instant_power": 1.0, "energy_exported": exported, "energy_imported": imported});
    json!({
        "site": section(1_000.5, 2_000.25),
        "battery": section(3_000.0, 4_000.0),
        "load": section(0.0, 5_000.0),
        "solar": section(6_000.0, 7.0),
    })
}

fn json_answer(code: u16, body: &Value) -> Result<Incoming, TransportError> {
    Ok(Incoming {
        status: code,
        retry_after: None,
        body: Bytes::from(body.to_string()),
    })
}

/// A classic API that issues `cust-N` tokens and accepts only the newest one.
fn classic_api(fake: &FakeGateway) -> Arc<AtomicUsize> {
    let logins = Arc::new(AtomicUsize::new(0));
    let issued = Arc::clone(&logins);
    fake.answer_with(Box::new(move |request: &Outgoing| {
        match request.path.as_str() {
            LOGIN_PATH => {
                let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                Some(json_answer(200, &json!({"token": format!("cust-{n}")})))
            }
            NATIVE_AGGREGATES_PATH => {
                let newest = format!("Bearer cust-{}", issued.load(Ordering::SeqCst));
                Some(if request.authorization == newest {
                    json_answer(200, &native_document())
                } else {
                    json_answer(401, &json!({"code": 401, "error": "Token Expired"}))
                })
            }
            _ => None,
        }
    }));
    logins
}

fn manual_client(fake: &Arc<FakeGateway>) -> (Arc<TedapiClient>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let clock_dyn: Arc<dyn crate::policy::Clock> = Arc::clone(&clock) as _;
    let client = client_with_clock(fake, config(TedapiAuthMode::Basic), clock_dyn);
    (client, clock)
}

fn assert_native_energy(aggregates: &Value) {
    let native = native_document();
    for section in ["site", "battery", "load", "solar"] {
        for key in ["energy_exported", "energy_imported"] {
            assert_eq!(
                aggregates[section][key], native[section][key],
                "{section}.{key}"
            );
        }
        let disclaimer = aggregates[section]["disclaimer"].as_str().unwrap_or("");
        assert!(
            disclaimer.ends_with("energy from gateway local API"),
            "{disclaimer}"
        );
    }
}

#[test]
fn the_customer_login_is_a_form_with_the_last_five_characters() {
    assert_eq!(derived_customer_password("ABCDEFGHIJ"), "FGHIJ");
    assert_eq!(derived_customer_password("ABC"), "ABC");
    assert_eq!(derived_customer_password("xyzÄÖÜäö"), "ÄÖÜäö");
    assert_eq!(
        String::from_utf8(customer_login_body("FG&IJ")).expect("text"),
        "username=customer&password=FG%26IJ&email=nobody%40nowhere.com&clientInfo=timezone"
    );
    assert!(
        TedapiConfig::new("127.0.0.1", "pw")
            .customer_password
            .is_none()
    );
}

#[tokio::test(start_paused = true)]
async fn lifetime_energy_comes_from_the_classic_api_and_the_token_is_reused() {
    let fake = FakeGateway::pw2();
    let logins = classic_api(&fake);
    let (client, clock) = manual_client(&fake);
    let aggregates = client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert_native_energy(&aggregates);
    let login = fake
        .requests()
        .into_iter()
        .find(|r| r.path == LOGIN_PATH)
        .expect("a customer login");
    assert_eq!(login.body, customer_login_body("FGHIJ"));
    assert_eq!(login.content_type, "application/x-www-form-urlencoded");
    assert_eq!(client.upstream().logins, 1);

    // Within the slow tier: cached, nothing sent.
    client.fetch(DataKind::Aggregates).await.expect("cached");
    assert_eq!(fake.sent_to(NATIVE_AGGREGATES_PATH), 1);
    // After the slow tier's period: read again with the same token.
    clock.advance(DEFAULT_SLOW_PERIOD + Duration::from_secs(1));
    let raw = client
        .fetch_raw("/api/meters/aggregates")
        .await
        .expect("raw aggregates");
    let RawBody::Json(raw) = raw else {
        panic!("JSON expected")
    };
    assert_native_energy(&raw);
    assert_eq!(fake.sent_to(NATIVE_AGGREGATES_PATH), 2);
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    // A token older than 3000 s is replaced before it is used.
    clock.advance(Duration::from_secs(3000));
    client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert_eq!(logins.load(Ordering::SeqCst), 2);
    assert_eq!(fake.sent_to(NATIVE_AGGREGATES_PATH), 3);
    let reads = fake.requests();
    let last_read = reads
        .iter()
        .rev()
        .find(|r| r.path == NATIVE_AGGREGATES_PATH)
        .expect("read");
    assert_eq!(last_read.authorization, "Bearer cust-2");
}

#[tokio::test(start_paused = true)]
async fn a_refused_customer_token_logs_in_again_once() {
    let fake = FakeGateway::pw2();
    let logins = classic_api(&fake);
    let (client, clock) = manual_client(&fake);
    client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    // The gateway forgets the token (reboot): the next read is refused once.
    logins.fetch_add(1, Ordering::SeqCst);
    clock.advance(DEFAULT_SLOW_PERIOD + Duration::from_secs(1));
    let before = fake.requests().len();
    let aggregates = client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert_native_energy(&aggregates);
    let classic: Vec<String> = fake.requests()[before..]
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        classic,
        [NATIVE_AGGREGATES_PATH, LOGIN_PATH, NATIVE_AGGREGATES_PATH]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_classic_api_is_left_alone_for_300_s() {
    let fake = FakeGateway::pw2();
    let (client, clock) = manual_client(&fake);
    // The fake has no classic API (404): the TEDAPI document is served without its counters.
    let aggregates = client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert!(!aggregates.to_string().contains("energy from gateway"));
    assert_eq!(fake.sent_to(NATIVE_AGGREGATES_PATH), 1);
    for _ in 0..29 {
        clock.advance(Duration::from_secs(10));
        client
            .fetch(DataKind::Aggregates)
            .await
            .expect("aggregates");
    }
    assert_eq!(fake.sent_to(NATIVE_AGGREGATES_PATH), 1, "290 s: not yet");
    assert_eq!(fake.sent_to(LOGIN_PATH), 1);
    clock.advance(Duration::from_secs(11));
    client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert_eq!(
        fake.sent_to(NATIVE_AGGREGATES_PATH),
        2,
        "301 s: tried again"
    );
    // A refused customer login backs off the same way and never touches the TEDAPI guard.
    fake.answer_with(Box::new(|request: &Outgoing| {
        (request.path == LOGIN_PATH).then(|| status(401, None))
    }));
    clock.advance(Duration::from_secs(3600));
    client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert_eq!(fake.sent_to(LOGIN_PATH), 2);
    clock.advance(Duration::from_secs(10));
    client
        .fetch(DataKind::Soe)
        .await
        .expect("TEDAPI unaffected");
    client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert_eq!(fake.sent_to(LOGIN_PATH), 2);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_classic_api_costs_one_bounded_attempt() {
    let fake = FakeGateway::pw2();
    classic_api(&fake);
    let (client, clock) = manual_client(&fake);
    client.connect().await.expect("connect");
    fake.slow_down(NATIVE_AGGREGATES_PATH, Duration::from_secs(3600));
    let started = tokio::time::Instant::now();
    let aggregates = client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert!(started.elapsed() < Duration::from_secs(3600));
    assert_eq!(aggregates["site"]["energy_exported"], json!(0));
    clock.advance(Duration::from_secs(10));
    client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    assert_eq!(fake.sent_to(NATIVE_AGGREGATES_PATH), 1, "backing off");
}

#[tokio::test(start_paused = true)]
async fn a_waiting_caller_gets_the_stale_answer_after_the_timeout() {
    let fake = FakeGateway::pw2();
    let client = client_over(&fake, TedapiAuthMode::Basic);
    let first = client.fetch(DataKind::Soe).await.expect("soe");
    tokio::time::advance(Duration::from_secs(6)).await;
    // The next basic query hangs far longer than the 5 s timeout.
    fake.slow_down("/tedapi/v1", Duration::from_secs(3600));
    let fetching = {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.fetch(DataKind::Soe).await })
    };
    tokio::task::yield_now().await;
    let started = tokio::time::Instant::now();
    let waited = client.fetch(DataKind::Soe).await.expect("stale soe");
    assert_eq!(waited, first);
    assert!(started.elapsed() < Duration::from_secs(3600));
    assert!(!fetching.is_finished(), "the fetch is still running");
    assert_eq!(fake.queries(QueryRole::DeviceControllerBasic), 2);
    fetching.abort();
}

#[tokio::test(start_paused = true)]
async fn a_waiting_caller_without_a_cached_answer_gets_a_timeout() {
    let fake = FakeGateway::pw2();
    let client = client_over(&fake, TedapiAuthMode::Basic);
    client.connect().await.expect("connect");
    fake.slow_down("/tedapi/v1", Duration::from_secs(3600));
    let fetching = {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.fetch(DataKind::Soe).await })
    };
    tokio::task::yield_now().await;
    let error = client
        .fetch(DataKind::Soe)
        .await
        .expect_err("nothing cached");
    assert!(
        matches!(error, GatewayError::Timeout { timeout, .. } if timeout == DEFAULT_TEDAPI_TIMEOUT),
        "{error}"
    );
    assert!(!fetching.is_finished());
    fetching.abort();
}

#[tokio::test(start_paused = true)]
async fn tedapi_battery_is_the_config_battery_blocks() {
    let config = fixture("pw3/config.single-pw3-with-expansion.json");
    let fake = FakeGateway::with_config(config.clone());
    let client = client_over(&fake, TedapiAuthMode::Basic);
    let raw = client.fetch_raw("/tedapi/battery").await.expect("battery");
    assert_eq!(raw, RawBody::Json(config["battery_blocks"].clone()));
    let RawBody::Json(Value::Array(blocks)) = raw else {
        panic!("an array")
    };
    assert_eq!(blocks.len(), 1);
    assert!(blocks[0]["battery_expansions"].is_array());
    assert_eq!(
        super::plan::battery_blocks_document(&json!({"battery_blocks": null})),
        json!([])
    );
    assert_eq!(super::plan::battery_blocks_document(&json!({})), json!([]));
}
