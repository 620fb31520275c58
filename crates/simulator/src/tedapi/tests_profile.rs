//! Hardware profiles over real HTTPS on loopback: the PW3 portal probe (§2.9), the customer
//! login of TEDAPI-era gateways with the classic aggregates (§2.14), and the bearer refusals of
//! the PW2 and PW3 profiles (§10.4).

use reqwest::StatusCode;
use serde_json::Value;

use crate::{SimulatorConfig, SimulatorHandle, TedapiKnobs, TopologyKind};

const GW_PWD: &str = "ABCDEFGHIJ";

async fn start(topology: TopologyKind) -> SimulatorHandle {
    crate::start(SimulatorConfig {
        topology,
        gateway_password: GW_PWD.to_owned(),
        freeze_clock: true,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap()
}

/// A client that trusts the self-signed certificate, as gateway clients do.
fn client() -> reqwest::Client {
    powerwall_gateway::http::gateway_client(powerwall_gateway::http::GatewayHttpSettings {
        timeout: std::time::Duration::from_secs(10),
        pool_max_idle: 0,
    })
    .unwrap()
}

async fn login(sim: &SimulatorHandle, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let answer = client()
        .post(format!("{}/api/login/Basic", sim.url()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn portal(sim: &SimulatorHandle) -> StatusCode {
    client()
        .get(format!("{}/", sim.url()))
        .basic_auth("Tesla_Energy_Device", Some(GW_PWD))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn only_powerwall_2_serves_a_portal() {
    let pw2 = start(TopologyKind::Pw2).await;
    assert_eq!(portal(&pw2).await, StatusCode::OK);
    for topology in [TopologyKind::Pw3, TopologyKind::Pw3Multi] {
        let sim = start(topology).await;
        assert_eq!(portal(&sim).await, StatusCode::NOT_FOUND, "{topology}");
        sim.set_tedapi_knobs(TedapiKnobs {
            pw3_portal_status: 403,
            ..TedapiKnobs::default()
        });
        assert_eq!(portal(&sim).await, StatusCode::FORBIDDEN, "{topology}");
        // The classic API stays where it was.
        let status = client()
            .get(format!("{}/api/status", sim.url()))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_customer_login_accepts_the_last_five_characters_of_the_gateway_password() {
    let sim = start(TopologyKind::Pw3).await;
    let form = [
        ("username", "customer"),
        ("password", "FGHIJ"),
        ("email", "nobody@nowhere.com"),
        ("clientInfo", "timezone"),
    ];
    let (status, body) = login(&sim, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let aggregates: Value = client()
        .get(format!("{}/api/meters/aggregates", sim.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let energy = sim.reading().energy;
    assert_eq!(
        aggregates["site"]["energy_imported"].as_f64(),
        Some(energy.site_imported_wh)
    );
    assert_eq!(
        aggregates["solar"]["energy_exported"].as_f64(),
        Some(energy.solar_exported_wh)
    );
    // A customer token is no TEDAPI credential.
    let din = client()
        .get(format!("{}/tedapi/din", sim.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(din.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = login(&sim, &[("username", "customer"), ("password", "EFGHI")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn profiles_refuse_the_bearer_variant() {
    let sim = start(TopologyKind::Pw2).await;
    let installer = [("username", "installer"), ("password", GW_PWD)];
    let (status, body) = login(&sim, &installer).await;
    assert_eq!(status, StatusCode::OK);
    let token = body["token"].as_str().unwrap().to_owned();
    let din = |token: String| {
        let url = format!("{}/tedapi/din", sim.url());
        async move {
            client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(din(token.clone()).await, StatusCode::OK);
    // PW3 profile: bearer TEDAPI refused, Basic still fine.
    sim.set_tedapi_knobs(TedapiKnobs {
        tedapi_bearer_rejected: true,
        ..TedapiKnobs::default()
    });
    assert_eq!(din(token).await, StatusCode::FORBIDDEN);
    let basic = client()
        .get(format!("{}/tedapi/din", sim.url()))
        .basic_auth("Tesla_Energy_Device", Some(GW_PWD))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    // PW2 profile: the installer login itself is refused.
    sim.set_tedapi_knobs(TedapiKnobs {
        installer_login_rejected: true,
        ..TedapiKnobs::default()
    });
    let (status, _) = login(&sim, &installer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = login(&sim, &[("username", "customer"), ("password", "password")]).await;
    assert_eq!(status, StatusCode::OK, "customers are unaffected");
}
