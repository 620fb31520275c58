//! Who may talk TEDAPI (gateway-protocols §2.1, §2.12, §10.3, §10.4): HTTP Basic
//! `Tesla_Energy_Device:<gateway password>`, or a bearer token from an `installer` login.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::local::auth::{SessionCheck, token_expired};
use crate::local::gateway_error;
use crate::sim::Sim;

/// The fixed Basic-auth user of the TEDAPI Wi-Fi listener.
pub const TEDAPI_USER: &str = "Tesla_Energy_Device";

/// How an accepted request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// HTTP Basic with the gateway password.
    Basic,
    /// An installer bearer token.
    Bearer,
}

/// Which kind of TEDAPI path is being protected: the two answer refusals differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// `GET /tedapi/din`: a wrong password is a 403 (the client's "wrong password" signal).
    Din,
    /// The POST paths: a wrong password is a 401.
    Post,
}

/// What the `Authorization` header carries.
enum Presented {
    None,
    Basic(String, String),
    Bearer(String),
}

fn presented(headers: &HeaderMap) -> Presented {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return Presented::None;
    };
    let Some((scheme, rest)) = value.trim().split_once(' ') else {
        return Presented::None;
    };
    if scheme.eq_ignore_ascii_case("bearer") {
        return Presented::Bearer(rest.trim().to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Presented::None;
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match decoded.as_deref().and_then(|text| text.split_once(':')) {
        Some((user, password)) => Presented::Basic(user.to_owned(), password.to_owned()),
        None => Presented::None,
    }
}

/// Why a request was refused; small, so `Result`s stay cheap until the answer is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Missing or wrong credentials on `/tedapi/din`.
    Forbidden,
    /// Missing or wrong credentials on the POST paths, or an unknown bearer token.
    Unauthorized,
    /// A bearer token that existed but expired or was revoked.
    Expired,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            // The body a gateway sends for /tedapi/* without adequate rights (§2.1).
            Refusal::Forbidden => gateway_error(
                StatusCode::FORBIDDEN,
                "Unable to GET to resource",
                "User does not have adequate access rights",
            ),
            Refusal::Unauthorized => gateway_error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Authorization required",
            ),
            // The bearer client logs in again once on 401 (§2.12 step 5).
            Refusal::Expired => token_expired(),
        }
    }
}

/// Checks a TEDAPI request's credentials.
pub fn check(sim: &Sim, headers: &HeaderMap, guarded: Guarded) -> Result<Access, Refusal> {
    match presented(headers) {
        Presented::Basic(user, password)
            if user == TEDAPI_USER && password == sim.config().gateway_password =>
        {
            Ok(Access::Basic)
        }
        Presented::Bearer(_) if sim.tedapi().knobs().tedapi_bearer_rejected => {
            // The Powerwall 3 profile: bearer TEDAPI is not for this hardware (§10.4).
            Err(Refusal::Forbidden)
        }
        Presented::Bearer(token) => {
            let now_ns = sim.now_ns();
            match sim.sessions().check_installer_token(&token, now_ns) {
                SessionCheck::Valid => Ok(Access::Bearer),
                SessionCheck::Expired => Err(Refusal::Expired),
                SessionCheck::Missing => Err(Refusal::Unauthorized),
            }
        }
        _ => Err(match guarded {
            Guarded::Din => Refusal::Forbidden,
            Guarded::Post => Refusal::Unauthorized,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_basic_and_bearer() {
        let basic = format!("Basic {}", STANDARD.encode("Tesla_Energy_Device:ABC:DEF"));
        match presented(&headers(&basic)) {
            Presented::Basic(user, password) => {
                assert_eq!((user.as_str(), password.as_str()), (TEDAPI_USER, "ABC:DEF"));
            }
            _ => panic!("basic not read"),
        }
        assert!(
            matches!(presented(&headers("Bearer  tok== ")), Presented::Bearer(t) if t == "tok==")
        );
        assert!(matches!(presented(&headers("Basic %%%")), Presented::None));
        assert!(matches!(presented(&HeaderMap::new()), Presented::None));
    }
}
