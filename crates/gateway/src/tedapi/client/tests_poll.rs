//! Poll-level planning (issue 18): one poll sends each query once and builds every document from
//! that one set of answers; slower tiers keep their last answer, so documents keep their keys.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::test_fake::{FakeGateway, client_with_clock, config, fixture, query_role, status};
use super::*;
use crate::policy::ManualClock;
use crate::poll::{DEFAULT_CONFIG_PERIOD, DEFAULT_DETAIL_PERIOD, PollRequest};
use crate::tedapi::wire::QueryRole;

/// Every document the server's TEDAPI plan reads each poll.
const KINDS: [DataKind; 9] = POLLED_DOCUMENTS;

fn manual(fake: &Arc<FakeGateway>) -> (Arc<TedapiClient>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let clock_dyn: Arc<dyn crate::policy::Clock> = Arc::clone(&clock) as _;
    let client = client_with_clock(fake, config(TedapiAuthMode::Basic), clock_dyn);
    (client, clock)
}

/// Flattened key → JSON type name, as Telegraf sees a document.
fn shape(value: &Value) -> BTreeMap<String, &'static str> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, &'static str>) {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(&format!("{prefix}_{index}"), item, out);
                }
                "array"
            }
            Value::Object(map) => {
                for (key, item) in map {
                    walk(&format!("{prefix}_{key}"), item, out);
                }
                "object"
            }
        };
        out.insert(prefix.to_owned(), kind);
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}

async fn poll_all(client: &TedapiClient, refresh: bool) -> BTreeMap<DataKind, Value> {
    let answers = client
        .poll(PollRequest {
            kinds: &KINDS,
            refresh,
        })
        .await;
    assert_eq!(answers.len(), KINDS.len());
    answers
        .into_iter()
        .map(|(kind, answer)| match answer {
            Ok(document) => (kind, document),
            // The fixture's grid state is undetermined (§3.3): an empty answer, not a failure.
            Err(GatewayError::Empty { .. }) if kind == DataKind::GridStatus => (kind, Value::Null),
            Err(err) => panic!("{kind:?}: {err}"),
        })
        .collect()
}

fn shapes(
    documents: &BTreeMap<DataKind, Value>,
) -> BTreeMap<DataKind, BTreeMap<String, &'static str>> {
    documents
        .iter()
        .map(|(kind, document)| (*kind, shape(document)))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn one_poll_sends_each_query_once_and_tiers_space_the_slow_ones() {
    let fake = FakeGateway::pw2();
    let (client, clock) = manual(&fake);
    let first = poll_all(&client, false).await;
    assert_eq!(fake.queries(QueryRole::DeviceControllerBasic), 1);
    assert_eq!(fake.queries(QueryRole::DeviceControllerFull), 1);
    // config.json and the system info (which this fake refuses), once each, at connect.
    assert_eq!(fake.sent_to("/tedapi/v1") - 2, 2);
    let expected = shapes(&first);
    // One minute of polls every 5 s.
    for _ in 0..12 {
        clock.advance(Duration::from_secs(5));
        let documents = poll_all(&client, false).await;
        assert_eq!(
            shapes(&documents),
            expected,
            "the key set and value types never change"
        );
    }
    assert_eq!(
        fake.queries(QueryRole::DeviceControllerBasic),
        13,
        "every poll"
    );
    let full_expected = 1 + 60 / DEFAULT_DETAIL_PERIOD.as_secs() as usize;
    assert_eq!(fake.queries(QueryRole::DeviceControllerFull), full_expected);
    assert!(DEFAULT_CONFIG_PERIOD > Duration::from_secs(60));
    let config_reads = fake
        .requests()
        .iter()
        .filter(|request| request.path == "/tedapi/v1" && query_role(&request.body).is_none())
        .count();
    // config.json once (the config tier); the refused system info again only after the slow
    // tier's period (a failure is not retried every poll).
    assert_eq!(config_reads, 1 + 2);
}

#[tokio::test(start_paused = true)]
async fn a_refresh_rereads_what_the_documents_need() {
    let fake = FakeGateway::pw2();
    let (client, clock) = manual(&fake);
    poll_all(&client, false).await;
    clock.advance(Duration::from_secs(5));
    let before = fake.requests().len();
    let answers = client
        .poll(PollRequest {
            kinds: &[DataKind::Operation],
            refresh: true,
        })
        .await;
    assert!(answers[0].1.is_ok());
    assert_eq!(
        fake.requests().len(),
        before + 1,
        "config.json only, at once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_detail_query_keeps_its_last_answer_for_three_periods() {
    let fake = FakeGateway::pw2();
    let (client, clock) = manual(&fake);
    let first = poll_all(&client, false).await;
    fake.answer_with(Box::new(|request| {
        (query_role(&request.body) == Some(QueryRole::DeviceControllerFull))
            .then(|| status(500, None))
    }));
    clock.advance(DEFAULT_DETAIL_PERIOD + Duration::from_secs(5));
    let documents = poll_all(&client, false).await;
    assert_eq!(shapes(&documents), shapes(&first));
    assert_eq!(
        fake.queries(QueryRole::DeviceControllerFull),
        2,
        "it was asked again"
    );
    // Past three periods the vitals can no longer be built; power still can.
    clock.advance(DEFAULT_DETAIL_PERIOD * 3);
    let answers = client
        .poll(PollRequest {
            kinds: &[DataKind::Soe, DataKind::Vitals],
            refresh: false,
        })
        .await;
    assert!(answers[0].1.is_ok());
    assert!(answers[1].1.is_err());
}

#[tokio::test(start_paused = true)]
async fn powerwall_3_aggregates_carry_voltages_in_every_poll() {
    let fake = FakeGateway::with_config(fixture("pw3/config.single-pw3-with-expansion.json"));
    let (client, clock) = manual(&fake);
    for round in 0..8 {
        let documents = poll_all(&client, false).await;
        let aggregates = &documents[&DataKind::Aggregates];
        for section in ["battery", "solar"] {
            assert!(
                aggregates[section]["instant_average_voltage"].is_number(),
                "poll {round}: {section} voltage {}",
                aggregates[section]
            );
        }
        let blocks = documents[&DataKind::SystemStatus]["battery_blocks"]
            .as_array()
            .map_or(0, Vec::len);
        assert!(blocks > 0, "poll {round}: battery blocks present");
        clock.advance(Duration::from_secs(5));
    }
    // Gateway and unit components (this fake's unit DIN differs from its gateway DIN): once at
    // the first poll, once 30 s later.
    assert_eq!(fake.queries(QueryRole::Components), 2 * 2);
}
