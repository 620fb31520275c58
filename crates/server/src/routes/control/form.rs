//! The control POST body: intake limits (proxy-api §6.8.2 step 3, §12 item 4) and the
//! `application/x-www-form-urlencoded` fields, read from the body only.

use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};

/// Largest control POST body read (bytes); larger ones are refused before reading.
pub const MAX_BODY: u64 = 4096;

/// Why a control POST body was refused (all answer "Control Command Error: Invalid Request").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRefusal {
    /// No `Content-Length` (including chunked bodies).
    NoLength,
    /// `Content-Length` is not a non-negative integer.
    BadLength,
    /// `Content-Length` above [`MAX_BODY`].
    TooLarge(u64),
    /// The body could not be read in full.
    Unreadable,
    /// The body is not UTF-8.
    NotUtf8,
}

/// The body length to read, checked from the headers alone (nothing is read before this passes).
pub fn declared_length(headers: &HeaderMap) -> Result<u64, BodyRefusal> {
    if headers.contains_key(TRANSFER_ENCODING) {
        return Err(BodyRefusal::NoLength);
    }
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let Some(value) = values.next() else {
        return Err(BodyRefusal::NoLength);
    };
    if values.next().is_some() {
        return Err(BodyRefusal::BadLength);
    }
    let length = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or(BodyRefusal::BadLength)?;
    if length > MAX_BODY {
        return Err(BodyRefusal::TooLarge(length));
    }
    Ok(length)
}

/// The control fields of a POST body. A field counts at its first non-empty occurrence; an empty
/// value counts as absent (Python's `parse_qs` without blank values, as the reference parses).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ControlForm {
    /// `value`: the new setting, empty for a read.
    pub value: Option<String>,
    /// `token`: must equal the control secret.
    pub token: Option<String>,
    /// `mode`: optional mode for a combined reserve write.
    pub mode: Option<String>,
    /// `level`: optional reserve for a combined mode write.
    pub level: Option<String>,
}

impl std::fmt::Debug for ControlForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never print it.
        f.debug_struct("ControlForm")
            .field("value", &self.value)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("mode", &self.mode)
            .field("level", &self.level)
            .finish()
    }
}

impl ControlForm {
    /// Parses a form body: `&`-separated `name=value` pairs, `+` as space, `%XX` escapes (invalid
    /// UTF-8 after decoding becomes U+FFFD); pairs without `=` or with an empty value are skipped.
    pub fn parse(body: &str) -> Self {
        let mut form = Self::default();
        for pair in body.split('&') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let slot = match decode(name).as_str() {
                "value" => &mut form.value,
                "token" => &mut form.token,
                "mode" => &mut form.mode,
                "level" => &mut form.level,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(decode(value));
            }
        }
        form
    }
}

/// Form-urlencoded decoding: `+` is a space, `%XX` a byte, a malformed `%` stays literal.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|pair| std::str::from_utf8(pair).ok())
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok());
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn length_is_required_numeric_and_bounded() {
        assert_eq!(
            declared_length(&headers(&[("content-length", "12")])),
            Ok(12)
        );
        assert_eq!(declared_length(&headers(&[("content-length", "0")])), Ok(0));
        assert_eq!(
            declared_length(&headers(&[("content-length", "4096")])),
            Ok(4096)
        );
        assert_eq!(
            declared_length(&headers(&[("content-length", "4097")])),
            Err(BodyRefusal::TooLarge(4097))
        );
        assert_eq!(declared_length(&headers(&[])), Err(BodyRefusal::NoLength));
        assert_eq!(
            declared_length(&headers(&[("transfer-encoding", "chunked")])),
            Err(BodyRefusal::NoLength)
        );
        for bad in ["-1", "abc", "1.5", "", "99999999999999999999999"] {
            assert_eq!(
                declared_length(&headers(&[("content-length", bad)])),
                Err(BodyRefusal::BadLength),
                "{bad:?}"
            );
        }
        assert_eq!(
            declared_length(&headers(&[
                ("content-length", "1"),
                ("content-length", "2")
            ])),
            Err(BodyRefusal::BadLength)
        );
    }

    #[test]
    fn fields_first_non_empty_occurrence() {
        let form = ControlForm::parse("value=50&token=s%20e+c&value=60&mode=&level=x&other=1");
        assert_eq!(form.value.as_deref(), Some("50"));
        assert_eq!(form.token.as_deref(), Some("s e c"));
        assert_eq!(form.mode, None);
        assert_eq!(form.level.as_deref(), Some("x"));

        let form = ControlForm::parse("value=&value=70&token");
        assert_eq!(form.value.as_deref(), Some("70"));
        assert_eq!(form.token, None);

        assert_eq!(ControlForm::parse(""), ControlForm::default());
        assert_eq!(ControlForm::parse("&&=&=x"), ControlForm::default());
    }

    #[test]
    fn decoding_is_lenient() {
        assert_eq!(decode("a%2Bb"), "a+b");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%C3%A9"), "\u{e9}");
        assert_eq!(decode("%FF"), "\u{fffd}");
    }

    #[test]
    fn debug_hides_the_token() {
        let form = ControlForm::parse("value=1&token=hunter2");
        let text = format!("{form:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
