//! Issued codes and tokens of the simulated Tesla SSO.
//!
//! Tokens are JWT-shaped (header, payload with `exp`, `aud`, `email`, `x-enc`; a random
//! signature nobody checks) and looked up by value. A "family" is one login: the tokens a code
//! exchange started (bootstrapped) or a refresh token minted alone (cold).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

/// A pair of tokens handed to a test as if obtained elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudTokens {
    /// The access token (JWT).
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
}

/// An authorization code waiting for its exchange.
#[derive(Debug, Clone)]
pub(crate) struct PendingCode {
    pub(crate) challenge: String,
    pub(crate) redirect_uri: String,
    pub(crate) email: String,
}

#[derive(Debug, Clone)]
struct Family {
    /// Whether an access token of this login came from a code exchange.
    bootstrapped: bool,
    email: String,
}

#[derive(Debug, Clone, Copy)]
struct Access {
    expires_at: f64,
    family: u64,
}

/// What an access token is worth on the Owner API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    /// Valid.
    Ok,
    /// Unknown or expired: 401.
    Invalid,
    /// Valid but from a cold-started login: 403 when the knob says so.
    Cold,
}

/// Codes, tokens and logins.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    codes: HashMap<String, PendingCode>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, u64>,
    families: HashMap<u64, Family>,
    next_family: u64,
}

fn random_text(bytes: usize) -> String {
    let data: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(data)
}

fn jwt(payload: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"sim"}"#);
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{header}.{body}.{}", random_text(32))
}

/// The token answer of one issue.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) id_token: String,
    pub(crate) expires_in: u64,
}

impl Registry {
    /// Stores a new authorization code.
    pub(crate) fn new_code(&mut self, pending: PendingCode) -> String {
        let code = random_text(24);
        self.codes.insert(code.clone(), pending);
        code
    }

    /// Takes a code (codes are single-use).
    pub(crate) fn take_code(&mut self, code: &str) -> Option<PendingCode> {
        self.codes.remove(code)
    }

    fn new_family(&mut self, email: &str, bootstrapped: bool) -> u64 {
        self.next_family += 1;
        self.families.insert(
            self.next_family,
            Family {
                bootstrapped,
                email: email.to_owned(),
            },
        );
        self.next_family
    }

    fn issue_access(&mut self, family: u64, now: f64, lifetime: u64) -> (String, String) {
        let email = self
            .families
            .get(&family)
            .map(|family| family.email.clone())
            .unwrap_or_default();
        let expires_at = now + lifetime as f64;
        let access = jwt(&json!({
            "iss": "https://auth.tesla.com/oauth2/v3",
            "aud": ["https://owner-api.teslamotors.com/", "https://auth.tesla.com/oauth2/v3/userinfo"],
            "azp": "ownerapi",
            "scp": ["openid", "email", "offline_access"],
            "email": email,
            "iat": now.trunc() as u64,
            "exp": expires_at.trunc() as u64,
            "x-enc": "sim",
            "jti": random_text(8),
        }));
        let id_token = jwt(&json!({
            "iss": "https://auth.tesla.com/oauth2/v3",
            "aud": "ownerapi",
            "email": email,
            "iat": now.trunc() as u64,
            "exp": expires_at.trunc() as u64,
        }));
        self.access
            .insert(access.clone(), Access { expires_at, family });
        (access, id_token)
    }

    fn issue_refresh(&mut self, family: u64) -> String {
        let token = format!("sim-refresh-{}", random_text(24));
        self.refresh.insert(token.clone(), family);
        token
    }

    /// Tokens of a code exchange: a new, bootstrapped login.
    pub(crate) fn exchange(&mut self, email: &str, now: f64, lifetime: u64) -> Issued {
        let family = self.new_family(email, true);
        let (access_token, id_token) = self.issue_access(family, now, lifetime);
        Issued {
            access_token,
            refresh_token: self.issue_refresh(family),
            id_token,
            expires_in: lifetime,
        }
    }

    /// Tokens of a refresh; `None` for an unknown refresh token.
    pub(crate) fn refresh(
        &mut self,
        refresh_token: &str,
        now: f64,
        lifetime: u64,
        rotate: bool,
    ) -> Option<Issued> {
        let family = *self.refresh.get(refresh_token)?;
        let (access_token, id_token) = self.issue_access(family, now, lifetime);
        let refresh_token = if rotate {
            self.issue_refresh(family)
        } else {
            refresh_token.to_owned()
        };
        Some(Issued {
            access_token,
            refresh_token,
            id_token,
            expires_in: lifetime,
        })
    }

    /// A login made elsewhere: bootstrapped → both tokens work; cold → only a refresh token,
    /// whose refreshed access tokens get 403 under the cold-start rule.
    pub(crate) fn mint(
        &mut self,
        email: &str,
        bootstrapped: bool,
        now: f64,
        lifetime: u64,
    ) -> CloudTokens {
        let family = self.new_family(email, bootstrapped);
        let access_token = if bootstrapped {
            self.issue_access(family, now, lifetime).0
        } else {
            String::new()
        };
        CloudTokens {
            access_token,
            refresh_token: self.issue_refresh(family),
        }
    }

    /// Checks an access token at `now`.
    pub(crate) fn check(&self, token: &str, now: f64) -> TokenCheck {
        match self.access.get(token) {
            Some(access) if now < access.expires_at => {
                let bootstrapped = self
                    .families
                    .get(&access.family)
                    .is_some_and(|family| family.bootstrapped);
                if bootstrapped {
                    TokenCheck::Ok
                } else {
                    TokenCheck::Cold
                }
            }
            _ => TokenCheck::Invalid,
        }
    }

    /// Makes every access token expired (the next Owner API call answers 401).
    pub(crate) fn expire_access_tokens(&mut self) {
        for access in self.access.values_mut() {
            access.expires_at = f64::MIN;
        }
    }
}
