//! `PW_HTTPS=yes`: a self-signed certificate generated at start (never stored, never shipped).

use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context;
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The rustls server configuration (ring provider, HTTP/1.1) with a fresh certificate for
/// `pypowerwall`, `localhost`, the loopback addresses and the bind address.
pub fn server_config(bind_ip: IpAddr) -> anyhow::Result<Arc<ServerConfig>> {
    let mut names = vec![
        "pypowerwall".to_owned(),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !bind_ip.is_unspecified() && !bind_ip.is_loopback() {
        names.push(bind_ip.to_string());
    }
    let certified =
        rcgen::generate_simple_self_signed(names).context("generating the TLS certificate")?;
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .context("TLS certificate")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_for_loopback_and_any_address() {
        for ip in [IpAddr::from([127, 0, 0, 1]), IpAddr::from([0, 0, 0, 0])] {
            let config = server_config(ip);
            assert!(config.is_ok(), "{ip}");
        }
    }
}
