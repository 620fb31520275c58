//! TEDAPI helpers: protobuf requests built with the gateway crate's wire builders, sent with
//! Basic auth (or a bearer token) as a TEDAPI client does.

use powerwall_gateway::tedapi::wire::{TedapiRequest, TedapiResponse, parse_response};
use powerwall_simulator::SimulatorHandle;
use reqwest::{Client, RequestBuilder, StatusCode, header};

/// The fixed TEDAPI Basic-auth user.
pub const USER: &str = "Tesla_Energy_Device";
/// `SimulatorConfig::default().gateway_password`.
pub const GW_PWD: &str = "ABCDEFGHIJ";

/// A POST of `body` to the request's path, with the octet-stream label the reference sends.
pub fn post_raw(
    client: &Client,
    sim: &SimulatorHandle,
    path: &str,
    body: Vec<u8>,
) -> RequestBuilder {
    client
        .post(format!("{}{path}", sim.url()))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(body)
}

/// Sends a basic-mode request with the gateway password and decodes the 200 answer.
pub async fn exchange(
    client: &Client,
    sim: &SimulatorHandle,
    request: &TedapiRequest,
) -> TedapiResponse {
    let response = post_raw(client, sim, &request.path(), request.to_basic_body())
        .basic_auth(USER, Some(GW_PWD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    parse_response(&response.bytes().await.unwrap()).unwrap()
}

/// `GET /test/tedapi`.
pub async fn tedapi_status(client: &Client, sim: &SimulatorHandle) -> serde_json::Value {
    client
        .get(format!("{}/test/tedapi", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
