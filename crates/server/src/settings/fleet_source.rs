//! The Fleet API side of a gateway's settings: the client settings of a Fleet-mode gateway (or of
//! a Fleet hybrid control link), and the poll floor that keeps the metered API affordable.

use std::time::Duration;

use powerwall_gateway::fleet::{FleetConfig, MIN_POLL_INTERVAL};

use super::SettingsError;
use super::cloud_source::{CloudInputs, parse_site_id};
use super::gateway::{ConnectionInputs, FieldNames};

/// The settings of a Fleet API client for this gateway's token file and site.
///
/// The cache TTL is at least [`MIN_POLL_INTERVAL`]: Tesla serves the same numbers for that long
/// anyway, and every upstream read is billed.
pub fn fleet_config(
    inputs: &ConnectionInputs,
    cloud: &CloudInputs,
    names: FieldNames,
) -> Result<FleetConfig, SettingsError> {
    let mut config = FleetConfig::new(cloud.auth_dir.clone());
    config.site_id = parse_site_id(cloud.site_id.as_deref(), names)?;
    config.timeout = inputs.timeout;
    config.cache_ttl = inputs.poll_interval.max(MIN_POLL_INTERVAL);
    config.force_http1 = cloud.fleet_http1;
    cloud.endpoints.apply_fleet(&mut config)?;
    Ok(config)
}

/// The poll period of a Fleet API gateway: the configured one, raised to [`MIN_POLL_INTERVAL`]
/// with one warning naming the cost reason.
pub fn fleet_poll_interval(gateway_id: &str, configured: Duration) -> Duration {
    if configured >= MIN_POLL_INTERVAL {
        return configured;
    }
    tracing::warn!(
        "gateway {gateway_id}: poll interval {} s raised to {} s in Fleet API mode: Tesla bills \
         every Fleet API read ($1 per 500) and refreshes energy data only every few tens of \
         seconds, so polling faster costs more for the same numbers",
        configured.as_secs(),
        MIN_POLL_INTERVAL.as_secs()
    );
    MIN_POLL_INTERVAL
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::CloudEndpoints;
    use powerwall_gateway::Secret;
    use std::path::PathBuf;

    fn inputs(poll_secs: u64) -> ConnectionInputs {
        ConnectionInputs {
            host: String::new(),
            password: Secret::default(),
            gw_pwd: Secret::default(),
            rsa_key_path: None,
            fleetapi: true,
            email: String::new(),
            timezone: "UTC".to_owned(),
            cache_file: None,
            timeout: Duration::from_secs(7),
            poll_interval: Duration::from_secs(poll_secs),
            tiers: powerwall_gateway::QueryTiers::with_fast(Duration::from_secs(poll_secs)),
        }
    }

    #[test]
    fn fleet_config_takes_the_gateway_values_and_floors_the_ttl() {
        let cloud = CloudInputs {
            auth_dir: PathBuf::from("/auth"),
            site_id: Some("429124".to_owned()),
            fleet_http1: true,
            endpoints: CloudEndpoints {
                auth_url: "https://127.0.0.1:9/".to_owned(),
                fleet_api_url: Some("https://127.0.0.1:9/fleet/na".to_owned()),
                ..CloudEndpoints::default()
            },
            ..CloudInputs::default()
        };
        let config = fleet_config(&inputs(5), &cloud, FieldNames::Environment).unwrap();
        assert_eq!(config.auth_dir, PathBuf::from("/auth"));
        assert_eq!(config.site_id, Some(429_124));
        assert_eq!(config.timeout, Duration::from_secs(7));
        assert_eq!(config.cache_ttl, MIN_POLL_INTERVAL);
        assert!(config.force_http1);
        assert_eq!(config.auth_url, "https://127.0.0.1:9/");
        assert_eq!(
            config.api_url.as_deref(),
            Some("https://127.0.0.1:9/fleet/na")
        );
        let slow = fleet_config(&inputs(120), &cloud, FieldNames::Environment).unwrap();
        assert_eq!(slow.cache_ttl, Duration::from_secs(120));
        let bad = CloudInputs {
            site_id: Some("home".to_owned()),
            ..CloudInputs::default()
        };
        let err = fleet_config(&inputs(5), &bad, FieldNames::Entry)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("site_id"), "{err}");
    }

    #[test]
    fn poll_interval_is_raised_to_the_floor_only() {
        assert_eq!(
            fleet_poll_interval("a", Duration::from_secs(5)),
            MIN_POLL_INTERVAL
        );
        assert_eq!(
            fleet_poll_interval("a", Duration::from_secs(90)),
            Duration::from_secs(90)
        );
    }
}
