//! Constant-time comparison of the control token with the secret (proxy-api §12 item 2).

use subtle::ConstantTimeEq;

/// Whether `token` equals `secret`, byte for byte.
///
/// The work depends only on the secret's length: every secret byte is compared (against a zero when
/// the token is shorter), and the lengths are compared in constant time too, so neither the
/// position of the first difference nor the token's length shows in the timing. Any bytes are
/// fine (a non-ASCII token is simply unequal). An empty token never matches.
pub fn token_matches(token: &[u8], secret: &[u8]) -> bool {
    let mut equal = token.len().ct_eq(&secret.len());
    for (i, expected) in secret.iter().enumerate() {
        let given = token.get(i).copied().unwrap_or(0);
        equal &= given.ct_eq(expected);
    }
    let non_empty = !token.len().ct_eq(&0);
    bool::from(equal & non_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_identical() {
        let secret = b"test-secret";
        assert!(token_matches(b"test-secret", secret));
        for wrong in [
            &b""[..],
            b"test-secre",
            b"test-secret ",
            b"test-secreT",
            b"Test-secret",
            b"test-secret\0",
            "t\u{e9}st-secret".as_bytes(),
            "\u{1f512}".as_bytes(),
        ] {
            assert!(!token_matches(wrong, secret), "{wrong:?}");
        }
        // A secret of NULs is not matched by a short token padded with zeros.
        assert!(!token_matches(b"", b"\0\0"));
        assert!(!token_matches(b"\0", b"\0\0"));
        assert!(token_matches(b"\0\0", b"\0\0"));
        // An empty token never matches, not even an (impossible) empty secret.
        assert!(!token_matches(b"", b""));
    }

    #[test]
    fn non_ascii_secrets_compare_bytewise() {
        let secret = "s\u{e9}cret".as_bytes();
        assert!(token_matches("s\u{e9}cret".as_bytes(), secret));
        assert!(!token_matches(b"secret", secret));
    }
}
