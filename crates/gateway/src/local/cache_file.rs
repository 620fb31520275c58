//! The auth cache file (`.powerwall`, gateway-protocols §1.3): the last login's cookies or token,
//! so a restart does not need a new login. Written atomically with mode 0600.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::auth::{AuthMode, Credential};
use crate::private_file::{create_private_temp, parent_dir, write_atomically};
use crate::{GatewayError, Secret};

/// The file's text for a credential, exactly as the reference writes it (Python `json.dump`).
pub(crate) fn cache_document(credential: &Credential) -> String {
    let quote = |text: &str| serde_json::Value::from(text).to_string();
    match credential {
        Credential::Cookie {
            auth_cookie,
            user_record,
        } => format!(
            "{{\"AuthCookie\": {}, \"UserRecord\": {}}}",
            quote(auth_cookie.expose()),
            quote(user_record.expose())
        ),
        Credential::Token(token) => format!(
            "{{\"Authorization\": {}}}",
            quote(&format!("Bearer {}", token.expose()))
        ),
    }
}

/// Reads a credential for `mode` from the file's text; `None` unless the keys that mode needs are
/// there (cookie: `AuthCookie` and `UserRecord`; token: `Authorization`, token after the first space).
pub(crate) fn credential_from_document(mode: AuthMode, text: &str) -> Option<Credential> {
    let document: serde_json::Value = serde_json::from_str(text).ok()?;
    let field = |key: &str| {
        document
            .get(key)
            .and_then(serde_json::Value::as_str)
            .filter(|value| !value.is_empty())
    };
    let credential = match mode {
        AuthMode::Cookie => Credential::Cookie {
            auth_cookie: Secret::new(field("AuthCookie")?),
            user_record: Secret::new(field("UserRecord")?),
        },
        AuthMode::Token => {
            let (_scheme, token) = field("Authorization")?.split_once(' ')?;
            if token.is_empty() {
                return None;
            }
            Credential::Token(Secret::new(token))
        }
    };
    // A value that cannot go in a header would fail every request: log in instead.
    credential.header().map(|_| credential)
}

/// Loads the cached credential off the async runtime; `None` (and a fresh login) when the file is
/// missing, unreadable or lacks what `mode` needs.
pub(crate) async fn load(path: PathBuf, mode: AuthMode) -> Option<Credential> {
    let read = tokio::task::spawn_blocking(move || {
        let text = fs::read_to_string(&path);
        (path, text)
    })
    .await;
    let (path, text) = match read {
        Ok(done) => done,
        Err(err) => {
            tracing::warn!(error = %err, "reading the auth cache file did not finish");
            return None;
        }
    };
    match text {
        Ok(text) => {
            let credential = credential_from_document(mode, &text);
            if credential.is_none() {
                tracing::info!(file = %path.display(), %mode, "auth cache file has no usable session; logging in");
            }
            credential
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => {
            tracing::warn!(file = %path.display(), error = %err, "cannot read the auth cache file; logging in");
            None
        }
    }
}

/// Writes the credential off the async runtime; a failure is logged at warn and otherwise ignored.
pub(crate) async fn store(path: PathBuf, credential: &Credential) {
    let text = cache_document(credential);
    let written = tokio::task::spawn_blocking(move || {
        let result = write_atomically(&path, text.as_bytes());
        (path, result)
    })
    .await;
    match written {
        Ok((_, Ok(()))) => {}
        Ok((path, Err(err))) => {
            tracing::warn!(file = %path.display(), error = %err, "cannot write the auth cache file; continuing without it");
        }
        Err(err) => tracing::warn!(error = %err, "writing the auth cache file did not finish"),
    }
}

/// Creates the cache file's directory if missing and checks that a file can be created in it
/// (blocking: call it while validating settings, or from `spawn_blocking`).
pub fn prepare_cache_dir(path: &Path) -> Result<(), GatewayError> {
    let dir = parent_dir(path);
    let probe = fs::create_dir_all(&dir).and_then(|()| {
        let (file, temp) = create_private_temp(&dir, path)?;
        drop(file);
        fs::remove_file(temp)
    });
    probe.map_err(|source| GatewayError::AuthCache {
        path: path.to_path_buf(),
        source: std::sync::Arc::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies() -> Credential {
        Credential::Cookie {
            auth_cookie: Secret::new("tok=="),
            user_record: Secret::new("rec=="),
        }
    }

    #[test]
    fn documents_have_the_reference_format() {
        assert_eq!(
            cache_document(&cookies()),
            r#"{"AuthCookie": "tok==", "UserRecord": "rec=="}"#
        );
        assert_eq!(
            cache_document(&Credential::Token(Secret::new("abc=="))),
            r#"{"Authorization": "Bearer abc=="}"#
        );
    }

    #[test]
    fn load_rules_per_mode() {
        let both =
            r#"{"AuthCookie": "tok==", "UserRecord": "rec==", "Authorization": "Bearer a b"}"#;
        assert_eq!(
            credential_from_document(AuthMode::Cookie, both),
            Some(cookies())
        );
        assert_eq!(
            credential_from_document(AuthMode::Token, both),
            Some(Credential::Token(Secret::new("a b")))
        );
        let unusable = [
            r#"{"AuthCookie": "tok=="}"#,
            r#"{"AuthCookie": "tok==", "UserRecord": ""}"#,
            r#"{"AuthCookie": "tok==", "UserRecord": 5}"#,
            r#"{"AuthCookie": "t\nk", "UserRecord": "rec"}"#,
            "not json",
            "[]",
        ];
        for text in unusable {
            assert_eq!(
                credential_from_document(AuthMode::Cookie, text),
                None,
                "{text}"
            );
        }
        for text in [
            r#"{"Authorization": "Bearer"}"#,
            r#"{"Authorization": "Bearer "}"#,
            "{}",
        ] {
            assert_eq!(
                credential_from_document(AuthMode::Token, text),
                None,
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn round_trip_with_private_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested").join(".powerwall");
        assert_eq!(load(path.clone(), AuthMode::Cookie).await, None);

        store(path.clone(), &cookies()).await;
        assert_eq!(load(path.clone(), AuthMode::Cookie).await, Some(cookies()));
        assert_eq!(load(path.clone(), AuthMode::Token).await, None);

        let token = Credential::Token(Secret::new("xyz=="));
        store(path.clone(), &token).await;
        assert_eq!(load(path.clone(), AuthMode::Token).await, Some(token));
        let text = fs::read_to_string(&path).expect("file");
        assert_eq!(text, r#"{"Authorization": "Bearer xyz=="}"#);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Only the cache file remains: temp files were renamed away.
        let names: Vec<_> = fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, [".powerwall"]);
    }

    #[tokio::test]
    async fn write_failure_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"x").expect("write");
        // The "directory" is a regular file, so nothing can be created inside it.
        store(blocker.join(".powerwall"), &cookies()).await;
        assert!(prepare_cache_dir(&blocker.join(".powerwall")).is_err());
        assert!(prepare_cache_dir(&dir.path().join("new").join(".powerwall")).is_ok());
    }
}
