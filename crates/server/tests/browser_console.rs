//! The console (`/console`) and the API docs (`/docs`) in a real browser (headless chromium over
//! the DevTools protocol) against the simulator: live values, control round trip, a refused
//! secret, two gateways, the docs under a base path, phone width, screenshots.
//!
//! Like the power-flow tests these print "skipped: chromium not installed" and pass when
//! `/usr/bin/chromium` is missing, unless `PW_BROWSER_TESTS=required`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod common;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use common::{eventually, get_json, server, server_with, sim_json, sim_post, simulator};
use powerwall_gateway::Secret;
use powerwall_server::RunningServer;
use powerwall_server::settings::{
    Cli, ClientDefaults, ConnectionInputs, FieldNames, Settings, resolve_source,
};
use serde_json::{Value, json};

const SECRET: &str = "console-s3cret";

/// `12.34 kW` the way the console formats watts.
fn kw(watts: f64) -> String {
    format!("{:.2} kW", watts.abs() / 1000.0)
}

/// Text of element `id`.
fn text_of(id: &str) -> String {
    format!("document.getElementById('{id}').textContent")
}

/// The console has had its first summary over a live WebSocket.
const LIVE: &str = "document.documentElement.dataset.ready === 'true' \
     && document.documentElement.dataset.connection === 'live' || null";

/// Pins the simulator's powers and level and waits until the aggregate shows them.
async fn pin(sim: &powerwall_simulator::SimulatorHandle, server: &RunningServer) {
    sim_post(
        sim,
        "/test/state",
        json!({"solar_w": 3210, "home_w": 1500, "battery_w": -1000, "soe_raw_pct": 64.5,
               "grid_status": "SystemGridConnected"}),
    )
    .await;
    eventually("the aggregate to show the pinned values", || async {
        let agg = get_json(server, "/api/aggregate/").await;
        (agg["total_solar_power"] == json!(3210.0) || agg["total_solar_power"] == json!(3210))
            .then_some(())
    })
    .await;
}

/// Types `text` into the element matched by `selector`, as a user would (focus, then input).
async fn type_into(page: &browser::Page<'_>, selector: &str, text: &str) {
    page.eval(&format!(
        "(() => {{ const e = document.querySelector('{selector}'); e.value = ''; e.focus(); return true; }})()"
    ))
    .await;
    page.call("Input.insertText", json!({ "text": text })).await;
}

/// Clicks the element matched by `selector`.
async fn click(page: &browser::Page<'_>, selector: &str) {
    page.eval(&format!(
        "(() => {{ document.querySelector('{selector}').click(); return true; }})()"
    ))
    .await;
}

/// Waits for the control panel's outcome of the last write and returns (outcome, text).
async fn outcome(page: &browser::Page<'_>) -> (String, String) {
    let expression = "(() => { const r = document.getElementById('control-result'); \
        return (r.dataset.outcome === 'ok' || r.dataset.outcome === 'error') \
        ? [r.dataset.outcome, r.textContent] : null; })()";
    let value = page.wait_for("the control outcome", expression).await;
    (
        value[0].as_str().unwrap().to_owned(),
        value[1].as_str().unwrap().to_owned(),
    )
}

/// The value the console shows for a number: rounded to two decimals, no trailing zeros.
fn shown(value: f64) -> String {
    format!("{}", (value * 100.0).round() / 100.0)
}

/// Copies a screenshot into the repository's docs when `PW_UPDATE_SCREENSHOTS` is set (a plain
/// test run leaves the work tree untouched; the screenshot is in the browser artifacts anyway).
fn keep_for_docs(png: &[u8], name: &str) {
    if std::env::var_os("PW_UPDATE_SCREENSHOTS").is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    std::fs::write(dir.join(name), png).expect("screenshot written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_shows_live_values_and_round_trips_control() {
    let Some(browser) = browser::launch("console_shows_live_values", &[]).await else {
        return;
    };
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &["--control-secret", SECRET]).await;
    pin(&sim, &server).await;

    let page = browser.page(1280, 1250).await;
    page.goto(&format!("{}/console", server.base_url())).await;
    page.wait_for("the live summary", LIVE).await;
    page.wait_for(
        "the pinned solar power",
        &format!("{} === '{}' || null", text_of("value-solar"), kw(3210.0)),
    )
    .await;
    let agg = get_json(&server, "/api/aggregate/").await;
    for (id, key) in [
        ("value-solar", "total_solar_power"),
        ("value-home", "total_load_power"),
        ("value-battery", "total_battery_power"),
        ("value-grid", "total_site_power"),
    ] {
        let want = kw(agg[key].as_f64().unwrap());
        assert_eq!(page.eval(&text_of(id)).await, json!(want), "{id}");
    }
    let soe_text = page.eval(&text_of("value-soe")).await;
    let soe: f64 = soe_text
        .as_str()
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(
        (soe - agg["total_battery_percent"].as_f64().unwrap()).abs() < 0.051,
        "{soe_text} vs {}",
        agg["total_battery_percent"]
    );
    assert_eq!(
        page.eval(&text_of("caption-battery")).await,
        json!("charging")
    );
    assert_eq!(
        page.eval(&text_of("caption-grid")).await,
        json!("exporting")
    );
    assert_eq!(
        page.eval("document.getElementById('gateway-select').offsetParent === null")
            .await,
        json!(true),
        "no selector with one gateway"
    );

    // Gateway health with an upstream rate, the Powerwall table, alerts and strings.
    let row = "document.querySelector('#gateway-table tr[data-gateway=\"default\"]')";
    page.wait_for(
        "the gateway online with an upstream rate",
        &format!("{row} && {row}.dataset.state === 'online' && /req\\/min/.test({row}.textContent) || null"),
    )
    .await;
    page.wait_for(
        "the Powerwall table",
        "document.querySelectorAll('#powerwall-table tr[data-unit]').length || null",
    )
    .await;
    let temps = get_json(&server, "/temps/pw").await;
    let first_temp = page
        .eval("document.querySelector('#powerwall-table tr[data-unit=\"1\"]').children[3].textContent")
        .await;
    assert_eq!(
        first_temp,
        json!(format!("{:.1} °C", temps["PW1_temp"].as_f64().unwrap()))
    );
    let strings = get_json(&server, "/strings").await;
    assert_eq!(
        page.eval("document.querySelectorAll('#string-table tr[data-string]').length")
            .await,
        json!(strings.as_object().unwrap().len())
    );
    let alerts = get_json(&server, "/alerts/pw").await;
    assert_eq!(
        page.eval("document.querySelectorAll('#alert-list li:not(.none)').length")
            .await,
        json!(alerts.as_object().unwrap().len())
    );
    page.wait_for(
        "a trend point",
        "Number(document.getElementById('trend').dataset.points) > 0 || null",
    )
    .await;

    // Control: type the secret, set the reserve, see the read-back, confirm at the simulator.
    page.wait_for(
        "the current reserve",
        "document.getElementById('current-reserve').dataset.value || null",
    )
    .await;
    type_into(&page, "#control-secret", SECRET).await;
    type_into(&page, "#input-reserve", "60").await;
    click(&page, "#set-reserve").await;
    let (result, text) = outcome(&page).await;
    assert_eq!(result, "ok", "{text}");
    let read_back = get_json(&server, "/control/reserve").await["reserve"]
        .as_f64()
        .unwrap();
    assert_eq!(
        text,
        format!("reserve set; read back: {}", shown(read_back))
    );
    assert_eq!(
        page.eval(&text_of("current-reserve")).await,
        json!(shown(read_back))
    );
    assert_eq!(
        sim_json(&sim, "/test/state").await["reserve_raw_pct"],
        json!(60.0)
    );
    // The secret is nowhere but the field: not in the URL, not stored (the box is unticked).
    assert_eq!(
        page.eval("[location.href.includes('s3cret'), localStorage.length, sessionStorage.getItem('pw-console-secret')]")
            .await,
        json!([false, 0, null])
    );
    // A few changes of power, so the trend in the documentation's screenshot has a shape.
    for (solar, home, battery) in [(2600, 1900, -700), (2100, 2200, 100), (1500, 2400, 900)] {
        sim_post(
            &sim,
            "/test/state",
            json!({"solar_w": solar, "home_w": home, "battery_w": battery}),
        )
        .await;
        page.wait_for(
            "the new solar power",
            &format!(
                "{} === '{}' || null",
                text_of("value-solar"),
                kw(f64::from(solar))
            ),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    page.eval(
        "(() => { const r = document.getElementById('trend-range'); r.value = '900'; \
         r.dispatchEvent(new Event('change')); return true; })()",
    )
    .await;
    page.wait_for(
        "a trend of several points",
        "Number(document.getElementById('trend').dataset.points) >= 6 || null",
    )
    .await;
    page.eval("(() => { document.activeElement.blur(); window.scrollTo(0, 0); return true; })()")
        .await;
    let png = page.screenshot("console-desktop").await;
    assert!(browser::png::distinct_colours(&png, 64) > 8, "blank");
    keep_for_docs(&png, "console.png");

    // A wrong secret: refused, shown as an error, nothing written.
    click(&page, "#control-forget").await;
    type_into(&page, "#control-secret", "not-the-secret").await;
    type_into(&page, "#input-reserve", "30").await;
    click(&page, "#set-reserve").await;
    let (result, text) = outcome(&page).await;
    assert_eq!(result, "error", "{text}");
    assert!(text.contains("Control Command Token Invalid"), "{text}");
    assert_eq!(
        sim_json(&sim, "/test/state").await["reserve_raw_pct"],
        json!(60.0)
    );
    // "Remember in this tab" keeps it in sessionStorage only.
    click(&page, "#control-remember").await;
    assert_eq!(
        page.eval("[sessionStorage.getItem('pw-console-secret'), localStorage.length]")
            .await,
        json!(["not-the-secret", 0])
    );
    let log = browser.log().join("\n");
    assert!(
        !log.contains(SECRET) && !log.contains("not-the-secret"),
        "{log}"
    );

    // Phone width: one column, nothing wider than the screen.
    let phone = browser.page(390, 844).await;
    phone.goto(&format!("{}/console", server.base_url())).await;
    phone.wait_for("the live summary on a phone", LIVE).await;
    phone
        .wait_for(
            "the Powerwall table on a phone",
            "document.querySelectorAll('#powerwall-table tr[data-unit]').length || null",
        )
        .await;
    assert_eq!(
        phone
            .eval("document.documentElement.scrollWidth <= window.innerWidth")
            .await,
        json!(true)
    );
    let columns = phone
        .eval("getComputedStyle(document.querySelector('.cards')).gridTemplateColumns.split(' ').length")
        .await;
    assert_eq!(columns, json!(1));
    phone.screenshot("console-phone").await;

    // The server going away shows as disconnected.
    tokio::time::timeout(Duration::from_secs(20), server.shutdown())
        .await
        .expect("server stops in time")
        .expect("server stops");
    page.wait_for(
        "the disconnected state",
        "document.getElementById('connection').dataset.state === 'disconnected' || null",
    )
    .await;
    assert_eq!(
        page.eval(&text_of("connection")).await,
        json!("disconnected")
    );
}

/// Settings for two gateways, `default` at `first` and `cabin` at `second`, both local mode.
fn two_gateways(first: &str, second: &str, dir: &std::path::Path) -> Settings {
    let cache = dir.join(".powerwall").display().to_string();
    let cli = Cli::try_parse_from([
        "powerwall-server",
        "--email",
        "me@example.com",
        "--bind-address",
        "127.0.0.1",
        "--port",
        "0",
        "--cache-expire",
        "1",
        "--cache-file",
        &cache,
        "--host",
        first,
        "--password",
        "password",
    ])
    .unwrap();
    let mut settings = Settings::from_cli(cli).unwrap();
    let mut cabin = settings.gateways[0].clone();
    cabin.id = "cabin".to_owned();
    cabin.name = "Cabin".to_owned();
    cabin.source = resolve_source(
        &ConnectionInputs {
            host: second.to_owned(),
            password: Secret::new("password"),
            gw_pwd: Secret::new(""),
            rsa_key_path: None,
            fleetapi: false,
            email: "me@example.com".to_owned(),
            timezone: cabin.timezone.clone(),
            cache_file: Some(dir.join(".powerwall-cabin")),
            timeout: cabin.timeout,
            poll_interval: cabin.poll_interval,
            tiers: cabin.tiers,
        },
        &ClientDefaults {
            auth_mode: "cookie".to_owned(),
            tedapi_api_version: "V2024_06".to_owned(),
            tedapi_auth_mode: "basic".to_owned(),
            pool_max_idle: 2,
        },
        FieldNames::Entry,
    )
    .unwrap();
    settings.gateways.push(cabin);
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_lists_two_gateways_and_follows_the_selection() {
    let Some(browser) = browser::launch("console_lists_two_gateways", &[]).await else {
        return;
    };
    let home = simulator().await;
    let cabin = simulator().await;
    sim_post(&cabin, "/test/state", json!({"solar_w": 777})).await;
    let dir = tempfile::tempdir().unwrap();
    let server = powerwall_server::start(two_gateways(&home.host(), &cabin.host(), dir.path()))
        .await
        .unwrap();
    let page = browser.page(1280, 1400).await;
    page.goto(&format!("{}/console", server.base_url())).await;
    page.wait_for("the live summary", LIVE).await;
    page.wait_for(
        "both gateways online",
        "document.querySelectorAll('#gateway-table tr[data-state=\"online\"]').length === 2 || null",
    )
    .await;
    assert_eq!(
        page.eval(
            "[...document.querySelectorAll('#gateway-select option')].map(o => o.value).sort()"
        )
        .await,
        json!(["cabin", "default"])
    );
    assert_eq!(
        page.eval("document.getElementById('gateway-select').closest('label').hidden")
            .await,
        json!(false)
    );
    assert_eq!(
        page.eval(&text_of("summary-scope")).await,
        json!("all gateways")
    );
    // Choosing the cabin moves the detail cards and the control panel to it.
    page.eval(
        "(() => { const s = document.getElementById('gateway-select'); s.value = 'cabin'; \
         s.dispatchEvent(new Event('change')); return true; })()",
    )
    .await;
    page.wait_for(
        "the cabin's Powerwalls",
        "document.documentElement.dataset.units === 'cabin' || null",
    )
    .await;
    assert_eq!(page.eval(&text_of("control-gateway")).await, json!("cabin"));
    let cabin_strings = get_json(&server, "/gw/cabin/strings").await;
    assert_eq!(
        page.eval("document.querySelectorAll('#string-table tr[data-string]').length")
            .await,
        json!(cabin_strings.as_object().unwrap().len())
    );
    page.screenshot("console-two-gateways").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_render_every_route_under_a_base_path() {
    let Some(browser) = browser::launch("docs_render_every_route", &[]).await else {
        return;
    };
    let sim = simulator().await;
    let (server, _dir) = server_with(&[
        "--host",
        &sim.host(),
        "--password",
        "password",
        "--proxy-base-url",
        "/pwp/",
    ])
    .await;
    let doc: Value = get_json(&server, "/pwp/openapi.json").await;
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    let page = browser.page(1000, 1200).await;
    page.goto(&format!("{}/pwp/docs", server.base_url())).await;
    page.wait_for(
        "the rendered document",
        "document.documentElement.dataset.ready === 'true' || null",
    )
    .await;
    assert_eq!(
        page.eval("document.querySelectorAll('li.route').length")
            .await,
        json!(operations)
    );
    let link = page
        .eval("document.querySelector('li.route[data-path=\"/aggregates\"] a.try').href")
        .await;
    assert_eq!(link, json!(format!("{}/pwp/aggregates", server.base_url())));
    assert_eq!(
        page.eval(
            "document.querySelector('li.route[data-path=\"/ws/aggregate\"] .verb').textContent"
        )
        .await,
        json!("WS")
    );
    assert_eq!(
        page.eval("document.querySelector('li.route[data-path=\"/api/gateways/{id}\"] a.try')")
            .await,
        Value::Null,
        "no try-it link for a route with parameters"
    );
    page.screenshot("docs").await;
    let phone = browser.page(390, 844).await;
    phone.goto(&format!("{}/pwp/docs", server.base_url())).await;
    phone
        .wait_for(
            "the document on a phone",
            "document.documentElement.dataset.ready === 'true' || null",
        )
        .await;
    assert_eq!(
        phone
            .eval("document.documentElement.scrollWidth <= window.innerWidth")
            .await,
        json!(true)
    );
    phone.screenshot("docs-phone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_streams_over_https_under_a_base_path() {
    let Some(browser) = browser::launch(
        "console_streams_over_https_under_a_base_path",
        &["--ignore-certificate-errors"],
    )
    .await
    else {
        return;
    };
    let sim = simulator().await;
    let (server, _dir) = server(
        &sim.host(),
        "password",
        &["--https", "yes", "--proxy-base-url", "/pwp/"],
    )
    .await;
    assert!(server.base_url().starts_with("https://"));
    let page = browser.page(1280, 900).await;
    page.goto(&format!("{}/pwp/console", server.base_url()))
        .await;
    // `live` means the WebSocket (wss: here) delivered the summary.
    page.wait_for("the live summary over wss", LIVE).await;
    assert_ne!(page.eval(&text_of("value-home")).await, json!("–"));
    // The shared script came from under the base path too.
    assert_eq!(
        page.eval(
            "performance.getEntriesByType('resource')\
             .some(e => new URL(e.name).pathname === '/pwp/ui/common.js')"
        )
        .await,
        json!(true)
    );
}
