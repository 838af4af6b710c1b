//! `galaxy-chaos [SCENARIO ...]`: runs the chaos scenarios (all when none
//! is named) and prints one line of figures each, then a summary table.
//! Exits 1 when any scenario lost something. `GALAXY_CHAOS_SEED` pins the
//! random fault moments (the seed in use is printed, so a failure replays).
//!
//! Needs the release backend binary (`make chaos` builds it); its path is
//! `GALAXY_CHAOS_BACKEND_BIN`, default `target/release/galaxy-backend`.

use std::process::ExitCode;

use galaxy_chaos::{Outcome, scenarios};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = scenarios::all();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: galaxy-chaos [SCENARIO ...]\nscenarios:");
        for s in &all {
            println!("  {:<14} {}", s.name, s.proves);
        }
        return ExitCode::SUCCESS;
    }
    let unknown: Vec<&String> = args
        .iter()
        .filter(|a| !all.iter().any(|s| s.name == a.as_str()))
        .collect();
    if !unknown.is_empty() {
        eprintln!("galaxy-chaos: unknown scenario(s) {unknown:?}; --help lists them");
        return ExitCode::from(2);
    }
    let seed = galaxy_chaos::seed();
    println!("chaos: seed {seed} (GALAXY_CHAOS_SEED={seed} replays the fault moments)");
    let mut results = Vec::new();
    for scenario in all
        .iter()
        .filter(|s| args.is_empty() || args.iter().any(|a| a == s.name))
    {
        let outcome = match (scenario.run)(seed).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::failed(format!("could not run: {e:#}")),
        };
        println!(
            "{:<14} {}  {}",
            scenario.name,
            if outcome.passed { "PASS" } else { "FAIL" },
            outcome.figures
        );
        results.push((scenario.name, outcome.passed));
    }
    if results.iter().all(|(_, passed)| *passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
