//! The developer application's EC P-256 key pair (gateway-protocols §6.1): generated with ring
//! (no OpenSSL), written as PEM: the private key PKCS#8 with mode 0600, the public key as a
//! SubjectPublicKeyInfo to host on the developer domain.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::setup::{PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, SetupError};
use crate::Secret;
use crate::private_file::write_atomically;

/// An EC P-256 key pair in PEM form.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// PKCS#8 `PRIVATE KEY` PEM (never logged: [`Secret`]).
    pub private_pem: Secret,
    /// SubjectPublicKeyInfo `PUBLIC KEY` PEM: the file to host.
    pub public_pem: String,
}

/// DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, 66-byte bit string);
/// the 65-byte uncompressed point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

fn pem(label: &str, der: &[u8]) -> String {
    let text = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside a PEM text (header lines and whitespace dropped); `None` if not base64.
pub fn pem_der(text: &str) -> Option<Vec<u8>> {
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    STANDARD.decode(body).ok().filter(|der| !der.is_empty())
}

/// Generates an EC P-256 key pair (ring, the system random source).
pub fn generate_key_pair() -> Result<KeyPair, SetupError> {
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|err| SetupError::Random(err.to_string()))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|err| SetupError::Random(err.to_string()))?;
    let mut spki = P256_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(pair.public_key().as_ref());
    Ok(KeyPair {
        private_pem: Secret::new(pem("PRIVATE KEY", pkcs8.as_ref())),
        public_pem: pem("PUBLIC KEY", &spki),
    })
}

/// Writes the private key (0600) and the public key into `dir`; answers their paths.
pub fn write_key_pair(dir: &Path, pair: &KeyPair) -> Result<(PathBuf, PathBuf), SetupError> {
    let private = dir.join(PRIVATE_KEY_FILE);
    let public = dir.join(PUBLIC_KEY_FILE);
    for (path, text) in [
        (&private, pair.private_pem.expose()),
        (&public, pair.public_pem.as_str()),
    ] {
        write_atomically(path, text.as_bytes()).map_err(|source| SetupError::Io {
            path: path.clone(),
            source,
        })?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The public key is meant to be published: readable by all.
        std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o644)).map_err(
            |source| SetupError::Io {
                path: public.clone(),
                source,
            },
        )?;
    }
    Ok((private, public))
}
