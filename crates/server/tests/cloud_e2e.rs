//! The server in cloud mode (no host, a Tesla login) against the simulator's Tesla SSO and Owner
//! API personas on loopback: legacy reads equal to the model, `/cloud/*`, admin fields, control
//! writes with read-back, token expiry, a renumbered site, and single flight under a burst.

mod common;
mod conformance;

use common::*;
use conformance::{Mode, SECRET, close};
use serde_json::{Value, json};

#[tokio::test]
async fn cloud_mode_reads_equal_the_model() {
    let site = Mode::Cloud.start().await;
    let (sim, server) = (&site.sim, &site.server);
    let reading = sim.reading();
    // Power, both SOE scales, grid status, the mode names and a reserve write are checked by the
    // conformance suite (conformance_e2e). The SOE route answers what the cloud reports.
    let soe = get_json(server, "/api/system_status/soe").await;
    let percentage = soe["percentage"].as_f64().unwrap();
    let app = get_json(server, "/cloud/battery").await["percentage_charged"]
        .as_f64()
        .unwrap();
    assert!(close(percentage, app), "{percentage} {app}");
    let operation = get_json(server, "/api/operation").await;
    assert_eq!(operation["real_mode"], json!(reading.real_mode));
    assert!(close(
        operation["backup_reserve_percent"].as_f64().unwrap(),
        reading.reserve_raw_pct
    ));
    let status = get_json(server, "/api/status").await;
    let config = get_json(server, "/cloud/config").await;
    assert_eq!(status["din"], config["id"]);
    let site_name = get_json(server, "/api/site_info/site_name").await;
    assert_eq!(site_name["site_name"], config["site_name"]);
    let site_info = get_json(server, "/api/site_info").await;
    assert_eq!(site_info["site_name"], config["site_name"]);
    let system_status = get_json(server, "/api/system_status").await;
    assert!(close(
        system_status["nominal_energy_remaining"].as_f64().unwrap(),
        get_json(server, "/cloud/battery").await["energy_left"]
            .as_f64()
            .unwrap()
    ));
    let vitals = eventually("cloud vitals", || async {
        let vitals = get_json(server, "/vitals").await;
        let keys: Vec<String> = vitals.as_object()?.keys().cloned().collect();
        keys.iter()
            .any(|key| key.starts_with("STSTSM--"))
            .then_some(keys)
    })
    .await;
    assert_eq!(vitals.len(), 1, "{vitals:?}");
    // Mocked gateway paths (§3.11) and the raw cloud objects.
    assert_eq!(
        get_json(server, "/api/system_status/grid_faults").await,
        json!([])
    );
    let power = get_json(server, "/cloud/power").await;
    assert!(close(
        power["solar_power"].as_f64().unwrap(),
        reading.solar_w
    ));
    let battery = get_json(server, "/cloud/battery").await;
    assert!(battery.get("percentage_charged").is_some(), "{battery}");
    assert_eq!(
        get_json(server, "/cloud/other").await,
        json!({"error": "Use /cloud/battery, /cloud/power, /cloud/config"})
    );
    assert_eq!(
        get_json(server, "/tedapi/config").await,
        json!({"error": "TEDAPI not enabled"})
    );

    let health = get_json(server, "/health").await;
    assert_eq!(health["tedapi_mode"], "off");
    assert_eq!(health["cloud_control"], Value::Null);
    assert_eq!(health["capabilities"]["backend"], "cloud");
    assert_eq!(health["capabilities"]["reserve_scale"], "app");
    assert_eq!(health["capabilities"]["grid_export"], true);
    assert_eq!(health["transports"]["cloud_control"]["status"], "ok");
    let stats = get_json(server, "/stats").await;
    assert_eq!(stats["siteid"], json!(sim.cloud_site_id()));
    let counter = stats["counter"].as_u64().unwrap();
    assert!((1..64).contains(&counter), "{counter}");
    let gateways = get_json(server, "/api/gateways").await;
    let gateway = &gateways["default"]["gateway"];
    assert_eq!(gateway["cloud_mode"], true);
    assert_eq!(gateway["mode"], "cloud");
    assert_eq!(gateway["capabilities"]["control_enabled"], true);
    let status = get_json(server, "/control/status").await;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["capabilities"]["backend"], "cloud");
    site.shutdown().await;
}

#[tokio::test]
async fn cloud_control_writes_reach_the_model_and_read_back() {
    let site = Mode::Cloud.start().await;
    let (sim, server) = (&site.sim, &site.server);
    let form = |value: &str| format!("value={value}&token={SECRET}");

    // The reserve write and a wrong token are checked by the conformance suite.
    let (status, body) = post_form(server, "/control/mode", &form("backup")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["set_operation"]["real_mode"], "backup");
    assert_eq!(sim.reading().real_mode, "backup");
    assert_eq!(get_json(server, "/control/mode").await["mode"], "backup");
    assert_eq!(
        get_json(server, "/api/operation").await["real_mode"],
        "backup"
    );

    grid_writes_read_back(server, SECRET, "PV_ONLY", "/cloud/config").await;
    assert_eq!(count_matching(sim, "POST /api/1/energy_sites/"), 3);
    site.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_refreshed_and_reads_continue() {
    let site = Mode::Cloud.start().await;
    let (sim, server) = (&site.sim, &site.server);
    let refreshes = count_matching(sim, "POST /oauth2/v3/token");
    sim.expire_cloud_access_tokens();
    sim_post(sim, "/test/state", json!({"solar_w": 777})).await;
    conformance::wait_for_solar(server, 777.0).await;
    assert!(count_matching(sim, "POST /oauth2/v3/token") > refreshes);
    site.shutdown().await;
}

#[tokio::test]
async fn a_renumbered_site_is_recovered() {
    let site = Mode::Cloud.start().await;
    let (sim, server) = (&site.sim, &site.server);
    let old_id = sim.cloud_site_id();
    let new_id = sim.renumber_cloud_site();
    assert_ne!(old_id, new_id);
    sim_post(sim, "/test/state", json!({"solar_w": 1234})).await;
    conformance::wait_for_solar(server, 1234.0).await;
    assert_eq!(get_json(server, "/stats").await["siteid"], json!(new_id));
    site.shutdown().await;
}

#[tokio::test]
async fn a_burst_of_clients_costs_one_upstream_call_per_endpoint_and_ttl() {
    let site = Mode::Cloud.start().await;
    let (sim, server) = (&site.sim, &site.server);
    let before_info = count_matching(sim, "/site_info");
    let before_live = count_matching(sim, "/live_status");
    let paths = [
        "/cloud/config",
        "/cloud/power",
        "/api/site_info",
        "/cloud/battery",
    ];
    let requests = (0..40).map(|i| {
        let path = paths[i % paths.len()];
        async move { get(server, path).await }
    });
    let answers = futures_util::future::join_all(requests).await;
    assert!(answers.iter().all(|(status, _)| *status == 200));
    // site_info lives 59 s: the burst costs at most one call (the poller's own reads included);
    // live_status lives 5 s: at most one call per TTL window the burst overlaps.
    assert!(count_matching(sim, "/site_info") - before_info <= 1);
    assert!(count_matching(sim, "/live_status") - before_live <= 2);
    site.shutdown().await;
}
