//! Where the Tesla cloud is: Tesla's hosts by default; tests and demos point every base URL at the
//! simulator and trust its test CA. Shared by the server's settings and the `setup` command.

use std::path::PathBuf;

use clap::Args;
use powerwall_gateway::cloud::{CloudConfig, DEFAULT_AUTH_URL, DEFAULT_OWNER_API_URL};

use super::SettingsError;

/// The cloud base URLs and the CA to trust (flattened into the server's and setup's command lines).
#[derive(Debug, Clone, Args)]
pub struct CloudEndpoints {
    /// Tesla SSO base URL (OAuth2 authorize and token endpoints).
    #[arg(
        long = "cloud-auth-url",
        env = "PW_CLOUD_AUTH_URL",
        value_name = "PW_CLOUD_AUTH_URL",
        default_value = DEFAULT_AUTH_URL
    )]
    pub auth_url: String,

    /// Tesla Owner API base URL (cloud mode).
    #[arg(
        long = "cloud-api-url",
        env = "PW_CLOUD_API_URL",
        value_name = "PW_CLOUD_API_URL",
        default_value = DEFAULT_OWNER_API_URL
    )]
    pub owner_api_url: String,

    /// PEM file of a CA trusted *instead of* the system roots for the cloud (the simulator's CA).
    #[arg(
        long = "cloud-ca-file",
        env = "PW_CLOUD_CA_FILE",
        value_name = "PW_CLOUD_CA_FILE"
    )]
    pub ca_file: Option<PathBuf>,
}

impl Default for CloudEndpoints {
    fn default() -> Self {
        Self {
            auth_url: DEFAULT_AUTH_URL.to_owned(),
            owner_api_url: DEFAULT_OWNER_API_URL.to_owned(),
            ca_file: None,
        }
    }
}

impl CloudEndpoints {
    /// The CA file's PEM text, read once at start-up; `None` when no CA file is configured.
    pub fn ca_pem(&self) -> Result<Option<String>, SettingsError> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        std::fs::read_to_string(path)
            .map(Some)
            .map_err(|err| SettingsError::Invalid {
                variable: "PW_CLOUD_CA_FILE",
                message: format!("cannot read {}: {err}", path.display()),
            })
    }

    /// Applies the base URLs and CA to a cloud client's settings.
    pub fn apply(&self, config: &mut CloudConfig) -> Result<(), SettingsError> {
        config.auth_url = self.auth_url.clone();
        config.owner_api_url = self.owner_api_url.clone();
        config.ca_pem = self.ca_pem()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_teslas_hosts_and_the_system_roots() {
        let mut config = CloudConfig::new("me@example.com", "/tmp");
        CloudEndpoints::default().apply(&mut config).unwrap();
        assert_eq!(config.auth_url, DEFAULT_AUTH_URL);
        assert_eq!(config.owner_api_url, DEFAULT_OWNER_API_URL);
        assert_eq!(config.ca_pem, None);
    }

    #[test]
    fn an_unreadable_ca_file_names_the_variable() {
        let endpoints = CloudEndpoints {
            ca_file: Some(PathBuf::from("/nonexistent/ca.pem")),
            ..CloudEndpoints::default()
        };
        let err = endpoints.ca_pem().unwrap_err();
        assert!(err.to_string().starts_with("PW_CLOUD_CA_FILE"), "{err}");
    }
}
