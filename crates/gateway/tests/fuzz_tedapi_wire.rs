//! Property tests of the TEDAPI wire decoders (responses, bare envelopes, requests, DIN, gzip).
#![allow(clippy::unwrap_used)]

mod fuzz_support;

use std::sync::LazyLock;

use powerwall_gateway::tedapi::wire::payloads::GraphQlStatus;
use powerwall_gateway::tedapi::wire::{
    ApiVersion, MessageEnvelope, QueryRole, RequestKind, TedapiAnswer, TedapiReply, TedapiRequest,
    decode_body, parse_bare_envelope, parse_din, parse_request, parse_response,
};
use proptest::prelude::*;
use proptest::sample::select;
use prost::Message as _;

use fuzz_support::{config, gzip, hex, mutate, mutations, random_bytes, testdata_json};

/// Every test vector (requests and answers), decoded from hex.
static VECTORS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let vectors = testdata_json("tedapi/wire/test-vectors.json");
    let vectors = vectors.as_array().unwrap().iter();
    vectors.map(|v| hex(v["hex"].as_str().unwrap())).collect()
});

/// Request bodies from the builders, in every framing.
static REQUESTS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let din = "1232100-00-E--TG123456789ABC";
    let mut requests = vec![TedapiRequest::config(din), TedapiRequest::system_info(din)];
    for version in [ApiVersion::V2024_06, ApiVersion::V2026_06] {
        for role in QueryRole::ALL {
            requests.extend(TedapiRequest::query(version, role, din).ok());
            requests.extend(TedapiRequest::device_query(version, role, din, "PW--1").ok());
        }
    }
    let framings =
        |r: &TedapiRequest| [r.to_basic_body(), r.to_bearer_body(), r.to_bare_envelope()];
    requests.iter().flat_map(framings).collect()
});

/// Every valid encoding: the vectors plus the builders' requests.
fn valid_body() -> impl Strategy<Value = Vec<u8>> {
    select(
        VECTORS
            .iter()
            .chain(REQUESTS.iter())
            .cloned()
            .collect::<Vec<_>>(),
    )
}

/// Runs every decoder on `input` and the JSON readers behind a successful answer.
fn decode_everything(input: &[u8]) {
    let _ = decode_body(input);
    let _ = parse_din(input);
    let _ = parse_bare_envelope(input);
    if let Ok(request) = parse_request(input) {
        let _ = (request.recipient_din(), request.sender_din());
        if let RequestKind::Query(query) = request.kind() {
            let _ = (query.signed_query(), query.variables_text());
        }
    }
    if let Ok(response) = parse_response(input) {
        match response.answer {
            TedapiAnswer::Config(file) => drop(file.json()),
            TedapiAnswer::Query(answer) => drop((answer.status(), answer.json())),
            TedapiAnswer::SystemInfo(info) => drop(info.firmware_version_text().map(str::len)),
            TedapiAnswer::Error(_) => {}
        }
    }
}

/// A device answer built by the simulator's encoder, with arbitrary content.
fn reply() -> impl Strategy<Value = TedapiReply> {
    let din = "[A-Z0-9-]{0,30}";
    let auth = prop::option::of(any::<i32>());
    prop_oneof![
        (din, auth.clone(), ".{0,16}", ".{0,200}", random_bytes(16)).prop_map(
            |(din, auth, name, text, hash)| TedapiReply::file(
                &din,
                auth,
                &name,
                text.as_bytes(),
                &hash
            )
        ),
        (din, auth.clone(), 0usize..4, ".{0,200}").prop_map(|(din, auth, status, data)| {
            let status = [
                GraphQlStatus::Invalid,
                GraphQlStatus::Success,
                GraphQlStatus::ErrorPartial,
                GraphQlStatus::ErrorFull,
            ][status];
            TedapiReply::query(&din, auth, status, &data, Vec::new())
        }),
        (din, auth, any::<i32>(), ".{0,80}")
            .prop_map(|(din, auth, code, text)| TedapiReply::error(&din, auth, code, &text)),
    ]
}

#[test]
fn every_valid_body_is_a_request_or_an_answer() {
    // The v1r signing input (TLV) and signed wrapper are not TEDAPI messages; the rest are.
    let vectors = testdata_json("tedapi/wire/test-vectors.json");
    let tedapi = vectors.as_array().unwrap().iter().filter(|vector| {
        let name = vector["name"].as_str().unwrap();
        !name.starts_with("v1r_tlv") && !name.starts_with("v1r_routable")
    });
    let tedapi: Vec<Vec<u8>> = tedapi.map(|v| hex(v["hex"].as_str().unwrap())).collect();
    for body in tedapi.iter().chain(REQUESTS.iter()) {
        let decoded = parse_request(body).is_ok()
            || parse_response(body).is_ok()
            || parse_bare_envelope(body).is_ok()
            || MessageEnvelope::decode(&body[..]).is_ok();
        assert!(decoded, "{body:02x?}");
    }
}

proptest! {
    #![proptest_config(config())]

    /// Random bytes, bare or behind the gzip magic, decode or fail, never panic.
    #[test]
    fn random_bytes_never_panic(mut bytes in random_bytes(400), magic in any::<bool>()) {
        if magic {
            bytes.splice(0..0, [0x1f, 0x8b, 0x08]);
        }
        decode_everything(&bytes);
    }

    /// Mutated valid bodies (plain, and gzip before or after the damage) never panic.
    #[test]
    fn mutated_bodies_never_panic(body in valid_body(), edits in mutations()) {
        decode_everything(&mutate(&body, &edits));
        decode_everything(&gzip(&mutate(&body, &edits)));
        decode_everything(&mutate(&gzip(&body), &edits));
    }

    /// Gzip is transparent: a gzipped valid body parses exactly like the plain one.
    #[test]
    fn gzipped_bodies_parse_like_plain_ones(body in valid_body()) {
        let compressed = gzip(&body);
        prop_assert_eq!(parse_response(&compressed), parse_response(&body));
        prop_assert_eq!(parse_din(&compressed), parse_din(&body));
        let plain = decode_body(&compressed).unwrap();
        prop_assert_eq!(plain.as_ref(), &body[..]);
    }

    /// Encoder → decoder round trip of device answers, plain, gzipped and as a bare envelope.
    #[test]
    fn device_answers_round_trip(reply in reply()) {
        let body = reply.to_body();
        let parsed = parse_response(&body).unwrap();
        prop_assert_eq!(parsed.sender.clone(), reply.envelope.sender.clone());
        prop_assert_eq!(parsed.recipient.clone(), reply.envelope.recipient.clone());
        prop_assert_eq!(parsed.external_auth, reply.external_auth);
        prop_assert_eq!(parse_response(&gzip(&body)), Ok(parsed.clone()));
        let bare = parse_bare_envelope(&reply.envelope.encode_to_vec()).unwrap();
        prop_assert_eq!(bare.answer, parsed.answer);
    }

    /// Any text either is a valid DIN (short, trimmed, letters, digits and dashes) or an error.
    #[test]
    fn din_answers_are_validated(text in "\\PC{0,80}|[A-Za-z0-9-]{1,70}") {
        if let Ok(din) = parse_din(text.as_bytes()) {
            prop_assert_eq!(din.as_str(), text.trim());
            prop_assert!(din.len() <= 64);
            prop_assert!(din.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        }
    }
}
