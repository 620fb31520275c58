//! Shared helpers of the end-to-end tests: the gateway crate's TLS client (it accepts the
//! simulator's self-signed certificate), a simulator on a frozen clock, and a customer login.

#![allow(clippy::unwrap_used, dead_code)] // test helpers: a failure here is a failed test

use powerwall_simulator::{SimulatorConfig, SimulatorHandle, TopologyKind, start};
use reqwest::{Client, StatusCode, header};
use serde_json::Value;

/// 2024-01-24 12:00 UTC, the fixtures' reference instant.
pub const START: f64 = 1_706_097_600.0;

/// A client that trusts the simulator's self-signed certificate, as gateway clients do.
pub fn client() -> Client {
    powerwall_gateway::http::gateway_client(powerwall_gateway::http::GatewayHttpSettings {
        timeout: std::time::Duration::from_secs(10),
        pool_max_idle: 2,
    })
    .unwrap()
}

pub async fn simulator() -> SimulatorHandle {
    simulator_with(TopologyKind::Pw2).await
}

/// A simulator of the given topology on a frozen clock at [`START`].
pub async fn simulator_with(topology: TopologyKind) -> SimulatorHandle {
    start(SimulatorConfig {
        start_epoch: Some(START),
        freeze_clock: true,
        topology,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap()
}

pub struct Session {
    pub cookie: String,
    pub token: String,
}

pub async fn login(client: &Client, sim: &SimulatorHandle) -> Session {
    let response = client
        .post(format!("{}/api/login/Basic", sim.url()))
        .form(&[
            ("username", "customer"),
            ("password", "password"),
            ("email", "a@b.c"),
            ("clientInfo", "timezone"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(cookies.len(), 2);
    assert_eq!(cookies[0], format!("AuthCookie={token}; Path=/"));
    assert!(cookies[1].starts_with("UserRecord=") && cookies[1].ends_with("; Path=/"));
    let pairs: Vec<&str> = cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect();
    Session {
        cookie: pairs.join("; "),
        token,
    }
}

pub async fn get_json(client: &Client, url: String, session: &Session) -> (StatusCode, Value) {
    let response = client
        .get(url)
        .header(header::COOKIE, &session.cookie)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// GETs a URL without a session and parses the JSON answer.
pub async fn open_json(client: &Client, url: String) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

pub mod tedapi;
