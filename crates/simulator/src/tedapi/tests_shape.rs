//! Shape of the generated documents: every key of the captured fixtures (and of the skeletons)
//! exists in them, and every field the signed V2024_06 query texts select is answered.

use serde_json::Value;

use super::TedapiDocuments;
use super::tests::{KINDS, documents};
use crate::model::topology::TopologyKind;

const CONFIG: &str = include_str!("../../../../testdata/tedapi/config.json");
const STATUS: &str = include_str!("../../../../testdata/tedapi/status.json");
const CONFIG_SKELETON: &str = include_str!("../../../../testdata/tedapi/config.skeleton.json");
const STATUS_SKELETON: &str = include_str!("../../../../testdata/tedapi/status.skeleton.json");
const LEADER: &str = include_str!("../../../../testdata/tedapi/pw3/components.leader.json");
const QUERIES: &str = include_str!("../../../../testdata/tedapi/queries/V2024_06.json");

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// Records in `missing` every key path of `fixture` absent from `generated`. Array elements are
/// compared by index (a fixture element past the generated list's end against its first one).
fn keys_subset(fixture: &Value, generated: &Value, path: &str, missing: &mut Vec<String>) {
    match (fixture, generated) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let here = format!("{path}.{key}");
                match have.get(key) {
                    Some(found) => keys_subset(value, found, &here, missing),
                    None => missing.push(here),
                }
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            for (index, value) in want.iter().enumerate() {
                let here = format!("{path}[{index}]");
                match have.get(index).or_else(|| have.first()) {
                    Some(found) => keys_subset(value, found, &here, missing),
                    None if value.is_object() || value.is_array() => missing.push(here),
                    None => {}
                }
            }
        }
        // Containers the fixture has as objects must not be scalars here (null leaves are fine).
        (Value::Object(want), other) if !want.is_empty() && !other.is_object() => {
            missing.push(format!("{path} (not an object)"));
        }
        _ => {}
    }
}

fn assert_subset(fixture: &Value, generated: &Value, what: &str) {
    let mut missing = Vec::new();
    keys_subset(fixture, generated, "$", &mut missing);
    assert!(missing.is_empty(), "{what}: missing {missing:#?}");
}

#[test]
fn pw2_documents_have_every_fixture_key() {
    let docs = documents(TopologyKind::Pw2);
    assert_subset(&parse(CONFIG), &docs.config, "config.json");
    assert_subset(&parse(STATUS), &docs.status, "status.json");
}

#[test]
fn every_topology_has_the_skeleton_keys() {
    for kind in KINDS {
        let docs = documents(kind);
        assert_subset(&parse(CONFIG_SKELETON), &docs.config, kind.as_str());
        // The skeleton documents the basic answer (the full query text has no esCan MSA).
        assert_subset(&parse(STATUS_SKELETON), &docs.status, kind.as_str());
    }
}

fn leader_components(docs: &TedapiDocuments) -> &Value {
    docs.components_for(&docs.din).unwrap()
}

#[test]
fn pw3_components_have_every_key_and_signal_of_the_fixture() {
    let fixture = parse(LEADER);
    for kind in [TopologyKind::Pw3, TopologyKind::Pw3Multi] {
        let docs = documents(kind);
        let leader = leader_components(&docs);
        assert_subset(&fixture, leader, kind.as_str());
        for group in ["pws", "pch", "bms", "hvp", "baggr"] {
            let names = |doc: &Value| -> Vec<String> {
                doc["components"][group][0]["signals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["name"].as_str().unwrap().to_owned())
                    .collect()
            };
            let have = names(leader);
            for name in names(&fixture) {
                assert!(have.contains(&name), "{kind} {group} lacks {name}");
            }
        }
    }
}

/// A GraphQL selection: response key (alias or field name) and sub-selection.
#[derive(Debug)]
struct Field {
    key: String,
    children: Vec<Field>,
}

#[derive(Debug, PartialEq)]
enum Token {
    Open,
    Close,
    LParen,
    RParen,
    Colon,
    Word(String),
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => out.push(Token::Open),
            '}' => out.push(Token::Close),
            '(' => out.push(Token::LParen),
            ')' => out.push(Token::RParen),
            ':' => out.push(Token::Colon),
            '#' => while chars.next_if(|&c| c != '\n').is_some() {},
            c if c.is_alphanumeric() || "_$![]".contains(c) => {
                let mut word = c.to_string();
                while let Some(next) =
                    chars.next_if(|&c| c.is_alphanumeric() || "_$![]".contains(c))
                {
                    word.push(next);
                }
                out.push(Token::Word(word));
            }
            _ => {}
        }
    }
    out
}

fn skip_args(tokens: &[Token], mut at: usize) -> usize {
    let mut depth = 0;
    loop {
        match tokens[at] {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        at += 1;
        if depth == 0 {
            return at;
        }
    }
}

/// Parses a selection set starting after its `{`; returns the fields and the index after `}`.
fn selection(tokens: &[Token], mut at: usize) -> (Vec<Field>, usize) {
    let mut fields = Vec::new();
    while let Some(token) = tokens.get(at) {
        match token {
            Token::Close => return (fields, at + 1),
            Token::Word(name) => {
                let key = name.clone();
                at += 1;
                if tokens.get(at) == Some(&Token::Colon) {
                    at += 2; // alias: the response key is the alias, skip the field name
                }
                if tokens.get(at) == Some(&Token::LParen) {
                    at = skip_args(tokens, at);
                }
                let mut children = Vec::new();
                if tokens.get(at) == Some(&Token::Open) {
                    (children, at) = selection(tokens, at + 1);
                }
                fields.push(Field { key, children });
            }
            _ => at += 1,
        }
    }
    (fields, at)
}

/// The query's top-level selection (after the operation name and variable definitions).
fn query_fields(text: &str) -> Vec<Field> {
    let tokens = tokens(text);
    let mut at = 0;
    while tokens[at] != Token::Open {
        at = if tokens[at] == Token::LParen {
            skip_args(&tokens, at)
        } else {
            at + 1
        };
    }
    selection(&tokens, at + 1).0
}

fn answered(fields: &[Field], value: &Value, path: &str, missing: &mut Vec<String>) {
    for field in fields {
        let here = format!("{path}.{}", field.key);
        let Some(found) = value.get(&field.key) else {
            missing.push(here);
            continue;
        };
        if field.children.is_empty() {
            continue;
        }
        match found {
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    answered(&field.children, item, &format!("{here}[{index}]"), missing);
                }
            }
            Value::Object(_) => answered(&field.children, found, &here, missing),
            _ => missing.push(format!("{here} (not an object)")),
        }
    }
}

fn assert_answers(role: &str, doc: &Value, what: &str) {
    let queries = parse(QUERIES);
    let fields = query_fields(queries[role]["text"].as_str().unwrap());
    assert!(fields.len() >= 2, "{role}: parsed {fields:?}");
    let mut missing = Vec::new();
    answered(&fields, doc, "$", &mut missing);
    assert!(missing.is_empty(), "{what} {role}: missing {missing:#?}");
}

#[test]
fn documents_answer_every_field_the_query_texts_select() {
    for kind in KINDS {
        let docs = documents(kind);
        assert_answers("device_controller_basic", &docs.status, kind.as_str());
        assert_answers("device_controller_full", &docs.controller, kind.as_str());
        for answer in docs.components.values() {
            assert_answers("components", answer, kind.as_str());
        }
    }
}

#[test]
fn the_query_parser_sees_aliases_and_nesting() {
    let fields =
        query_fields("query Q($a:[String!]) { x { pws: components(filter: $a) { y } z } }");
    assert_eq!(fields.len(), 1);
    let x = &fields[0];
    assert_eq!(x.key, "x");
    assert_eq!(x.children[0].key, "pws");
    assert_eq!(x.children[0].children[0].key, "y");
    assert_eq!(x.children[1].key, "z");
}
