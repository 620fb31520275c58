//! The `powerwall-server` binary: settings, logging, runtime, signals.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use powerwall_server::settings::{Cli, Settings};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Must run before the runtime starts threads (the OS lookup is only sound single-threaded).
    powerwall_server::clock::init_local_offset();
    let cli = Cli::parse();
    let default_level = if cli.debug { "debug" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
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
