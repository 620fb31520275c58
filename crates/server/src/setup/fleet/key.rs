//! The application's key pair in the credential directory (reused when present) and the wait
//! until the developer domain serves its public key.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use powerwall_gateway::fleet::setup::{
    FleetSetup, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, SetupError as FleetError, generate_key_pair,
    pem_url, write_key_pair,
};

use crate::setup::console::Console;
use crate::setup::error::SetupError;

/// Checks of the hosted key before the setup gives up (each after the user presses Enter).
pub const MAX_PEM_CHECKS: usize = 5;

/// The key pair the setup uses.
#[derive(Debug, Clone)]
pub struct LocalKey {
    /// The private key file (mode 0600).
    pub private_path: PathBuf,
    /// The public key file: the one to host.
    pub public_path: PathBuf,
    /// The public key's PEM text, compared with the hosted one.
    pub public_pem: String,
    /// Whether the pair already existed.
    pub reused: bool,
}

/// Reuses the pair in `dir` when its private key exists, else generates and writes a new one.
pub fn ensure_key_pair(dir: &Path) -> Result<LocalKey, SetupError> {
    let private_path = dir.join(PRIVATE_KEY_FILE);
    let public_path = dir.join(PUBLIC_KEY_FILE);
    if private_path.exists() {
        // A new pair would orphan the key already uploaded and registered: keep it.
        let public_pem = std::fs::read_to_string(&public_path).map_err(|source| {
            SetupError::Invalid(format!(
                "{} exists but its public key {} cannot be read ({source}): restore the public \
                 key file, or move the private key away to generate a new pair",
                private_path.display(),
                public_path.display()
            ))
        })?;
        return Ok(LocalKey {
            private_path,
            public_path,
            public_pem,
            reused: true,
        });
    }
    let pair = generate_key_pair().map_err(SetupError::Fleet)?;
    let (private_path, public_path) = write_key_pair(dir, &pair).map_err(SetupError::Fleet)?;
    Ok(LocalKey {
        private_path,
        public_path,
        public_pem: pair.public_pem,
        reused: false,
    })
}

/// Tells where to host the public key, waits for Enter, and checks the URL serves this key;
/// on failure says why and checks again after the next Enter, at most [`MAX_PEM_CHECKS`] times.
/// Answers the URL checked.
pub async fn wait_until_hosted<R, W>(
    console: &mut Console<R, W>,
    setup: &FleetSetup,
    domain: &str,
    key: &LocalKey,
) -> Result<String, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let public_url = pem_url(domain, None);
    let checked_url = pem_url(domain, setup.endpoints().domain_base.as_deref());
    console.say("")?;
    console.say("Host the public key on the developer domain, so Tesla can verify the application:")?;
    console.say(format!("  file: {}", key.public_path.display()))?;
    console.say(format!("  URL:  {public_url}"))?;
    if checked_url != public_url {
        console.say(format!(
            "  (checked at {checked_url}, from PW_FLEET_DOMAIN_URL)"
        ))?;
    }
    console.say("It must answer HTTP 200 over HTTPS with exactly this file.")?;
    console.say("Press Enter once the URL serves the file.")?;
    for check in 1..=MAX_PEM_CHECKS {
        console.ask("").await?;
        console.say(format!("Checking {checked_url}…"))?;
        match setup.check_public_key(domain, Some(&key.public_pem)).await {
            Ok(()) => {
                console.say("  The domain serves this public key.")?;
                return Ok(checked_url);
            }
            Err(
                err @ (FleetError::PemNotHosted { .. }
                | FleetError::PemMismatch { .. }
                | FleetError::Unreachable { .. }),
            ) if check < MAX_PEM_CHECKS => {
                console.say(format!("  ✗ {err}"))?;
                console.say(format!(
                    "Fix it, then press Enter to check again ({} checks left).",
                    MAX_PEM_CHECKS - check
                ))?;
            }
            Err(err) => return Err(SetupError::Fleet(err)),
        }
    }
    Err(SetupError::TooManyTries("public key check", MAX_PEM_CHECKS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_pair_is_written_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_key_pair(dir.path()).unwrap();
        assert!(!first.reused);
        assert!(first.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first.private_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = ensure_key_pair(dir.path()).unwrap();
        assert!(second.reused);
        assert_eq!(second.public_pem, first.public_pem);
    }

    #[test]
    fn a_private_key_without_its_public_key_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_key_pair(dir.path()).unwrap();
        let private = std::fs::read_to_string(&first.private_path).unwrap();
        std::fs::remove_file(&first.public_path).unwrap();
        let err = ensure_key_pair(dir.path()).unwrap_err();
        assert!(err.to_string().contains("restore the public key"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&first.private_path).unwrap(),
            private
        );
    }
}
