//! HTTP for Tesla's cloud (gateway-protocols §5.1): verified TLS 1.3 (a test CA can be trusted
//! instead of the system roots), HTTP/2 offered by ALPN with HTTP/1.1 as fallback, the Owner API
//! headers, the `{"response": …}` envelope, and what each status means.
//!
//! Like the gateway client, nothing here multiplies requests: no redirects, no retry policy, no
//! environment proxy; every request is counted by the caller.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

use crate::GatewayError;

/// `X-Tesla-User-Agent` of the reference.
pub const TESLA_USER_AGENT: &str = "TeslaApp/4.10.0";
/// `User-Agent` of the reference.
pub const USER_AGENT: &str = "pypowerwall.cloud.teslapy/2.9.1";
/// Pause after a 429 that names no delay.
pub const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(10);
/// Longest pause a 429 may impose (protects against absurd or hostile values).
pub const MAX_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(3600);

/// Builds the cloud HTTP client: HTTP/2 or HTTP/1.1 by ALPN, TLS 1.3, certificates verified
/// against the system roots or, when `ca_pem` is given, against that CA only (tests).
pub fn cloud_client(
    timeout: Duration,
    ca_pem: Option<&str>,
) -> Result<reqwest::Client, GatewayError> {
    cloud_client_with(timeout, ca_pem, false)
}

/// As [`cloud_client`]; with `http1_only` the client offers and speaks HTTP/1.1 only (the Fleet
/// API's `PW_FLEETAPI_HTTP=1.1` and its fallback after a failed HTTP/2 exchange).
pub fn cloud_client_with(
    timeout: Duration,
    ca_pem: Option<&str>,
    http1_only: bool,
) -> Result<reqwest::Client, GatewayError> {
    if timeout.is_zero() {
        return Err(GatewayError::Config(
            "the cloud timeout must be longer than zero".to_owned(),
        ));
    }
    let mut tls = cloud_tls_config(ca_pem)?;
    let mut builder = reqwest::Client::builder();
    if http1_only {
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        builder = builder.http1_only();
    }
    builder
        .tls_backend_preconfigured(tls)
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .no_proxy()
        .referer(false)
        .user_agent(USER_AGENT)
        .build()
        .map_err(|err| GatewayError::Config(format!("cannot build the cloud HTTP client: {err}")))
}

/// The rustls configuration of cloud traffic: ring, TLS 1.3 only, ALPN `h2` then `http/1.1`.
pub(crate) fn cloud_tls_config(ca_pem: Option<&str>) -> Result<rustls::ClientConfig, GatewayError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config_error =
        |err: &dyn std::fmt::Display| GatewayError::Config(format!("cloud TLS: {err}"));
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        // Tesla pins TLS 1.3 for the cloud (gateway-protocols §5.1).
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|err| config_error(&err))?;
    let mut config = match ca_pem {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|err| config_error(&err))?;
            if certs.is_empty() {
                return Err(GatewayError::Config(
                    "cloud TLS: the CA file holds no certificate".to_owned(),
                ));
            }
            for cert in certs {
                roots.add(cert).map_err(|err| config_error(&err))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider)
                .map_err(|err| config_error(&err))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    // Tesla requires HTTP/2 since June 2026; HTTP/1.1 stays offered for servers without it.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// One complete HTTP exchange.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

/// Maps a transport error to the error class callers act on.
pub(crate) fn transport_error(
    target: &str,
    timeout: Duration,
    err: &reqwest::Error,
) -> GatewayError {
    if err.is_timeout() {
        GatewayError::Timeout {
            target: target.to_owned(),
            timeout,
        }
    } else {
        // The error's text can carry the URL, never a token (tokens travel in headers/bodies).
        GatewayError::Unreachable {
            target: target.to_owned(),
            detail: crate::http::error_detail(err),
        }
    }
}

/// The pause a 429 asks for: `Retry-After` (seconds or HTTP date), else a body saying
/// "Retry in N seconds", else [`DEFAULT_RATE_LIMIT_PAUSE`]; capped at [`MAX_RATE_LIMIT_PAUSE`].
pub fn rate_limit_delay(headers: &HeaderMap, body: &[u8], now: SystemTime) -> Duration {
    crate::http::retry_after(headers, now)
        .or_else(|| retry_in_body(&String::from_utf8_lossy(body)))
        .unwrap_or(DEFAULT_RATE_LIMIT_PAUSE)
        .min(MAX_RATE_LIMIT_PAUSE)
}

/// Finds "retry … N second(s)" in a body text (case-insensitive).
pub fn retry_in_body(text: &str) -> Option<Duration> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("retry")?;
    let rest = &lower[start..];
    let digits_at = rest.find(|c: char| c.is_ascii_digit())?;
    let digits: String = rest[digits_at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let after = rest[digits_at + digits.len()..].trim_start();
    if !after.starts_with('s') {
        return None;
    }
    digits.parse().ok().map(Duration::from_secs)
}

/// The `response` member of a `{"response": …}` envelope.
pub fn unwrap_envelope(path: &str, body: &[u8]) -> Result<Value, GatewayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(GatewayError::Empty {
            path: path.to_owned(),
        });
    }
    let mut value: Value = serde_json::from_slice(body).map_err(|err| GatewayError::Malformed {
        path: path.to_owned(),
        detail: format!("invalid JSON: {err}"),
    })?;
    match value.get_mut("response") {
        Some(inner) => Ok(inner.take()),
        None => Err(GatewayError::Malformed {
            path: path.to_owned(),
            detail: "no \"response\" member".to_owned(),
        }),
    }
}

/// Checks a write's command answer (`{"code": 201, "message": "Updated"}`, keys in any case):
/// codes 200 and 201 succeed with the message; anything else is an error.
pub fn command_result(path: &str, response: &Value) -> Result<String, GatewayError> {
    let field = |name: &str| {
        response.as_object().and_then(|map| {
            map.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
    };
    let code = field("code").and_then(|code| {
        code.as_u64()
            .or_else(|| code.as_str().and_then(|text| text.trim().parse().ok()))
    });
    let message = field("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match code {
        Some(200 | 201) => Ok(message),
        Some(code) => Err(GatewayError::Status {
            path: path.to_owned(),
            status: u16::try_from(code).unwrap_or(u16::MAX),
        }),
        None => Err(GatewayError::Malformed {
            path: path.to_owned(),
            detail: "the command answer has no code".to_owned(),
        }),
    }
}
