//! A self-signed certificate generated at start, like a gateway's own (never stored on disk).

use std::net::IpAddr;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::SimulatorError;

/// Builds the rustls server configuration (ring provider, HTTP/1.1 only).
///
/// Only HTTP/1.1 is offered: gateway clients speak it, and an injected "drop" fault then always
/// reaches the client as a connection closed before any response (with h2 it would be a stream reset).
pub(crate) fn server_config(bind_ip: IpAddr) -> Result<Arc<ServerConfig>, SimulatorError> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        "teg".to_owned(),
        "powerwall".to_owned(),
    ];
    if !bind_ip.is_unspecified() && !bind_ip.is_loopback() {
        names.push(bind_ip.to_string());
    }
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|error| SimulatorError::Tls(format!("certificate generation: {error}")))?;
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|error| SimulatorError::Tls(error.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .map_err(|error| SimulatorError::Tls(error.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_config_for_loopback() {
        let config = server_config(IpAddr::from([127, 0, 0, 1])).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
