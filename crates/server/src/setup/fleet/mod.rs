//! `powerwall-server setup --fleetapi`: the guided Fleet API setup (gateway-protocols §6.1) that
//! writes `.pypowerwall.fleetapi`. Steps: application settings, key pair, hosted public key,
//! partner registration, sign-in, site choice, token file, live check. The console, the site
//! choice, the live check and the summary are the Owner API setup's.

pub mod ask;
pub mod key;
pub mod login;

use std::io::{BufRead, Write};
use std::path::PathBuf;

use powerwall_gateway::cloud::EnergySite;
use powerwall_gateway::fleet::setup::{FleetSetup, FleetSite};
use powerwall_gateway::fleet::{FleetClient, FleetConfig, FleetTokenFile, Region, fleet_file_path};
use powerwall_gateway::{GatewayError, Secret};

use super::console::Console;
use super::error::SetupError;
use super::flow::{file_mode, prepare_auth_dir};
use super::site::{describe, pick_site};
use super::summary::Summary;
use super::verify::read_live;
use crate::settings::CloudEndpoints;

/// What the Fleet setup was told before asking anything (`None` fields are asked).
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Directory of the key pair and `.pypowerwall.fleetapi` (created if missing).
    pub auth_dir: PathBuf,
    /// Energy site to select without asking.
    pub site_id: Option<u64>,
    /// Where Tesla's SSO and Fleet API are, the domain check override and the CA to trust.
    pub endpoints: CloudEndpoints,
    /// The developer application's client id.
    pub client_id: Option<String>,
    /// The developer application's client secret (never printed).
    pub client_secret: Option<Secret>,
    /// The developer domain.
    pub domain: Option<String>,
    /// The redirect URI (default `https://{domain}/access`).
    pub redirect_uri: Option<String>,
    /// The account's region.
    pub region: Option<Region>,
}

impl FleetOptions {
    /// Options for `auth_dir` and Tesla's own hosts, nothing preset.
    pub fn new(auth_dir: impl Into<PathBuf>) -> Self {
        Self {
            auth_dir: auth_dir.into(),
            site_id: None,
            endpoints: CloudEndpoints::default(),
            client_id: None,
            client_secret: None,
            domain: None,
            redirect_uri: None,
            region: None,
        }
    }
}

/// Runs the whole Fleet setup and prints its ✓/✗ summary; `true` when every step worked.
pub async fn run_fleet_setup<R, W>(options: &FleetOptions, console: &mut Console<R, W>) -> bool
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let mut summary = Summary::default();
    let outcome = steps(options, console, &mut summary).await;
    summary.conclude(outcome, console)
}

async fn steps<R, W>(
    options: &FleetOptions,
    console: &mut Console<R, W>,
    summary: &mut Summary,
) -> Result<(), SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    console.say("Tesla Fleet API setup")?;
    let auth_dir = prepare_auth_dir(&options.auth_dir)?;
    console.say(format!("Credentials go to {}", auth_dir.display()))?;
    let app = ask::application(console, options).await?;
    let endpoints = options
        .endpoints
        .fleet_setup_endpoints(app.region)
        .map_err(|err| SetupError::Invalid(err.to_string()))?;
    let audience = endpoints.audience.clone();
    let setup = FleetSetup::new(endpoints).map_err(SetupError::Fleet)?;
    summary.done(format!(
        "Application {} on {}, region {} ({audience})",
        app.client_id,
        app.domain,
        app.region.name()
    ));

    let key = key::ensure_key_pair(&auth_dir)?;
    let pair_text = format!(
        "{} key pair: private {} ({}), public {}",
        if key.reused {
            "Reusing the"
        } else {
            "Generated a"
        },
        key.private_path.display(),
        file_mode(&key.private_path),
        key.public_path.display()
    );
    console.say(&pair_text)?;
    summary.done(pair_text);
    let hosted = key::wait_until_hosted(console, &setup, &app.domain, &key).await?;
    summary.done(format!("Public key served at {hosted}"));

    let partner = login::register(console, &setup, &app).await?;
    summary.done(format!("Partner account registered for {}", app.domain));
    let tokens = login::sign_in(console, &setup, &app).await?;
    summary.done("Signed in; access and refresh tokens received");

    console.say("Looking up the account's energy sites…")?;
    let sites = setup
        .energy_sites(&tokens.access_token)
        .await
        .map_err(SetupError::Fleet)?;
    let sites: Vec<EnergySite> = sites.into_iter().map(as_energy_site).collect();
    let site = pick_site(console, &sites, options.site_id, true).await?;

    FleetTokenFile {
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
        domain: app.domain.clone(),
        redirect_uri: app.redirect_uri.clone(),
        audience: audience.clone(),
        partner_token: partner.token,
        partner_account: partner.account,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        site_id: Some(site.id),
        ..FleetTokenFile::default()
    }
    .write(&auth_dir)
    .map_err(|err| fleet_call(err, &audience))?;
    let token_file = fleet_file_path(&auth_dir);
    let saved = format!(
        "Saved the tokens and energy site {} to {} ({})",
        describe(&site),
        token_file.display(),
        file_mode(&token_file)
    );
    console.say(&saved)?;
    summary.done(saved);

    console.say("Reading live data once…")?;
    let mut config = FleetConfig::new(&auth_dir);
    options
        .endpoints
        .apply_fleet(&mut config)
        .map_err(|err| SetupError::Invalid(err.to_string()))?;
    config.site_id = Some(site.id);
    let client = FleetClient::new(config).map_err(|err| fleet_call(err, &audience))?;
    let reading = read_live(&client)
        .await
        .map_err(|err| fleet_call(err, &audience))?;
    summary.done(format!("Live data: {reading}"));
    console.say(format!(
        "Next: run powerwall-server with PW_HOST empty and PW_AUTH_PATH={}: the token file \
         selects Fleet API mode.",
        auth_dir.display()
    ))?;
    Ok(())
}

/// A product-list site in the shape the shared site choice shows (kind and gateway unknown).
fn as_energy_site(site: FleetSite) -> EnergySite {
    EnergySite {
        id: site.id,
        resource_type: String::new(),
        site_name: site.name,
        gateway_id: None,
    }
}

/// Maps a failure of the token file or of a Fleet API read through the new tokens.
fn fleet_call(err: GatewayError, audience: &str) -> SetupError {
    match err {
        GatewayError::Unreachable { detail, .. } => SetupError::Unreachable {
            url: audience.to_owned(),
            detail,
        },
        GatewayError::Timeout { timeout, .. } => SetupError::Unreachable {
            url: audience.to_owned(),
            detail: format!("no answer within {timeout:?}"),
        },
        GatewayError::AuthCache { path, source } => SetupError::AuthDir {
            path,
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        GatewayError::Config(detail) => SetupError::Invalid(detail),
        other => SetupError::Cloud(other),
    }
}

#[cfg(test)]
mod tests;
