//! Three simulated gateways behind one server (issue 5): a Powerwall 2 over the local API, a
//! Powerwall 3 and a three-unit Powerwall 3 site over TEDAPI. Aggregates are checked against the
//! simulators' own numbers; one gateway dies and comes back; one turns slow; the others' data
//! keeps flowing. Plus the per-gateway routes, control and WebSockets.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use common::*;
use futures_util::StreamExt;
use powerwall_server::RunningServer;
use powerwall_server::settings::{Cli, Settings};
use powerwall_simulator::{SimulatorConfig, SimulatorHandle, TopologyKind};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Pins for each site: (solar, home, battery) in W and raw SOE %.
const PINS: [(i64, i64, i64, f64); 3] = [
    (3000, 1200, -1000, 60.0),
    (5000, 800, 2000, 35.0),
    (0, 2500, 1500, 80.0),
];

struct Site {
    id: &'static str,
    topology: TopologyKind,
    sim: SimulatorHandle,
}

async fn start_sim(topology: TopologyKind, bind: SocketAddr) -> SimulatorHandle {
    // The old listener of a restarted simulator may take a moment to release its port.
    for _ in 0..50 {
        let config = SimulatorConfig {
            bind,
            topology,
            freeze_clock: true,
            ..SimulatorConfig::default()
        };
        if let Ok(sim) = powerwall_simulator::start(config).await {
            return sim;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("simulator cannot bind {bind}");
}

async fn pin(sim: &SimulatorHandle, index: usize) {
    let (solar, home, battery, soe) = PINS[index];
    sim_post(
        sim,
        "/test/state",
        json!({
            "solar_w": solar, "home_w": home, "battery_w": battery, "soe_raw_pct": soe,
            "grid_status": "SystemGridConnected",
        }),
    )
    .await;
}

async fn sites() -> Vec<Site> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut sites = Vec::new();
    for (index, (id, topology)) in [
        ("home", TopologyKind::Pw2),
        ("cabin", TopologyKind::Pw3),
        ("barn", TopologyKind::Pw3Multi),
    ]
    .into_iter()
    .enumerate()
    {
        let sim = start_sim(topology, any).await;
        pin(&sim, index).await;
        sites.push(Site { id, topology, sim });
    }
    sites
}

/// `PW_GATEWAYS` for the three sites: home over the local API, the others over TEDAPI.
fn gateways_json(sites: &[Site]) -> String {
    let entries: Vec<Value> = sites
        .iter()
        .map(|site| match site.id {
            "home" => json!({"id": "home", "name": "Home", "host": site.sim.host(),
                             "password": "password"}),
            id => json!({"id": id, "host": site.sim.host(), "gw_pwd": "ABCDEFGHIJ",
                         "timezone": "Europe/Berlin"}),
        })
        .collect();
    Value::Array(entries).to_string()
}

async fn multi_server(sites: &[Site], extra: &[&str]) -> (RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache_file = dir.path().join(".powerwall").display().to_string();
    let gateways = gateways_json(sites);
    let mut args = vec![
        "powerwall-server",
        "--bind-address",
        "127.0.0.1",
        "--port",
        "0",
        "--cache-expire",
        "1",
        "--cache-ttl",
        "3",
        "--timeout",
        "2",
        "--cache-file",
        &cache_file,
        "--gateways",
        &gateways,
    ];
    args.extend_from_slice(extra);
    let settings =
        Settings::from_cli(Cli::try_parse_from(args).expect("cli parses")).expect("valid");
    let server = powerwall_server::start(settings).await.expect("starts");
    (server, dir)
}

/// The simulators' own totals over `included` sites: powers, and energy-weighted raw SOE.
async fn expected_totals(sites: &[Site], included: &[usize]) -> Value {
    let (mut solar, mut home, mut battery, mut site_w) = (0.0, 0.0, 0.0, 0.0);
    let (mut remaining, mut full) = (0.0, 0.0);
    for &index in included {
        let state = sim_json(&sites[index].sim, "/test/state").await;
        solar += state["solar_w"].as_f64().unwrap();
        home += state["home_w"].as_f64().unwrap();
        battery += state["battery_w"].as_f64().unwrap();
        site_w += state["site_w"].as_f64().unwrap();
        remaining += state["nominal_energy_remaining_wh"].as_f64().unwrap();
        full += state["nominal_full_pack_energy_wh"].as_f64().unwrap();
    }
    json!({"solar": solar, "load": home, "battery": battery, "site": site_w,
           "soe_raw": 100.0 * remaining / full, "capacity": full})
}

fn close(actual: &Value, expected: f64, tolerance: f64, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {actual}"));
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} vs {expected}"
    );
}

/// Waits until the aggregate includes exactly `included` and its totals match the simulators.
async fn wait_for_totals(server: &RunningServer, sites: &[Site], included: &[usize]) -> Value {
    let expected = expected_totals(sites, included).await;
    let ids: Vec<&str> = included.iter().map(|&i| sites[i].id).collect();
    let aggregate = eventually("aggregate over the expected gateways", || async {
        let aggregate = get_json(server, "/api/aggregate/").await;
        let gateways = aggregate["gateways"].as_object()?;
        let mut keys: Vec<&str> = gateways.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = ids.clone();
        want.sort_unstable();
        let settled = keys == want
            && aggregate["total_solar_power"].as_f64() == expected["solar"].as_f64()
            && aggregate["total_load_power"].as_f64() == expected["load"].as_f64();
        settled.then_some(aggregate)
    })
    .await;
    close(
        &aggregate["total_site_power"],
        expected["site"].as_f64().unwrap(),
        0.5,
        "site",
    );
    close(
        &aggregate["total_grid_power"],
        expected["site"].as_f64().unwrap(),
        0.5,
        "grid",
    );
    close(
        &aggregate["total_battery_power"],
        expected["battery"].as_f64().unwrap(),
        0.5,
        "battery",
    );
    close(
        &aggregate["total_battery_percent_raw"],
        expected["soe_raw"].as_f64().unwrap(),
        0.05,
        "energy-weighted raw SOE",
    );
    let scaled = ((expected["soe_raw"].as_f64().unwrap() - 5.0) / 0.95).clamp(0.0, 100.0);
    close(
        &aggregate["total_battery_percent"],
        scaled,
        0.06,
        "app-scale SOE",
    );
    close(
        &aggregate["total_battery_capacity"],
        expected["capacity"].as_f64().unwrap(),
        1.0,
        "capacity",
    );
    aggregate
}

/// The gateway's data time, as `/api/gateways/<id>` reports it.
async fn last_updated(server: &RunningServer, id: &str) -> f64 {
    let status = get_json(server, &format!("/api/gateways/{id}")).await;
    status["last_updated"].as_f64().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_gateways_aggregate_survive_an_outage_and_stay_isolated() {
    let mut sites = sites().await;
    let (server, _dir) = multi_server(&sites, &[]).await;

    // All three: totals equal the simulators' numbers; SOE is weighted by pack energy.
    let aggregate = wait_for_totals(&server, &sites, &[0, 1, 2]).await;
    assert_eq!(aggregate["num_gateways"], 3);
    assert_eq!(aggregate["grid_status"], "UP");
    let mean_soe = PINS.iter().map(|pin| pin.3).sum::<f64>() / 3.0;
    let weighted = aggregate["total_battery_percent_raw"].as_f64().unwrap();
    assert!(
        (weighted - mean_soe).abs() > 0.5,
        "weighted {weighted} is not the plain mean"
    );
    assert!(aggregate["timestamp"].is_number(), "{aggregate}");

    // Per-gateway routes agree with each simulator.
    let map = get_json(&server, "/api/gateways/").await;
    assert_eq!(map.as_object().unwrap().len(), 3, "{map}");
    for (index, site) in sites.iter().enumerate() {
        let aggregates = get_json(&server, &format!("/api/gateways/{}/aggregates", site.id)).await;
        assert_eq!(
            aggregates["solar"]["instant_power"], PINS[index].0,
            "{}",
            site.id
        );
        let legacy = get_json(&server, &format!("/gw/{}/aggregates", site.id)).await;
        assert_eq!(
            legacy["load"]["instant_power"], PINS[index].1,
            "{}",
            site.id
        );
        let status = &map[site.id];
        assert_eq!(status["online"], true, "{status}");
        assert_eq!(status["gateway"]["id"], site.id);
    }
    let (status, body) = get(&server, "/api/gateways/nowhere").await;
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"detail":"Gateway nowhere not found"}"#)
    );
    // The legacy routes serve the default gateway (the first one here).
    let legacy = get_json(&server, "/aggregates").await;
    assert_eq!(legacy["solar"]["instant_power"], PINS[0].0);

    // One gateway's grid goes down: the combined grid status is the worst state.
    sim_post(
        &sites[1].sim,
        "/test/state",
        json!({"grid_status": "SystemIslandedActive"}),
    )
    .await;
    eventually("combined grid status DOWN", || async {
        let aggregate = get_json(&server, "/api/aggregate/").await;
        (aggregate["grid_status"] == "DOWN").then_some(())
    })
    .await;
    sim_post(
        &sites[1].sim,
        "/test/state",
        json!({"grid_status": "SystemGridConnected"}),
    )
    .await;

    // The barn dies and the cabin turns slow (every request 5 s, PW_TIMEOUT 2 s).
    let barn_addr: SocketAddr = sites[2].sim.host().parse().unwrap();
    let barn = sites.remove(2);
    barn.sim.shutdown();
    sim_post(
        &sites[1].sim,
        "/test/faults",
        json!({"path": "*", "kind": "delay", "delay_ms": 5000}),
    )
    .await;
    // Within PW_CACHE_TTL the barn is degraded and still counted; then it drops out.
    eventually("barn excluded after its data expired", || async {
        let aggregate = get_json(&server, "/api/aggregate/").await;
        let included = aggregate["gateways"].as_object()?;
        (!included.contains_key("barn")
            && aggregate["gateways_summary"]["barn"]["included"] == false)
            .then_some(())
    })
    .await;
    // Isolation: home keeps fresh data while the cabin is slow and the barn is gone.
    let mut seen = vec![last_updated(&server, "home").await];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while seen.len() < 4 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = last_updated(&server, "home").await;
        if now > *seen.last().unwrap() {
            seen.push(now);
        }
    }
    assert!(seen.len() >= 4, "home's data stopped moving: {seen:?}");
    let status = get_json(&server, "/api/gateways/home").await;
    assert_eq!(status["online"], true, "{status}");
    let aggregate = get_json(&server, "/api/aggregate/").await;
    assert_eq!(
        aggregate["gateways_summary"]["home"]["included"], true,
        "{aggregate}"
    );
    let barn_status = get_json(&server, "/api/gateways/barn").await;
    assert_eq!(barn_status["online"], false, "{barn_status}");
    assert!(barn_status["error"].is_string(), "{barn_status}");

    // The cabin recovers, the barn comes back on the same address: all three again.
    sim_get(&sites[1].sim, "/test/faults/clear").await;
    let sim = start_sim(barn.topology, barn_addr).await;
    pin(&sim, 2).await;
    sites.push(Site {
        id: "barn",
        topology: barn.topology,
        sim,
    });
    let aggregate = wait_for_totals(&server, &sites, &[0, 1, 2]).await;
    assert_eq!(aggregate["num_online"], 3, "{aggregate}");
    server.shutdown().await.unwrap();
}

async fn ws_text(
    stream: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => return serde_json::from_str(&text).ok(),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn websockets_stream_state_and_changes() {
    let sites = sites().await;
    let (server, _dir) = multi_server(&sites[..2], &["--ws-max-clients", "3"]).await;
    let base = format!("ws://{}", server.addr());
    wait_for_totals(&server, &sites, &[0, 1]).await;

    // State on connect, then an update when a site changes.
    let (mut aggregate, _) = tokio_tungstenite::connect_async(format!("{base}/ws/aggregate"))
        .await
        .expect("connects");
    let first = ws_text(&mut aggregate).await.expect("state on connect");
    assert_eq!(first["num_gateways"], 2);
    assert!(first["gateways"]["cabin"].is_object(), "{first}");
    sim_post(&sites[1].sim, "/test/state", json!({"solar_w": 4321})).await;
    let changed = loop {
        let message = ws_text(&mut aggregate).await.expect("an update");
        if message["gateways"]["cabin"]["data"]["aggregates"]["solar"]["instant_power"] == 4321 {
            break message;
        }
    };
    assert_eq!(
        changed["total_solar_power"].as_f64(),
        Some(f64::from(4321 + 3000))
    );

    // The summary view leaves the per-gateway statuses out; one gateway's stream.
    let (mut summary, _) =
        tokio_tungstenite::connect_async(format!("{base}/ws/aggregate?view=summary"))
            .await
            .expect("connects");
    let message = ws_text(&mut summary).await.expect("summary");
    assert!(message.get("gateways").is_none(), "{message}");
    assert!(message["gateways_summary"]["home"].is_object(), "{message}");
    let (mut cabin, _) = tokio_tungstenite::connect_async(format!("{base}/ws/gateway/cabin"))
        .await
        .expect("connects");
    let message = ws_text(&mut cabin).await.expect("gateway status");
    assert_eq!(message["gateway"]["id"], "cabin");

    // The client cap (3 here) refuses the fourth client with 503.
    match tokio_tungstenite::connect_async(format!("{base}/ws/gateway/home")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("a fourth client was not refused: {:?}", other.map(|_| ())),
    }
    drop(summary);
    drop(cabin);

    // An unknown gateway gets one error message and a close (once slots are free again).
    let unknown = eventually("a free slot", || async {
        tokio_tungstenite::connect_async(format!("{base}/ws/gateway/nowhere"))
            .await
            .ok()
    })
    .await;
    let (mut unknown, _) = unknown;
    assert_eq!(
        ws_text(&mut unknown).await,
        Some(json!({"error": "Gateway not found"}))
    );
    assert_eq!(ws_text(&mut unknown).await, None, "closed after the error");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn websockets_and_gateway_routes_work_under_a_base_path() {
    let sites = sites().await;
    let (server, _dir) = multi_server(&sites[..1], &["--proxy-base-url", "/pwp/"]).await;
    wait_for_totals(&server, &sites, &[0]).await;
    let url = format!("ws://{}/pwp/ws/gateway/home", server.addr());
    let (mut stream, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    let message = ws_text(&mut stream).await.expect("status");
    assert_eq!(message["gateway"]["id"], "home");
    let aggregate = get_json(&server, "/pwp/api/aggregate/power").await;
    assert_eq!(aggregate["solar"].as_f64(), Some(PINS[0].0 as f64));
    let legacy = get_json(&server, "/pwp/gw/home/soe").await;
    assert!(legacy["percentage"].is_number(), "{legacy}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_gateway_control_and_api_access() {
    let sites = sites().await;
    let secret = "multi-secret";
    let (server, _dir) = multi_server(&sites[..2], &["--control-secret", secret]).await;
    wait_for_totals(&server, &sites, &[0, 1]).await;
    let http = http();
    let url = |path: &str| format!("http://{}{path}", server.addr());

    // Per-gateway control writes reach only that gateway, with the same token rules.
    let wrong = http
        .post(url("/api/gateways/home/control/reserve"))
        .form(&[("value", "42"), ("token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let cabin_before = sim_json(&sites[1].sim, "/test/state").await["reserve_raw_pct"].clone();
    let written = http
        .post(url("/api/gateways/home/control/reserve"))
        .form(&[("value", "42"), ("token", secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200, "{:?}", written.text().await);
    let home = sim_json(&sites[0].sim, "/test/state").await;
    assert_eq!(home["reserve_raw_pct"].as_f64(), Some(42.0), "{home}");
    let cabin_after = sim_json(&sites[1].sim, "/test/state").await["reserve_raw_pct"].clone();
    assert_eq!(cabin_before, cabin_after, "the other gateway is untouched");
    let (_, unknown) = get(&server, "/api/gateways/nowhere/control/reserve").await;
    assert!(unknown.contains("not found"), "{unknown}");

    // The power-flow page of one gateway polls that gateway's routes (its base is the prefix).
    let (code, page) = get(&server, "/gw/cabin/").await;
    assert_eq!(code, 200);
    assert!(page.contains(r#"<base href="/gw/cabin/">"#), "{page}");
    let (code, script) = get(&server, "/gw/cabin/ui/powerflow.js").await;
    assert_eq!(code, 200, "{script}");

    // Gateway API reads follow the legacy allowlist; writes need the token first.
    let status = get_json(&server, "/api/gateways/home/api/status").await;
    assert!(status["din"].is_string(), "{status}");
    let (code, _) = get(&server, "/api/gateways/home/api/customer/registration").await;
    assert_eq!(code, 404);
    let (code, _) = get(&server, "/api/gateways/home/api/devices/vitals").await;
    assert_eq!(code, 404);
    let post = |auth: Option<&str>, body: &str| {
        let mut request = http
            .post(url("/api/gateways/home/api/operation"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    assert_eq!(post(None, "{}").await.unwrap().status(), 401);
    assert_eq!(post(Some("Bearer nope"), "{}").await.unwrap().status(), 401);
    assert_eq!(post(Some(secret), "[1]").await.unwrap().status(), 422);
    let answer = post(
        Some(&format!("Bearer {secret}")),
        r#"{"real_mode": "backup", "backup_reserve_percent": 30}"#,
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
    let home = sim_json(&sites[0].sim, "/test/state").await;
    assert_eq!(home["real_mode"], "backup", "{home}");
    server.shutdown().await.unwrap();
}
