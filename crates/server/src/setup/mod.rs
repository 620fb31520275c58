//! `powerwall-server setup` (also `--setup`): the guided Tesla cloud login that writes
//! `.pypowerwall.auth` and `.pypowerwall.site` (gateway-protocols §5.1-5.3), or with `--fleetapi`
//! the guided Fleet API setup that writes `.pypowerwall.fleetapi` (§6.1).
//!
//! The conversation is written against `BufRead`/`Write` ([`Console`]) so tests script it. The
//! generic steps (directory, site choice, live check, summary) are apart from the Owner API
//! login ([`owner`]) and the Fleet API steps ([`fleet`]), which both use them.

pub mod console;
pub mod error;
pub mod flow;
pub mod fleet;
pub mod owner;
pub mod site;
pub mod summary;
pub mod verify;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser};
use powerwall_gateway::Secret;
use powerwall_gateway::fleet::Region;

pub use console::Console;
pub use error::SetupError;
pub use fleet::{FleetOptions, run_fleet_setup};
pub use flow::{SetupOptions, run_setup};

use crate::settings::{CloudEndpoints, parse_yes_no};

/// `powerwall-server setup`: log in to the Tesla cloud and choose the energy site.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "powerwall-server setup",
    bin_name = "powerwall-server setup",
    version,
    about = "Log in to the Tesla cloud (Owner API) and choose the energy site: writes \
             .pypowerwall.auth and .pypowerwall.site for cloud mode. With --fleetapi: set up \
             the Tesla Fleet API instead (key pair, partner registration, sign-in), writing \
             .pypowerwall.fleetapi"
)]
pub struct SetupArgs {
    /// Set up the Tesla Fleet API (developer application) instead of the Owner API login.
    #[arg(long)]
    pub fleetapi: bool,

    /// Fleet API: the developer application's client id (asked when not given).
    #[arg(long = "client-id", env = "PW_FLEET_CLIENT_ID", value_name = "PW_FLEET_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Fleet API: the application's client secret (asked, unechoed, when not given). Prefer the
    /// environment variable (a command line is visible to other users of the machine).
    #[arg(
        long = "client-secret",
        env = "PW_FLEET_CLIENT_SECRET",
        value_name = "PW_FLEET_CLIENT_SECRET",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub client_secret: Option<Secret>,

    /// Fleet API: the developer domain serving the public key (asked when not given).
    #[arg(long, env = "PW_FLEET_DOMAIN", value_name = "PW_FLEET_DOMAIN")]
    pub domain: Option<String>,

    /// Fleet API: the application's redirect URI (default https://{domain}/access).
    #[arg(
        long = "redirect-uri",
        env = "PW_FLEET_REDIRECT_URI",
        value_name = "PW_FLEET_REDIRECT_URI"
    )]
    pub redirect_uri: Option<String>,

    /// Fleet API: the account's region, na, eu or cn (asked when not given).
    #[arg(long, env = "PW_FLEET_REGION", value_name = "PW_FLEET_REGION")]
    pub region: Option<String>,

    /// Tesla account email (asked when not given).
    #[arg(long, env = "PW_EMAIL", value_name = "PW_EMAIL")]
    pub email: Option<String>,

    /// Directory of the credential files (created if missing; default: the current directory).
    #[arg(
        long = "authpath",
        visible_alias = "auth-path",
        env = "PW_AUTH_PATH",
        value_name = "PW_AUTH_PATH",
        default_value = "",
        hide_default_value = true
    )]
    pub auth_path: String,

    /// Energy site id to select (default: the only site, else asked).
    #[arg(long, env = "PW_SITEID", value_name = "PW_SITEID")]
    pub siteid: Option<String>,

    /// Refresh token of a login made elsewhere: sets up without any question. Prefer the
    /// environment variable (a command line is visible to other users of the machine).
    #[arg(
        long = "refresh-token",
        env = "PW_REFRESH_TOKEN",
        value_name = "PW_REFRESH_TOKEN",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub refresh_token: Option<Secret>,

    /// Tesla's endpoints (tests and demos point them at the simulator).
    #[command(flatten)]
    pub endpoints: CloudEndpoints,

    /// Debug logging on stderr (yes/no; a bare `--debug` means yes).
    #[arg(long, env = "PW_DEBUG", value_name = "PW_DEBUG", default_value = "no", num_args = 0..=1, default_missing_value = "yes", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub debug: bool,
}

/// Keeps a token out of every `Debug` print of the arguments.
fn parse_secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value.trim()))
}

impl SetupArgs {
    /// The options of the flow; a site id that is not a number is refused here.
    pub fn options(&self) -> Result<SetupOptions, SetupError> {
        Ok(SetupOptions {
            email: self.email.clone(),
            auth_dir: PathBuf::from(self.auth_path.trim()),
            site_id: self.site_id()?,
            endpoints: self.endpoints.clone(),
            refresh_token: self.refresh_token.clone().filter(|token| !token.is_empty()),
        })
    }

    /// The options of the Fleet API flow; an unknown region is refused here.
    pub fn fleet_options(&self) -> Result<FleetOptions, SetupError> {
        let region = match self.region.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(Region::parse(text).ok_or_else(|| {
                SetupError::Invalid(format!(
                    "PW_FLEET_REGION / --region must be na, eu or cn, not {text:?}"
                ))
            })?),
        };
        Ok(FleetOptions {
            auth_dir: PathBuf::from(self.auth_path.trim()),
            site_id: self.site_id()?,
            endpoints: self.endpoints.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone().filter(|secret| !secret.is_empty()),
            domain: self.domain.clone(),
            redirect_uri: self.redirect_uri.clone(),
            region,
        })
    }

    fn site_id(&self) -> Result<Option<u64>, SetupError> {
        match self.siteid.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text.parse::<u64>().map(Some).map_err(|_| {
                SetupError::Invalid(format!(
                    "PW_SITEID / --siteid must be a numeric energy site id, not {text:?}"
                ))
            }),
        }
    }
}

/// Which setup runs, with its options.
enum Chosen {
    Owner(SetupOptions),
    Fleet(FleetOptions),
}

/// The setup's own command line when `args` (program name first) asks for the setup:
/// `powerwall-server setup …` or `--setup` anywhere; `None` for every other invocation.
pub fn setup_command_line(args: &[OsString]) -> Option<Vec<OsString>> {
    let program = args
        .first()
        .cloned()
        .unwrap_or_else(|| "powerwall-server".into());
    let rest = args.get(1..).unwrap_or_default();
    if rest.first().is_some_and(|first| first == "setup") {
        return Some(
            std::iter::once(program)
                .chain(rest[1..].iter().cloned())
                .collect(),
        );
    }
    let end_of_flags = rest
        .iter()
        .position(|arg| arg == "--")
        .unwrap_or(rest.len());
    let at = rest[..end_of_flags]
        .iter()
        .position(|arg| arg == "--setup")?;
    let mut line = vec![program];
    line.extend(
        rest.iter()
            .enumerate()
            .filter(|(index, _)| *index != at)
            .map(|(_, arg)| arg.clone()),
    );
    Some(line)
}

/// Runs the setup on stdin/stdout (secrets unechoed on a terminal); exit code 0 on success,
/// 1 on failure.
pub fn run_from_command_line(args: &SetupArgs) -> ExitCode {
    let mut console = Console::new(std::io::BufReader::new(std::io::stdin()), std::io::stdout());
    if std::io::stdin().is_terminal() {
        console = console.with_hidden_input(rpassword::read_password);
    }
    let chosen = if args.fleetapi {
        args.fleet_options().map(Chosen::Fleet)
    } else {
        args.options().map(Chosen::Owner)
    };
    let chosen = match chosen {
        Ok(chosen) => chosen,
        Err(err) => {
            let mut summary = summary::Summary::default();
            summary.failed(&err);
            let _ = summary.print(&mut console);
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let succeeded = runtime.block_on(async {
        match &chosen {
            Chosen::Owner(options) => run_setup(options, &mut console).await,
            Chosen::Fleet(options) => run_fleet_setup(options, &mut console).await,
        }
    });
    if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests;
