//! The Fleet API setup steps as a library (gateway-protocols §6.1), for a CLI to drive: no stdin,
//! no printing; every step is one function whose error says what to fix.
//!
//! Order: [`generate_key_pair`] and [`write_key_pair`] → host the public key at
//! [`pem_url`] → [`FleetSetup::check_public_key`] → [`FleetSetup::partner_token`] →
//! [`FleetSetup::register_partner`] → [`FleetSetup::authorize_url`] → the user signs in and pastes
//! the redirect ([`extract_code`]) → [`FleetSetup::exchange_code`] → [`FleetSetup::energy_sites`]
//! → [`choose_site`] → [`super::FleetTokenFile::write`].

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

pub use super::keys::{KeyPair, generate_key_pair, pem_der, write_key_pair};
use crate::Secret;
use crate::cloud::auth::endpoint;
use crate::cloud::transport;

/// Scope of a Fleet API energy login.
pub const SCOPE: &str = "openid offline_access energy_device_data energy_cmds";
/// Timeout of each setup request (the reference's 15 s).
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(15);
/// Where a developer domain hosts the application's public key.
pub const PUBLIC_KEY_PATH: &str = "/.well-known/appspecific/com.tesla.3p.public-key.pem";
/// File name of the generated private key.
pub const PRIVATE_KEY_FILE: &str = "private-key.pem";
/// File name of the generated public key (the file to host).
pub const PUBLIC_KEY_FILE: &str = "com.tesla.3p.public-key.pem";
/// Length of the authorize request's `state`.
pub const STATE_LENGTH: usize = 64;

/// North America and Asia-Pacific base URL.
pub const NA_AUDIENCE: &str = "https://fleet-api.prd.na.vn.cloud.tesla.com";
/// Europe, Middle East and Africa base URL.
pub const EU_AUDIENCE: &str = "https://fleet-api.prd.eu.vn.cloud.tesla.com";
/// China base URL.
pub const CN_AUDIENCE: &str = "https://fleet-api.prd.cn.vn.cloud.tesla.cn";

/// A Fleet API region ("audience").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// North America and Asia-Pacific.
    Na,
    /// Europe, Middle East and Africa.
    Eu,
    /// China.
    Cn,
}

impl Region {
    /// Parses `na`, `eu` or `cn` (case-insensitive; `us` and `apac` mean `na`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "na" | "us" | "apac" => Some(Self::Na),
            "eu" | "emea" => Some(Self::Eu),
            "cn" | "china" => Some(Self::Cn),
            _ => None,
        }
    }

    /// The short name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Na => "na",
            Self::Eu => "eu",
            Self::Cn => "cn",
        }
    }

    /// Tesla's base URL of the region.
    pub fn audience(self) -> &'static str {
        match self {
            Self::Na => NA_AUDIENCE,
            Self::Eu => EU_AUDIENCE,
            Self::Cn => CN_AUDIENCE,
        }
    }
}

/// Why a setup step failed, phrased as what to fix.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A setting is unusable.
    #[error("setup configuration: {0}")]
    Config(String),
    /// The system random source failed (key or state generation).
    #[error("the system random source failed: {0}")]
    Random(String),
    /// A key file could not be written.
    #[error("cannot write {path}: {source}; check the directory exists and is writable")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A Tesla or domain endpoint could not be reached.
    #[error("cannot reach {url}: {detail}; check the URL and the network")]
    Unreachable {
        /// What we asked.
        url: String,
        /// The transport's words.
        detail: String,
    },
    /// The developer domain does not serve the public key.
    #[error(
        "{url} answered HTTP {status}: host the public key file there (the domain must serve it over HTTPS with status 200)"
    )]
    PemNotHosted {
        /// The PEM URL.
        url: String,
        /// Its status.
        status: u16,
    },
    /// The hosted key is not the local one.
    #[error(
        "{url} serves a different public key than {local}: upload the key generated with this private key"
    )]
    PemMismatch {
        /// The PEM URL.
        url: String,
        /// The local public key file or a description.
        local: String,
    },
    /// Tesla's SSO refused a token request.
    #[error("Tesla refused the {what} (HTTP {status}: {detail}); {fix}")]
    TokenRefused {
        /// Which token.
        what: &'static str,
        /// HTTP status.
        status: u16,
        /// Tesla's error text.
        detail: String,
        /// What to check.
        fix: &'static str,
    },
    /// The Fleet API refused a call.
    #[error("the Fleet API refused {path} (HTTP {status}: {detail}); {fix}")]
    ApiRefused {
        /// The path.
        path: String,
        /// HTTP status.
        status: u16,
        /// Tesla's error text.
        detail: String,
        /// What to check.
        fix: String,
    },
    /// An answer could not be understood.
    #[error("unexpected answer from {what}: {detail}")]
    Malformed {
        /// Which request.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// What the user pasted holds no code.
    #[error("pasted answer: {0}; paste the whole address the browser ended on, or just its code")]
    BadPaste(String),
    /// The account has no energy site, or not the wanted one.
    #[error("{0}")]
    Site(String),
}

/// `https://{domain}/.well-known/appspecific/com.tesla.3p.public-key.pem`; `domain_base`
/// (`scheme://host[:port]`) replaces `https://{domain}` (tests point it at the simulator).
pub fn pem_url(domain: &str, domain_base: Option<&str>) -> String {
    match domain_base {
        Some(base) => endpoint(base, PUBLIC_KEY_PATH),
        None => format!("https://{}{PUBLIC_KEY_PATH}", domain.trim_end_matches('/')),
    }
}

/// `https://{domain}/access`, the redirect URI the reference proposes.
pub fn default_redirect_uri(domain: &str) -> String {
    format!("https://{}/access", domain.trim_end_matches('/'))
}

/// `STATE_LENGTH` random letters and digits.
pub fn random_state() -> Result<String, SetupError> {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let rng = ring::rand::SystemRandom::new();
    let mut state = String::with_capacity(STATE_LENGTH);
    // Rejection sampling keeps every character equally likely; 248 = 4 × 62.
    let mut attempts = 0;
    while state.len() < STATE_LENGTH && attempts < 64 {
        attempts += 1;
        let mut bytes = [0u8; 128];
        rng.fill(&mut bytes)
            .map_err(|_| SetupError::Random("no random bytes".to_owned()))?;
        for byte in bytes.into_iter().filter(|byte| *byte < 248) {
            if state.len() == STATE_LENGTH {
                break;
            }
            state.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
        }
    }
    Ok(state)
}

/// The authorization code from a pasted redirect URL (its `code` parameter) or a bare code. When
/// `expected_state` is given, a URL's `state` must match it.
pub fn extract_code(pasted: &str, expected_state: Option<&str>) -> Result<String, SetupError> {
    let pasted = pasted.trim();
    if pasted.is_empty() {
        return Err(SetupError::BadPaste("it is empty".to_owned()));
    }
    let query = match pasted.split_once('?') {
        Some((_, query)) => query.split('#').next().unwrap_or_default(),
        None if pasted.contains('=') => pasted,
        None if pasted
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)) =>
        {
            return Ok(pasted.to_owned());
        }
        None => {
            return Err(SetupError::BadPaste(
                "not a redirect address or a code".to_owned(),
            ));
        }
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| SetupError::BadPaste("the address's query does not parse".to_owned()))?;
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    };
    if let Some(error) = get("error") {
        return Err(SetupError::BadPaste(format!(
            "Tesla answered error {error:?}"
        )));
    }
    if let Some(expected) = expected_state {
        if get("state").is_some_and(|state| state != expected) {
            return Err(SetupError::BadPaste(
                "its state belongs to another sign-in (start the sign-in again)".to_owned(),
            ));
        }
    }
    match get("code") {
        Some(code) if !code.is_empty() => Ok(code.to_owned()),
        _ => Err(SetupError::BadPaste(
            "the address carries no code".to_owned(),
        )),
    }
}

/// One energy site of the product list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSite {
    /// `energy_site_id`.
    pub id: u64,
    /// `site_name`, when given.
    pub name: Option<String>,
}

/// The products with an `energy_site_id` (the `response` array), in list order.
pub fn energy_sites(products: &Value) -> Vec<FleetSite> {
    products
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| {
            let id = &entry["energy_site_id"];
            Some(FleetSite {
                id: id
                    .as_u64()
                    .or_else(|| id.as_str().and_then(|text| text.parse().ok()))?,
                name: entry["site_name"].as_str().map(str::to_owned),
            })
        })
        .collect()
}

/// The wanted site (it must be listed) or the first one.
pub fn choose_site(sites: &[FleetSite], wanted: Option<u64>) -> Result<FleetSite, SetupError> {
    match wanted {
        Some(id) => sites.iter().find(|site| site.id == id).cloned().ok_or_else(|| {
            SetupError::Site(format!(
                "energy site {id} is not in this account; choose one of: {}",
                sites
                    .iter()
                    .map(|site| site.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }),
        None => sites.first().cloned().ok_or_else(|| {
            SetupError::Site(
                "this account has no energy site: sign in with the Tesla account that owns the Powerwall".to_owned(),
            )
        }),
    }
}

/// Where the setup talks to.
#[derive(Debug, Clone)]
pub struct SetupEndpoints {
    /// Tesla SSO base (`https://auth.tesla.com/`).
    pub auth_url: String,
    /// The region base URL (the `audience`).
    pub audience: String,
    /// Replaces `https://{domain}` in the PEM check (tests point it at the simulator).
    pub domain_base: Option<String>,
    /// PEM of a CA to trust instead of the system roots (tests).
    pub ca_pem: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl SetupEndpoints {
    /// Tesla's endpoints for `region`.
    pub fn for_region(region: Region) -> Self {
        Self {
            auth_url: super::DEFAULT_AUTH_URL.to_owned(),
            audience: region.audience().to_owned(),
            domain_base: None,
            ca_pem: None,
            timeout: SETUP_TIMEOUT,
        }
    }
}

/// The user's tokens from the code exchange.
#[derive(Debug, Clone)]
pub struct UserTokens {
    /// Bearer token for the Fleet API.
    pub access_token: Secret,
    /// Refresh token.
    pub refresh_token: Secret,
}

/// A setup session: one HTTP client and the endpoints.
#[derive(Debug)]
pub struct FleetSetup {
    endpoints: SetupEndpoints,
    http: reqwest::Client,
}

/// The text of an error answer (`error`, `error_description`, `message`), never a token.
fn error_text(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    let parts: Vec<&str> = ["error", "error_description", "message"]
        .iter()
        .filter_map(|key| value[*key].as_str())
        .filter(|text| !text.is_empty())
        .collect();
    if parts.is_empty() {
        "no details".to_owned()
    } else {
        parts.join(": ")
    }
}

impl FleetSetup {
    /// A session over `endpoints` (validated; nothing sent).
    pub fn new(endpoints: SetupEndpoints) -> Result<Self, SetupError> {
        for url in [&endpoints.auth_url, &endpoints.audience] {
            reqwest::Url::parse(url)
                .map_err(|err| SetupError::Config(format!("URL {url:?}: {err}")))?;
        }
        let http = transport::cloud_client(endpoints.timeout, endpoints.ca_pem.as_deref())
            .map_err(|err| SetupError::Config(err.to_string()))?;
        Ok(Self { endpoints, http })
    }

    /// The endpoints of this session.
    pub fn endpoints(&self) -> &SetupEndpoints {
        &self.endpoints
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(u16, bytes::Bytes), SetupError> {
        let unreachable = |err: reqwest::Error| SetupError::Unreachable {
            url: url.to_owned(),
            detail: crate::http::error_detail(&err),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(unreachable)?;
        Ok((status, body))
    }

    /// Checks the developer domain serves the public key (200), and when `local_public_pem` is
    /// given that it is the same key.
    pub async fn check_public_key(
        &self,
        domain: &str,
        local_public_pem: Option<&str>,
    ) -> Result<(), SetupError> {
        let url = pem_url(domain, self.endpoints.domain_base.as_deref());
        let (status, body) = self.send(self.http.get(&url), &url).await?;
        if status != 200 {
            return Err(SetupError::PemNotHosted { url, status });
        }
        if let Some(local) = local_public_pem {
            let hosted = pem_der(&String::from_utf8_lossy(&body));
            if hosted.is_none() || hosted != pem_der(local) {
                return Err(SetupError::PemMismatch {
                    url,
                    local: "the generated public key".to_owned(),
                });
            }
        }
        Ok(())
    }

    async fn token(
        &self,
        form: &[(&str, &str)],
        what: &'static str,
        fix: &'static str,
    ) -> Result<Value, SetupError> {
        let url = endpoint(&self.endpoints.auth_url, "oauth2/v3/token");
        let request = self.http.post(&url).form(form);
        let (status, body) = self.send(request, &url).await?;
        if !(200..300).contains(&status) {
            return Err(SetupError::TokenRefused {
                what,
                status,
                detail: error_text(&body),
                fix,
            });
        }
        let value: Value = serde_json::from_slice(&body).map_err(|_| SetupError::Malformed {
            what: url.clone(),
            detail: "not JSON".to_owned(),
        })?;
        if value["access_token"].as_str().is_none_or(str::is_empty) {
            return Err(SetupError::Malformed {
                what: url,
                detail: "no access_token".to_owned(),
            });
        }
        Ok(value)
    }

    /// The partner token (`client_credentials` grant).
    pub async fn partner_token(
        &self,
        client_id: &str,
        client_secret: &Secret,
    ) -> Result<Secret, SetupError> {
        let answer = self
            .token(
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose()),
                    ("scope", SCOPE),
                    ("audience", &self.endpoints.audience),
                ],
                "partner token",
                "check CLIENT_ID and CLIENT_SECRET of the developer application",
            )
            .await?;
        Ok(Secret::new(
            answer["access_token"].as_str().unwrap_or_default(),
        ))
    }

    /// Registers the partner account for `domain`; answers Tesla's JSON answer (kept in the file).
    pub async fn register_partner(
        &self,
        partner_token: &Secret,
        domain: &str,
    ) -> Result<Value, SetupError> {
        const PATH: &str = "api/1/partner_accounts";
        let url = endpoint(&self.endpoints.audience, PATH);
        let request = self
            .http
            .request(Method::POST, &url)
            .bearer_auth(partner_token.expose())
            .json(&json!({"domain": domain}));
        let (status, body) = self.send(request, &url).await?;
        if !(200..300).contains(&status) {
            let fix = match status {
                412 => "use the region (audience) of the account".to_owned(),
                401 | 403 => "get a fresh partner token".to_owned(),
                _ => format!(
                    "host the public key at {} and check DOMAIN matches the application's allowed origin",
                    pem_url(domain, None)
                ),
            };
            return Err(SetupError::ApiRefused {
                path: PATH.to_owned(),
                status,
                detail: error_text(&body),
                fix,
            });
        }
        serde_json::from_slice(&body).map_err(|_| SetupError::Malformed {
            what: url,
            detail: "not JSON".to_owned(),
        })
    }

    /// The URL the user opens to grant access, and its random `state`.
    pub fn authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
    ) -> Result<(String, String), SetupError> {
        let state = random_state()?;
        let query = serde_urlencoded::to_string([
            ("client_id", client_id),
            ("locale", "en-US"),
            ("prompt", "login"),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", SCOPE),
            ("state", state.as_str()),
        ])
        .map_err(|err| SetupError::Config(err.to_string()))?;
        let base = endpoint(&self.endpoints.auth_url, "oauth2/v3/authorize");
        Ok((format!("{base}?{query}"), state))
    }

    /// Exchanges the authorization code for the user's tokens.
    pub async fn exchange_code(
        &self,
        client_id: &str,
        client_secret: &Secret,
        code: &str,
        redirect_uri: &str,
    ) -> Result<UserTokens, SetupError> {
        let answer = self
            .token(
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose()),
                    ("code", code),
                    ("audience", &self.endpoints.audience),
                    ("redirect_uri", redirect_uri),
                    ("scope", SCOPE),
                ],
                "authorization code",
                "codes are single-use and short-lived: sign in again; check REDIRECT_URI matches the application",
            )
            .await?;
        let text = |key: &str| answer[key].as_str().unwrap_or_default().to_owned();
        if text("refresh_token").is_empty() {
            return Err(SetupError::Malformed {
                what: "the code exchange".to_owned(),
                detail: "no refresh_token (is offline_access granted?)".to_owned(),
            });
        }
        Ok(UserTokens {
            access_token: Secret::new(text("access_token")),
            refresh_token: Secret::new(text("refresh_token")),
        })
    }

    /// The account's energy sites (`GET {audience}/api/1/products`).
    pub async fn energy_sites(&self, access_token: &Secret) -> Result<Vec<FleetSite>, SetupError> {
        const PATH: &str = "api/1/products";
        let url = endpoint(&self.endpoints.audience, PATH);
        let request = self.http.get(&url).bearer_auth(access_token.expose());
        let (status, body) = self.send(request, &url).await?;
        if status != 200 {
            let fix = if status == 412 {
                "set the region (audience) the error names".to_owned()
            } else {
                "sign in again".to_owned()
            };
            return Err(SetupError::ApiRefused {
                path: PATH.to_owned(),
                status,
                detail: error_text(&body),
                fix,
            });
        }
        let value: Value = serde_json::from_slice(&body).map_err(|_| SetupError::Malformed {
            what: url,
            detail: "not JSON".to_owned(),
        })?;
        Ok(energy_sites(&value["response"]))
    }
}
