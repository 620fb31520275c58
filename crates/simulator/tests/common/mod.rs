//! Shared helpers of the end-to-end tests: a TLS client that accepts the simulator's
//! self-signed certificate, a simulator on a frozen clock, and a customer login.

#![allow(clippy::unwrap_used, dead_code)] // test helpers: a failure here is a failed test

use std::sync::Arc;

use powerwall_simulator::{SimulatorConfig, SimulatorHandle, start};
use reqwest::{Client, StatusCode, header};
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::Value;

/// 2024-01-24 12:00 UTC, the fixtures' reference instant.
pub const START: f64 = 1_706_097_600.0;

/// Gateways use self-signed certificates; clients never verify them (gateway-protocols §0).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

pub fn client() -> Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn simulator() -> SimulatorHandle {
    start(SimulatorConfig {
        start_epoch: Some(START),
        freeze_clock: true,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap()
}

pub struct Session {
    pub cookie: String,
    pub token: String,
}

pub async fn login(client: &Client, sim: &SimulatorHandle) -> Session {
    let response = client
        .post(format!("{}/api/login/Basic", sim.url()))
        .form(&[
            ("username", "customer"),
            ("password", "password"),
            ("email", "a@b.c"),
            ("clientInfo", "timezone"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(cookies.len(), 2);
    assert_eq!(cookies[0], format!("AuthCookie={token}; Path=/"));
    assert!(cookies[1].starts_with("UserRecord=") && cookies[1].ends_with("; Path=/"));
    let pairs: Vec<&str> = cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect();
    Session {
        cookie: pairs.join("; "),
        token,
    }
}

pub async fn get_json(client: &Client, url: String, session: &Session) -> (StatusCode, Value) {
    let response = client
        .get(url)
        .header(header::COOKIE, &session.cookie)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}
