//! Property tests of the local `/api/devices/vitals` protobuf decoder: errors, never panics.
#![allow(clippy::unwrap_used)]

mod fuzz_support;

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use powerwall_gateway::local::decode_vitals;
use powerwall_model::Vitals;
use proptest::prelude::*;

use fuzz_support::{config, gzip, mutate, mutations, random_bytes, testdata_json};

/// The simulator's vitals answer (base64 `data` of the fixture).
static VALID: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let fixture = testdata_json("local/simulator/api.devices.vitals.protobuf.json");
    STANDARD.decode(fixture["data"].as_str().unwrap()).unwrap()
});

/// The decode of [`VALID`].
static DECODED: LazyLock<Vitals> = LazyLock::new(|| decode_vitals(&VALID).unwrap());

/// A protobuf varint.
fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// An unknown field (number 1000+) of wire type varint, fixed64, length-delimited or fixed32.
fn unknown_field() -> impl Strategy<Value = Vec<u8>> {
    (1000u64..5000, 0u8..4, any::<u64>(), random_bytes(64)).prop_map(
        |(number, kind, value, payload)| {
            let wire_type = [0u64, 1, 2, 5][usize::from(kind)];
            let mut out = Vec::new();
            varint(number << 3 | wire_type, &mut out);
            match wire_type {
                0 => varint(value, &mut out),
                1 => out.extend(value.to_le_bytes()),
                2 => {
                    varint(payload.len() as u64, &mut out);
                    out.extend(payload);
                }
                _ => out.extend((value as u32).to_le_bytes()),
            }
            out
        },
    )
}

#[test]
fn the_fixture_decodes() {
    assert!(!DECODED.is_empty());
}

proptest! {
    #![proptest_config(config())]

    /// Random bytes decode or fail, never panic.
    #[test]
    fn random_bytes_never_panic(bytes in random_bytes(512)) {
        let _ = decode_vitals(&bytes);
    }

    /// Every prefix decodes or fails; only the whole answer decodes to the full dictionary.
    #[test]
    fn truncations_never_panic(at in any::<prop::sample::Index>()) {
        let end = at.index(VALID.len() + 1);
        let result = decode_vitals(&VALID[..end]);
        if end == VALID.len() {
            prop_assert_eq!(result.as_ref(), Ok(&*DECODED));
        }
    }

    /// Bit flips, insertions, deletions and overwrites of a real answer never panic.
    #[test]
    fn mutations_never_panic(edits in mutations()) {
        let _ = decode_vitals(&mutate(&VALID, &edits));
    }

    /// Unknown fields around a valid answer are skipped: the decode is unchanged.
    #[test]
    fn unknown_fields_are_ignored(before in unknown_field(), after in unknown_field()) {
        let mut bytes = before;
        bytes.extend_from_slice(&VALID);
        bytes.extend(after);
        prop_assert_eq!(decode_vitals(&bytes), Ok(DECODED.clone()));
    }

    /// The answer gzipped (and then damaged) is not protobuf; it fails or decodes, never panics.
    #[test]
    fn gzipped_answers_never_panic(edits in mutations()) {
        let compressed = gzip(&VALID);
        let _ = decode_vitals(&compressed);
        let _ = decode_vitals(&mutate(&compressed, &edits));
    }
}
