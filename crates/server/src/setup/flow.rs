//! The setup's steps in order: account, directory, login, site, live check, summary.

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use powerwall_gateway::Secret;
use powerwall_gateway::cloud::{CloudClient, CloudConfig, files};

use super::console::Console;
use super::error::{SetupError, StepUrls};
use super::owner::{self, LoginMethod, MAX_ANSWERS};
use super::site::{describe, pick_site};
use super::summary::Summary;
use super::verify::read_live;
use crate::settings::CloudEndpoints;

/// The placeholder email of the proxy's defaults: it means "not set".
const PLACEHOLDER_EMAIL: &str = "email@example.com";

/// What the setup was told before asking anything.
#[derive(Debug, Clone)]
pub struct SetupOptions {
    /// Account email; `None` asks (or, without questions, takes it from the tokens).
    pub email: Option<String>,
    /// Directory of `.pypowerwall.auth` / `.pypowerwall.site` (created if missing).
    pub auth_dir: PathBuf,
    /// Energy site to select without asking.
    pub site_id: Option<u64>,
    /// Where Tesla's SSO and Owner API are, and the CA to trust.
    pub endpoints: CloudEndpoints,
    /// A refresh token for a setup without questions (never printed).
    pub refresh_token: Option<Secret>,
}

impl SetupOptions {
    /// Options for `auth_dir` and Tesla's own hosts, nothing preset.
    pub fn new(auth_dir: impl Into<PathBuf>) -> Self {
        Self {
            email: None,
            auth_dir: auth_dir.into(),
            site_id: None,
            endpoints: CloudEndpoints::default(),
            refresh_token: None,
        }
    }

    /// Whether the setup may ask questions (not when a refresh token was handed over).
    fn interactive(&self) -> bool {
        self.refresh_token.is_none()
    }
}

/// Runs the whole setup and prints its ✓/✗ summary; `true` when every step worked.
pub async fn run_setup<R, W>(options: &SetupOptions, console: &mut Console<R, W>) -> bool
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let mut summary = Summary::default();
    let outcome = steps(options, console, &mut summary).await;
    summary.conclude(outcome, console)
}

async fn steps<R, W>(
    options: &SetupOptions,
    console: &mut Console<R, W>,
    summary: &mut Summary,
) -> Result<(), SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    console.say("Tesla cloud setup (Owner API login)")?;
    let auth_dir = prepare_auth_dir(&options.auth_dir)?;
    console.say(format!("Credentials go to {}", auth_dir.display()))?;
    let client = build_client(options, &auth_dir, console).await?;
    let urls = StepUrls {
        auth: client.config().auth_url.clone(),
        owner_api: client.config().owner_api_url.clone(),
    };
    let email = match &options.refresh_token {
        Some(refresh) => {
            console.say("Using the refresh token from PW_REFRESH_TOKEN.")?;
            owner::save_tokens(&client, refresh.clone(), None, &urls)?
        }
        None => match owner::ask_method(console).await? {
            LoginMethod::Browser => owner::browser_login(console, &client, &urls).await?,
            LoginMethod::Tokens => owner::token_login(console, &client, &urls).await?,
        },
    };
    let auth_file = files::auth_path(&auth_dir);
    let saved = format!(
        "Saved credentials to {} ({})",
        auth_file.display(),
        file_mode(&auth_file)
    );
    console.say(&saved)?;
    summary.done(format!("Logged in to Tesla as {email}"));
    summary.done(saved);

    console.say("Looking up the account's energy sites…")?;
    let sites = client.sites().await.map_err(|err| urls.owner_call(err))?;
    let site = pick_site(console, &sites, options.site_id, options.interactive()).await?;
    let site = client
        .choose_site(site.id)
        .await
        .map_err(|err| urls.owner_call(err))?;
    let site_file = files::site_path(&auth_dir);
    console.say(format!("Saved the site choice to {}", site_file.display()))?;
    summary.done(format!(
        "Energy site {} saved to {}",
        describe(&site),
        site_file.display()
    ));

    console.say("Reading live data once…")?;
    let reading = read_live(&client)
        .await
        .map_err(|err| urls.owner_call(err))?;
    summary.done(format!("Live data: {reading}"));
    console.say(format!(
        "Next: run powerwall-server with PW_HOST empty, PW_EMAIL={email} and PW_AUTH_PATH={} \
         for cloud mode.",
        auth_dir.display()
    ))?;
    Ok(())
}

/// Builds the client, asking for the email when none was given (and questions are allowed).
async fn build_client<R, W>(
    options: &SetupOptions,
    auth_dir: &Path,
    console: &mut Console<R, W>,
) -> Result<CloudClient, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let make = |email: &str| -> Result<CloudClient, SetupError> {
        let mut config = CloudConfig::new(email, auth_dir);
        config.site_id = options.site_id;
        options
            .endpoints
            .apply(&mut config)
            .map_err(|err| SetupError::Invalid(err.to_string()))?;
        CloudClient::new(config).map_err(|err| SetupError::Invalid(err.to_string()))
    };
    let given = options
        .email
        .as_deref()
        .map(str::trim)
        .filter(|email| !email.is_empty() && *email != PLACEHOLDER_EMAIL);
    if let Some(email) = given {
        return make(email);
    }
    if !options.interactive() {
        // The account is then named by the tokens themselves.
        return make("");
    }
    let mut last = None;
    for _ in 0..MAX_ANSWERS {
        let email = console.ask("Tesla account email: ").await?;
        if email.is_empty() {
            console.say("  The email is required.")?;
            continue;
        }
        match make(&email) {
            Ok(client) => return Ok(client),
            Err(SetupError::Invalid(why)) if why.contains("email") => {
                console.say(format!("  {why}"))?;
                last = Some(SetupError::Invalid(why));
            }
            Err(other) => return Err(other),
        }
    }
    Err(last.unwrap_or(SetupError::TooManyTries("email", MAX_ANSWERS)))
}

/// Creates the directory if missing and proves it writable before anyone logs in, so a bad
/// directory never costs the user a browser login.
pub fn prepare_auth_dir(dir: &Path) -> Result<PathBuf, SetupError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let failed = |source: io::Error| SetupError::AuthDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let probe = dir.join(format!(".pypowerwall.setup-probe.{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(failed)?;
    std::fs::remove_file(&probe).map_err(failed)?;
    Ok(dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))
}

/// `mode 0600` as the file system reports it.
pub(crate) fn file_mode(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path) {
            return format!("mode {:04o}", metadata.permissions().mode() & 0o7777);
        }
    }
    let _ = path;
    "owner-only".to_owned()
}
