//! Gzip bodies (gateway-protocols §2.8).
//!
//! Firmware 25.42.2 and later may gzip `/tedapi/din` and protobuf answers without a
//! `Content-Encoding` header, so bodies are recognised by the gzip magic bytes, whatever the
//! headers say. A body that the HTTP stack has already decoded carries no magic and passes
//! through untouched.

use std::borrow::Cow;
use std::io::Read;

use flate2::read::MultiGzDecoder;

use super::WireError;

/// The two bytes every gzip stream starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Largest decompressed body accepted: far above a real `config.json` or query answer
/// (tens of KiB), small enough that a zip bomb cannot exhaust memory.
pub const MAX_DECOMPRESSED_BYTES: usize = 16 * 1024 * 1024;

/// Whether `body` looks like a gzip stream (longer than the magic and starting with it).
pub fn is_gzip(body: &[u8]) -> bool {
    body.len() > GZIP_MAGIC.len() && body.starts_with(&GZIP_MAGIC)
}

/// Returns the body, gunzipped when it starts with the gzip magic.
///
/// The reference falls back to the raw bytes when gunzip fails; here that is an error instead,
/// because those raw bytes can never decode (`1f` is an invalid protobuf tag, `8b` invalid
/// UTF-8), and "corrupt gzip" says more than the decode failure that would follow.
pub fn decode_body(body: &[u8]) -> Result<Cow<'_, [u8]>, WireError> {
    if !is_gzip(body) {
        return Ok(Cow::Borrowed(body));
    }
    gunzip(body, MAX_DECOMPRESSED_BYTES).map(Cow::Owned)
}

/// Decompresses a gzip stream (all members, as concatenated streams are valid gzip), refusing
/// output larger than `limit` bytes.
pub fn gunzip(compressed: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut output = Vec::new();
    MultiGzDecoder::new(compressed)
        .take(cap)
        .read_to_end(&mut output)
        .map_err(|err| WireError::Gzip(err.to_string()))?;
    if output.len() > limit {
        return Err(WireError::TooLarge { limit });
    }
    Ok(output)
}
