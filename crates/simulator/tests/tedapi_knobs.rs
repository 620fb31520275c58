//! The TEDAPI persona's bearer variant (§10.4), gzip knob (§2.8), and the shared fault, counter
//! and in-flight machinery applied to `/tedapi` paths (§10.8).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::tedapi::{GW_PWD, USER, exchange, post_raw, tedapi_status};
use common::{client, simulator};
use powerwall_gateway::tedapi::wire::{
    ApiVersion, QueryRole, TedapiRequest, decode_body, parse_din, parse_response,
};
use powerwall_simulator::{FaultSpec, SimulatorHandle};
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

async fn installer_login(
    client: &Client,
    sim: &SimulatorHandle,
    password: &str,
) -> reqwest::Response {
    // The reference keeps its octet-stream session header, so the JSON goes out labelled so.
    let body = json!({"username": "installer", "password": password,
        "email": "installer@tesla.com", "clientInfo": {"timezone": "UTC"}});
    client
        .post(format!("{}/api/login/Basic", sim.url()))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn test_post(client: &Client, sim: &SimulatorHandle, path: &str, body: Value) -> Value {
    let response = client
        .post(format!("{}{path}", sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path} {body}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn bearer_login_din_and_query() {
    let sim = simulator().await;
    let client = client();
    let refused = installer_login(&client, &sim, "wrong").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let login: Value = installer_login(&client, &sim, GW_PWD)
        .await
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let din = client
        .get(format!("{}/tedapi/din", sim.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(din.status(), StatusCode::OK);
    let din = din.text().await.unwrap();
    let request =
        TedapiRequest::query(ApiVersion::V2026_06, QueryRole::DeviceControllerBasic, &din).unwrap();
    let send = |token: String| {
        post_raw(&client, &sim, "/tedapi/v1", request.to_bearer_body())
            .bearer_auth(token)
            .send()
    };
    let answer = send(token.clone()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = parse_response(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(answer.external_auth, Some(1));
    assert_eq!(
        answer.into_query().unwrap().json().unwrap(),
        sim.tedapi_documents().controller
    );
    // A customer session is no TEDAPI credential.
    let customer = common::login(&client, &sim).await;
    assert_eq!(
        send(customer.token).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    test_post(
        &client,
        &sim,
        "/test/config",
        json!({"session_lifetime_secs": 60}),
    )
    .await;
    sim.advance_clock(61.0).unwrap();
    let expired = send(token).await.unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["error"], "Token Expired");
}

#[tokio::test]
async fn gzip_knob_and_firmware_profile() {
    let sim = simulator().await;
    let client = client();
    let din_url = format!("{}/tedapi/din", sim.url());
    let get_din = || client.get(&din_url).basic_auth(USER, Some(GW_PWD)).send();
    let plain = get_din().await.unwrap().bytes().await.unwrap();
    assert!(!plain.starts_with(&[0x1f, 0x8b]));
    let expected = sim.tedapi_documents().din;
    let config = test_post(
        &client,
        &sim,
        "/test/config",
        json!({"tedapi_gzip": "no_header"}),
    )
    .await;
    assert_eq!(config["tedapi_gzip"], "no_header");
    assert_eq!(
        config["session_lifetime_secs"], 86400.0,
        "auth knobs still listed"
    );
    let response = get_din().await.unwrap();
    assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
    let body = response.bytes().await.unwrap();
    assert!(body.starts_with(&[0x1f, 0x8b]));
    assert_eq!(parse_din(&decode_body(&body).unwrap()).unwrap(), expected);
    // parse_response gunzips by magic, as the client must for 25.42.2.
    let file = exchange(&client, &sim, &TedapiRequest::config(&expected)).await;
    assert_eq!(
        file.into_config().unwrap().json().unwrap(),
        sim.tedapi_documents().config
    );
    test_post(
        &client,
        &sim,
        "/test/config",
        json!({"tedapi_gzip": "header"}),
    )
    .await;
    let response = get_din().await.unwrap();
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    let body = response.bytes().await.unwrap();
    assert_eq!(parse_din(&decode_body(&body).unwrap()).unwrap(), expected);
    let bad = client
        .post(format!("{}/test/config", sim.url()))
        .json(&json!({"tedapi_gzip": "sometimes", "session_lifetime_secs": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    test_post(
        &client,
        &sim,
        "/test/config",
        json!({"tedapi_gzip": "auto"}),
    )
    .await;
    sim.set_firmware("25.42.2 0123abcd").unwrap();
    let response = get_din().await.unwrap();
    assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
    assert!(response.bytes().await.unwrap().starts_with(&[0x1f, 0x8b]));
}

#[tokio::test]
async fn faults_and_counters_apply_to_tedapi() {
    let sim = simulator().await;
    let client = client();
    let din = sim.tedapi_documents().din;
    sim.add_fault(
        FaultSpec::status("/tedapi/v1", 429)
            .retry_after(300)
            .times(1),
    )
    .unwrap();
    let request = TedapiRequest::config(&din);
    let busy = post_raw(&client, &sim, "/tedapi/v1", request.to_basic_body())
        .basic_auth(USER, Some(GW_PWD))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(busy.headers()[header::RETRY_AFTER], "300");
    exchange(&client, &sim, &request)
        .await
        .into_config()
        .unwrap();
    assert_eq!(sim.counter().by_path["POST /tedapi/v1"], 2);
    // Signing keys rotated: even the bundled pairs are refused.
    test_post(
        &client,
        &sim,
        "/test/config",
        json!({"tedapi_keys_rotated": true}),
    )
    .await;
    let query =
        TedapiRequest::query(ApiVersion::V2024_06, QueryRole::DeviceControllerBasic, &din).unwrap();
    let answer = exchange(&client, &sim, &query).await.into_query().unwrap();
    assert_eq!(answer.errors[0].code, 2);
}

#[tokio::test]
async fn in_flight_high_water_mark() {
    let sim = simulator().await;
    let client = client();
    let din = sim.tedapi_documents().din;
    let request = TedapiRequest::config(&din);
    for _ in 0..3 {
        exchange(&client, &sim, &request).await;
    }
    let status = tedapi_status(&client, &sim).await;
    assert_eq!(status["tedapi_max_in_flight"], 1, "{status}");
    assert_eq!(status["tedapi_in_flight"], 0);
    client
        .get(format!("{}/test/counter/reset", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(sim.tedapi_concurrency().tedapi_max_in_flight, 0);
    sim.add_fault(FaultSpec::delay("/tedapi/v1", 300).times(5))
        .unwrap();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (client, url, body) = (
                client.clone(),
                format!("{}/tedapi/v1", sim.url()),
                request.to_basic_body(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .basic_auth(USER, Some(GW_PWD))
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let concurrency = sim.tedapi_concurrency();
    assert!(concurrency.tedapi_max_in_flight > 1, "{concurrency:?}");
    assert_eq!(concurrency.tedapi_in_flight, 0);
}
