//! The `powerwall-server` binary: settings, logging, runtime, signals.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use powerwall_server::settings::{Cli, Settings};
use powerwall_server::setup::{SetupArgs, run_from_command_line, setup_command_line};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Must run before the runtime starts threads (the OS lookup is only sound single-threaded).
    powerwall_server::clock::init_local_offset();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(setup_line) = setup_command_line(&args) {
        let setup = SetupArgs::parse_from(setup_line);
        // The conversation is on stdout; only warnings (or debug) go to the log.
        init_logging(if setup.debug { "debug" } else { "warn" });
        return run_from_command_line(&setup);
    }
    let cli = Cli::parse_from(args);
    init_logging(if cli.debug { "debug" } else { "info" });
    let settings = match Settings::from_cli(cli) {
        Ok(settings) => settings,
        Err(err) => {
            tracing::error!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr at `default_level` unless `RUST_LOG` says otherwise.
fn init_logging(default_level: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let server = powerwall_server::start(settings).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await
}

/// Resolves on Ctrl-C or SIGTERM (containers stop with SIGTERM).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
