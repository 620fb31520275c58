//! Tesla SSO pieces that need no network (gateway-protocols §5.1): PKCE, the authorize URL, the
//! pasted redirect, token answers and the JWT payload. The exchanges themselves are in `client`.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use crate::{GatewayError, Secret};

/// The Owner API's public OAuth client id.
pub const CLIENT_ID: &str = "ownerapi";
/// Scope of an Owner API login (energy scopes are not needed).
pub const SCOPE: &str = "openid email offline_access";
/// The runtime's redirect URI: Tesla shows a "page not found" whose URL carries the code.
pub const DEFAULT_REDIRECT_URI: &str = "https://auth.tesla.com/void/callback";

/// A PKCE pair: the secret verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    /// base64url (no padding) of 32 random bytes; sent only with the code exchange.
    pub verifier: Secret,
    /// base64url (no padding) of SHA-256(verifier).
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair from the system's random source.
    pub fn generate() -> Result<Self, GatewayError> {
        Ok(Self::from_verifier(
            &URL_SAFE_NO_PAD.encode(random_bytes()?),
        ))
    }

    /// The pair of a given verifier (tests and resumed logins).
    pub fn from_verifier(verifier: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        Self {
            verifier: Secret::new(verifier),
            challenge: URL_SAFE_NO_PAD.encode(digest.as_ref()),
        }
    }
}

fn random_bytes() -> Result<[u8; 32], GatewayError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| GatewayError::Config("the system random source failed".to_owned()))?;
    Ok(bytes)
}

/// One interactive login in progress: the URL to open and what the answer must match.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The URL the user opens in a browser.
    pub url: String,
    /// The random `state` the redirect must carry back.
    pub state: String,
    /// The PKCE pair (the verifier goes with the code exchange).
    pub pkce: Pkce,
    /// The redirect URI, sent again with the code exchange.
    pub redirect_uri: String,
}

/// Builds the authorize URL (`<auth_base>oauth2/v3/authorize?...`) with a fresh PKCE pair and
/// state; `login_hint` pre-fills the account email.
pub fn authorize_request(
    auth_base: &str,
    redirect_uri: &str,
    login_hint: Option<&str>,
) -> Result<AuthorizeRequest, GatewayError> {
    let pkce = Pkce::generate()?;
    let state = URL_SAFE_NO_PAD.encode(&random_bytes()?[..16]);
    let mut query = vec![
        ("client_id", CLIENT_ID),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", SCOPE),
        ("state", state.as_str()),
    ];
    if let Some(hint) = login_hint.filter(|hint| !hint.is_empty()) {
        query.push(("login_hint", hint));
    }
    let encoded = serde_urlencoded::to_string(&query)
        .map_err(|err| GatewayError::Config(format!("authorize URL: {err}")))?;
    Ok(AuthorizeRequest {
        url: format!("{}?{encoded}", endpoint(auth_base, "oauth2/v3/authorize")),
        state,
        pkce,
        redirect_uri: redirect_uri.to_owned(),
    })
}

/// `base` joined with `path`, with exactly one `/` between them.
pub fn endpoint(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The authorization code from what the user pasted: the whole redirect URL (its `state` must
/// equal `expected_state`) or the bare code.
pub fn parse_pasted_code(pasted: &str, expected_state: &str) -> Result<String, GatewayError> {
    let pasted = pasted.trim();
    let bad = |why: &str| GatewayError::Config(format!("pasted login answer: {why}"));
    if pasted.is_empty() {
        return Err(bad("it is empty"));
    }
    let query = if let Some((_, query)) = pasted.split_once('?') {
        Some(query.split('#').next().unwrap_or_default())
    } else if pasted.contains('=') {
        Some(pasted)
    } else {
        None
    };
    let Some(query) = query else {
        return if pasted
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        {
            Ok(pasted.to_owned())
        } else {
            Err(bad("not a redirect URL or an authorization code"))
        };
    };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| bad("the URL's query does not parse"))?;
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    };
    if let Some(error) = get("error") {
        return Err(bad(&format!("Tesla answered error {error:?}")));
    }
    if get("state") != Some(expected_state) {
        return Err(bad(
            "its state does not match this login (start the login again)",
        ));
    }
    match get("code") {
        Some(code) if !code.is_empty() => Ok(code.to_owned()),
        _ => Err(bad("the URL carries no code")),
    }
}

/// The useful part of a token endpoint answer.
#[derive(Debug, Clone, Default)]
pub struct TokenAnswer {
    /// `access_token`.
    pub access_token: Secret,
    /// `refresh_token`, when the server sent one.
    pub refresh_token: Option<Secret>,
    /// `id_token`, when sent.
    pub id_token: Option<Secret>,
    /// `expires_in` seconds (28 800 typical).
    pub expires_in: u64,
    /// `token_type`.
    pub token_type: String,
}

/// Parses a token answer; an answer without `access_token` is malformed.
pub fn parse_token_answer(path: &str, body: &[u8]) -> Result<TokenAnswer, GatewayError> {
    let malformed = |detail: &str| GatewayError::Malformed {
        path: path.to_owned(),
        detail: detail.to_owned(),
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| malformed("not JSON"))?;
    let text = |key: &str| {
        value[key]
            .as_str()
            .filter(|text| !text.is_empty())
            .map(Secret::new)
    };
    Ok(TokenAnswer {
        access_token: text("access_token").ok_or_else(|| malformed("no access_token"))?,
        refresh_token: text("refresh_token"),
        id_token: text("id_token"),
        expires_in: value["expires_in"].as_u64().unwrap_or(0),
        token_type: value["token_type"].as_str().unwrap_or("Bearer").to_owned(),
    })
}

/// The payload of a JWT, decoded without checking the signature (we only read `email`, `exp`,
/// `aud`: the token is verified by whoever we send it to).
pub fn jwt_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(payload))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The `email` claim of a JWT.
pub fn jwt_email(token: &str) -> Option<String> {
    jwt_claims(token)?.get("email")?.as_str().map(str::to_owned)
}

/// The `exp` claim of a JWT, Unix seconds.
pub fn jwt_expiry(token: &str) -> Option<f64> {
    jwt_claims(token)?.get("exp")?.as_f64()
}

/// Whether the token's `aud` names the Owner API (the runtime warns when it does not).
pub fn jwt_has_owner_audience(token: &str) -> bool {
    let Some(claims) = jwt_claims(token) else {
        return false;
    };
    match claims.get("aud") {
        Some(Value::String(aud)) => aud.contains("owner-api"),
        Some(Value::Array(list)) => list
            .iter()
            .any(|aud| aud.as_str().is_some_and(|aud| aud.contains("owner-api"))),
        _ => false,
    }
}
