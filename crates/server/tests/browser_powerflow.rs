//! The power-flow page and the iframe example in a real browser (headless chromium over the
//! DevTools protocol) against the simulator, plus plain-HTTP checks of the same pages.
//!
//! Browser tests print "skipped: chromium not installed" and pass when `/usr/bin/chromium` is
//! missing, unless `PW_BROWSER_TESTS=required` (CI), where that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod common;

use common::{eventually, get_json, http, server, server_with, sim_post, simulator};
use powerwall_server::RunningServer;
use serde_json::{Value, json};

/// Payloads a `?style=` must never turn into script (server-api §11.4 item 18).
const XSS_STYLES: [&str; 5] = [
    "\"><script>window.__xss=1</script>",
    "</style><img src=x onerror=window.__xss=1>",
    "javascript:window.__xss=1",
    "black\"><script>window.__xss=1</script>",
    "black onload=window.__xss=1 x=",
];

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `12.34 kW` the way the page formats watts.
fn kw(watts: f64) -> String {
    format!("{:.2} kW", watts.abs() / 1000.0)
}

/// Pins the simulator's powers and waits until the server's `/aggregates` shows them.
async fn pin(sim: &powerwall_simulator::SimulatorHandle, server: &RunningServer, pins: Value) {
    sim_post(sim, "/test/state", pins.clone()).await;
    eventually("the server to show the pinned powers", || async {
        let agg = get_json(server, "/aggregates").await;
        let matches = [
            ("solar_w", "solar"),
            ("battery_w", "battery"),
            ("home_w", "load"),
        ]
        .iter()
        .all(|(pin, meter)| {
            pins.get(*pin).is_none_or(|want| {
                (agg[*meter]["instant_power"].as_f64().unwrap_or(f64::NAN) - want.as_f64().unwrap())
                    .abs()
                    < 0.5
            })
        });
        matches.then_some(())
    })
    .await;
}

/// Text of element `id` in the page (or in `context`).
fn text_of(id: &str) -> String {
    format!("document.getElementById('{id}').textContent")
}

/// Waits for the page's first complete poll.
const READY: &str = "document.documentElement.dataset.ready === 'true' || null";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerflow_renders_the_simulator_values() {
    let Some(browser) = browser::launch("powerflow_renders_the_simulator_values", &[]).await else {
        return;
    };
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &[]).await;
    pin(
        &sim,
        &server,
        json!({"solar_w": 3210, "home_w": 1500, "battery_w": -1000, "grid_status": "SystemGridConnected"}),
    )
    .await;
    let agg = get_json(&server, "/aggregates").await;
    let soe = get_json(&server, "/api/system_status/soe").await;

    let page = browser.page(600, 340).await;
    page.goto(&format!("{}/", server.base_url())).await;
    page.wait_for("the first poll", READY).await;
    for (id, meter) in [
        ("value-solar", "solar"),
        ("value-grid", "site"),
        ("value-battery", "battery"),
        ("value-home", "load"),
    ] {
        let want = kw(agg[meter]["instant_power"].as_f64().unwrap());
        assert_eq!(page.eval(&text_of(id)).await, json!(want), "{id}");
    }
    let percentage = soe["percentage"].as_f64().unwrap();
    assert_eq!(
        page.eval(&text_of("value-soe")).await,
        json!(format!("{}%", percentage.round()))
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
        page.eval("document.querySelectorAll('svg#powerflow .node').length")
            .await,
        json!(4)
    );
    assert_eq!(
        page.eval("document.documentElement.dataset.grid").await,
        json!("up")
    );
    let png = page.screenshot("powerflow-clear").await;
    assert!(
        browser::png::distinct_colours(&png, 64) > 8,
        "screenshot looks blank"
    );

    // The documentation's screenshots: the transparent grafana-dark style over a dark Grafana
    // panel's colour (what an embedding shows through it), and the white theme.
    for (style, behind) in [
        (
            "grafana-dark",
            json!({"color": {"r": 24, "g": 27, "b": 31, "a": 1}}),
        ),
        ("white", json!({})),
    ] {
        page.call("Emulation.setDefaultBackgroundColorOverride", behind)
            .await;
        page.goto(&format!("{}/?style={style}", server.base_url()))
            .await;
        page.wait_for("the first poll", READY).await;
        let png = page.screenshot(&format!("powerflow-{style}")).await;
        assert!(
            browser::png::distinct_colours(&png, 64) > 8,
            "{style}: blank"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_follow_the_sign_of_power_and_show_outages_and_staleness() {
    let Some(browser) = browser::launch("flows_follow_the_sign_of_power", &[]).await else {
        return;
    };
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &["--cache-ttl", "2"]).await;
    pin(
        &sim,
        &server,
        json!({"solar_w": 0, "home_w": 1000, "battery_w": 2000}),
    )
    .await;
    let page = browser.page(600, 340).await;
    page.goto(&format!("{}/", server.base_url())).await;
    let direction = "document.getElementById('flow-battery').dataset.direction";
    page.wait_for(
        "the battery to discharge towards the hub",
        &format!("{direction} === 'in' || null"),
    )
    .await;
    assert_eq!(
        page.eval(&text_of("caption-battery")).await,
        json!("discharging")
    );
    assert_eq!(
        page.eval("document.getElementById('flow-solar').dataset.direction")
            .await,
        json!("idle"),
        "0 W is no flow"
    );
    assert_eq!(
        page.eval("document.getElementById('flow-home').dataset.direction")
            .await,
        json!("out")
    );

    pin(&sim, &server, json!({"battery_w": -2000})).await;
    page.wait_for(
        "the battery to charge from the hub",
        &format!("{direction} === 'out' || null"),
    )
    .await;
    assert_eq!(page.eval(&text_of("value-battery")).await, json!("2.00 kW"));
    assert_eq!(
        page.eval(&text_of("caption-battery")).await,
        json!("charging")
    );

    sim_post(
        &sim,
        "/test/state",
        json!({"grid_status": "SystemIslandedActive"}),
    )
    .await;
    page.wait_for(
        "the outage to show",
        "document.documentElement.dataset.grid === 'down' || null",
    )
    .await;
    assert_eq!(
        page.eval("!document.getElementById('outage').hidden && getComputedStyle(document.getElementById('outage')).display !== 'none'").await,
        json!(true)
    );
    assert_eq!(
        page.eval("document.getElementById('flow-grid').dataset.direction")
            .await,
        json!("idle")
    );
    page.screenshot("powerflow-outage").await;

    // Every gateway request fails: after PW_CACHE_TTL the routes answer `null`, the page keeps
    // its last values and says they are stale.
    let shown = page.eval(&text_of("value-battery")).await;
    sim_post(
        &sim,
        "/test/faults",
        json!({"path": "*", "kind": "status", "status": 500}),
    )
    .await;
    page.wait_for(
        "the stale cue",
        "document.documentElement.dataset.stale === 'true' || null",
    )
    .await;
    assert_eq!(page.eval(&text_of("value-battery")).await, shown);
    let badge = page.eval(&text_of("stale")).await;
    assert!(badge.as_str().unwrap().starts_with("stale"), "{badge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn themes_apply_and_unknown_styles_fall_back_to_pw_style() {
    let Some(browser) = browser::launch("themes_apply", &[]).await else {
        return;
    };
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &["--style", "white"]).await;
    let page = browser.page(600, 340).await;
    let background = "getComputedStyle(document.body).backgroundColor";
    let class = "document.documentElement.className";

    page.goto(&format!("{}/", server.base_url())).await;
    assert_eq!(page.eval(class).await, json!("pf theme-white"));
    assert_eq!(page.eval(background).await, json!("rgb(255, 255, 255)"));

    page.goto(&format!("{}/?style=black", server.base_url()))
        .await;
    assert_eq!(page.eval(class).await, json!("pf theme-black"));
    assert_eq!(page.eval(background).await, json!("rgb(0, 0, 0)"));

    page.goto(&format!("{}/?style=clear", server.base_url()))
        .await;
    assert_eq!(page.eval(background).await, json!("rgba(0, 0, 0, 0)"));

    page.goto(&format!("{}/?style=solar", server.base_url()))
        .await;
    assert_eq!(
        page.eval("getComputedStyle(document.getElementById('node-battery')).display")
            .await,
        json!("none"),
        "the solar style hides the Powerwall"
    );

    page.goto(&format!("{}/?style=no-such-style", server.base_url()))
        .await;
    assert_eq!(page.eval(class).await, json!("pf theme-white"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_page_embeds_the_page_cross_origin() {
    // In-process frames, so the test can evaluate inside a cross-origin iframe directly.
    let flags = [
        "--disable-site-isolation-trials",
        "--disable-features=IsolateOrigins,site-per-process",
    ];
    let Some(browser) = browser::launch("example_page_embeds_the_page", &flags).await else {
        return;
    };
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &[]).await;
    pin(
        &sim,
        &server,
        json!({"solar_w": 2500, "home_w": 700, "battery_w": 0}),
    )
    .await;
    let version = get_json(&server, "/version").await["version"].clone();
    let page = browser.page(800, 600).await;
    let port = server.addr().port();
    page.goto(&format!("http://127.0.0.1:{port}/example.html"))
        .await;
    page.wait_for(
        "the firmware",
        &format!("{} === {version} || null", text_of("firmware")),
    )
    .await;
    let same_origin = page
        .frame_context(&format!("http://127.0.0.1:{port}/"))
        .await;
    page.wait_for_in(Some(same_origin), "the same-origin iframe", READY)
        .await;

    // Point the iframe at another origin (localhost vs 127.0.0.1): nothing may block framing.
    page.eval(&format!(
        "document.getElementById('powerflow').src = 'http://localhost:{port}/'"
    ))
    .await;
    let cross = page
        .frame_context(&format!("http://localhost:{port}/"))
        .await;
    page.wait_for_in(Some(cross), "the cross-origin iframe", READY)
        .await;
    assert_eq!(
        page.eval_in(Some(cross), &text_of("value-solar")).await,
        json!("2.50 kW")
    );
    assert_eq!(
        page.eval("location.origin").await,
        json!(format!("http://127.0.0.1:{port}"))
    );
    page.screenshot("example").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn style_xss_attempts_do_not_execute() {
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &[]).await;
    for payload in XSS_STYLES {
        let response = http()
            .get(format!("{}/?style={}", server.base_url(), encode(payload)))
            .send()
            .await
            .unwrap();
        let body = response.text().await.unwrap();
        assert!(body.contains("theme-clear"), "{payload}");
        for needle in ["__xss", "onerror", "javascript:", "onload"] {
            assert!(!body.contains(needle), "{payload} reflected: {needle}");
        }
    }
    let Some(browser) = browser::launch("style_xss_attempts_do_not_execute", &[]).await else {
        return;
    };
    let page = browser.page(600, 340).await;
    for payload in XSS_STYLES {
        page.goto(&format!("{}/?style={}", server.base_url(), encode(payload)))
            .await;
        page.wait_for("the first poll", READY).await;
        assert_eq!(
            page.eval("typeof window.__xss").await,
            json!("undefined"),
            "{payload}"
        );
        let html = page.eval("document.documentElement.outerHTML").await;
        assert!(!html.as_str().unwrap().contains("__xss"), "{payload}");
        assert_eq!(
            page.eval("document.documentElement.className").await,
            json!("pf theme-clear")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_works_under_a_base_path_with_and_without_the_slash() {
    let Some(browser) = browser::launch("the_page_works_under_a_base_path", &[]).await else {
        return;
    };
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &["--proxy-base-url", "/pwp"]).await;
    let page = browser.page(600, 340).await;
    for path in ["/pwp/", "/pwp", "/pwp/index.html"] {
        page.goto(&format!("{}{path}", server.base_url())).await;
        page.wait_for(&format!("values at {path}"), READY).await;
        let resources = page
            .eval("performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)")
            .await;
        let resources: Vec<&str> = resources
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            resources.contains(&"/pwp/aggregates"),
            "{path}: {resources:?}"
        );
        assert!(
            resources.contains(&"/pwp/ui/powerflow.js"),
            "{path}: {resources:?}"
        );
        assert!(
            resources.contains(&"/pwp/ui/common.js"),
            "{path}: {resources:?}"
        );
        assert!(
            resources.iter().all(|r| r.starts_with("/pwp/")),
            "{path}: {resources:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_works_over_https() {
    let Some(browser) = browser::launch(
        "the_page_works_over_https",
        &["--ignore-certificate-errors"],
    )
    .await
    else {
        return;
    };
    let sim = simulator().await;
    let (server, _dir) = server(&sim.host(), "password", &["--https", "yes"]).await;
    assert!(server.base_url().starts_with("https://"));
    let page = browser.page(600, 340).await;
    page.goto(&format!("{}/", server.base_url())).await;
    page.wait_for("values over HTTPS", READY).await;
    assert_ne!(page.eval(&text_of("value-home")).await, json!("–"));
}

mod http_pages {
    //! The same pages over plain HTTP: headers, themes, base path, and the catch-all's share.

    use super::*;

    async fn fetch(server: &RunningServer, path: &str) -> reqwest::Response {
        http()
            .get(format!("{}{path}", server.base_url()))
            .send()
            .await
            .unwrap()
    }

    fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
        response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn pages_are_themed_framable_html_and_assets_have_their_types() {
        let (server, _dir) = server_with(&["--simulate", "--style", "grafana"]).await;
        let response = fetch(&server, "/").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(header(&response, "x-frame-options"), None);
        let csp = header(&response, "content-security-policy").unwrap();
        assert!(!csp.contains("frame-ancestors"), "{csp}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("class=\"pf theme-grafana\"")
        );
        for (query, theme) in [
            ("?style=black", "black"),
            ("?style=GRAFANA-DARK", "grafana-dark"),
            ("?style=dakboard.js", "dakboard"),
            ("?style=nope", "grafana"),
            ("?style=", "grafana"),
        ] {
            let body = fetch(&server, &format!("/{query}"))
                .await
                .text()
                .await
                .unwrap();
            assert!(
                body.contains(&format!("class=\"pf theme-{theme}\"")),
                "{query}"
            );
        }
        for path in ["/index.html", "/example", "/example.html"] {
            let response = fetch(&server, path).await;
            assert_eq!(
                header(&response, "content-type"),
                Some("text/html; charset=utf-8"),
                "{path}"
            );
        }
        let example = fetch(&server, "/example.html").await.text().await.unwrap();
        assert!(example.contains("<iframe id=\"powerflow\" src=\"./\""));
        for (path, kind) in [
            ("/ui/common.js", "application/javascript; charset=utf-8"),
            ("/ui/powerflow.js", "application/javascript; charset=utf-8"),
            ("/ui/powerflow.css", "text/css; charset=utf-8"),
            ("/ui/example.js", "application/javascript; charset=utf-8"),
            ("/ui/example.css", "text/css; charset=utf-8"),
        ] {
            let response = fetch(&server, path).await;
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(header(&response, "content-type"), Some(kind), "{path}");
        }
        // Not ours: the TEDAPI-mode catch-all answers as before.
        let other = fetch(&server, "/ui/nothing.js").await;
        assert_eq!(header(&other, "content-type"), Some("text/plain"));
        assert_eq!(other.text().await.unwrap(), "Not Found");
    }

    #[tokio::test]
    async fn browser_cache_sets_max_age_on_pages_and_assets() {
        let (cached, _dir) = server_with(&["--simulate", "--browser-cache", "3600"]).await;
        let (uncached, _dir2) = server_with(&["--simulate"]).await;
        for path in [
            "/",
            "/example.html",
            "/ui/powerflow.js",
            "/ui/powerflow.css",
            "/ui/common.js",
            "/ui/console-core.js",
            "/ui/docs.js",
            "/ui/favicon.svg",
        ] {
            let response = fetch(&cached, path).await;
            assert_eq!(
                header(&response, "cache-control"),
                Some("max-age=3600"),
                "{path}"
            );
            let response = fetch(&uncached, path).await;
            assert_eq!(
                header(&response, "cache-control"),
                Some("no-cache, no-store"),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn a_base_path_gets_a_base_tag_at_every_spelling() {
        let (server, _dir) = server_with(&["--simulate", "--proxy-base-url", "/pwp/"]).await;
        for path in ["/pwp/", "/pwp", "/pwp/index.html", "/", "/pwp/example.html"] {
            let body = fetch(&server, path).await.text().await.unwrap();
            assert!(body.contains("<base href=\"/pwp/\">"), "{path}");
        }
        let asset = fetch(&server, "/pwp/ui/powerflow.js").await;
        assert_eq!(asset.status(), 200);
        let common = fetch(&server, "/pwp/ui/common.js").await;
        assert_eq!(common.status(), 200);
        assert_eq!(
            header(&common, "content-type"),
            Some("application/javascript; charset=utf-8")
        );
        let (plain, _dir2) = server_with(&["--simulate"]).await;
        let body = fetch(&plain, "/").await.text().await.unwrap();
        assert!(!body.contains("<base"), "no base tag at the root");
    }
}
