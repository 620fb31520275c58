//! Property tests of the model readers (`from_json`) over arbitrary and mutated documents.
#![allow(clippy::unwrap_used)]

mod fuzz_support;

use std::sync::LazyLock;

use powerwall_model::{
    Aggregates, GatewayStatus, GridStatus, Operation, Powerwalls, SiteInfo, SiteName,
    StateOfEnergy, SystemStatus,
};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

use fuzz_support::{config, json, json_edits, replace_at, testdata_json, vocabulary};

/// The simulator's answers, one per reader, in [`read_everything`] order.
static FIXTURES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    [
        "api.meters.aggregates.json",
        "api.system_status.soe.json",
        "api.system_status.grid_status.json",
        "api.status.json",
        "api.site_info.json",
        "api.site_info.site_name.json",
        "api.powerwalls.json",
    ]
    .map(|name| testdata_json(&format!("local/simulator/{name}")))
    .to_vec()
});

/// The TEDAPI-side documents that feed `operation` and `system_status` shapes too.
static WORDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut documents = FIXTURES.clone();
    documents.push(testdata_json("tedapi/config.json"));
    vocabulary(&documents)
});

/// Every reader on `value`; `Ok` flags in reader order (debug text is formatted to touch it all).
fn read_everything(value: &Value) -> Vec<bool> {
    vec![
        Aggregates::from_json(value)
            .map(|v| format!("{v:?}"))
            .is_ok(),
        StateOfEnergy::from_json(value)
            .map(|v| format!("{v:?}"))
            .is_ok(),
        GridStatus::from_json(value)
            .map(|v| format!("{v:?}"))
            .is_ok(),
        GatewayStatus::from_json(value)
            .map(|v| format!("{v:?}"))
            .is_ok(),
        SiteInfo::from_json(value).map(|v| format!("{v:?}")).is_ok(),
        SiteName::from_json(value).map(|v| format!("{v:?}")).is_ok(),
        Powerwalls::from_json(value)
            .map(|v| format!("{v:?}"))
            .is_ok(),
        Operation::from_json(value)
            .map(|v| format!("{v:?}"))
            .is_ok(),
        SystemStatus::from_json(value)
            .map(|v| format!("{v:?}"))
            .is_ok(),
    ]
}

#[test]
fn every_fixture_reads_with_its_reader() {
    for (at, fixture) in FIXTURES.iter().enumerate() {
        assert!(read_everything(fixture)[at], "reader {at}");
    }
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary JSON is read or refused by every reader, never a panic.
    #[test]
    fn arbitrary_documents_never_panic(value in json(WORDS.clone())) {
        read_everything(&value);
    }

    /// Real answers with random subtrees replaced are read or refused, never a panic.
    #[test]
    fn mutated_answers_never_panic(
        which in select((0..FIXTURES.len()).collect::<Vec<_>>()),
        edits in json_edits(WORDS.clone()),
    ) {
        let mut document = FIXTURES[which].clone();
        for (path, value) in edits {
            replace_at(&mut document, &path, value);
        }
        read_everything(&document);
    }

    /// Extra unknown keys never turn an accepted answer into a refusal.
    #[test]
    fn unknown_keys_are_ignored(
        which in select((0..FIXTURES.len()).collect::<Vec<_>>()),
        extra in json(Vec::new()),
    ) {
        let mut document = FIXTURES[which].clone();
        if let Value::Object(map) = &mut document {
            map.insert("zz_unknown_fuzz_key".into(), extra);
        }
        prop_assert!(read_everything(&document)[which]);
    }
}
