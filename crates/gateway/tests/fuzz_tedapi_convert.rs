//! Property tests of the TEDAPI conversions over arbitrary and mutated documents: never panic.
#![allow(clippy::unwrap_used)]

mod fuzz_support;

use std::collections::HashMap;
use std::sync::LazyLock;

use powerwall_gateway::tedapi::convert::{
    FirmwareInfo, GatewayTime, GridStatusKind, TedapiInputs, alerts, battery_blocks, boot_estimate,
    fan_speeds, get_blocks, get_grid_charging, get_grid_export, get_mode, get_reserve,
    get_time_remaining, go_duration, grid_status, level, local_document, parse_gateway_time, power,
    pw3_component_requests, pw3_vitals, strings, temps, vitals,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;

use fuzz_support::{config, json, json_edits, replace_at, testdata_json, vocabulary};

/// Every path `local_document` converts, plus a mocked and an unknown one.
const PATHS: [&str; 10] = [
    "/api/status",
    "/api/system_status/soe",
    "/api/system_status/grid_status",
    "/api/site_info",
    "/api/site_info/site_name",
    "/api/operation",
    "/api/meters/aggregates",
    "/api/system_status",
    "/api/powerwalls",
    "/api/nope",
];

/// The fixtures: `[config, status, pw3 config, pw3 three-site config, components, components]`.
static FIXTURES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    [
        "tedapi/config.json",
        "tedapi/status.json",
        "tedapi/pw3/config.single-pw3-with-expansion.json",
        "tedapi/pw3/config.three-pw3.json",
        "tedapi/pw3/components.leader.json",
        "tedapi/pw3/components.no-solar.json",
    ]
    .map(testdata_json)
    .to_vec()
});

/// Keys and strings of the fixtures, so random documents hit real fields.
static WORDS: LazyLock<Vec<String>> = LazyLock::new(|| vocabulary(&FIXTURES));

/// Runs every conversion on the documents and returns all outputs, for comparison.
fn convert_everything(
    config: Option<&Value>,
    status: Option<&Value>,
    components: Option<&Value>,
) -> Vec<Value> {
    let mut out = Vec::new();
    let requests = pw3_component_requests(config);
    let answers: HashMap<String, Value> = (requests.iter())
        .filter_map(|request| Some((request.din.clone()?, components?.clone())))
        .collect();
    let pw3 = pw3_vitals(config, components, &answers);
    let first = boot_estimate(status, None);
    let boot = boot_estimate(status, first.as_ref());
    let firmware = FirmwareInfo {
        version: Some("24.12.6-PW3-AFCI 008bf6ff".into()),
        git_hash: None,
    };
    for is_pw3 in [false, true] {
        let inputs = TedapiInputs {
            config,
            status,
            controller: status,
            pw3_vitals: pw3.as_ref(),
            is_pw3,
            firmware: Some(&firmware),
            native_aggregates: components,
            host: "127.0.0.1",
            now_epoch_seconds: 1_706_097_600.0,
            previous_boot: boot.as_ref(),
        };
        out.extend(PATHS.map(|path| local_document(path, &inputs).unwrap_or_default()));
        let vitals = vitals(&inputs);
        out.push(fan_speeds(&inputs));
        out.push(strings(vitals.as_ref(), is_pw3, status));
        out.push(temps(vitals.as_ref()));
        out.push(alerts(vitals.as_ref(), status, components).into());
        out.push(battery_blocks(status, vitals.as_ref()).unwrap_or_default());
        if let Some(vitals) = &vitals {
            out.push(get_blocks(vitals, config).into());
        }
    }
    out.extend(extra_facade(config));
    out.extend(extra_facade(status));
    out.push(format!("{requests:?}").into());
    out
}

/// The facade readers that take one document of any shape.
fn extra_facade(document: Option<&Value>) -> Vec<Value> {
    let kinds = [
        GridStatusKind::Text,
        GridStatusKind::Numeric,
        GridStatusKind::Json,
    ];
    let mut out: Vec<Value> = kinds.map(|kind| grid_status(document, kind)).to_vec();
    out.extend([
        level(document, true),
        level(document, false),
        power(document),
    ]);
    out.extend([get_reserve(document, true), get_reserve(document, false)]);
    out.extend([get_mode(document), get_grid_charging(document)]);
    out.extend([get_grid_export(document), get_time_remaining(document)]);
    out
}

/// A fixture with one to four random subtrees replaced by random JSON.
fn mutated_fixture() -> impl Strategy<Value = Value> {
    (
        select((0..FIXTURES.len()).collect::<Vec<_>>()),
        json_edits(WORDS.clone()),
    )
        .prop_map(|(which, edits)| {
            let mut document = FIXTURES[which].clone();
            for (path, value) in edits {
                replace_at(&mut document, &path, value);
            }
            document
        })
}

#[test]
fn the_fixtures_convert() {
    let [config, status, pw3, _, components, _] = &FIXTURES[..] else {
        panic!("six fixtures")
    };
    assert!(!convert_everything(Some(config), Some(status), None).is_empty());
    assert!(!convert_everything(Some(pw3), Some(status), Some(components)).is_empty());
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary JSON in every slot converts without panicking.
    #[test]
    fn arbitrary_documents_never_panic(
        config in json(WORDS.clone()),
        status in json(WORDS.clone()),
        components in prop::option::of(json(WORDS.clone())),
    ) {
        convert_everything(Some(&config), Some(&status), components.as_ref());
    }

    /// Fixtures with random subtrees replaced convert without panicking, deterministically.
    #[test]
    fn mutated_fixtures_never_panic(
        config in mutated_fixture(),
        status in mutated_fixture(),
        components in mutated_fixture(),
        slots in any::<Index>(),
    ) {
        // A quarter of the cases keep the real status, so deep config/components paths run.
        let status = if slots.index(4) == 0 { &FIXTURES[1] } else { &status };
        let first = convert_everything(Some(&config), Some(status), Some(&components));
        let again = convert_everything(Some(&config), Some(status), Some(&components));
        prop_assert_eq!(first, again);
    }

    /// Clock texts of any shape parse or fail; what parses formats back without panicking.
    #[test]
    fn clock_texts_never_panic(
        text in "\\PC{0,40}|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,12})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2}){0,2})?",
        micros in any::<i64>(),
        offset in any::<i32>(),
        millis in any::<f64>(),
    ) {
        if let Some(time) = parse_gateway_time(&text) {
            let _ = (time.format_local(), time.epoch_seconds(), time.minus_micros(micros));
        }
        let time = GatewayTime { epoch_micros: micros, offset_seconds: offset };
        let _ = (time.format_local(), time.minus_micros(micros).format_local());
        let _ = go_duration(millis);
    }
}
