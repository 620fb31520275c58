//! Property tests of the local client's text decoders (login answer, cache file, bodies, paths,
//! hosts): malformed input gives `None`/`Err`, never a panic.

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::Config;
use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};

use super::auth::{AuthMode, Credential, credential_from_login, login_cookies};
use super::cache_file::{cache_document, credential_from_document};
use super::host::GatewayHost;
use super::request::{check_path, decode_body};
use crate::{RawBody, Secret};

/// 256 cases per property (`PROPTEST_CASES` overrides), and no regression files in the repo.
fn config() -> Config {
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

/// Text made mostly of the pieces these parsers look for.
fn piece_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("AuthCookie".to_owned()),
        Just("UserRecord".to_owned()),
        Just("Authorization".to_owned()),
        Just("token".to_owned()),
        Just("Bearer ".to_owned()),
        prop::sample::select(vec![
            "=", ";", " ", "\"", ":", "{", "}", ",", "\\", "\n", "\u{0}"
        ])
        .prop_map(str::to_owned),
        "\\PC{0,6}",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

/// Either auth mode.
fn mode() -> impl Strategy<Value = AuthMode> {
    prop_oneof![Just(AuthMode::Cookie), Just(AuthMode::Token)]
}

proptest! {
    #![proptest_config(config())]

    /// `Set-Cookie` values of any shape: both cookies found non-empty and trimmed, or `None`.
    #[test]
    fn login_cookies_never_panic(values in prop::collection::vec(piece_text(), 0..4)) {
        if let Some((auth, user)) = login_cookies(values.iter().map(String::as_str)) {
            prop_assert!(!auth.is_empty() && auth.trim() == auth);
            prop_assert!(!user.is_empty() && user.trim() == user);
        }
    }

    /// Login answers of any shape give a usable credential or a named error.
    #[test]
    fn login_answers_never_panic(
        mode in mode(),
        cookies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..3),
        text in piece_text(),
        bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            if let Ok(value) = HeaderValue::from_bytes(&cookie) {
                headers.append(SET_COOKIE, value);
            }
        }
        if let Ok(value) = HeaderValue::from_str(&text) {
            headers.append(SET_COOKIE, value);
        }
        for body in [text.as_bytes(), &bytes[..], format!("{{\"token\": {text:?}}}").as_bytes()] {
            if let Ok(credential) = credential_from_login(mode, &headers, body) {
                prop_assert!(credential.header().is_some());
                prop_assert_eq!(credential.mode(), mode);
            }
        }
    }

    /// Cache files of any shape give a usable credential or `None`.
    #[test]
    fn cache_files_never_panic(mode in mode(), text in piece_text()) {
        for document in [text.clone(), format!("{{\"Authorization\": {text:?}, \"AuthCookie\": {text:?}, \"UserRecord\": \"x\"}}")] {
            if let Some(credential) = credential_from_document(mode, &document) {
                prop_assert!(credential.header().is_some());
            }
        }
    }

    /// What the cache writes, it reads back unchanged (when the credential fits in a header).
    #[test]
    fn cache_files_round_trip(first in "\\PC{1,24}", second in "\\PC{1,24}", token in any::<bool>()) {
        let credential = if token {
            Credential::Token(Secret::new(first.as_str()))
        } else {
            Credential::Cookie {
                auth_cookie: Secret::new(first.as_str()),
                user_record: Secret::new(second.as_str()),
            }
        };
        let read = credential_from_document(credential.mode(), &cache_document(&credential));
        if credential.header().is_some() {
            prop_assert!(read == Some(credential));
        } else {
            prop_assert!(read.is_none());
        }
    }

    /// Bodies of any type decode or fail; JSON-typed bodies are JSON exactly when they parse.
    #[test]
    fn bodies_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        text in piece_text(),
        content_type in prop::option::of("(application/json|text/plain|application/octet-stream|\\PC{0,12})(; charset=utf-8)?"),
        raw in any::<bool>(),
    ) {
        for body in [bytes.clone(), text.clone().into_bytes()] {
            let json_ok = serde_json::from_slice::<serde_json::Value>(&body).is_ok();
            let result = decode_body("/api/x", content_type.as_deref(), Bytes::from(body), raw);
            let json_type = content_type.as_deref().is_some_and(|t| t.to_ascii_lowercase().contains("application/json"));
            if json_type && !raw {
                prop_assert_eq!(matches!(result, Ok(RawBody::Json(_))), json_ok);
            }
        }
    }

    /// Paths, hosts and auth-mode texts of any shape are accepted or refused, never a panic.
    #[test]
    fn paths_and_hosts_never_panic(text in piece_text(), host in "\\PC{0,40}|\\[?[0-9a-fA-F:.]{0,30}\\]?(:[0-9]{0,6})?") {
        let _ = check_path(&text);
        let _ = AuthMode::parse(&text);
        for candidate in [&host, &text] {
            if let Ok(parsed) = GatewayHost::parse(candidate) {
                let again = GatewayHost::parse(parsed.authority()).ok();
                prop_assert_eq!(again.as_ref().map(GatewayHost::authority), Some(parsed.authority()));
            }
        }
    }
}
