//! The `galaxy` binary: everything is in the library (`galaxy_cli`).

fn main() -> std::process::ExitCode {
    galaxy_cli::main()
}
