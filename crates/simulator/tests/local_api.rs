//! End-to-end tests of the local API persona over HTTPS on loopback.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{START, client, get_json, login, simulator};
use powerwall_gateway::local::vitals_wire::DevicesWithVitals;
use prost::Message as _;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

#[tokio::test]
async fn status_is_open_and_everything_else_needs_a_session() {
    let (sim, client) = (simulator().await, client());
    let status: Value = common::open_json(&client, format!("{}/api/status", sim.url())).await;
    assert_eq!(status["version"], json!("23.28.2 27626f98"));
    assert_eq!(status["din"], json!("1232100-00-E--TG123456789ABC"));

    let response = client
        .get(format!("{}/api/meters/aggregates", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], json!(401));

    let wrong = client
        .post(format!("{}/api/login/Basic", sim.url()))
        .form(&[("username", "customer"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        json!({"code": 401, "error": "bad credentials", "message": "Login Error"})
    );

    let unknown = client
        .get(format!("{}/api/nope", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], json!(404));
}

#[tokio::test]
async fn login_by_form_and_json_then_cookie_and_bearer_auth() {
    let (sim, client) = (simulator().await, client());
    let session = login(&client, &sim).await;
    assert!(session.token.ends_with("==") && session.token.len() == 88);
    let (status, soe) = get_json(
        &client,
        format!("{}/api/system_status/soe", sim.url()),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(soe, json!({"percentage": 23.975388097174584}));

    // JSON body labelled as something else, as the v1r and bearer paths send it.
    let response = client
        .post(format!("{}/api/login/Basic", sim.url()))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(r#"{"username":"customer","password":"password","email":"x@y.z","clientInfo":{"timezone":"UTC"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], json!("x@y.z"));
    assert_eq!(body["roles"], json!(["Home_Owner"]));
    assert_eq!(
        body["loginTime"],
        json!("2024-01-24T04:00:00.000000000-08:00")
    );
    let token = body["token"].as_str().unwrap();
    assert_ne!(token, session.token);
    let bearer = client
        .get(format!("{}/api/operation", sim.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    assert_eq!(
        bearer.json::<Value>().await.unwrap()["backup_reserve_percent"],
        json!(81)
    );

    // Logout ends that session only.
    let logout = client
        .get(format!("{}/api/logout", sim.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success());
    let after = client
        .get(format!("{}/api/operation", sim.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = get_json(&client, format!("{}/api/operation", sim.url()), &session).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn vitals_are_protobuf_until_the_firmware_drops_them() {
    let (sim, client) = (simulator().await, client());
    let session = login(&client, &sim).await;
    let url = format!("{}/api/devices/vitals", sim.url());
    let response = client
        .get(&url)
        .header(header::COOKIE, &session.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    let message = DevicesWithVitals::decode(response.bytes().await.unwrap()).unwrap();
    assert!(message.devices.len() >= 13);

    let switched: Value = client
        .post(format!("{}/test/firmware", sim.url()))
        .json(&json!({"version": "23.44.0 9064fc6a"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        switched,
        json!({"firmware": "23.44.0 9064fc6a", "vitals_supported": false})
    );
    let (status, body) = get_json(&client, url, &session).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"code": 404, "error": "File Not Found", "message": "Firmware does not support vitals API"})
    );
    let status: Value = common::open_json(&client, format!("{}/api/status", sim.url())).await;
    assert_eq!(status["version"], json!("23.44.0 9064fc6a"));
}

#[tokio::test]
async fn operation_writes_and_clock_control() {
    let (sim, client) = (simulator().await, client());
    let session = login(&client, &sim).await;
    let written: Value = client
        .post(format!("{}/api/operation", sim.url()))
        .header(header::COOKIE, &session.cookie)
        .json(&json!({"real_mode": "backup", "backup_reserve_percent": 50}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(written["real_mode"], json!("backup"));
    assert_eq!(written["backup_reserve_percent"], json!(50));
    assert_eq!(sim.reading().reserve_raw_pct, 50.0);
    let rejected = client
        .post(format!("{}/api/operation", sim.url()))
        .header(header::COOKIE, &session.cookie)
        .json(&json!({"real_mode": "backup", "backup_reserve_percent": 150}))
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);

    let clock: Value = client
        .post(format!("{}/test/clock", sim.url()))
        .json(&json!({"advance_secs": 3600.5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["now"], json!(START + 3600.5));
    assert_eq!(clock["frozen"], json!(true));
    assert_eq!(sim.reading().now, START + 3600.5);

    client
        .post(format!("{}/test/config", sim.url()))
        .json(&json!({"session_lifetime_secs": 60, "unauthorized_status": 403}))
        .send()
        .await
        .unwrap();
    client
        .get(format!("{}/test/clock?advance_secs=61", sim.url()))
        .send()
        .await
        .unwrap();
    let (status, body) = get_json(&client, format!("{}/api/operation", sim.url()), &session).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], json!(403));
}
