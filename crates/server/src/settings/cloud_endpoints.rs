//! Where the Tesla cloud is: Tesla's hosts by default; tests and demos point every base URL at the
//! simulator and trust its test CA. Shared by the server's settings and the `setup` command.

use std::path::PathBuf;

use clap::Args;
use powerwall_gateway::cloud::{CloudConfig, DEFAULT_AUTH_URL, DEFAULT_OWNER_API_URL};
use powerwall_gateway::fleet::FleetConfig;
use powerwall_gateway::fleet::setup::{Region, SetupEndpoints};

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
        value_name = "PW_CLOUD_CA_FILE",
        value_parser = super::cli::parse_path
    )]
    pub ca_file: Option<PathBuf>,

    /// Test/demo override of the Fleet API region base URL (the `AUDIENCE`), e.g. the simulator's
    /// `https://127.0.0.1:8676/fleet/{region}` (`{region}` becomes na, eu or cn). Setup records
    /// the resulting URL as `AUDIENCE` in `.pypowerwall.fleetapi`.
    #[arg(
        long = "fleet-api-url",
        env = "PW_FLEET_API_URL",
        value_name = "PW_FLEET_API_URL"
    )]
    pub fleet_api_url: Option<String>,

    /// Test/demo override of `https://{domain}` where setup checks the hosted public key
    /// (e.g. the simulator's `https://127.0.0.1:8676`).
    #[arg(
        long = "fleet-domain-url",
        env = "PW_FLEET_DOMAIN_URL",
        value_name = "PW_FLEET_DOMAIN_URL"
    )]
    pub fleet_domain_url: Option<String>,
}

/// The placeholder of [`CloudEndpoints::fleet_api_url`] replaced by the region's short name.
pub const REGION_PLACEHOLDER: &str = "{region}";

impl Default for CloudEndpoints {
    fn default() -> Self {
        Self {
            auth_url: DEFAULT_AUTH_URL.to_owned(),
            owner_api_url: DEFAULT_OWNER_API_URL.to_owned(),
            ca_file: None,
            fleet_api_url: None,
            fleet_domain_url: None,
        }
    }
}

impl CloudEndpoints {
    /// The CA file's PEM text, read once at start-up; `None` when no CA file is configured.
    pub fn ca_pem(&self) -> Result<Option<String>, SettingsError> {
        let Some(path) = self
            .ca_file
            .as_ref()
            .filter(|path| !path.as_os_str().is_empty())
        else {
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

    /// The Fleet API base for `region`: the override (its `{region}` filled in) or Tesla's.
    pub fn fleet_audience(&self, region: Region) -> String {
        match non_empty(&self.fleet_api_url) {
            Some(url) => url.replace(REGION_PLACEHOLDER, region.name()),
            None => region.audience().to_owned(),
        }
    }

    /// Where the Fleet setup talks to for `region`: SSO, region base, domain check and CA.
    pub fn fleet_setup_endpoints(&self, region: Region) -> Result<SetupEndpoints, SettingsError> {
        Ok(SetupEndpoints {
            auth_url: self.auth_url.clone(),
            audience: self.fleet_audience(region),
            domain_base: non_empty(&self.fleet_domain_url).map(str::to_owned),
            ca_pem: self.ca_pem()?,
            ..SetupEndpoints::for_region(region)
        })
    }

    /// Applies the SSO base, the CA and the Fleet API override to a Fleet client's settings. An
    /// override with `{region}` is left out: the token file's `AUDIENCE`, written by setup from
    /// the same override, already names the filled-in URL.
    pub fn apply_fleet(&self, config: &mut FleetConfig) -> Result<(), SettingsError> {
        config.auth_url = self.auth_url.clone();
        config.api_url = non_empty(&self.fleet_api_url)
            .filter(|url| !url.contains(REGION_PLACEHOLDER))
            .map(str::to_owned);
        config.ca_pem = self.ca_pem()?;
        Ok(())
    }
}

/// The value unless it is missing or blank (an empty variable means "not set").
fn non_empty(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
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
    fn fleet_defaults_are_teslas_region_bases_and_domain() {
        let endpoints = CloudEndpoints::default();
        let setup = endpoints.fleet_setup_endpoints(Region::Eu).unwrap();
        assert_eq!(setup.audience, Region::Eu.audience());
        assert_eq!(setup.auth_url, DEFAULT_AUTH_URL);
        assert_eq!(setup.domain_base, None);
        assert_eq!(setup.ca_pem, None);
        let mut config = FleetConfig::new("/tmp");
        endpoints.apply_fleet(&mut config).unwrap();
        assert_eq!(config.api_url, None);
        assert_eq!(config.auth_url, DEFAULT_AUTH_URL);
    }

    #[test]
    fn fleet_overrides_replace_the_region_base_and_the_domain() {
        let endpoints = CloudEndpoints {
            auth_url: "https://127.0.0.1:8676/".to_owned(),
            fleet_api_url: Some("https://127.0.0.1:8676/fleet/{region}".to_owned()),
            fleet_domain_url: Some("https://127.0.0.1:8676".to_owned()),
            ..CloudEndpoints::default()
        };
        let setup = endpoints.fleet_setup_endpoints(Region::Cn).unwrap();
        assert_eq!(setup.audience, "https://127.0.0.1:8676/fleet/cn");
        assert_eq!(setup.auth_url, "https://127.0.0.1:8676/");
        assert_eq!(setup.domain_base.as_deref(), Some("https://127.0.0.1:8676"));
        // A region template is filled in from the token file's AUDIENCE, not here.
        let mut config = FleetConfig::new("/tmp");
        endpoints.apply_fleet(&mut config).unwrap();
        assert_eq!(config.api_url, None);
        assert_eq!(config.auth_url, "https://127.0.0.1:8676/");

        let fixed = CloudEndpoints {
            fleet_api_url: Some("https://127.0.0.1:8676/fleet/na".to_owned()),
            fleet_domain_url: Some("  ".to_owned()),
            ..CloudEndpoints::default()
        };
        assert_eq!(
            fixed.fleet_audience(Region::Eu),
            "https://127.0.0.1:8676/fleet/na"
        );
        assert_eq!(
            fixed.fleet_setup_endpoints(Region::Na).unwrap().domain_base,
            None
        );
        fixed.apply_fleet(&mut config).unwrap();
        assert_eq!(
            config.api_url.as_deref(),
            Some("https://127.0.0.1:8676/fleet/na")
        );
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
