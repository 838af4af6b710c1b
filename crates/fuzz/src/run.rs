//! The seeded runner. Every property runs through [`fuzz`]; its settings
//! come from the environment, so `make test` and `scripts/fuzz.sh` run the
//! same tests:
//!
//! - `GALAXY_FUZZ_SEED` (decimal `u64`): the base seed; unset, a pinned one,
//!   so the smoke in `make test` is the same on every run;
//! - `GALAXY_FUZZ_CASES`: cases per round (default: the property's own count);
//! - `GALAXY_FUZZ_SECONDS`: run rounds until this many seconds have passed
//!   (unset: one round, the smoke);
//! - `GALAXY_FUZZ_ROUND`: the first round (to replay a failure of a later one).
//!
//! Round `r` of property `p` draws from a seed derived from the base seed,
//! `p` and `r`; a failure prints the base seed and the round that replay it.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::corpus;
use crate::guard::{Limits, bounded};

/// The base seed of the smoke run (`make test`).
pub const PINNED_SEED: u64 = 0x6761_6c61_7879;

/// Most characters of a failing input shown in a failure message.
const SHOWN: usize = 4_000;

struct Settings {
    seed: u64,
    cases: Option<u32>,
    budget: Option<Duration>,
    first_round: u64,
}

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let raw = std::env::var(name).ok()?;
    let value = raw.trim().parse().ok();
    assert!(value.is_some(), "{name}={raw:?} is not a number");
    value
}

impl Settings {
    fn from_env() -> Self {
        Self {
            seed: env_number("GALAXY_FUZZ_SEED").unwrap_or(PINNED_SEED),
            cases: env_number("GALAXY_FUZZ_CASES"),
            budget: env_number::<f64>("GALAXY_FUZZ_SECONDS").map(Duration::from_secs_f64),
            first_round: env_number("GALAXY_FUZZ_ROUND").unwrap_or(0),
        }
    }
}

/// SplitMix64: spreads a seed over the bits of the next one.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The 32-byte ChaCha seed of round `round` of property `name`.
fn round_seed(base: u64, name: &str, round: u64) -> [u8; 32] {
    // FNV-1a of the name, so each property draws its own inputs.
    let name_hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut state = base ^ name_hash ^ round.wrapping_mul(0xa076_1d64_78bd_642f);
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        chunk.copy_from_slice(&splitmix(&mut state).to_le_bytes());
    }
    out
}

fn shown(value: &impl Debug) -> String {
    cut(format!("{value:?}"))
}

/// `text`, cut after [`SHOWN`] characters.
fn cut(text: String) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
        None => text,
    }
}

/// Fuzzes `check` with inputs from `strategy`: `cases` inputs per round
/// (unless `GALAXY_FUZZ_CASES` says otherwise), one round or rounds until the
/// time budget is spent, each input under [`Limits::default`]. `check`
/// returns why an input is wrong; a panic, a hang or too much memory fails it
/// too. Panics with the shrunk input and the replay settings on failure.
pub fn fuzz<S>(
    name: &str,
    cases: u32,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), String> + Send + Sync + 'static,
) where
    S: Strategy,
    S::Value: Send + 'static,
{
    let settings = Settings::from_env();
    let check = Arc::new(check);
    let started = Instant::now();
    let cases = settings.cases.unwrap_or(cases);
    let mut round = settings.first_round;
    loop {
        let config = Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 2_000,
            max_shrink_time: 30_000,
            ..Config::default()
        };
        let rng = TestRng::from_seed(
            RngAlgorithm::ChaCha,
            &round_seed(settings.seed, name, round),
        );
        let mut runner = TestRunner::new_with_rng(config, rng);
        let result = runner.run(&strategy, |input| {
            let check = Arc::clone(&check);
            bounded(Limits::default(), move || check(input))
                .and_then(|verdict| verdict)
                .map_err(TestCaseError::fail)
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, input)) => panic!(
                "{name}: {}\nminimal input: {}\nreplay: GALAXY_FUZZ_SEED={} GALAXY_FUZZ_ROUND={round} GALAXY_FUZZ_CASES={cases}",
                cut(reason.to_string()),
                shown(&input),
                settings.seed,
            ),
            Err(TestError::Abort(reason)) => panic!("{name}: aborted: {reason}"),
        }
        round += 1;
        match settings.budget {
            Some(budget) if started.elapsed() < budget => {}
            _ => break,
        }
    }
    eprintln!(
        "galaxy-fuzz {name}: seed {} rounds {}..{round} of {cases} cases in {:.1?}",
        settings.seed,
        settings.first_round,
        started.elapsed()
    );
}

/// Replays every input of `target`'s corpus through `check` as a plain case,
/// under the same guard; panics listing every file that fails.
pub fn replay_corpus(
    target: &str,
    check: impl Fn(Vec<u8>) -> Result<(), String> + Send + Sync + 'static,
) {
    let check = Arc::new(check);
    let failures: Vec<String> = corpus::load(target)
        .into_iter()
        .filter_map(|(file, bytes)| {
            let check = Arc::clone(&check);
            bounded(Limits::default(), move || check(bytes))
                .and_then(|verdict| verdict)
                .err()
                .map(|why| format!("{file}: {}", cut(why)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "corpus {target}:\n{}",
        failures.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_and_properties_draw_from_different_seeds() {
        let a = round_seed(1, "p", 0);
        assert_eq!(a, round_seed(1, "p", 0));
        assert_ne!(a, round_seed(1, "p", 1));
        assert_ne!(a, round_seed(1, "q", 0));
        assert_ne!(a, round_seed(2, "p", 0));
    }

    #[test]
    fn long_inputs_are_cut_in_failure_messages() {
        let long = "x".repeat(10 * SHOWN);
        assert!(shown(&long).len() < 2 * SHOWN);
        assert_eq!(shown(&"short"), "\"short\"");
    }
}
