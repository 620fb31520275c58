//! Consumer contract tests: what Telegraf (Powerwall-Dashboard), the power-flow web app and
//! Grafana read from the proxy, checked end to end against the simulator in local and TEDAPI modes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use powerwall_server::RunningServer;
use powerwall_simulator::SimulatorHandle;
use serde_json::Value;

/// Flattens a body as Telegraf's JSON parser does: numeric leaves only, nested keys joined with
/// `_`, array items by index, nulls (and strings and booleans) dropped. A body that is not JSON
/// fails the scrape, so it fails the test.
fn telegraf_fields(url: &str, body: &str) -> BTreeMap<String, f64> {
    let value: Value = serde_json::from_str(body)
        .unwrap_or_else(|err| panic!("{url}: Telegraf cannot parse the body ({err}): {body}"));
    telegraf_leaves(&value)
        .into_iter()
        .filter_map(|(key, leaf)| Some((key, leaf.as_f64()?)))
        .collect()
}

/// One scrape of every Telegraf URL: each must answer 200 with JSON.
async fn scrape(server: &RunningServer) -> BTreeMap<&'static str, BTreeMap<String, f64>> {
    let mut scraped = BTreeMap::new();
    for url in TELEGRAF_URLS {
        let (status, body) = get(server, url).await;
        assert_eq!(status, 200, "{url}: Telegraf drops non-2xx answers: {body}");
        scraped.insert(url, telegraf_fields(url, &body));
    }
    scraped
}

fn assert_fields(scraped: &BTreeMap<&str, BTreeMap<String, f64>>, url: &str, names: &[&str]) {
    let fields = &scraped[url];
    for name in names {
        assert!(
            fields.contains_key(*name),
            "{url}: the Dashboard reads field {name}; got {:?}",
            fields.keys().collect::<Vec<_>>()
        );
    }
}

/// The fields the Dashboard's Grafana panels query, for a Powerwall 2 site with solar.
fn assert_dashboard_fields(scraped: &BTreeMap<&str, BTreeMap<String, f64>>, with_fans: bool) {
    assert_fields(
        scraped,
        "/aggregates",
        &[
            "site_instant_power",
            "load_instant_power",
            "solar_instant_power",
            "battery_instant_power",
            "site_energy_exported",
            "site_energy_imported",
            "load_energy_imported",
            "solar_energy_exported",
            "battery_energy_exported",
            "battery_energy_imported",
        ],
    );
    assert_fields(scraped, "/soe", &["percentage"]);
    assert_fields(scraped, "/strings", &["A_Power", "A_Voltage", "A_Current"]);
    assert_fields(scraped, "/temps/pw", &["PW1_temp", "PW2_temp"]);
    assert_fields(
        scraped,
        "/freq",
        &[
            "PW1_PINV_Fout",
            "PW1_f_out",
            "PW1_p_out",
            "PW2_PINV_Fout",
            "grid_status",
        ],
    );
    assert_fields(
        scraped,
        "/pod",
        &[
            "PW1_POD_nom_energy_remaining",
            "PW1_POD_nom_full_pack_energy",
            "PW1_POD_ActiveHeating",
            "PW1_POD_ChargeComplete",
            "PW2_POD_nom_energy_remaining",
            "nominal_full_pack_energy",
            "nominal_energy_remaining",
            "backup_reserve_percent",
        ],
    );
    assert_fields(scraped, "/alerts/pw", &["SystemConnectedToGrid"]);
    if with_fans {
        assert_fields(scraped, "/fans/pw", &["FAN1_actual", "FAN1_target"]);
    }
    assert_eq!(scraped["/freq"]["grid_status"], 1.0);
    assert_eq!(scraped["/alerts/pw"]["SystemConnectedToGrid"], 1.0);
    let soe = scraped["/soe"]["percentage"];
    assert!((0.0..=100.0).contains(&soe), "{soe}");
}

/// Waits until the slower documents (vitals, system status) are in the snapshot.
async fn wait_for_all_data(server: &RunningServer) {
    eventually("temperatures and battery blocks", || async {
        let temps = get_json(server, "/temps/pw").await;
        let pod = get_json(server, "/pod").await;
        (temps.get("PW2_temp").is_some() && pod.get("PW2_POD_nom_energy_remaining").is_some())
            .then_some(())
    })
    .await;
}

async fn telegraf_contract(server: &RunningServer, with_fans: bool) {
    wait_for_all_data(server).await;
    let scraped = scrape(server).await;
    assert_dashboard_fields(&scraped, with_fans);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegraf_scrape_in_local_mode() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &[]).await;
    telegraf_contract(&server, false).await;
    // No TEDAPI in local mode: the fan scrape is an empty object (no metrics), still valid JSON.
    assert_eq!(get_json(&server, "/fans/pw").await, serde_json::json!({}));
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegraf_scrape_in_tedapi_mode() {
    let sim = simulator().await;
    let (server, _dir) = tedapi_server(&sim.host(), "ABCDEFGHIJ", &[]).await;
    telegraf_contract(&server, true).await;
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegraf_scrape_with_the_gateway_gone_is_still_json() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &["--cache-ttl", "1"]).await;
    wait_for_all_data(&server).await;
    sim.shutdown();
    // Once the data has aged out, every URL still answers 200 with JSON (no metrics to write).
    eventually("data aged out", || async {
        let body = get(&server, "/aggregates").await.1;
        (body == "null").then_some(())
    })
    .await;
    let scraped = scrape(&server).await;
    assert!(
        scraped["/aggregates"].is_empty(),
        "{:?}",
        scraped["/aggregates"]
    );
    server.shutdown().await.unwrap();
}

/// What the power-flow web app polls; each answer must be JSON with the keys it reads.
const WEB_APP_POLLS: [(&str, &[&str]); 9] = [
    (
        "/api/meters/aggregates",
        &["site", "battery", "load", "solar"],
    ),
    ("/api/system_status/soe", &["percentage"]),
    (
        "/api/system_status/grid_status",
        &["grid_status", "grid_services_active"],
    ),
    (
        "/api/sitemaster",
        &["status", "running", "connected_to_tesla"],
    ),
    ("/api/site_info/site_name", &["site_name"]),
    ("/api/powerwalls", &["powerwalls"]),
    ("/api/status", &["din", "version", "up_time_seconds"]),
    ("/api/troubleshooting/problems", &["problems"]),
    ("/api/auth/toggle/supported", &["toggle_auth_supported"]),
];

async fn web_app_contract(server: &RunningServer) {
    eventually("status and power known", || async {
        let status = get_json(server, "/api/status").await;
        let aggregates = get_json(server, "/api/meters/aggregates").await;
        (status.get("version").is_some() && aggregates.get("site").is_some()).then_some(())
    })
    .await;
    for (path, keys) in WEB_APP_POLLS {
        let body = get_json(server, path).await;
        for key in keys {
            assert!(body.get(*key).is_some(), "{path} lacks {key}: {body}");
        }
    }
    let percentage = get_json(server, "/api/system_status/soe").await["percentage"]
        .as_f64()
        .unwrap();
    let raw = get_json(server, "/soe").await["percentage"]
        .as_f64()
        .unwrap();
    // The app scale keeps the Tesla app's 5 % reserve out of the number.
    assert!(
        (percentage - (raw / 0.95 - 5.0 / 0.95)).abs() < 0.5,
        "{percentage} vs {raw}"
    );
}

async fn started(tedapi: bool) -> (SimulatorHandle, RunningServer, tempfile::TempDir) {
    let sim = simulator().await;
    let (server, dir) = if tedapi {
        tedapi_server(&sim.host(), "ABCDEFGHIJ", &[]).await
    } else {
        server(&sim.host(), "password", &[]).await
    };
    (sim, server, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_app_polling_set_in_both_modes() {
    for tedapi in [false, true] {
        let (sim, server, _dir) = started(tedapi).await;
        web_app_contract(&server).await;
        server.shutdown().await.unwrap();
        sim.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_reads_the_version_cross_origin() {
    let (sim, server, _dir) = started(false).await;
    eventually("firmware known", || async {
        let version = get_json(&server, "/version").await;
        (version["version"] != "SolarOnly").then_some(())
    })
    .await;
    let url = format!("http://{}/version", server.addr());
    let response = http()
        .get(&url)
        .header("Origin", "http://grafana.example:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "*",
        "a browser on another origin may read the answer"
    );
    let version: Value = response.json().await.unwrap();
    assert!(version["vint"].as_i64().unwrap() > 0, "{version}");

    let preflight = http()
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "http://grafana.example:3000")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    server.shutdown().await.unwrap();
    sim.shutdown();
}
