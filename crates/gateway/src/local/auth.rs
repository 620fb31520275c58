//! Login to the local API (`POST /api/login/Basic`, gateway-protocols §1.2) and the session it
//! yields. Nothing here logs: the login answer carries the token.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use reqwest::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderName, HeaderValue, SET_COOKIE};

use crate::Secret;

/// Path of the login endpoint.
pub const LOGIN_PATH: &str = "/api/login/Basic";

/// `LoginIncomplete::missing` text in cookie mode.
pub(crate) const MISSING_COOKIES: &str = "AuthCookie/UserRecord cookies";
/// `LoginIncomplete::missing` text in token mode.
pub(crate) const MISSING_TOKEN: &str = "token";

/// How later requests prove the session (gateway-protocols §1.2 `authmode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// `Cookie: AuthCookie=…; UserRecord=…` (the default).
    #[default]
    Cookie,
    /// `Authorization: Bearer <token>`.
    Token,
}

impl AuthMode {
    /// `"token"` (any case, surrounding spaces ignored) → `Token`; anything else → `Cookie`.
    pub fn parse(text: &str) -> Self {
        if text.trim().eq_ignore_ascii_case("token") {
            Self::Token
        } else {
            Self::Cookie
        }
    }

    /// The setting's text: `cookie` or `token`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Token => "token",
        }
    }
}

impl FromStr for AuthMode {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(text))
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The login request body, form-encoded as the reference sends it.
///
/// The reference form-encodes a nested `clientInfo` object, which leaves only its key on the wire:
/// `clientInfo=timezone` (verified against real gateways, gateway-protocols §1.2).
pub(crate) fn login_form_body(password: &Secret, email: &str) -> String {
    let fields = [
        ("username", "customer"),
        ("password", password.expose()),
        ("email", email),
        ("clientInfo", "timezone"),
    ];
    serde_urlencoded::to_string(fields).unwrap_or_default()
}

/// The credential a login produced.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// The two login cookies.
    Cookie {
        auth_cookie: Secret,
        user_record: Secret,
    },
    /// The bearer token.
    Token(Secret),
}

impl Credential {
    /// The request header that presents this credential, marked sensitive; `None` when the
    /// gateway's text cannot be sent in a header.
    pub(crate) fn header(&self) -> Option<(HeaderName, HeaderValue)> {
        let (name, text) = match self {
            Self::Cookie {
                auth_cookie,
                user_record,
            } => (
                COOKIE,
                format!(
                    "AuthCookie={}; UserRecord={}",
                    auth_cookie.expose(),
                    user_record.expose()
                ),
            ),
            Self::Token(token) => (AUTHORIZATION, format!("Bearer {}", token.expose())),
        };
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some((name, value))
    }

    /// Which auth mode this credential belongs to.
    pub(crate) fn mode(&self) -> AuthMode {
        match self {
            Self::Cookie { .. } => AuthMode::Cookie,
            Self::Token(_) => AuthMode::Token,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential({}: ***)", self.mode())
    }
}

/// Reads the credential of a successful (2xx) login answer; `Err` names what was missing.
pub(crate) fn credential_from_login(
    mode: AuthMode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Credential, &'static str> {
    let credential = match mode {
        AuthMode::Cookie => {
            let values = headers
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok());
            let (auth_cookie, user_record) = login_cookies(values).ok_or(MISSING_COOKIES)?;
            Credential::Cookie {
                auth_cookie: Secret::new(auth_cookie),
                user_record: Secret::new(user_record),
            }
        }
        AuthMode::Token => {
            let document: serde_json::Value =
                serde_json::from_slice(body).map_err(|_| MISSING_TOKEN)?;
            match document.get("token").and_then(serde_json::Value::as_str) {
                Some(token) if !token.is_empty() => Credential::Token(Secret::new(token)),
                _ => return Err(MISSING_TOKEN),
            }
        }
    };
    // A value that cannot be sent back in a header is as good as missing.
    match credential.header() {
        Some(_) => Ok(credential),
        None => Err(missing_text(mode)),
    }
}

/// What a login answer lacked, for `GatewayError::LoginIncomplete`.
pub(crate) fn missing_text(mode: AuthMode) -> &'static str {
    match mode {
        AuthMode::Cookie => MISSING_COOKIES,
        AuthMode::Token => MISSING_TOKEN,
    }
}

/// Finds the `AuthCookie` and `UserRecord` values among `Set-Cookie` header values; `None` unless
/// both are present and non-empty.
pub(crate) fn login_cookies<'a>(
    set_cookie_values: impl IntoIterator<Item = &'a str>,
) -> Option<(String, String)> {
    let mut auth_cookie = None;
    let mut user_record = None;
    for header in set_cookie_values {
        let pair = header.split(';').next().unwrap_or_default();
        // Base64 values end in '=', so only the first '=' separates name and value.
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match name.trim() {
            "AuthCookie" => auth_cookie = Some(value.to_owned()),
            "UserRecord" => user_record = Some(value.to_owned()),
            _ => {}
        }
    }
    Some((auth_cookie?, user_record?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/local/simulator/api.login.Basic.response.json"
        );
        let text = std::fs::read_to_string(path).expect("fixture");
        serde_json::from_str(&text).expect("fixture json")
    }

    #[test]
    fn login_body_matches_the_verified_wire_bytes() {
        let body = login_form_body(&Secret::new("ABCDE"), "a@b.c");
        assert_eq!(
            body,
            "username=customer&password=ABCDE&email=a%40b.c&clientInfo=timezone"
        );
        let body = login_form_body(&Secret::new("p&ss= +"), "nobody@nowhere.com");
        assert_eq!(
            body,
            "username=customer&password=p%26ss%3D+%2B&email=nobody%40nowhere.com&clientInfo=timezone"
        );
    }

    #[test]
    fn auth_mode_parsing() {
        assert_eq!(AuthMode::parse("token"), AuthMode::Token);
        assert_eq!(" Token ".parse::<AuthMode>(), Ok(AuthMode::Token));
        for other in ["cookie", "", "bearer", "tokens"] {
            assert_eq!(AuthMode::parse(other), AuthMode::Cookie, "{other:?}");
        }
        assert_eq!(AuthMode::Token.to_string(), "token");
    }

    #[test]
    fn cookies_from_the_login_fixture() {
        let fixture = fixture();
        let token = fixture["body"]["token"].as_str().expect("token");
        let mut headers = HeaderMap::new();
        for value in fixture["set_cookie"].as_array().expect("cookies") {
            let value = HeaderValue::from_str(value.as_str().expect("text")).expect("header");
            headers.append(SET_COOKIE, value);
        }
        let credential = credential_from_login(AuthMode::Cookie, &headers, b"").expect("cookies");
        let Credential::Cookie {
            auth_cookie,
            user_record,
        } = &credential
        else {
            panic!("cookie mode gives cookies");
        };
        assert_eq!(auth_cookie.expose(), token);
        assert!(user_record.expose().ends_with("123456=="));
        let (name, value) = credential.header().expect("header");
        assert_eq!(name, COOKIE);
        assert!(value.is_sensitive());
        let text = value.to_str().expect("ascii");
        assert!(text.starts_with(&format!("AuthCookie={token}; UserRecord=1234567890")));
        assert!(!format!("{credential:?}").contains(token));
    }

    #[test]
    fn token_from_the_login_fixture_body() {
        let fixture = fixture();
        let body = serde_json::to_vec(&fixture["body"]).expect("body");
        let credential =
            credential_from_login(AuthMode::Token, &HeaderMap::new(), &body).expect("token");
        let (name, value) = credential.header().expect("header");
        assert_eq!(name, AUTHORIZATION);
        let token = fixture["body"]["token"].as_str().expect("token");
        assert_eq!(value.to_str().expect("ascii"), format!("Bearer {token}"));
    }

    #[test]
    fn incomplete_logins() {
        let mut headers = HeaderMap::new();
        headers.append(
            SET_COOKIE,
            HeaderValue::from_static("AuthCookie=abc==; Path=/"),
        );
        assert_eq!(
            credential_from_login(AuthMode::Cookie, &headers, b"{}"),
            Err(MISSING_COOKIES)
        );
        headers.append(SET_COOKIE, HeaderValue::from_static("UserRecord=; Path=/"));
        assert_eq!(
            credential_from_login(AuthMode::Cookie, &headers, b"{}"),
            Err(MISSING_COOKIES)
        );
        let bodies = [
            &b""[..],
            b"not json",
            b"{}",
            b"{\"token\":\"\"}",
            b"{\"token\":5}",
            b"{\"token\":\"a\\nb\"}",
        ];
        for body in bodies {
            assert_eq!(
                credential_from_login(AuthMode::Token, &headers, body),
                Err(MISSING_TOKEN)
            );
        }
    }

    #[test]
    fn cookie_parsing_tolerates_spacing_and_other_cookies() {
        let values = [
            "theme=dark",
            " AuthCookie = t0k==; Path=/; Secure",
            "garbage",
            "UserRecord=cmVj==",
        ];
        assert_eq!(
            login_cookies(values),
            Some(("t0k==".to_owned(), "cmVj==".to_owned()))
        );
        assert_eq!(login_cookies(["UserRecord=x"]), None);
    }
}
