//! Shared proptest strategies for the `fuzz_*` suites: byte mutations, gzip, arbitrary JSON.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

/// 256 cases per property (`PROPTEST_CASES` overrides), and no regression files in the repo.
pub fn config() -> Config {
    let base = Config::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        base.cases
    } else {
        256
    };
    Config {
        cases,
        failure_persistence: None,
        ..base
    }
}

/// `testdata/<relative>` as bytes.
pub fn testdata(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// `testdata/<relative>` parsed as JSON.
pub fn testdata_json(relative: &str) -> Value {
    serde_json::from_slice(&testdata(relative)).unwrap()
}

/// Decodes lowercase or uppercase hex (test vectors only).
pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

/// Gzips `data` with default settings.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Keep only a prefix.
    Truncate(Index),
    /// Flip one bit of one byte.
    FlipBit(Index, u8),
    /// Insert a byte.
    Insert(Index, u8),
    /// Delete a byte.
    Delete(Index),
    /// Overwrite a byte.
    Overwrite(Index, u8),
}

/// Any single [`Mutation`].
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::Truncate),
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        2 => any::<Index>().prop_map(Mutation::Delete),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Overwrite(at, byte)),
    ]
}

/// One to eight mutations, applied in order.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..8)
}

/// `bytes` after `mutations` (each index is taken modulo the current length).
pub fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for mutation in mutations {
        let len = bytes.len();
        match *mutation {
            Mutation::Truncate(at) => bytes.truncate(at.index(len + 1)),
            Mutation::Insert(at, byte) => bytes.insert(at.index(len + 1), byte),
            _ if len == 0 => {}
            Mutation::FlipBit(at, bit) => bytes[at.index(len)] ^= 1 << bit,
            Mutation::Delete(at) => drop(bytes.remove(at.index(len))),
            Mutation::Overwrite(at, byte) => bytes[at.index(len)] = byte,
        }
    }
    bytes
}

/// Random bytes, up to `max` long.
pub fn random_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// Every object key and short string value of `documents`, to steer random JSON into real fields.
pub fn vocabulary(documents: &[Value]) -> Vec<String> {
    fn walk(value: &Value, words: &mut Vec<String>) {
        match value {
            Value::String(text) if text.len() <= 40 => words.push(text.clone()),
            Value::Array(items) => items.iter().for_each(|item| walk(item, words)),
            Value::Object(map) => {
                for (key, item) in map {
                    words.push(key.clone());
                    walk(item, words);
                }
            }
            _ => {}
        }
    }
    let mut words = Vec::new();
    documents
        .iter()
        .for_each(|document| walk(document, &mut words));
    words.sort();
    words.dedup();
    words
}

/// A string: mostly from `words`, sometimes arbitrary.
pub fn word(words: Vec<String>) -> BoxedStrategy<String> {
    if words.is_empty() {
        return ".{0,12}".boxed();
    }
    prop_oneof![3 => prop::sample::select(words), 1 => ".{0,12}"].boxed()
}

/// A JSON number of any kind, edge values included.
pub fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-3i64..300).prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // NaN and infinities become null
        (-1e6f64..1e6).prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(f64::MAX)),
    ]
}

/// Arbitrary JSON up to depth 4 and about 64 nodes; keys and strings drawn from `words`.
pub fn json(words: Vec<String>) -> BoxedStrategy<Value> {
    let text = word(words);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text.clone().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((text.clone(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

/// Replaces the node that `path` leads to in `document` (stopping early at a leaf) by `value`.
pub fn replace_at(node: &mut Value, path: &[Index], value: Value) {
    if let Some((step, rest)) = path.split_first() {
        match node {
            Value::Array(items) if !items.is_empty() => {
                let at = step.index(items.len());
                return replace_at(&mut items[at], rest, value);
            }
            Value::Object(map) if !map.is_empty() => {
                let at = step.index(map.len());
                return replace_at(map.values_mut().nth(at).unwrap(), rest, value);
            }
            _ => {}
        }
    }
    *node = value;
}

/// One to four (path, replacement) edits for [`replace_at`].
pub fn json_edits(words: Vec<String>) -> impl Strategy<Value = Vec<(Vec<Index>, Value)>> {
    prop::collection::vec(
        (prop::collection::vec(any::<Index>(), 0..8), json(words)),
        1..4,
    )
}
