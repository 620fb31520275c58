//! `powerwall-server setup` (also `--setup`): the guided Tesla cloud login that writes
//! `.pypowerwall.auth` and `.pypowerwall.site` (gateway-protocols §5.1-5.3).
//!
//! The conversation is written against `BufRead`/`Write` ([`Console`]) so tests script it. The
//! generic steps (directory, site choice, live check, summary) are apart from the Owner API
//! login ([`owner`]), so another login kind (FleetAPI) can reuse them.

pub mod console;
pub mod error;
pub mod flow;
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

pub use console::Console;
pub use error::SetupError;
pub use flow::{SetupOptions, run_setup};

use crate::settings::{CloudEndpoints, parse_yes_no};

/// `powerwall-server setup`: log in to the Tesla cloud and choose the energy site.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "powerwall-server setup",
    bin_name = "powerwall-server setup",
    version,
    about = "Log in to the Tesla cloud (Owner API) and choose the energy site: writes \
             .pypowerwall.auth and .pypowerwall.site for cloud mode"
)]
pub struct SetupArgs {
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
        let site_id = match self.siteid.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                SetupError::Invalid(format!(
                    "PW_SITEID / --siteid must be a numeric energy site id, not {text:?}"
                ))
            })?),
        };
        Ok(SetupOptions {
            email: self.email.clone(),
            auth_dir: PathBuf::from(self.auth_path.trim()),
            site_id,
            endpoints: self.endpoints.clone(),
            refresh_token: self.refresh_token.clone().filter(|token| !token.is_empty()),
        })
    }
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
    let options = match args.options() {
        Ok(options) => options,
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
    if runtime.block_on(run_setup(&options, &mut console)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests;
