//! `/test/counter` names every TEDAPI request by what it asked (`by_query`), so tests and the
//! bench can see a client's poll plan, not only "POST /tedapi/v1".

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::tedapi::{GW_PWD, USER, exchange};
use common::{client, login, simulator_with};
use powerwall_gateway::tedapi::wire::{ApiVersion, QueryRole, TedapiRequest};
use powerwall_simulator::{FaultSpec, TopologyKind};
use serde_json::{Value, json};

/// GET a control path and parse its JSON.
async fn control_json(client: &reqwest::Client, url: String) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn tedapi_requests_are_counted_by_query() {
    let sim = simulator_with(TopologyKind::Pw3Multi).await;
    let client = client();
    let docs = sim.tedapi_documents();
    let gateway = docs.din.clone();
    let follower = docs
        .components
        .keys()
        .find(|din| **din != gateway)
        .unwrap()
        .clone();

    let din = client
        .get(format!("{}/tedapi/din", sim.url()))
        .basic_auth(USER, Some(GW_PWD))
        .send()
        .await
        .unwrap();
    assert!(din.status().is_success());
    let query = |role| TedapiRequest::query(ApiVersion::V2024_06, role, &gateway).unwrap();
    for request in [
        TedapiRequest::config(&gateway),
        TedapiRequest::system_info(&gateway),
        query(QueryRole::DeviceControllerBasic),
        query(QueryRole::DeviceControllerFull),
        query(QueryRole::DeviceControllerFull),
        query(QueryRole::Components),
        TedapiRequest::device_query(
            ApiVersion::V2024_06,
            QueryRole::Components,
            &gateway,
            &follower,
        )
        .unwrap(),
    ] {
        exchange(&client, &sim, &request).await;
    }
    // The classic API a TEDAPI client uses for the lifetime counters (customer login).
    let session = login(&client, &sim).await;
    let aggregates = client
        .get(format!("{}/api/meters/aggregates", sim.url()))
        .bearer_auth(&session.token)
        .send()
        .await
        .unwrap();
    assert!(aggregates.status().is_success());

    let counter = control_json(&client, format!("{}/test/counter", sim.url())).await;
    let device_path = format!("POST /tedapi/device/{follower}/v1");
    assert_eq!(
        counter["by_query"],
        json!({
            "din": 1,
            "config": 1,
            "system_info": 1,
            "device_controller_basic": 1,
            "device_controller_full": 2,
            "components": 1,
            format!("components {follower}"): 1,
            "POST /api/login/Basic": 1,
            "GET /api/meters/aggregates": 1,
        }),
        "{counter}"
    );
    // The existing keys are unchanged.
    assert_eq!(counter["by_path"]["POST /tedapi/v1"], 6, "{counter}");
    assert_eq!(counter["by_path"][device_path.as_str()], 1, "{counter}");
    assert_eq!(counter["by_path"]["GET /tedapi/din"], 1, "{counter}");
    let sum: u64 = counter["by_query"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(Some(sum), counter["api_total"].as_u64(), "{counter}");
    assert_eq!(sim.counter().by_query["device_controller_full"], 2);

    let reset = control_json(&client, format!("{}/test/counter/reset", sim.url())).await;
    assert_eq!(
        reset,
        json!({"api_total": 0, "by_path": {}, "by_query": {}})
    );
}

#[tokio::test]
async fn faulted_and_undecodable_requests_are_counted_too() {
    let sim = simulator_with(TopologyKind::Pw2).await;
    let client = client();
    let gateway = sim.tedapi_documents().din;
    sim.add_fault(FaultSpec::status("/tedapi/v1", 429).times(1))
        .unwrap();
    let config = TedapiRequest::config(&gateway);
    let faulted = client
        .post(format!("{}{}", sim.url(), config.path()))
        .basic_auth(USER, Some(GW_PWD))
        .body(config.to_basic_body())
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status(), 429);
    let garbage = client
        .post(format!("{}/tedapi/v1", sim.url()))
        .basic_auth(USER, Some(GW_PWD))
        .body(b"\xff\xff\xff".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    let counts = sim.counter();
    assert_eq!(counts.by_query["config"], 1);
    assert_eq!(counts.by_query["invalid body"], 1);
    assert_eq!(counts.by_path["POST /tedapi/v1"], 2);
}
