//! A test CA and a server certificate it signs, generated at start (never stored on disk).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::SimulatorError;

/// The cloud listener's TLS material.
#[derive(Debug, Clone)]
pub struct CloudTls {
    /// PEM of the CA a client must trust.
    pub ca_pem: String,
    /// The server configuration (ALPN `h2`, `http/1.1`).
    pub server: Arc<ServerConfig>,
}

fn tls_error(error: impl std::fmt::Display) -> SimulatorError {
    SimulatorError::Tls(error.to_string())
}

/// Generates the CA and a certificate for `localhost`, `127.0.0.1` and `::1`.
pub(crate) fn generate() -> Result<CloudTls, SimulatorError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "powerwall-simulator test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(tls_error)?)
        .map_err(tls_error)?;
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let leaf_key = KeyPair::generate().map_err(tls_error)?;
    let leaf = CertificateParams::new(names)
        .map_err(tls_error)?
        .signed_by(&leaf_key, &ca)
        .map_err(tls_error)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut server =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
            .map_err(tls_error)?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(CloudTls {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    })
}
