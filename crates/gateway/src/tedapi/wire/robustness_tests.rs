//! Gzip handling and a quick no-panic sweep over truncated, mutated and random input.

use std::io::Write;

use flate2::Compression;
use flate2::GzBuilder;
use flate2::write::GzEncoder;

use super::tests::{all_v1_vectors, vector};
use super::*;

/// Gzips `data` with a bare header.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).expect("write");
    encoder.finish().expect("finish")
}

/// Gzips `data` with the optional header fields set (name, comment, mtime, extra).
fn gzip_with_header_fields(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzBuilder::new()
        .filename("answer.pb")
        .comment("firmware 25.42.2")
        .mtime(1_706_097_600)
        .extra(vec![1, 2, 3])
        .write(Vec::new(), Compression::best());
    encoder.write_all(data).expect("write");
    encoder.finish().expect("finish")
}

#[test]
fn gzipped_answers_decode_like_plain_ones() {
    // The body is recognised by its magic, so whether the gateway also sent
    // `Content-Encoding: gzip` (and whatever header fields the stream has) does not matter.
    let plain = vector("config_response_example");
    let expected = parse_response(&plain).expect("plain parses");
    for body in [gzip(&plain), gzip_with_header_fields(&plain)] {
        assert!(gzip::is_gzip(&body));
        assert_eq!(parse_response(&body), Ok(expected.clone()));
    }
    // Concatenated members are one valid gzip stream.
    let half = plain.len() / 2;
    let mut members = gzip(&plain[..half]);
    members.extend(gzip(&plain[half..]));
    assert_eq!(parse_response(&members), Ok(expected));
}

#[test]
fn plain_bodies_pass_through_untouched() {
    let plain = vector("query_response_example");
    assert!(matches!(
        decode_body(&plain),
        Ok(std::borrow::Cow::Borrowed(_))
    ));
    // Only the two magic bytes: too short to be gzip, left alone (and not a message).
    assert_eq!(decode_body(&[0x1f, 0x8b]).as_deref(), Ok(&[0x1f, 0x8b][..]));
}

#[test]
fn corrupt_or_truncated_gzip_is_an_error() {
    let compressed = gzip(&vector("config_response_example"));
    let truncated = &compressed[..compressed.len() - 12];
    assert!(matches!(parse_response(truncated), Err(WireError::Gzip(_))));
    let mut corrupt = compressed.clone();
    corrupt[12] ^= 0xff;
    assert!(parse_response(&corrupt).is_err());
    assert!(matches!(
        parse_response(&[0x1f, 0x8b, 0x08, 0x00, 0x00]),
        Err(WireError::Gzip(_))
    ));
}

#[test]
fn gzip_bombs_stop_at_the_cap() {
    let bomb = gzip(&vec![0u8; MAX_DECOMPRESSED_BYTES + 1]);
    assert!(bomb.len() < 64 * 1024, "the test input is a real bomb");
    assert_eq!(
        decode_body(&bomb),
        Err(WireError::TooLarge {
            limit: MAX_DECOMPRESSED_BYTES
        })
    );
    let exactly = gzip::gunzip(&gzip(&[7u8; 1000]), 1000).expect("at the cap is fine");
    assert_eq!(exactly.len(), 1000);
}

#[test]
fn din_answers_parse_plain_or_gzipped() {
    let din = "1232100-00-E--TG123456789ABC";
    assert_eq!(parse_din(format!("{din}\n").as_bytes()).as_deref(), Ok(din));
    assert_eq!(parse_din(&gzip(din.as_bytes())).as_deref(), Ok(din));
    assert_eq!(parse_din(b"  \n"), Err(WireError::Missing { what: "DIN" }));
    assert_eq!(parse_din(b"<html>403</html>"), Err(WireError::InvalidDin));
    assert_eq!(parse_din(b"../x"), Err(WireError::InvalidDin));
    assert_eq!(
        parse_din(&[0xff, 0xfe]),
        Err(WireError::NotUtf8 { what: "DIN" })
    );
}

#[test]
fn dins_stay_inside_their_path_segment() {
    let follower = Route::Device("1707000-11-J--TG12000000002Z".into());
    assert_eq!(
        follower.path(),
        "/tedapi/device/1707000-11-J--TG12000000002Z/v1"
    );
    let hostile = Route::Device("../x?y".into());
    assert_eq!(hostile.path(), "/tedapi/device/%2E%2E%2Fx%3Fy/v1");
}

/// A tiny deterministic generator (xorshift64*), so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Runs every decoder on `input`; the point is that none of them panics.
fn decode_everything(input: &[u8]) {
    let _ = parse_response(input);
    let _ = parse_bare_envelope(input);
    let _ = parse_din(input);
    let _ = decode_body(input);
    if let Ok(request) = parse_request(input) {
        if let RequestKind::Query(query) = request.kind() {
            let _ = query.signed_query();
        }
    }
    if let Ok(response) = parse_response(input) {
        match response.answer {
            TedapiAnswer::Config(file) => drop(file.json()),
            TedapiAnswer::Query(answer) => drop(answer.json()),
            _ => {}
        }
    }
}

#[test]
fn every_prefix_of_every_vector_decodes_without_panic() {
    for body in all_v1_vectors() {
        for end in 0..=body.len() {
            decode_everything(&body[..end]);
        }
        let compressed = gzip(&body);
        for end in 0..=compressed.len() {
            decode_everything(&compressed[..end]);
        }
    }
}

#[test]
fn random_and_mutated_input_decodes_without_panic() {
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let len = random.below(300);
        let mut bytes: Vec<u8> = (0..len).map(|_| random.next() as u8).collect();
        decode_everything(&bytes);
        // The same bytes behind the gzip magic exercise the gunzip error paths.
        bytes.splice(0..0, gzip::GZIP_MAGIC);
        decode_everything(&bytes);
    }
    // Flipping a few bytes of real answers reaches deeper than random noise.
    let answers = [
        vector("config_response_example"),
        vector("query_response_example"),
        vector("firmware_response_example"),
        vector("query_components_follower_V2024_06"),
    ];
    for round in 0..4000 {
        let mut bytes = answers[round % answers.len()].clone();
        for _ in 0..=random.below(4) {
            let at = random.below(bytes.len());
            bytes[at] = random.next() as u8;
        }
        decode_everything(&bytes);
    }
}
