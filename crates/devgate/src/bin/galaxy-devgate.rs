//! `galaxy-devgate`: the reference gateway (development only; see docs/auth.md).

use std::process::ExitCode;

use anyhow::Context as _;
use galaxy_devgate::{Config, Gateway};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        // One line, whatever RUST_BACKTRACE says: bad settings or a busy port
        // are the operator's to fix, not a crash.
        Err(e) => {
            eprintln!("galaxy-devgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEVGATE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::from_env()?;
    let gateway = Gateway::bind(config.clone())
        .await
        .with_context(|| format!("cannot listen on {} (DEVGATE_LISTEN_ADDR)", config.listen_addr))?;
    tracing::info!(
        addr = %gateway.local_addr(),
        backend = %config.backend_url,
        push = config.push_url.as_deref().unwrap_or("off"),
        client_id = %config.client_id,
        "galaxy-devgate listening (a development gateway, not for production)"
    );
    gateway.run_until(stop_signal()).await?;
    tracing::info!("galaxy-devgate stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
