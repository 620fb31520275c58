//! `powerwall-simulator`: runs a fake Tesla Energy Gateway until interrupted.

use std::io::IsTerminal;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use clap::Parser;
use powerwall_simulator::{SimulatorConfig, TopologyKind, start};

/// A faithful fake Tesla Energy Gateway (local API persona) with a `/test` control API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "SIM_BIND", default_value = "127.0.0.1:4443")]
    bind: SocketAddr,
    /// Customer password accepted by /api/login/Basic.
    #[arg(long, env = "SIM_PASSWORD", default_value = "password")]
    password: String,
    /// Email echoed by logins that send none.
    #[arg(long, env = "SIM_EMAIL", default_value = "me@example.com")]
    email: String,
    /// Gateway (QR sticker) password, kept for the TEDAPI persona.
    #[arg(long, env = "SIM_GW_PWD", default_value = "ABCDEFGHIJ")]
    gw_pwd: String,
    /// Firmware version reported by /api/status (23.44.0 and later have no vitals).
    #[arg(long, env = "SIM_FIRMWARE", default_value = "23.28.2 27626f98")]
    firmware: String,
    /// Start with the simulation clock frozen.
    #[arg(long, env = "SIM_FREEZE_CLOCK")]
    freeze_clock: bool,
    /// Simulation start time as Unix seconds (default: now).
    #[arg(long, env = "SIM_START_TIME")]
    start_time: Option<f64>,
    /// Site UTC offset in minutes (default −480, America/Los_Angeles standard time).
    #[arg(long, env = "SIM_UTC_OFFSET_MINUTES", default_value_t = -480, allow_hyphen_values = true)]
    utc_offset_minutes: i32,
    /// Simulated site: pw2 (two Powerwall 2), pw3 (Powerwall 3 + expansion) or pw3-multi
    /// (pw3 plus two follower Powerwall 3).
    #[arg(long, env = "SIM_TOPOLOGY", default_value = "pw2")]
    topology: TopologyKind,
    /// Address of the Tesla cloud persona (SSO + Owner API, HTTPS from a test CA); `off` starts
    /// none.
    #[arg(long, env = "SIM_CLOUD_BIND", default_value = "127.0.0.1:0")]
    cloud_bind: CloudBind,
    /// Writes the cloud's test CA (PEM) to this file, for clients to trust.
    #[arg(long, env = "SIM_CLOUD_CA_OUT", value_name = "PATH")]
    cloud_ca_out: Option<PathBuf>,
}

/// `--cloud-bind`: an address, or `off`.
#[derive(Debug, Clone, Copy)]
struct CloudBind(Option<SocketAddr>);

impl FromStr for CloudBind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "off" | "no" | "none" => Ok(Self(None)),
            address => address
                .parse()
                .map(|address| Self(Some(address)))
                .map_err(|err| format!("expected ADDRESS:PORT or off, got {address:?}: {err}")),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if args.cloud_ca_out.is_some() && args.cloud_bind.0.is_none() {
        tracing::error!("--cloud-ca-out needs the cloud listener (--cloud-bind is off)");
        return ExitCode::FAILURE;
    }
    let config = SimulatorConfig {
        bind: args.bind,
        customer_password: args.password,
        email: args.email,
        gateway_password: args.gw_pwd,
        firmware: args.firmware,
        start_epoch: args.start_time,
        freeze_clock: args.freeze_clock,
        utc_offset_secs: args.utc_offset_minutes.saturating_mul(60),
        topology: args.topology,
        cloud_bind: args.cloud_bind.0,
        ..SimulatorConfig::default()
    };
    let handle = match start(config).await {
        Ok(handle) => handle,
        Err(error) => {
            tracing::error!(%error, "cannot start the simulator");
            return ExitCode::FAILURE;
        }
    };
    // Written before any line is printed: whoever waits for the lines may read it at once.
    if let (Some(path), Some(pem)) = (&args.cloud_ca_out, handle.cloud_ca_pem()) {
        if let Err(error) = std::fs::write(path, pem) {
            tracing::error!(%error, path = %path.display(), "cannot write the cloud CA");
            handle.shutdown();
            return ExitCode::FAILURE;
        }
    }
    let mut stdout = std::io::stdout();
    // Scripts wait for this one line to learn the port, so it is flushed right away.
    let _ = writeln!(stdout, "powerwall-simulator listening on {}", handle.url());
    if let Some(cloud_url) = handle.cloud_url() {
        let _ = writeln!(stdout, "powerwall-simulator cloud on {cloud_url}");
    }
    let _ = stdout.flush();
    wait_for_stop_signal().await;
    tracing::info!("shutting down");
    handle.shutdown();
    ExitCode::SUCCESS
}

/// Waits for Ctrl-C, or SIGTERM where there is one (containers stop processes with it).
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    result = tokio::signal::ctrl_c() => log_signal_error(result),
                    _ = terminate.recv() => {}
                }
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot listen for SIGTERM"),
        }
    }
    log_signal_error(tokio::signal::ctrl_c().await);
}

fn log_signal_error(result: std::io::Result<()>) {
    if let Err(error) = result {
        tracing::error!(%error, "cannot wait for Ctrl-C");
    }
}
