//! Replay, the shadow check before a patch: this build runs a stored turn
//! again in memory and compares its result with what is stored.
//!
//! Turn N is replayed from `turns/<N-1>.json` (its random generator
//! included) and `orders/<N-1>.json` (running a turn leaves its orders in
//! place) through [`Engine::advance`], what `PUT /api/v1/admin/turn` runs.
//! The result is compared with the stored turn N: every race's report (text,
//! then JSON) and then the state file itself. Nothing is written: the state
//! directory is only read.
//!
//! A race banished after turn N ran (`POST /admin/race/banish` rewrites turn
//! N's state) is banished again on the replayed turn, in the order of the
//! banishment messages in turn N's outbox, so an operator's banishment is
//! not taken for a difference.

use crate::engine::Engine;
use crate::game::{Game, RaceId};
use crate::report::build_report;
use crate::store::{Store, StoreError};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use thiserror::Error;

/// Exit status: the replayed turn is identical.
pub const EXIT_IDENTICAL: u8 = 0;
/// Exit status: an error (bad arguments, no such turn, unreadable files).
pub const EXIT_ERROR: u8 = 2;
/// Exit status: the replayed turn differs from the stored one.
pub const EXIT_DIFFERENT: u8 = 3;

/// Longest `expected` / `actual` line in a [`Difference`]; longer lines are
/// cut to a window around the first differing character.
const MAX_SHOWN: usize = 240;

/// Why a replay could not be done.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// A file could not be read or parsed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The directory holds no game.
    #[error("no game in {0} (no turns/NNNNNN.json)")]
    NoGame(PathBuf),
    /// Turn 0 was asked for.
    #[error("turn 0 is the initial state: there is no turn before it to replay")]
    TurnZero,
    /// A state file the replay needs is missing.
    #[error("turn {0} is not stored")]
    MissingTurn(u32),
    /// Bad command line.
    #[error("{0}")]
    Usage(String),
}

/// The first line where a replayed text differs from the stored one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What differs: `report <race> text`, `report <race> json` or `state`.
    pub what: String,
    /// 1-based line number in the text report, or in the pretty-printed
    /// JSON (keys sorted) of the report or the state.
    pub line: usize,
    /// The stored line (`None`: the stored text has fewer lines).
    pub expected: Option<String>,
    /// The replayed line (`None`: the replayed text has fewer lines).
    pub actual: Option<String>,
}

/// The result of a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayOutcome {
    /// The turn replayed (its state compared).
    pub turn: u32,
    /// Whether everything compared is identical.
    pub identical: bool,
    /// What was compared, in order.
    pub compared: Vec<String>,
    /// What differs, in the same order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub different: Vec<String>,
    /// The first difference in that order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<Difference>,
}

/// Replays `turn` (default: the current turn, which must be at least 1)
/// from the store and compares it with the stored turn.
pub fn replay(store: &Store, turn: Option<u32>) -> Result<ReplayOutcome, ReplayError> {
    let current = store
        .current_turn()?
        .ok_or_else(|| ReplayError::NoGame(store.dir().to_path_buf()))?;
    let turn = turn.unwrap_or(current);
    if turn == 0 {
        return Err(ReplayError::TurnZero);
    }
    let stored_bytes = store
        .read_state_bytes(turn)?
        .ok_or(ReplayError::MissingTurn(turn))?;
    let stored: Game =
        serde_json::from_slice(&stored_bytes).map_err(|source| StoreError::Corrupt {
            path: store.dir().join("turns").join(format!("{turn:06}.json")),
            source,
        })?;
    let previous = store
        .read_state(turn - 1)?
        .ok_or(ReplayError::MissingTurn(turn - 1))?;
    let orders = store.read_orders(turn - 1)?;

    let mut engine = Engine::resume(previous, orders);
    engine.advance();
    banish_as_stored(&mut engine, &stored);
    let replayed = engine.game;

    let mut compared = Vec::new();
    let mut different = Vec::new();
    let mut first = None;
    let mut check = |what: String, expected: &str, actual: &str| {
        if expected != actual {
            if first.is_none() {
                first = Some(first_difference(&what, expected, actual));
            }
            different.push(what.clone());
        }
        compared.push(what);
    };
    for (i, race) in stored.races.iter().enumerate() {
        let expected = build_report(&stored, RaceId(i));
        let actual = replayed
            .races
            .iter()
            .position(|r| r.key == race.key)
            .map(|j| build_report(&replayed, RaceId(j)));
        check(
            format!("report {} text", race.key),
            &crate::text_report::render(&expected),
            &actual
                .as_ref()
                .map(crate::text_report::render)
                .unwrap_or_default(),
        );
        check(
            format!("report {} json", race.key),
            &pretty(&expected),
            &actual.as_ref().map(pretty).unwrap_or_default(),
        );
    }
    // The state: byte for byte as `save_turn` would write it; a difference
    // is located on the pretty-printed JSON with sorted keys, or on the raw
    // file when only the layout differs.
    let actual_bytes = serde_json::to_vec(&replayed).unwrap_or_default();
    if actual_bytes == stored_bytes {
        check("state".into(), "", "");
    } else {
        let expected = String::from_utf8_lossy(&stored_bytes);
        let actual = String::from_utf8_lossy(&actual_bytes);
        let (e, a) = (canonical(&expected), canonical(&actual));
        if e != a {
            check("state".into(), &e, &a);
        } else {
            check("state".into(), &expected, &actual);
        }
    }
    Ok(ReplayOutcome {
        turn,
        identical: first.is_none(),
        compared,
        different,
        first_difference: first,
    })
}

/// Banishes on the replayed turn the races that the stored turn shows
/// banished and the replay does not (banished after the turn ran), in the
/// order their messages stand in the stored outbox.
fn banish_as_stored(engine: &mut Engine, stored: &Game) {
    let mut late: Vec<(usize, String)> = stored
        .races
        .iter()
        .filter(|r| r.banished)
        .filter(|r| {
            engine
                .game
                .races
                .iter()
                .any(|x| x.key == r.key && !x.banished)
        })
        .map(|r| {
            let text = format!("{} has been banished from the galaxy.", r.name);
            let at = stored
                .outbox
                .iter()
                .position(|m| m.from.is_none() && m.to.is_none() && m.text == text)
                .unwrap_or(usize::MAX);
            (at, r.key.clone())
        })
        .collect();
    late.sort();
    for (_, key) in late {
        // The race exists: it was found above.
        let _ = engine.banish(&key);
    }
}

fn pretty<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Pretty JSON with sorted keys; the text itself when it is not JSON.
fn canonical(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .map(|v| pretty(&v))
        .unwrap_or_else(|_| json.to_string())
}

/// The first differing line of two different texts (lines split on `\n`, so
/// a missing final newline counts too).
fn first_difference(what: &str, expected: &str, actual: &str) -> Difference {
    let mut e = expected.split('\n');
    let mut a = actual.split('\n');
    let mut line = 0;
    loop {
        line += 1;
        let (x, y) = (e.next(), a.next());
        if x != y || (x.is_none() && y.is_none()) {
            let (expected, actual) = shown(x, y);
            return Difference {
                what: what.to_string(),
                line,
                expected,
                actual,
            };
        }
    }
}

/// The two lines as shown: whole when short, else both cut to the same
/// window around their first differing character.
fn shown(x: Option<&str>, y: Option<&str>) -> (Option<String>, Option<String>) {
    let long = x.is_some_and(|s| s.len() > MAX_SHOWN) || y.is_some_and(|s| s.len() > MAX_SHOWN);
    if !long {
        return (x.map(str::to_string), y.map(str::to_string));
    }
    let (xs, ys) = (x.unwrap_or(""), y.unwrap_or(""));
    let at = xs
        .bytes()
        .zip(ys.bytes())
        .position(|(p, q)| p != q)
        .unwrap_or(xs.len().min(ys.len()));
    let start = at.saturating_sub(MAX_SHOWN / 4);
    let cut = |s: &str| {
        let from = floor_char(s, start.min(s.len()));
        let to = floor_char(s, (from + MAX_SHOWN).min(s.len()));
        format!(
            "{}{}{}",
            if from > 0 { "…" } else { "" },
            &s[from..to],
            if to < s.len() { "…" } else { "" }
        )
    };
    (x.map(cut), y.map(cut))
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The `galaxy-game replay [--turn N] [--state-dir DIR]` command: prints
/// one JSON line (the [`ReplayOutcome`], or `{"error": …}`) and returns
/// [`EXIT_IDENTICAL`], [`EXIT_DIFFERENT`] or [`EXIT_ERROR`].
pub fn cli(args: &[String]) -> ExitCode {
    let result = parse_args(args).and_then(|(dir, turn)| {
        let store = Store::open_existing(dir)?;
        replay(&store, turn)
    });
    match result {
        Ok(outcome) => {
            println!("{}", serde_json::to_string(&outcome).unwrap_or_default());
            ExitCode::from(if outcome.identical {
                EXIT_IDENTICAL
            } else {
                EXIT_DIFFERENT
            })
        }
        Err(e) => {
            let message = e.to_string();
            println!("{}", serde_json::json!({ "error": message }));
            eprintln!("galaxy-game replay: {message}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// `(state directory, turn)` from the arguments after `replay`; the
/// directory defaults to `GALAXY_GAME_STATE_DIR`, then
/// `/var/lib/galaxy-game`.
fn parse_args(args: &[String]) -> Result<(PathBuf, Option<u32>), ReplayError> {
    const USAGE: &str = "usage: galaxy-game replay [--turn N] [--state-dir DIR]";
    let mut dir = None;
    let mut turn = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| ReplayError::Usage(format!("{flag} needs a value; {USAGE}")))
        };
        match flag {
            "--turn" => {
                let v = value()?;
                turn = Some(v.parse::<u32>().map_err(|_| {
                    ReplayError::Usage(format!("--turn {v:?} is not a turn number; {USAGE}"))
                })?);
            }
            "--state-dir" => dir = Some(PathBuf::from(value()?)),
            _ => {
                return Err(ReplayError::Usage(format!(
                    "unknown argument {arg:?}; {USAGE}"
                )));
            }
        }
    }
    let dir = dir
        .or_else(|| std::env::var_os("GALAXY_GAME_STATE_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/lib/galaxy-game"));
    Ok((dir, turn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_take_both_spellings() {
        let (dir, turn) = parse_args(&args(&["--turn", "3", "--state-dir=/x"])).unwrap();
        assert_eq!((dir, turn), (PathBuf::from("/x"), Some(3)));
        let (_, turn) = parse_args(&args(&["--turn=7", "--state-dir", "/y"])).unwrap();
        assert_eq!(turn, Some(7));
        assert!(parse_args(&args(&["--turn"])).is_err());
        assert!(parse_args(&args(&["--turn", "-1"])).is_err());
        assert!(parse_args(&args(&["--bogus"])).is_err());
    }

    #[test]
    fn the_first_differing_line_is_found_even_at_the_end() {
        let d = first_difference("x", "a\nb\nc", "a\nB\nc");
        assert_eq!(
            (d.line, d.expected.as_deref(), d.actual.as_deref()),
            (2, Some("b"), Some("B"))
        );
        let d = first_difference("x", "a\nb\n", "a\nb");
        assert_eq!(
            (d.line, d.expected.as_deref(), d.actual),
            (3, Some(""), None)
        );
        let d = first_difference("x", "a", "a\nmore");
        assert_eq!(
            (d.line, d.expected, d.actual.as_deref()),
            (2, None, Some("more"))
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_difference() {
        let e = format!("{}X{}", "a".repeat(1000), "b".repeat(1000));
        let a = format!("{}Y{}", "a".repeat(1000), "b".repeat(1000));
        let d = first_difference("state", &e, &a);
        let (x, y) = (d.expected.unwrap(), d.actual.unwrap());
        assert!(x.contains('X') && y.contains('Y'));
        assert!(x.starts_with('…') && x.ends_with('…'));
        assert!(x.chars().count() <= MAX_SHOWN + 2);
    }
}
