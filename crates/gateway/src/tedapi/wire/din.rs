//! DINs: the `/tedapi/din` answer and DINs in URL paths (gateway-protocols §2.2).

use std::borrow::Cow;
use std::fmt::Write as _;

use super::WireError;
use super::gzip::decode_body;

/// Longest DIN accepted from `/tedapi/din` (real ones have 28 characters).
const MAX_DIN_LEN: usize = 64;

/// Parses the `/tedapi/din` answer: plain or gzipped text, surrounding whitespace removed.
///
/// The DIN goes into envelopes and URL paths, so anything but one short word of letters, digits
/// and dashes (an HTML error page, say) is rejected rather than passed on.
pub fn parse_din(body: &[u8]) -> Result<String, WireError> {
    let body = decode_body(body)?;
    let text = std::str::from_utf8(&body).map_err(|_| WireError::NotUtf8 { what: "DIN" })?;
    let din = text.trim();
    if din.is_empty() {
        return Err(WireError::Missing { what: "DIN" });
    }
    if din.len() > MAX_DIN_LEN || !din.bytes().all(is_din_byte) {
        return Err(WireError::InvalidDin);
    }
    Ok(din.to_owned())
}

/// Whether a byte may appear in a DIN (`<partNumber>--<serialNumber>`).
fn is_din_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-'
}

/// A DIN as one URL path segment: real DINs pass unchanged, any other byte is percent-encoded
/// so a DIN read from `config.json` can never leave `/tedapi/device/{DIN}/v1`.
pub fn din_path_segment(din: &str) -> Cow<'_, str> {
    if !din.is_empty() && din.bytes().all(is_din_byte) {
        return Cow::Borrowed(din);
    }
    let mut encoded = String::with_capacity(din.len() * 3);
    for byte in din.bytes() {
        if is_din_byte(byte) {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    Cow::Owned(encoded)
}
