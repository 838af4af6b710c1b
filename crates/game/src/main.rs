//! The `galaxy-game` binary: one game's engine behind the HTTP API.
//!
//! Environment: `GALAXY_GAME_LISTEN_ADDR` (default `0.0.0.0:8080`),
//! `GALAXY_GAME_STATE_DIR` (default `/var/lib/galaxy-game`),
//! `GALAXY_GAME_LOG` (tracing filter, default `info`). Logs are JSON lines
//! on stdout. TEST ONLY: `GALAXY_GAME_TEST_TURN_DELAY_MS` holds every turn
//! that long before it runs ([`galaxy_game::http::TestKnobs`]; a warning at
//! startup says it is set).
//!
//! `galaxy-game replay [--turn N] [--state-dir DIR]` serves nothing: it runs
//! the stored turn N again and compares (see [`galaxy_game::replay`]).
//! `galaxy-game report --race NAME [--turn N] [--format json|text]
//! [--state-dir DIR]` prints a stored report and exits (see
//! [`galaxy_game::report_cli`]). `galaxy-game bot --race NAME
//! [--state-dir DIR]` prints the built-in bot's orders for the race this
//! turn, in the classic text form (same module).
//! `galaxy-game --version` prints the version.

use galaxy_game::http::{AppState, TestKnobs, serve};
use galaxy_game::store::Store;
use std::process::ExitCode;

fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") => {
            let variant = if cfg!(feature = "rules-variant") {
                " (rules-variant, test only)"
            } else {
                ""
            };
            println!("galaxy-game {}{variant}", galaxy_game::VERSION);
            Ok(ExitCode::SUCCESS)
        }
        Some("replay") => Ok(galaxy_game::replay::cli(&args[1..])),
        Some("report") => Ok(galaxy_game::report_cli::cli(&args[1..])),
        Some("bot") => Ok(galaxy_game::report_cli::bot_cli(&args[1..])),
        None => serve_game().map(|()| ExitCode::SUCCESS),
        // An engine too old for a command must not start serving instead.
        Some(other) => {
            eprintln!(
                "galaxy-game: unknown command {other:?} (commands: replay, report, bot, --version; none serves the game)"
            );
            Ok(ExitCode::from(2))
        }
    }
}

#[tokio::main]
async fn serve_game() -> anyhow::Result<()> {
    let filter = std::env::var("GALAXY_GAME_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(false)
        .flatten_event(true)
        .init();
    let addr = std::env::var("GALAXY_GAME_LISTEN_ADDR").unwrap_or_else(|_| "0.0.0.0:8080".into());
    let dir =
        std::env::var("GALAXY_GAME_STATE_DIR").unwrap_or_else(|_| "/var/lib/galaxy-game".into());
    let knobs = TestKnobs::from_env().map_err(anyhow::Error::msg)?;
    if let Some(delay) = knobs.turn_delay {
        tracing::warn!(
            knob = TestKnobs::TURN_DELAY_VAR,
            delay_ms = delay.as_millis() as u64,
            "TEST KNOB SET: every turn is held this long before it runs; never set it outside tests"
        );
    }
    let store = Store::open(&dir)?;
    let state = AppState::open_with(store, knobs)?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(addr = %listener.local_addr()?, state_dir = %dir, version = galaxy_game::VERSION, "galaxy-game listening");
    serve(listener, state, shutdown_signal()).await?;
    tracing::info!("galaxy-game stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
