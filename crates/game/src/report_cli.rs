//! `galaxy-game report --race NAME [--turn N] [--format json|text]
//! [--state-dir DIR]`: prints one race's report of a stored turn (default:
//! the current one) and exits; it reads the state directory and never
//! writes it, listens on nothing, logs nothing. The platform reads the
//! reports of a finished game this way, with its engine stopped.
//!
//! Exit codes: 0 the report on stdout (JSON, or the classic text);
//! 4 no such turn or race (`{"error":"report_not_found",…}` on stdout);
//! 2 anything else (`{"error":…}` on stdout, the message on stderr).
//!
//! `galaxy-game bot --race NAME [--state-dir DIR]` reads the same way and
//! prints what the built-in bot ([`crate::bot`]) would order for the race
//! this turn, in the classic text form, so a demo or a test player can
//! submit it like any player's orders. Exit codes as above (4: no game or
//! no such living race).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::store::Store;

const USAGE: &str =
    "usage: galaxy-game report --race NAME [--turn N] [--format json|text] [--state-dir DIR]";

/// Exit code: the report was printed.
pub const EXIT_OK: u8 = 0;
/// Exit code: arguments, state directory or state files were unusable.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: no such turn, or no such race in it.
pub const EXIT_NOT_FOUND: u8 = 4;

struct Args {
    dir: PathBuf,
    race: String,
    turn: Option<u32>,
    text: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut dir = None;
    let mut race = None;
    let mut turn = None;
    let mut text = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))
        };
        match flag {
            "--race" => race = Some(value()?),
            "--turn" => {
                let v = value()?;
                turn = Some(
                    v.parse()
                        .map_err(|_| format!("--turn {v:?} is not a turn number"))?,
                );
            }
            "--format" => match value()?.as_str() {
                "json" => text = false,
                "text" => text = true,
                other => return Err(format!("unknown format {other:?}; {USAGE}")),
            },
            "--state-dir" => dir = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    let dir = dir
        .or_else(|| std::env::var_os("GALAXY_GAME_STATE_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/lib/galaxy-game"));
    let race = race.ok_or_else(|| format!("--race is required; {USAGE}"))?;
    Ok(Args {
        dir,
        race,
        turn,
        text,
    })
}

/// Runs the `report` subcommand with the arguments after it.
pub fn cli(args: &[String]) -> ExitCode {
    run(args, false)
}

/// Runs the `bot` subcommand with the arguments after it.
pub fn bot_cli(args: &[String]) -> ExitCode {
    run(args, true)
}

fn run(args: &[String], bot: bool) -> ExitCode {
    let command = if bot { "bot" } else { "report" };
    let fail = |code: u8, kind: &str, message: String| {
        println!(
            "{}",
            serde_json::json!({ "error": kind, "message": message })
        );
        eprintln!("galaxy-game {command}: {message}");
        ExitCode::from(code)
    };
    let args = match parse(args) {
        Ok(args) if bot && (args.turn.is_some() || args.text) => {
            return fail(
                EXIT_ERROR,
                "invalid_request",
                "usage: galaxy-game bot --race NAME [--state-dir DIR]".to_owned(),
            );
        }
        Ok(args) => args,
        Err(message) => return fail(EXIT_ERROR, "invalid_request", message),
    };
    let store = match Store::open_existing(&args.dir) {
        Ok(store) => store,
        Err(e) => return fail(EXIT_ERROR, "internal", e.to_string()),
    };
    let turn = match args
        .turn
        .map(Ok)
        .unwrap_or_else(|| store.current_turn().map(|t| t.unwrap_or(0)))
    {
        Ok(turn) => turn,
        Err(e) => return fail(EXIT_ERROR, "internal", e.to_string()),
    };
    if bot {
        return match store.read_state(turn) {
            Ok(Some(game)) => match game.find_race(&args.race).filter(|r| !game.races[r.0].dead) {
                Some(race) => {
                    for line in crate::bot::orders(&game, race) {
                        println!("{}", line.order.to_text());
                    }
                    ExitCode::from(EXIT_OK)
                }
                None => fail(
                    EXIT_NOT_FOUND,
                    "race_not_found",
                    format!("no living race {} in turn {turn}", args.race),
                ),
            },
            Ok(None) => fail(
                EXIT_NOT_FOUND,
                "game_not_found",
                format!("no state of turn {turn}"),
            ),
            Err(e) => fail(EXIT_ERROR, "internal", e.to_string()),
        };
    }
    match store.read_report(turn, &args.race) {
        Ok(Some(report)) if args.text => {
            print!("{}", crate::text_report::render(&report));
            ExitCode::from(EXIT_OK)
        }
        Ok(Some(report)) => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            ExitCode::from(EXIT_OK)
        }
        Ok(None) => fail(
            EXIT_NOT_FOUND,
            "report_not_found",
            format!("no report of turn {turn} for race {}", args.race),
        ),
        Err(e) => fail(EXIT_ERROR, "internal", e.to_string()),
    }
}
