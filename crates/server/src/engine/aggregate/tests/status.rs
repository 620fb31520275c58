//! Tests of the per-gateway status and of what every body must never depend on or contain.

use std::time::Duration;

use powerwall_gateway::AccessMode;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::*;
use crate::engine::render::route_json;
use crate::engine::render::test_support::{fixture, presentation};

#[test]
fn per_gateway_soe_is_clamped_app_scale() {
    let base = Instant::now();
    let soe_of = |raw: f64| {
        let (statuses, _) = run(
            &[connected("a", base, 0, site([0.0; 4], None, Some(raw), UP))],
            base,
        );
        (
            statuses[0]["data"]["soe_raw"].clone(),
            statuses[0]["data"]["soe"].clone(),
        )
    };
    assert_eq!(soe_of(85.5), (json!(85.5), json!(84.74)));
    assert_eq!(soe_of(3.0), (json!(3.0), json!(0.0)));
    assert_eq!(soe_of(100.0), (json!(100.0), json!(100.0)));
}

#[test]
fn status_before_the_first_poll() {
    let gw = Gw {
        info: info("default", "10.42.0.2:443", AccessMode::TedapiHybrid),
        snapshot: Snapshot::empty(),
    };
    let (statuses, bodies) = run(std::slice::from_ref(&gw), Instant::now());
    let status = &statuses[0];
    assert_eq!(status["online"], json!(false));
    assert_eq!(status["data"], Value::Null);
    assert_eq!(status["error"], json!("Initializing..."));
    assert_eq!(status["last_updated"], Value::Null);
    let gateway = &status["gateway"];
    assert_eq!(gateway["host"], json!("10.42.0.2"));
    assert_eq!(gateway["port"], json!(443));
    assert_eq!(gateway["tedapi_expected"], json!(true));
    assert_eq!(gateway["mode"], json!("tedapi-hybrid"));
    assert_eq!(gateway["type"], json!("powerwall"));
    assert_eq!(gateway["poll_interval_s"], json!(5.0));
    assert_eq!(
        bodies.full["gateways_summary"]["default"]["included"],
        json!(false)
    );
}

#[test]
fn targets_split_into_host_and_port() {
    use crate::engine::aggregate::status::split_target;
    assert_eq!(split_target("10.0.0.5"), ("10.0.0.5".into(), None));
    assert_eq!(
        split_target("10.0.0.5:4443"),
        ("10.0.0.5".into(), Some(4443))
    );
    assert_eq!(
        split_target("[fe80::1]:443"),
        ("[fe80::1]".into(), Some(443))
    );
    assert_eq!(split_target("fe80::1"), ("fe80::1".into(), None));
    assert_eq!(split_target("gw.local:x"), ("gw.local:x".into(), None));
}

#[test]
fn device_data_matches_the_legacy_routes() {
    let base = Instant::now();
    let vitals = fixture("local/simulator/api.devices.vitals.decoded.json");
    let mut docs = site([0.0; 4], None, Some(50.0), UP);
    docs.push((Vitals, vitals.clone()));
    let gateways = vec![
        connected("a", base, 0, docs.clone()),
        connected("b", base, 0, site([0.0; 4], None, None, UP)),
    ];
    let (statuses, bodies) = run(&gateways, base);
    let legacy = |route: &str| {
        let documents = gateways[0].snapshot.documents.clone();
        route_json(route, &documents, &presentation(false, 100)).unwrap()
    };
    let data = &statuses[0]["data"];
    for (field, route) in [
        ("vitals", "/vitals"),
        ("strings", "/strings"),
        ("temps", "/temps"),
        ("alerts", "/alerts"),
        ("freq", "/freq"),
    ] {
        assert_eq!(data[field], legacy(route), "{field}");
    }
    assert_eq!(data["grid_status"], json!("UP"));
    assert_eq!(data["connection_mode"], json!("TEDAPI"));
    assert_eq!(data["tedapi_mode"], json!("full"));
    assert_eq!(bodies.vitals, json!({ "a": vitals }));
    assert_eq!(bodies.strings["a"], legacy("/strings"));
    // `b` has no vitals: no vitals entry, but its grid-status alert is known.
    assert!(bodies.vitals.get("b").is_none());
    assert_eq!(bodies.alerts["b"], json!(["SystemConnectedToGrid"]));
}

/// Every object key in `value`, at every depth.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                out.push(key.to_lowercase());
                keys(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, out)),
        _ => {}
    }
}

#[test]
fn no_credential_is_ever_serialised() {
    let base = Instant::now();
    let mut gateways = three_sites(base);
    degrade(&mut gateways[1], base);
    gateways.push(Gw {
        info: info("new", "10.0.0.9", AccessMode::Local),
        snapshot: Snapshot::empty(),
    });
    let (statuses, bodies) = run(&gateways, base + Duration::from_secs(20));
    let mut all = statuses;
    all.extend([
        bodies.full,
        bodies.power,
        bodies.soe,
        bodies.battery,
        bodies.strings,
        bodies.alerts,
        bodies.vitals,
    ]);
    let mut found = Vec::new();
    for value in &all {
        keys(value, &mut found);
    }
    for secret in [
        "password",
        "gw_pwd",
        "email",
        "token",
        "secret",
        "rsa_key_path",
    ] {
        assert!(
            !found.iter().any(|key| key.contains(secret)),
            "{secret} in {found:?}"
        );
    }
}

#[test]
fn output_depends_only_on_snapshots_and_windows() {
    let base = Instant::now();
    let mut gateways = three_sites(base);
    degrade(&mut gateways[2], base);
    let bytes = |now: Instant| {
        let (statuses, bodies) = run(&gateways, now);
        serde_json::to_vec(&(
            statuses,
            bodies.full,
            bodies.power,
            bodies.soe,
            bodies.battery,
        ))
        .unwrap()
    };
    // Inside the windows the bytes stay the same however time passes.
    assert_eq!(bytes(base), bytes(base + Duration::from_secs(1)));
    assert_eq!(
        bytes(base + Duration::from_secs(11)),
        bytes(base + Duration::from_secs(40))
    );
    // Crossing a boundary (the stale mark at 10 s) is what changes them.
    assert_ne!(bytes(base), bytes(base + Duration::from_secs(11)));
}

#[test]
fn the_gateway_object_carries_upstream_request_counts() {
    let base = Instant::now();
    let mut gw = connected("a", base, 0, site([0.0; 4], None, Some(50.0), UP));
    gw.snapshot.health.upstream = powerwall_gateway::UpstreamStats {
        requests: 42,
        logins: 1,
        errors: 3,
    };
    let (statuses, _) = run(std::slice::from_ref(&gw), base);
    assert_eq!(
        statuses[0]["gateway"]["upstream"],
        json!({"requests": 42, "logins": 1, "errors": 3})
    );
    let (before_first_poll, _) = run(
        &[Gw {
            info: info("b", "10.0.0.5", AccessMode::Local),
            snapshot: Snapshot::empty(),
        }],
        base,
    );
    assert_eq!(
        before_first_poll[0]["gateway"]["upstream"],
        json!({"requests": 0, "logins": 0, "errors": 0})
    );
}
