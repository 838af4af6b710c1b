//! The `galaxy-backend` process: `galaxy-backend` serves;
//! `galaxy-backend config check` validates the environment and exits.

use std::process::ExitCode;

use galaxy_backend::app::{Application, cancel_on_signals};
use galaxy_backend::config::Config;

const USAGE: &str = "usage: galaxy-backend [config check]\n\nConfiguration comes from BACKEND_* environment variables (see README).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check_only = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => false,
        ["config", "check"] => true,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(64);
        }
    };

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("galaxy-backend: invalid configuration:\n{errors}");
            // A typo is often why a required variable counts as unset.
            for unknown in galaxy_backend::config::unknown_in_env() {
                eprintln!("warning: {unknown}");
            }
            return ExitCode::from(78);
        }
    };
    if check_only {
        for unknown in &config.unknown_variables {
            eprintln!("warning: {unknown}");
        }
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("galaxy-backend: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let app = match Application::build(config).await {
            Ok(app) => app,
            Err(err) => {
                tracing::error!(error = format!("{err:#}"), "startup failed");
                eprintln!("galaxy-backend: startup failed: {err:#}");
                return ExitCode::FAILURE;
            }
        };
        cancel_on_signals(app.shutdown_token());
        match app.run_until_stopped().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("galaxy-backend: {err:#}");
                ExitCode::FAILURE
            }
        }
    })
}
