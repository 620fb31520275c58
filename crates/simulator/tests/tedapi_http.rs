//! The TEDAPI HTTP persona (gateway-protocols §10.3) spoken with real protobuf built by the
//! gateway crate's request builders.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::tedapi::{GW_PWD, USER, exchange, post_raw};
use common::{client, get_json, login, simulator, simulator_with};
use powerwall_gateway::tedapi::convert::{TedapiInputs, local_document};
use powerwall_gateway::tedapi::wire::messages::message_envelope::Payload;
use powerwall_gateway::tedapi::wire::payloads::{GraphQlStatus, graph_ql_messages};
use powerwall_gateway::tedapi::wire::{
    ApiVersion, Participant, QueryRole, Route, TedapiAnswer, TedapiRequest, TedapiResponse,
};
use powerwall_simulator::TopologyKind;
use reqwest::StatusCode;
use serde_json::Value;

fn device_error(response: &TedapiResponse) -> i32 {
    match &response.answer {
        TedapiAnswer::Error(error) => error.code,
        other => panic!("expected an error answer, got {other:?}"),
    }
}

#[tokio::test]
async fn din_needs_the_gateway_password() {
    let sim = simulator().await;
    let client = client();
    let url = format!("{}/tedapi/din", sim.url());
    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::FORBIDDEN);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["message"], "User does not have adequate access rights");
    let wrong = client
        .get(&url)
        .basic_auth(USER, Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let right = client
        .get(&url)
        .basic_auth(USER, Some(GW_PWD))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(right.text().await.unwrap(), sim.tedapi_documents().din);
    let din = sim.tedapi_documents().din;
    let post = post_raw(
        &client,
        &sim,
        "/tedapi/v1",
        TedapiRequest::config(&din).to_basic_body(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    let garbage = post_raw(&client, &sim, "/tedapi/v1", b"\xff\xff\xff".to_vec())
        .basic_auth(USER, Some(GW_PWD))
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    let counts = sim.counter().by_path;
    assert_eq!(counts["GET /tedapi/din"], 3);
    assert_eq!(counts["POST /tedapi/v1"], 2);
}

#[tokio::test]
async fn config_and_system_info_come_from_the_model() {
    let sim = simulator().await;
    let client = client();
    let docs = sim.tedapi_documents();
    let response = exchange(&client, &sim, &TedapiRequest::config(&docs.din)).await;
    assert_eq!(response.sender, Some(Participant::din(docs.din.clone())));
    assert_eq!(response.external_auth, Some(1));
    let file = response.into_config().unwrap();
    assert_eq!(file.name, "config.json");
    assert!(!file.hash.is_empty());
    assert_eq!(file.json().unwrap(), docs.config);
    let again = exchange(&client, &sim, &TedapiRequest::config(&docs.din)).await;
    assert_eq!(
        again.into_config().unwrap().hash,
        file.hash,
        "same content, same hash"
    );
    let info = exchange(&client, &sim, &TedapiRequest::system_info(&docs.din))
        .await
        .into_system_info()
        .unwrap();
    assert_eq!(info.firmware_version_text(), Some("23.28.2 27626f98"));
    assert_eq!(info.din, docs.din);
}

#[tokio::test]
async fn queries_follow_the_scenario_and_convert_to_the_local_numbers() {
    let sim = simulator().await;
    let client = client();
    sim.set_scenario("solar-exporting").unwrap();
    let din = sim.tedapi_documents().din;
    let query = |version, role| TedapiRequest::query(version, role, &din).unwrap();
    let status = exchange(
        &client,
        &sim,
        &query(ApiVersion::V2024_06, QueryRole::DeviceControllerBasic),
    )
    .await
    .into_query()
    .unwrap();
    assert_eq!(status.status(), Some(GraphQlStatus::Success));
    let status = status.json().unwrap();
    let solar = status["control"]["meterAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|meter| meter["location"] == "SOLAR")
        .unwrap();
    assert_eq!(solar["realPowerW"], 1500.0);
    let config = exchange(&client, &sim, &TedapiRequest::config(&din))
        .await
        .into_config()
        .unwrap()
        .json()
        .unwrap();
    let controller = exchange(
        &client,
        &sim,
        &query(ApiVersion::V2024_06, QueryRole::DeviceControllerFull),
    )
    .await
    .into_query()
    .unwrap()
    .json()
    .unwrap();
    assert!(controller["components"]["msa"].is_array(), "the full form");
    let inputs = TedapiInputs {
        config: Some(&config),
        status: Some(&status),
        controller: Some(&controller),
        host: "127.0.0.1",
        now_epoch_seconds: sim.reading().now,
        ..TedapiInputs::default()
    };
    let converted = local_document("/api/meters/aggregates", &inputs).unwrap();
    let session = login(&client, &sim).await;
    let (_, served) = get_json(
        &client,
        format!("{}/api/meters/aggregates", sim.url()),
        &session,
    )
    .await;
    for meter in ["site", "battery", "load", "solar"] {
        assert_eq!(
            converted[meter]["instant_power"], served[meter]["instant_power"],
            "{meter}"
        );
    }
    assert_eq!(served["solar"]["instant_power"], 1500.0);
    let v2026 = exchange(
        &client,
        &sim,
        &query(ApiVersion::V2026_06, QueryRole::DeviceControllerBasic),
    )
    .await
    .into_query()
    .unwrap();
    assert_eq!(v2026.json().unwrap(), sim.tedapi_documents().controller);
}

#[tokio::test]
async fn altered_queries_are_rejected() {
    let sim = simulator().await;
    let client = client();
    let din = sim.tedapi_documents().din;
    for alter_text in [false, true] {
        let mut request =
            TedapiRequest::query(ApiVersion::V2024_06, QueryRole::DeviceControllerBasic, &din)
                .unwrap();
        let Some(Payload::Graphql(graphql)) = &mut request.envelope.payload else {
            panic!("a GraphQL request")
        };
        let Some(graph_ql_messages::Message::QueryRequest(query)) = &mut graphql.message else {
            panic!("a query request")
        };
        let bytes = if alter_text {
            &mut query.query
        } else {
            &mut query.signature
        };
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let answer = exchange(&client, &sim, &request)
            .await
            .into_query()
            .unwrap();
        assert_eq!(answer.status(), Some(GraphQlStatus::ErrorFull));
        assert_eq!(answer.errors.len(), 1);
        assert_eq!(answer.errors[0].code, 2, "UNAUTHORIZED");
        assert!(answer.data.is_empty());
    }
    let mut unknown = TedapiRequest::config(&din);
    unknown.envelope.payload = None;
    assert_eq!(
        device_error(&exchange(&client, &sim, &unknown).await),
        12,
        "UNIMPLEMENTED"
    );
}

#[tokio::test]
async fn followers_answer_through_the_device_path() {
    let sim = simulator_with(TopologyKind::Pw3Multi).await;
    let client = client();
    let docs = sim.tedapi_documents();
    let gateway = docs.din.clone();
    let followers: Vec<&String> = docs
        .components
        .keys()
        .filter(|din| **din != gateway)
        .collect();
    assert_eq!(followers.len(), 2);
    for din in followers.iter().copied().chain([&gateway]) {
        let request =
            TedapiRequest::device_query(ApiVersion::V2024_06, QueryRole::Components, &gateway, din)
                .unwrap();
        assert_eq!(request.path(), format!("/tedapi/device/{din}/v1"));
        let response = exchange(&client, &sim, &request).await;
        assert_eq!(response.sender, Some(Participant::din(din.clone())));
        assert_eq!(response.external_auth, Some(2));
        let answer = response.into_query().unwrap().json().unwrap();
        assert_eq!(Some(&answer), docs.components_for(din), "{din}");
    }
    let follower = followers[0].clone();
    let mut stranger = TedapiRequest::device_query(
        ApiVersion::V2024_06,
        QueryRole::Components,
        &gateway,
        &gateway,
    )
    .unwrap();
    stranger.route = Route::Device("1707000-11-J--TG99999999999Z".to_owned());
    assert_eq!(
        device_error(&exchange(&client, &sim, &stranger).await),
        5,
        "unknown DIN"
    );
    let mut wrong_sender = TedapiRequest::device_query(
        ApiVersion::V2024_06,
        QueryRole::Components,
        &gateway,
        &follower,
    )
    .unwrap();
    wrong_sender.envelope.sender = Some(Participant::din("somebody-else"));
    assert_eq!(
        device_error(&exchange(&client, &sim, &wrong_sender).await),
        7
    );
    let direct =
        TedapiRequest::query(ApiVersion::V2024_06, QueryRole::Components, &follower).unwrap();
    assert_eq!(
        device_error(&exchange(&client, &sim, &direct).await),
        5,
        "followers are relayed"
    );
}

#[tokio::test]
async fn a_single_powerwall_3_answers_components_on_the_gateway_path() {
    let sim = simulator_with(TopologyKind::Pw3).await;
    let client = client();
    let docs = sim.tedapi_documents();
    let request =
        TedapiRequest::query(ApiVersion::V2026_06, QueryRole::Components, &docs.din).unwrap();
    let answer = exchange(&client, &sim, &request)
        .await
        .into_query()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(Some(&answer), docs.components_for(&docs.din));
    assert!(
        answer["components"]["bms"]
            .as_array()
            .is_some_and(|bms| bms.len() == 2)
    );
}
