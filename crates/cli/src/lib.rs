//! `galaxy`, the player CLI (docs/cli.md): log in with a mailed code, join
//! games, send orders, read reports and watch events through the gateway,
//! plus the operator actions an admin does often, straight to the backend.
//!
//! [`client`] is the HTTP client (signed user calls, Basic admin calls) and
//! is meant to be reused by other tools and tests.

pub mod args;
pub mod client;
pub mod cmd;
pub mod messages;
pub mod output;
pub mod sse;
pub mod store;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use crate::args::{Cli, Command};

/// Runs the command line of this process; answers the exit code: 0 done,
/// 1 the API or the environment refused (one line on stderr), 2 a usage error.
pub fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version print to stdout and exit 0; usage errors exit 2.
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    if let Command::Completions(args) = &cli.command {
        clap_complete::generate(
            args.shell,
            &mut Cli::command(),
            "galaxy",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.line());
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Rust ignores SIGPIPE, so printing to a closed pipe (`galaxy watch | head
/// -1`) would panic; like other command-line tools, end quietly instead.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists;
    // setting a signal's disposition to the default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
