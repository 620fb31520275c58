//! End-to-end tests of the `/test` control API: scenarios, counters, faults, knobs, shutdown.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{client, get_json, login, simulator};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

#[tokio::test]
async fn scenarios_pin_exact_balanced_aggregates() {
    let (sim, client) = (simulator().await, client());
    let session = login(&client, &sim).await;
    let answer = client
        .get(format!("{}/test/scenario/solar-charging", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(answer.text().await.unwrap(), "OK");
    let (_, aggregates) = get_json(
        &client,
        format!("{}/api/meters/aggregates", sim.url()),
        &session,
    )
    .await;
    let power = |meter: &str| aggregates[meter]["instant_power"].as_f64().unwrap();
    assert_eq!(
        (
            power("solar"),
            power("load"),
            power("battery"),
            power("site")
        ),
        (1200.0, 900.0, -300.0, 0.0)
    );
    assert_eq!(
        power("load"),
        power("solar") + power("battery") + power("site")
    );

    client
        .get(format!("{}/test/scenario/nighttime-outage", sim.url()))
        .send()
        .await
        .unwrap();
    let (_, grid) = get_json(
        &client,
        format!("{}/api/system_status/grid_status", sim.url()),
        &session,
    )
    .await;
    assert_eq!(grid["grid_status"], json!("SystemIslandedActive"));
    let active: Value = common::open_json(&client, format!("{}/test/scenario", sim.url())).await;
    assert_eq!(active, json!({"active_scenario": "nighttime-outage"}));
    let state: Value = common::open_json(&client, format!("{}/test/state", sim.url())).await;
    assert_eq!(
        (state["battery_w"].as_f64(), state["site_w"].as_f64()),
        (Some(900.0), Some(0.0))
    );
    assert_eq!(sim.reading().battery_w, 900.0);

    let toggled = client
        .get(format!("{}/test/toggle-grid", sim.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(toggled, "Grid is now connected");
    let percent = client
        .get(format!("{}/test/battery-percentage/50", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(percent.text().await.unwrap(), "OK");
    let (_, soe) = get_json(
        &client,
        format!("{}/api/system_status/soe", sim.url()),
        &session,
    )
    .await;
    assert_eq!(soe["percentage"].as_f64(), Some(0.95 * 50.0 + 5.0));
    let bad = client
        .get(format!("{}/test/battery-percentage/lots", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let other = client
        .get(format!("{}/test/whatever", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.text().await.unwrap(),
        "Invalid test command received."
    );
}

#[tokio::test]
async fn counter_counts_every_gateway_request_and_resets() {
    let (sim, client) = (simulator().await, client());
    let session = login(&client, &sim).await;
    client
        .get(format!("{}/api/status?x=1", sim.url()))
        .send()
        .await
        .unwrap();
    get_json(
        &client,
        format!("{}/api/meters/aggregates", sim.url()),
        &session,
    )
    .await;
    get_json(
        &client,
        format!("{}/api/meters/aggregates", sim.url()),
        &session,
    )
    .await;
    let counter: Value = common::open_json(&client, format!("{}/test/counter", sim.url())).await;
    assert_eq!(counter["api_total"], json!(4));
    assert_eq!(counter["by_path"]["POST /api/login/Basic"], json!(1));
    assert_eq!(counter["by_path"]["GET /api/status?x=1"], json!(1));
    assert_eq!(counter["by_path"]["GET /api/meters/aggregates"], json!(2));
    let reset: Value =
        common::open_json(&client, format!("{}/test/counter/reset", sim.url())).await;
    assert_eq!(
        reset,
        json!({"api_total": 0, "by_path": {}, "by_query": {}})
    );
    assert_eq!(sim.counter().api_total, 0);
}

#[tokio::test]
async fn faults_status_drop_and_expired_session() {
    let (sim, client) = (simulator().await, client());
    let session = login(&client, &sim).await;
    let url = format!("{}/api/meters/aggregates", sim.url());
    let added: Value = client
        .post(format!("{}/test/faults", sim.url()))
        .json(&json!({"path": "/api/meters/aggregates", "kind": "status", "status": 429, "retry_after": 300, "times": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(added["id"].is_u64());
    let limited = client
        .get(&url)
        .header(header::COOKIE, &session.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()[header::RETRY_AFTER], "300");
    assert_eq!(
        get_json(&client, url.clone(), &session).await.0,
        StatusCode::OK
    );

    client
        .post(format!("{}/test/faults", sim.url()))
        .json(&json!({"path": "/api/meters/aggregates", "kind": "drop", "times": 1}))
        .send()
        .await
        .unwrap();
    let dropped = client
        .get(&url)
        .header(header::COOKIE, &session.cookie)
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "a dropped connection must be a transport error: {dropped:?}"
    );

    client
        .post(format!("{}/test/faults", sim.url()))
        .json(&json!({"path": "*", "kind": "expire_session", "times": 1}))
        .send()
        .await
        .unwrap();
    let (status, body) = get_json(&client, url.clone(), &session).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("Token Expired"))
    );
    assert_eq!(
        get_json(&client, url.clone(), &session).await.0,
        StatusCode::UNAUTHORIZED
    );
    let fresh = login(&client, &sim).await;
    assert_eq!(
        get_json(&client, url.clone(), &fresh).await.0,
        StatusCode::OK
    );

    client
        .post(format!("{}/test/faults", sim.url()))
        .json(&json!({"path": "/api/system_status/soe", "kind": "malformed"}))
        .send()
        .await
        .unwrap();
    let cut = client
        .get(format!("{}/api/system_status/soe", sim.url()))
        .header(header::COOKIE, &fresh.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(cut.status(), StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&cut.bytes().await.unwrap()).is_err());
    let listed: Value = common::open_json(&client, format!("{}/test/faults", sim.url())).await;
    assert_eq!(listed["faults"].as_array().map(Vec::len), Some(1));
    let cleared = client
        .delete(format!("{}/test/faults", sim.url()))
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success());

    let bad = client
        .post(format!("{}/test/faults", sim.url()))
        .json(&json!({"path": "/api/status", "kind": "status"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("status")
    );

    let counter = sim.counter();
    assert_eq!(counter.by_path["GET /api/meters/aggregates"], 6);
}

#[tokio::test]
async fn login_lockout_delay_fault_and_shutdown() {
    let (sim, client) = (simulator().await, client());
    client
        .post(format!("{}/test/config", sim.url()))
        .json(&json!({"login_lockout_after": 1, "login_lockout_secs": 120}))
        .send()
        .await
        .unwrap();
    let login_url = format!("{}/api/login/Basic", sim.url());
    let wrong = client
        .post(&login_url)
        .form(&[("username", "customer"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let locked = client
        .post(&login_url)
        .form(&[("username", "customer"), ("password", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.headers()[header::RETRY_AFTER], "120");
    // The lockout runs on simulation time.
    sim.advance_clock(121.0).unwrap();
    login(&client, &sim).await;

    sim.add_fault(powerwall_simulator::FaultSpec::delay("/api/status", 300).times(1))
        .unwrap();
    let started = std::time::Instant::now();
    let delayed = client
        .get(format!("{}/api/status", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(delayed.status(), StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    let url = sim.url();
    sim.shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let down = client.get(format!("{url}/api/status")).send().await;
    assert!(
        down.is_err(),
        "a stopped simulator must refuse connections: {down:?}"
    );
}

#[tokio::test]
async fn the_fleet_public_key_is_hosted_and_removed_through_the_control_api() {
    let (sim, client) = (simulator().await, client());
    let control = format!("{}/test/fleet/public-key", sim.url());
    let hosted = format!(
        "{}.well-known/appspecific/com.tesla.3p.public-key.pem",
        sim.cloud_url().unwrap()
    );
    let cloud = powerwall_gateway::cloud::transport::cloud_client(
        std::time::Duration::from_secs(10),
        sim.cloud_ca_pem().as_deref(),
    )
    .unwrap();
    let pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";
    let refused = client
        .post(&control)
        .body("not a key")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let answer = client.post(&control).body(pem).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let served = cloud.get(&hosted).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.text().await.unwrap(), pem);
    assert_eq!(
        client
            .get(&control)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        pem
    );
    client.delete(&control).send().await.unwrap();
    let gone = cloud.get(&hosted).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cloud_knobs_tokens_site_and_fleet_rate_limits_are_driven_through_the_control_api() {
    let (sim, client) = (simulator().await, client());
    let base = sim.url();
    let cloud = powerwall_gateway::cloud::transport::cloud_client(
        std::time::Duration::from_secs(10),
        sim.cloud_ca_pem().as_deref(),
    )
    .unwrap();
    let post = |path: &str, body: &str| {
        client
            .post(format!("{base}{path}"))
            .body(body.to_owned())
            .send()
    };

    // Knobs: a patch changes only what it names; an unknown knob is refused.
    let answer: Value = post("/test/cloud/knobs", r#"{"token_lifetime_secs": 60}"#)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["knobs"]["token_lifetime_secs"], 60);
    assert_eq!(sim.cloud_knobs().token_lifetime_secs, 60);
    let refused = post("/test/cloud/knobs", r#"{"nope": 1}"#).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    post("/test/fleet/knobs", r#"{"region": "eu"}"#)
        .await
        .unwrap();
    assert_eq!(sim.fleet_knobs().region, "eu");
    let status: Value = client
        .get(format!("{base}/test/cloud"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["fleet"]["knobs"]["region"], "eu");
    assert_eq!(status["site_id"], sim.cloud_site_id());

    // Expired tokens answer 401 on the Owner API.
    let tokens = sim.mint_cloud_tokens(true);
    let site_info = |site: u64| {
        cloud
            .get(format!(
                "{}api/1/energy_sites/{site}/site_info",
                sim.cloud_url().unwrap()
            ))
            .bearer_auth(&tokens.access_token)
            .send()
    };
    let site = sim.cloud_site_id();
    assert_eq!(site_info(site).await.unwrap().status(), StatusCode::OK);
    post("/test/cloud/expire-tokens", "").await.unwrap();
    assert_eq!(
        site_info(site).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // A renumbered site: the old id is gone.
    let renumbered: Value = post("/test/cloud/renumber-site", "")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(renumbered["site_id"], site);
    assert_eq!(renumbered["site_id"], sim.cloud_site_id());

    // A Fleet 429 for the next two answers, then normal service.
    post("/test/fleet/knobs", r#"{"region": "na"}"#)
        .await
        .unwrap();
    let limited = post(
        "/test/fleet/rate-limit",
        r#"{"style": "seconds", "secs": 7, "times": 2}"#,
    )
    .await
    .unwrap();
    assert_eq!(limited.status(), StatusCode::OK);
    let fleet_tokens = sim.mint_fleet_tokens();
    let products = || {
        cloud
            .get(format!("{}/api/1/products", sim.fleet_url("na").unwrap()))
            .bearer_auth(&fleet_tokens.access_token)
            .send()
    };
    let first = products().await.unwrap();
    assert_eq!(first.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(first.headers()[header::RETRY_AFTER], "7");
    client
        .delete(format!("{base}/test/fleet/rate-limit"))
        .send()
        .await
        .unwrap();
    assert_eq!(products().await.unwrap().status(), StatusCode::OK);
}
