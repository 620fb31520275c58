//! Why a setup failed, and what the user should do about it.

use std::io;
use std::path::PathBuf;

use powerwall_gateway::GatewayError;
use powerwall_gateway::fleet::setup::SetupError as FleetError;

/// A setup failure; [`SetupError::advice`] says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The input ended while an answer was still needed.
    #[error("the input ended before setup was complete")]
    InputClosed,
    /// Reading an answer failed.
    #[error("cannot read the answer: {0}")]
    Input(#[source] io::Error),
    /// Writing to the output failed.
    #[error("cannot write to the output: {0}")]
    Output(#[source] io::Error),
    /// A flag, variable or answer is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The credential directory cannot be created or written.
    #[error("cannot write credentials in {path}: {source}")]
    AuthDir {
        /// The directory (or file) that failed.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The pasted answer is not this login's redirect address or code.
    #[error("that is not the address of this login's \"Page Not Found\" page: {0}")]
    BadPaste(String),
    /// Tesla refused the authorization code.
    #[error("Tesla's login server at {url} refused the code")]
    CodeRejected {
        /// The SSO base.
        url: String,
    },
    /// Tesla refused the refresh token.
    #[error("Tesla's login server at {url} refused the refresh token")]
    TokenRejected {
        /// The SSO base.
        url: String,
    },
    /// Tesla refused the session (401/403 from the Owner API).
    #[error("the Tesla Owner API at {url} refused the session (HTTP {status})")]
    SessionRefused {
        /// The Owner API base.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// Tesla's servers could not be reached (DNS, TCP, TLS or a timeout).
    #[error("cannot reach {url}: {detail}")]
    Unreachable {
        /// The base URL(s) the step talks to.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The account has no energy site.
    #[error("this Tesla account has no energy site (Powerwall or solar)")]
    NoSite,
    /// The preselected site is not in the account, or several sites need a choice.
    #[error("{0}")]
    SiteChoice(String),
    /// Too many invalid answers in a row.
    #[error("no valid {0} after {1} tries")]
    TooManyTries(&'static str, usize),
    /// Any other cloud failure.
    #[error("{0}")]
    Cloud(#[source] GatewayError),
    /// A Fleet API setup step failed (its text already names what to fix).
    #[error("{0}")]
    Fleet(#[source] FleetError),
}

impl SetupError {
    /// One sentence on what to do about this failure.
    pub fn advice(&self) -> String {
        match self {
            Self::InputClosed => "run setup in a terminal, or set PW_REFRESH_TOKEN (and PW_EMAIL) \
                                  for a setup without questions"
                .to_owned(),
            Self::Input(_) | Self::Output(_) => "run setup again in a terminal".to_owned(),
            Self::Invalid(_) => "fix the value named above and run setup again".to_owned(),
            Self::AuthDir { .. } => {
                "choose a writable directory with --authpath or PW_AUTH_PATH".to_owned()
            }
            Self::BadPaste(_) => "copy the whole address from the browser's address bar after \
                                  logging in (it contains code= and state=), or just the code"
                .to_owned(),
            Self::CodeRejected { .. } => "the code is wrong, already used or expired (it lasts a \
                                          few minutes): run setup again and paste the address \
                                          right after logging in"
                .to_owned(),
            Self::TokenRejected { .. } => {
                "the refresh token is wrong, revoked or expired: get a fresh one, or use the \
                 browser login"
                    .to_owned()
            }
            Self::SessionRefused { status: 403, .. } => {
                "Tesla refuses sessions started from a refresh token alone: paste the access \
                 token too, or use the browser login"
                    .to_owned()
            }
            Self::SessionRefused { .. } => "log in again with setup".to_owned(),
            Self::Unreachable { .. } => "check the network connection, DNS, firewall or proxy, \
                                         and that the server's TLS certificate is trusted (a \
                                         private CA needs PW_CLOUD_CA_FILE)"
                .to_owned(),
            Self::NoSite => "add the Powerwall to this account in the Tesla app, or log in with \
                             the account that owns it"
                .to_owned(),
            Self::SiteChoice(_) => "choose a site with --siteid or PW_SITEID".to_owned(),
            Self::TooManyTries(..) => "run setup again".to_owned(),
            Self::Cloud(_) => "run setup again with --debug for details".to_owned(),
            Self::Fleet(err) => fleet_advice(err),
        }
    }
}

/// What to do about a failed Fleet API setup step.
fn fleet_advice(err: &FleetError) -> String {
    let advice = match err {
        FleetError::Config(_) => "fix the value named above and run setup again",
        FleetError::Random(_) => "the system's random source failed: run setup again",
        FleetError::Io { .. } => "choose a writable directory with --authpath or PW_AUTH_PATH",
        FleetError::Unreachable { .. } => {
            "check the network connection, DNS, firewall or proxy, and that the server's TLS \
             certificate is trusted (a private CA needs PW_CLOUD_CA_FILE)"
        }
        FleetError::PemNotHosted { .. } | FleetError::PemMismatch { .. } => {
            "upload the public key file from the credential directory to that exact URL, then \
             run setup again (the key pair there is reused)"
        }
        FleetError::TokenRefused {
            what: "partner token",
            ..
        } => {
            "check the client id and secret (--client-id / PW_FLEET_CLIENT_ID, \
             --client-secret / PW_FLEET_CLIENT_SECRET) against the application on \
             developer.tesla.com"
        }
        FleetError::TokenRefused { .. } => {
            "run setup again and paste the address right after signing in (codes are single-use \
             and expire within minutes); the redirect URI must be the application's"
        }
        FleetError::ApiRefused { status: 412, .. } => {
            "the account lives in another region: run setup again and choose the region whose \
             base URL the error names (na, eu or cn; --region / PW_FLEET_REGION)"
        }
        FleetError::ApiRefused { .. } | FleetError::Malformed { .. } => {
            "fix what the message above names and run setup again (--debug shows more)"
        }
        FleetError::BadPaste(_) => {
            "copy the whole address from the browser's address bar after signing in (it \
             contains code= and state=), or just the code"
        }
        FleetError::Site(_) => "choose a site with --siteid or PW_SITEID",
    };
    advice.to_owned()
}

/// Which base URLs a step talks to, so errors name the right one.
#[derive(Debug, Clone)]
pub struct StepUrls {
    /// The SSO base (code exchange, refresh).
    pub auth: String,
    /// The Owner API base (sites, live data).
    pub owner_api: String,
}

impl StepUrls {
    /// Maps a failed code exchange.
    pub fn code_exchange(&self, err: GatewayError) -> SetupError {
        match err {
            GatewayError::Config(detail) if detail.starts_with("pasted login answer") => {
                SetupError::BadPaste(detail.replace("pasted login answer: ", ""))
            }
            GatewayError::LoginRejected { .. } => SetupError::CodeRejected {
                url: self.auth.clone(),
            },
            other => self.common(other, &self.auth),
        }
    }

    /// Maps a failure of an Owner API step (which may refresh at the SSO first).
    pub fn owner_call(&self, err: GatewayError) -> SetupError {
        match err {
            GatewayError::LoginRejected { .. } => SetupError::TokenRejected {
                url: self.auth.clone(),
            },
            GatewayError::Unauthorized { status, .. } => SetupError::SessionRefused {
                url: self.owner_api.clone(),
                status,
            },
            other => self.common(other, &self.owner_api),
        }
    }

    fn common(&self, err: GatewayError, url: &str) -> SetupError {
        match err {
            GatewayError::Unreachable { detail, .. } => SetupError::Unreachable {
                url: url.to_owned(),
                detail,
            },
            GatewayError::Timeout { timeout, .. } => SetupError::Unreachable {
                url: url.to_owned(),
                detail: format!("no answer within {timeout:?}"),
            },
            GatewayError::AuthCache { path, source } => SetupError::AuthDir {
                path,
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            GatewayError::Config(detail) => SetupError::Invalid(detail),
            other => SetupError::Cloud(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> StepUrls {
        StepUrls {
            auth: "https://auth.example/".to_owned(),
            owner_api: "https://api.example/".to_owned(),
        }
    }

    #[test]
    fn errors_name_the_url_of_their_step() {
        let unreachable = || GatewayError::Unreachable {
            target: "api.example".to_owned(),
            detail: "connection refused".to_owned(),
        };
        let exchange = urls().code_exchange(unreachable()).to_string();
        assert_eq!(
            exchange,
            "cannot reach https://auth.example/: connection refused"
        );
        let owner = urls().owner_call(unreachable()).to_string();
        assert!(owner.contains("https://api.example/"), "{owner}");
    }

    #[test]
    fn a_refused_code_and_a_refused_token_say_what_to_do() {
        let rejected = || GatewayError::LoginRejected {
            target: "https://auth.example/".to_owned(),
            status: 400,
            credential: "the code",
        };
        let code = urls().code_exchange(rejected());
        assert!(matches!(code, SetupError::CodeRejected { .. }));
        assert!(code.advice().contains("expired"));
        let token = urls().owner_call(rejected());
        assert!(matches!(token, SetupError::TokenRejected { .. }));
        let forbidden = urls().owner_call(GatewayError::Unauthorized {
            path: "api/1/products".to_owned(),
            status: 403,
        });
        assert!(forbidden.advice().contains("access token"));
    }

    #[test]
    fn fleet_failures_name_the_setting_to_fix() {
        let refused = |what: &'static str| {
            SetupError::Fleet(FleetError::TokenRefused {
                what,
                status: 401,
                detail: "invalid_client".to_owned(),
                fix: "check CLIENT_ID and CLIENT_SECRET of the developer application",
            })
        };
        assert!(
            refused("partner token")
                .advice()
                .contains("PW_FLEET_CLIENT_SECRET")
        );
        assert!(
            refused("authorization code")
                .advice()
                .contains("single-use")
        );
        let region = SetupError::Fleet(FleetError::ApiRefused {
            path: "api/1/partner_accounts".to_owned(),
            status: 412,
            detail: "user out of region".to_owned(),
            fix: "use the region (audience) of the account".to_owned(),
        });
        assert!(region.to_string().contains("HTTP 412"), "{region}");
        assert!(region.advice().contains("PW_FLEET_REGION"));
        let pem = SetupError::Fleet(FleetError::PemNotHosted {
            url: "https://example.com/x.pem".to_owned(),
            status: 404,
        });
        assert!(pem.advice().contains("reused"));
    }

    #[test]
    fn a_bad_paste_keeps_only_the_reason() {
        let err = urls().code_exchange(GatewayError::Config(
            "pasted login answer: the URL carries no code".to_owned(),
        ));
        assert_eq!(
            err.to_string(),
            "that is not the address of this login's \"Page Not Found\" page: the URL carries no \
             code"
        );
    }
}
