//! End to end: every legacy data route (CSV, JSON summaries, device data, `/pw/*`) against the
//! simulator, in local mode and in TEDAPI mode on Powerwall 2 and Powerwall 3 sites.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use powerwall_server::RunningServer;
use powerwall_simulator::{SimulatorHandle, TopologyKind};
use serde_json::{Value, json};

/// One answer with the headers the data routes promise.
struct Reply {
    status: u16,
    content_type: String,
    cors: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn fetch(server: &RunningServer, path: &str) -> Reply {
    let response = http()
        .get(format!("http://{}{}", server.addr(), path))
        .send()
        .await
        .expect("server answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, cors) = (
        header("content-type"),
        header("access-control-allow-origin"),
    );
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    Reply {
        status,
        content_type,
        cors,
        body,
    }
}

/// GETs a JSON route, checking status 200, the JSON type and CORS.
async fn json_route(server: &RunningServer, path: &str) -> Value {
    let reply = fetch(server, path).await;
    assert_eq!(reply.status, 200, "{path}");
    assert_eq!(reply.content_type, "application/json", "{path}");
    assert_eq!(reply.cors, "*", "{path}");
    reply.json()
}

/// GETs a CSV route, checking status 200, the text type and CORS.
async fn csv_route(server: &RunningServer, path: &str) -> String {
    let reply = fetch(server, path).await;
    assert_eq!(reply.status, 200, "{path}");
    assert_eq!(reply.content_type, "text/plain; charset=utf-8", "{path}");
    assert_eq!(reply.cors, "*", "{path}");
    reply.body
}

/// Pins the simulator to the values of the proxy documentation's samples (site = −2100 W).
async fn pin_documented_site(sim: &powerwall_simulator::SimulatorHandle) {
    sim_post(
        sim,
        "/test/state",
        json!({
            "solar_w": 6500, "home_w": 900, "battery_w": -3500, "soe_raw_pct": 23.975388,
            "reserve_raw_pct": 81, "real_mode": "self_consumption",
            "grid_status": "SystemGridConnected",
        }),
    )
    .await;
}

/// Waits until `/csv` shows the pinned documented values.
async fn wait_for_documented_csv(server: &RunningServer) {
    eventually("pinned values in /csv", || async {
        let line = csv_route(server, "/csv").await;
        (line == "-2100.00,900.00,6500.00,-3500.00,23.98\n").then_some(())
    })
    .await;
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

/// Checks that a pretty body is Python's `indent=4, sort_keys=True` form of its own parse.
fn assert_pretty_sorted(text: &str, path: &str) {
    let parsed: Value = serde_json::from_str(text).unwrap();
    if let Value::Object(map) = &parsed {
        let keys: Vec<&String> = map.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{path}: keys sorted");
        if !map.is_empty() {
            assert!(text.starts_with("{\n    \""), "{path}: {text:.60}");
        }
    }
    assert!(
        !text.contains(", \""),
        "{path}: pretty uses \",\" at line ends"
    );
}

/// The checks every mode shares: the JSON summary agrees with the small routes it combines.
async fn check_summaries_agree(server: &RunningServer) {
    let summary = json_route(server, "/json").await;
    let keys: Vec<&str> = summary
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "grid",
            "home",
            "solar",
            "battery",
            "soe",
            "grid_status",
            "reserve",
            "time_remaining_hours",
            "full_pack_energy",
            "energy_remaining",
            "strings"
        ]
    );
    assert_eq!(number(&summary["grid"]), -2100.0);
    assert_eq!(number(&summary["home"]), 900.0);
    assert_eq!(number(&summary["solar"]), 6500.0);
    assert_eq!(number(&summary["battery"]), -3500.0);
    let soe = json_route(server, "/soe").await;
    assert_eq!(summary["soe"], soe["percentage"]);
    assert_eq!(summary["grid_status"], json!(1));
    let reserve = json_route(server, "/pw/get_reserve").await;
    assert_eq!(summary["reserve"], reserve["reserve"]);
    assert_eq!(summary["reserve"], json!(80.0));
    let remaining = number(&summary["energy_remaining"]);
    assert!(
        (number(&summary["time_remaining_hours"]) - remaining / 900.0).abs() < 1e-9,
        "{summary}"
    );
    let time = json_route(server, "/pw/get_time_remaining").await;
    assert_eq!(time["time_remaining"], summary["time_remaining_hours"]);

    let v2 = csv_route(server, "/csv/v2?headers").await;
    assert_eq!(
        v2,
        "Grid,Home,Solar,Battery,BatteryLevel,GridStatus,Reserve\n\
         -2100.00,900.00,6500.00,-3500.00,23.98,1,80\n"
    );
    assert_eq!(csv_route(server, "/csv/v2?headers=1").await, v2);
    assert_eq!(
        csv_route(server, "/csv?headers").await,
        "Grid,Home,Solar,Battery,BatteryLevel\n-2100.00,900.00,6500.00,-3500.00,23.98\n"
    );
    assert_eq!(
        csv_route(server, "/csv/v2").await,
        "-2100.00,900.00,6500.00,-3500.00,23.98,1,80\n"
    );
}

/// Device routes shared by every mode: shapes, pretty printing, and agreement between forms.
async fn check_device_routes(server: &RunningServer) {
    let vitals_text = fetch(server, "/vitals").await.body;
    assert_pretty_sorted(&vitals_text, "/vitals");
    let vitals: Value = serde_json::from_str(&vitals_text).unwrap();
    assert_eq!(json_route(server, "/pw/vitals").await, vitals);
    assert!(
        vitals
            .as_object()
            .unwrap()
            .keys()
            .any(|id| id.starts_with("TEPOD")),
        "vitals list the battery packs"
    );

    let strings_text = fetch(server, "/strings").await.body;
    assert_pretty_sorted(&strings_text, "/strings");
    let strings: Value = serde_json::from_str(&strings_text).unwrap();
    for field in ["Connected", "Current", "Power", "State", "Voltage"] {
        assert!(strings["A"].get(field).is_some(), "A.{field}: {strings}");
    }

    let temps_text = fetch(server, "/temps").await.body;
    assert_pretty_sorted(&temps_text, "/temps");
    let temps: Value = serde_json::from_str(&temps_text).unwrap();
    assert!(!temps.as_object().unwrap().is_empty(), "{temps}");
    let numbered = json_route(server, "/temps/pw").await;
    let pw_temps: Vec<&Value> = numbered.as_object().unwrap().values().collect();
    assert_eq!(pw_temps.len(), temps.as_object().unwrap().len());
    assert!(numbered.get("PW1_temp").is_some(), "{numbered}");

    let alerts_text = fetch(server, "/alerts").await.body;
    let alerts: Vec<String> = serde_json::from_str(&alerts_text).unwrap();
    let mut sorted = alerts.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(alerts, sorted, "sorted and unique");
    assert!(alerts.contains(&"SystemConnectedToGrid".to_owned()));
    let flags = json_route(server, "/alerts/pw").await;
    let flagged: Vec<String> = flags.as_object().unwrap().keys().cloned().collect();
    assert_eq!(flagged, alerts);
    assert!(flags.as_object().unwrap().values().all(|v| *v == json!(1)));
    assert_eq!(
        json_route(server, "/pw/alerts").await,
        json!({ "alerts": alerts })
    );

    let freq = json_route(server, "/freq").await;
    assert_eq!(freq["grid_status"], json!(1));
    assert!(
        freq["PW1_name"].as_str().unwrap().starts_with("TEPINV"),
        "{freq}"
    );
    assert!(freq.get("PW1_PINV_Fout").is_some() && freq.get("PW1_f_out").is_some());

    let pod = json_route(server, "/pod").await;
    assert!(
        pod["PW1_name"].as_str().unwrap().starts_with("TEPOD"),
        "{pod}"
    );
    for flag in [
        "PW1_POD_ActiveHeating",
        "PW1_POD_enable_line",
        "PW1_backup_ready",
    ] {
        assert!(
            pod[flag] == json!(0) || pod[flag] == json!(1),
            "{flag}: {pod}"
        );
    }
    assert_eq!(pod["backup_reserve_percent"], json!(80.0));
    assert!(pod["nominal_full_pack_energy"].is_number(), "{pod}");
    assert_eq!(
        pod["time_remaining_hours"],
        json_route(server, "/json").await["time_remaining_hours"]
    );
}

/// Every `/pw/<name>` answers its documented shape; names must match exactly.
async fn check_convenience_routes(server: &RunningServer) {
    let aggregates = json_route(server, "/pw/aggregates").await;
    for name in PW_NAMES {
        let body = json_route(server, &format!("/pw/{name}")).await;
        assert!(body.get("error").is_none(), "/pw/{name}: {body}");
        match name {
            "site" | "grid" => assert_eq!(body, aggregates["site"], "{name}"),
            "load" | "home" => assert_eq!(body, aggregates["load"], "{name}"),
            "solar" | "battery" => assert_eq!(body, aggregates[name], "{name}"),
            "level" => assert_eq!(number(&body["level"]), 23.975388),
            "power" => assert_eq!(number(&body["site"]), -2100.0),
            "din" | "version" | "site_name" => assert!(body[name].is_string(), "{body}"),
            // A Powerwall 3 gateway reports no uptime over TEDAPI: the documented `null`.
            "uptime" => assert!(body[name].is_string() || body[name].is_null(), "{body}"),
            "is_connected" => assert_eq!(body, json!({"is_connected": true})),
            "get_mode" => assert_eq!(body, json!({"mode": "self_consumption"})),
            "get_reserve" => assert_eq!(body, json!({"reserve": 80.0})),
            "grid_status" => assert_eq!(body["grid_status"], "SystemGridConnected"),
            "status" => assert!(body["din"].is_string(), "{body}"),
            "system_status" => assert!(body["battery_blocks"].is_array(), "{body}"),
            _ => assert!(body.is_object(), "/pw/{name}: {body}"),
        }
    }
    for bad in ["/pw/unknown", "/pw/level?x=1", "/pw/level/extra"] {
        assert_eq!(
            json_route(server, bad).await,
            json!({"error": "Invalid Request"}),
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_serves_every_data_route() {
    let sim = simulator().await;
    pin_documented_site(&sim).await;
    let (server, _dir) = server(&sim.host(), "password", &[]).await;
    wait_for_documented_csv(&server).await;
    // Vitals, reserve and the slower documents arrive within the first polls.
    eventually("vitals and reserve", || async {
        let pod = json_route(&server, "/pod").await;
        (pod.get("PW1_name").is_some() && pod["backup_reserve_percent"] == json!(80.0))
            .then_some(())
    })
    .await;

    check_summaries_agree(&server).await;
    check_device_routes(&server).await;
    check_convenience_routes(&server).await;

    assert_eq!(json_route(&server, "/fans").await, json!({}));
    assert_eq!(json_route(&server, "/fans/pw").await, json!({}));
    let freq = json_route(&server, "/freq").await;
    assert!(freq.get("ISLAND_FreqL1_Main").is_some(), "{freq}");
    assert!(freq.get("METER_X_CTA_InstRealPower").is_some(), "{freq}");
    assert_eq!(
        json_route(&server, "/version").await["version"],
        "23.28.2 27626f98"
    );
    assert_eq!(
        json_route(&server, "/api/meters/aggregates").await,
        json_route(&server, "/aggregates").await
    );

    // Grid states: islanded is 0 in CSV and /freq; a transition is 0 in CSV and -1 in /freq.
    sim_post(
        &sim,
        "/test/state",
        json!({"grid_status": "SystemIslandedActive"}),
    )
    .await;
    eventually("islanded in /freq", || async {
        (json_route(&server, "/freq").await["grid_status"] == json!(0)).then_some(())
    })
    .await;
    assert!(csv_route(&server, "/csv/v2").await.ends_with(",0,80\n"));
    assert_eq!(json_route(&server, "/json").await["grid_status"], json!(0));
    sim_post(
        &sim,
        "/test/state",
        json!({"grid_status": "SystemTransitionToGrid"}),
    )
    .await;
    eventually("syncing in /freq", || async {
        (json_route(&server, "/freq").await["grid_status"] == json!(-1)).then_some(())
    })
    .await;
    assert!(csv_route(&server, "/csv/v2").await.ends_with(",0,80\n"));
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_solar_and_site_threshold_apply_to_csv_and_json_not_pw_aggregates() {
    let sim = simulator().await;
    sim_post(
        &sim,
        "/test/state",
        json!({"solar_w": -50, "home_w": 900, "battery_w": 0, "soe_raw_pct": 50}),
    )
    .await;
    let (server, _dir) = server(
        &sim.host(),
        "password",
        &["--neg-solar", "no", "--site-zero-threshold", "5000"],
    )
    .await;
    // Site = 900 - 0 - (-50) = 950 W, inside the 5000 W threshold.
    let line = eventually("negative solar in /csv", || async {
        let line = csv_route(&server, "/csv").await;
        line.starts_with("0.00,950.00,0.00,").then_some(line)
    })
    .await;
    assert_eq!(line, "0.00,950.00,0.00,0.00,50.00\n");
    let summary = json_route(&server, "/json").await;
    assert_eq!(number(&summary["home"]), 950.0);
    assert_eq!(summary["solar"], json!(0));
    assert_eq!(summary["grid"], json!(0));
    let raw = json_route(&server, "/pw/aggregates").await;
    assert_eq!(number(&raw["solar"]["instant_power"]), -50.0);
    assert_eq!(number(&raw["load"]["instant_power"]), 900.0);
    let processed = json_route(&server, "/aggregates").await;
    assert_eq!(processed["solar"]["instant_power"], json!(0));
    assert_eq!(processed["site"]["instant_power"], json!(0));
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_down_gives_every_no_data_form() {
    let sim = simulator().await;
    pin_documented_site(&sim).await;
    let (server, _dir) = server(&sim.host(), "password", &["--graceful-degradation", "no"]).await;
    wait_for_documented_csv(&server).await;
    sim.shutdown();
    eventually("zeros in /csv", || async {
        (csv_route(&server, "/csv").await == "0.00,0.00,0.00,0.00,0.00\n").then_some(())
    })
    .await;
    for (path, body) in [
        ("/aggregates", "null"),
        ("/api/meters/aggregates", "null"),
        ("/soe", "null"),
        ("/api/system_status/soe", "null"),
        ("/api/system_status/grid_status", "null"),
        ("/freq", r#"{"grid_status": null}"#),
        ("/temps", "{}"),
        ("/temps/pw", "{}"),
        (
            "/pw/power",
            r#"{"site": 0.0, "solar": 0.0, "battery": 0.0, "load": 0.0}"#,
        ),
        ("/pw/level", r#"{"level": null}"#),
        ("/pw/aggregates", "null"),
        ("/pw/get_time_remaining", r#"{"time_remaining": null}"#),
    ] {
        let reply = fetch(&server, path).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, body), "{path}");
        assert_eq!(reply.content_type, "application/json", "{path}");
    }
    // The vitals document may outlive the power data by one poll; it goes to null as well.
    eventually("null /vitals", || async {
        (fetch(&server, "/vitals").await.body == "null").then_some(())
    })
    .await;
    let summary = json_route(&server, "/json").await;
    for key in [
        "grid",
        "home",
        "solar",
        "battery",
        "soe",
        "grid_status",
        "time_remaining_hours",
    ] {
        assert_eq!(summary[key], json!(0), "{key}: {summary}");
    }
    server.shutdown().await.unwrap();
}

/// A TEDAPI-mode server on a simulator of `topology` with the documented site pinned, once
/// vitals, fans and the reserve are in, after the checks every topology shares.
async fn tedapi_site_checked(
    topology: TopologyKind,
) -> (SimulatorHandle, RunningServer, tempfile::TempDir) {
    let sim = simulator_with(topology).await;
    pin_documented_site(&sim).await;
    let (server, dir) = tedapi_server(&sim.host(), "ABCDEFGHIJ", &[]).await;
    wait_for_documented_csv(&server).await;
    eventually("vitals, fans and reserve", || async {
        let pod = json_route(&server, "/pod").await;
        let fans = json_route(&server, "/fans").await;
        (pod.get("PW1_name").is_some()
            && pod["backup_reserve_percent"] == json!(80.0)
            && !fans.as_object().unwrap().is_empty())
        .then_some(())
    })
    .await;
    check_summaries_agree(&server).await;
    check_device_routes(&server).await;
    check_convenience_routes(&server).await;
    (sim, server, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tedapi_powerwall_2_site_serves_every_data_route() {
    let (sim, server, _dir) = tedapi_site_checked(TopologyKind::Pw2).await;

    let fans = json_route(&server, "/fans").await;
    let devices: Vec<&String> = fans.as_object().unwrap().keys().collect();
    assert!(devices.iter().all(|id| id.starts_with("PVAC--")), "{fans}");
    let numbered = json_route(&server, "/fans/pw").await;
    let mut sorted = devices.clone();
    sorted.sort();
    assert_eq!(
        numbered["FAN1_actual"],
        fans[sorted[0].as_str()]["PVAC_Fan_Speed_Actual_RPM"],
        "{numbered}"
    );
    assert!(numbered.get("FAN1_target").is_some(), "{numbered}");
    assert!(
        numbered.get("FAN1_A_actual").is_none(),
        "PW2 has no PCH fans"
    );
    let temps = json_route(&server, "/temps").await;
    assert!(
        temps
            .as_object()
            .unwrap()
            .keys()
            .all(|id| id.starts_with("TETHC--")),
        "{temps}"
    );
    server.shutdown().await.unwrap();
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tedapi_powerwall_3_site_serves_every_data_route() {
    let (sim, server, _dir) = tedapi_site_checked(TopologyKind::Pw3).await;

    let fans = json_route(&server, "/fans").await;
    let mut devices: Vec<&String> = fans.as_object().unwrap().keys().collect();
    devices.sort();
    assert!(
        devices.iter().any(|id| id.starts_with("TEPINV--")),
        "{fans}"
    );
    let numbered = json_route(&server, "/fans/pw").await;
    for (index, id) in devices.iter().enumerate() {
        let n = index + 1;
        assert!(
            numbered.get(format!("FAN{n}_actual")).is_some(),
            "{numbered}"
        );
        assert!(
            numbered.get(format!("FAN{n}_target")).is_some(),
            "{numbered}"
        );
        if id.starts_with("TEPINV--") {
            assert_eq!(
                numbered[format!("FAN{n}_A_actual")],
                fans[id.as_str()]["PCH_FanSpeed_A"],
                "{numbered}"
            );
            assert_eq!(
                numbered[format!("FAN{n}_B_duty")],
                fans[id.as_str()]["PCH_FanDuty_B"],
                "{numbered}"
            );
        }
    }
    // One Powerwall 3 with an expansion: two packs, both listed by /pod.
    let pod = json_route(&server, "/pod").await;
    assert!(
        pod["PW2_name"].as_str().unwrap().starts_with("TEPOD"),
        "{pod}"
    );
    server.shutdown().await.unwrap();
    sim.shutdown();
}
