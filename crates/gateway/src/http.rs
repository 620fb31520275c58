//! The one HTTP client builder for gateway traffic.
//!
//! Gateways present a self-signed certificate, so certificate *verification* is off for gateway
//! traffic only (gateway-protocols §0); handshake signatures are still checked, so the session key
//! belongs to whoever holds the certificate's key. Everything that could multiply requests is off:
//! no redirects, no retry policy, no proxy from the environment.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{CONNECTION, HeaderMap, HeaderValue, RETRY_AFTER};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::GatewayError;

/// A transport error's text with its causes ("error sending request …: connection refused"), so
/// logs and setup messages say why, not only that, a request failed. Never holds a credential:
/// tokens and passwords travel in headers and bodies, not in URLs.
pub fn error_detail(err: &reqwest::Error) -> String {
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    // Bounded: a cause chain is short, but a cyclic one must not loop forever.
    for _ in 0..8 {
        let Some(cause) = source else { break };
        let text = cause.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        source = cause.source();
    }
    detail
}

/// Settings of a gateway HTTP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayHttpSettings {
    /// Connect timeout and read timeout (each), like the reference's `timeout`.
    pub timeout: Duration,
    /// Idle keep-alive connections kept per host; 0 disables keep-alive.
    pub pool_max_idle: usize,
}

/// Builds the HTTP client for one gateway: rustls (ring), gateway certificate accepted, connect and
/// read timeout, keep-alive pool, HTTP/1.1, no redirects, no retries, no environment proxy.
pub fn gateway_client(settings: GatewayHttpSettings) -> Result<reqwest::Client, GatewayError> {
    if settings.timeout.is_zero() {
        return Err(GatewayError::Config(
            "the gateway timeout must be longer than zero".to_owned(),
        ));
    }
    let tls = gateway_tls_config()?;
    let mut headers = HeaderMap::new();
    if settings.pool_max_idle == 0 {
        // No pool: tell the gateway to free the socket at once instead of holding it idle.
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(settings.timeout)
        .read_timeout(settings.timeout)
        .pool_max_idle_per_host(settings.pool_max_idle)
        .default_headers(headers)
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        // reqwest 0.13 retries protocol NACKs by default; the gateway must see every request we
        // count, so no retry of any kind happens inside the client.
        .retry(reqwest::retry::never())
        .no_proxy()
        .referer(false)
        .build()
        .map_err(|err| GatewayError::Config(format!("cannot build the gateway HTTP client: {err}")))
}

/// The rustls configuration for gateway traffic: ring provider, any server certificate accepted.
fn gateway_tls_config() -> Result<rustls::ClientConfig, GatewayError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AcceptGatewayCertificate {
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| GatewayError::Config(format!("gateway TLS configuration: {err}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // Gateways speak HTTP/1.1 only (firmware 20.x–25.x); offering h2 would gain nothing.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts the gateway's self-signed certificate but still verifies handshake signatures.
#[derive(Debug)]
struct AcceptGatewayCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptGatewayCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Gateways are never verified (gateway-protocols §0): the certificate is self-signed.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Reads `Retry-After` from response headers (`now` is the wall clock, for HTTP dates).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| parse_retry_after(text, now))
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date (a past date means zero);
/// `None` for anything else.
pub fn parse_retry_after(text: &str, now: SystemTime) -> Option<Duration> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only; an absurdly long number saturates (the caller caps the pause anyway).
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_detail_names_the_cause() {
        // A loopback port that was just released: nothing listens, the connect is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .unwrap();
        let client = gateway_client(GatewayHttpSettings {
            timeout: Duration::from_secs(5),
            pool_max_idle: 0,
        })
        .unwrap();
        let err = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        let detail = error_detail(&err);
        assert!(detail.starts_with(&err.to_string()), "{detail}");
        assert!(detail.len() > err.to_string().len(), "no cause in {detail}");
    }

    #[test]
    fn client_builds_with_and_without_keep_alive() {
        for pool_max_idle in [0, 10] {
            let settings = GatewayHttpSettings {
                timeout: Duration::from_secs(5),
                pool_max_idle,
            };
            assert!(gateway_client(settings).is_ok(), "pool {pool_max_idle}");
        }
    }

    #[test]
    fn zero_timeout_is_a_config_error() {
        let settings = GatewayHttpSettings {
            timeout: Duration::ZERO,
            pool_max_idle: 1,
        };
        assert!(matches!(
            gateway_client(settings),
            Err(GatewayError::Config(_))
        ));
    }

    #[test]
    fn tls_offers_http1_and_accepts_any_certificate() {
        let config = gateway_tls_config().expect("config");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let verifier = AcceptGatewayCertificate {
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        };
        let name = ServerName::try_from("192.168.91.1").expect("name");
        let verdict = verifier.verify_server_cert(
            &CertificateDer::from(vec![0u8; 4]),
            &[],
            &name,
            &[],
            UnixTime::now(),
        );
        assert!(verdict.is_ok());
        assert!(!verifier.supported_verify_schemes().is_empty());
    }

    #[test]
    fn retry_after_seconds_date_and_garbage() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("date");
        let cases: [(&str, Option<u64>); 9] = [
            ("120", Some(120)),
            (" 7 ", Some(7)),
            ("0", Some(0)),
            ("99999999999999999999999", Some(u64::MAX)),
            ("Sun, 06 Nov 1994 08:51:37 GMT", Some(120)),
            ("Sun, 06 Nov 1994 08:00:00 GMT", Some(0)),
            ("-5", None),
            ("soon", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let got = parse_retry_after(text, now).map(|d| d.as_secs());
            assert_eq!(got, expected, "{text:?}");
        }
    }

    #[test]
    fn retry_after_from_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, SystemTime::now()), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        assert_eq!(
            retry_after(&headers, SystemTime::now()),
            Some(Duration::from_secs(30))
        );
    }
}
