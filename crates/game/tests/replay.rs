//! `galaxy-game replay`, the shadow check before a patch: a small game is
//! played through the real HTTP server (the engine kept in memory across
//! turns, as in production), then the binary replays its turns from a copy
//! of the state directory: identical (exit 0), different after tampering
//! with a stored turn or its orders (exit 3, first differing line), errors
//! (exit 2), and the directory is never written.

use galaxy_game::bot;
use galaxy_game::engine::Engine;
use galaxy_game::game::{Game, RaceId};
use galaxy_game::http::{AppState, serve};
use galaxy_game::rng::GameRng;
use galaxy_game::store::Store;
use galaxy_model::api::{GameSettings, InitRace, InitRequest};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn fresh_dir() -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("galaxy-replay-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const RACES: [&str; 3] = ["Alpha", "Beta", "Gamma"];
/// Turns played; Gamma is banished after turn `BANISHED_AT` ran.
const TURNS: u32 = 5;
const BANISHED_AT: u32 = 4;

/// Plays [`TURNS`] turns over HTTP on one server that is never restarted:
/// Alpha and Beta send the bot's typed orders, Gamma the same as text with
/// one bad line, except on turn 2 (idle); Gamma is banished after turn
/// [`BANISHED_AT`] ran. Returns the state directory.
async fn played_game() -> PathBuf {
    let dir = fresh_dir();
    let state = AppState::open(Store::open(&dir).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve(listener, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let c = reqwest::Client::new();
    let races: Vec<Value> = RACES.iter().map(|r| json!({ "name": r })).collect();
    let r = c
        .post(format!("{base}/api/v1/admin/init"))
        .json(&json!({"game_id": "replay", "seed": 11, "races": races}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let store = Store::open(&dir).unwrap();
    for turn in 0..TURNS {
        let game = store.read_state(turn).unwrap().unwrap();
        for (i, race) in RACES.iter().enumerate() {
            if game.races[i].dead || (*race == "Gamma" && turn == 2) {
                continue;
            }
            let lines = bot::orders(&game, RaceId(i));
            let body = if *race == "Gamma" {
                let mut text = format!("#GALAXY replay {race} pw {turn}\n");
                for l in &lines {
                    text.push_str(&l.order.to_text());
                    text.push('\n');
                }
                text.push_str("zzz not an order\n#END\n");
                json!({"race": race, "turn": turn, "text": text})
            } else {
                json!({"race": race, "turn": turn, "orders": lines})
            };
            let r = c
                .put(format!("{base}/api/v1/order"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "orders of {race} for turn {turn}");
        }
        let r = c
            .put(format!("{base}/api/v1/admin/turn"))
            .json(&json!({ "turn": turn }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "turn {turn}");
        if turn + 1 == BANISHED_AT {
            let r = c
                .post(format!("{base}/api/v1/admin/race/banish"))
                .json(&json!({"race": "Gamma"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
        }
    }
    let _ = stop.send(());
    server.await.unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file and directory under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let bytes = if meta.is_dir() {
                todo.push(entry.path());
                Vec::new()
            } else {
                std::fs::read(entry.path()).unwrap()
            };
            out.insert(entry.path(), (bytes, meta.modified().unwrap()));
        }
    }
    out
}

struct Run {
    code: i32,
    out: Value,
    stderr: String,
}

/// Runs `galaxy-game replay` with `args`; stdout must be one JSON line.
fn replay(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_galaxy-game"))
        .arg("replay")
        .args(args)
        .env_remove("GALAXY_GAME_STATE_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line on stdout: {stdout:?}");
    Run {
        code: out.status.code().unwrap(),
        out: serde_json::from_str(stdout.trim_end()).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn replay_turn(dir: &Path, turn: u32) -> Run {
    replay(&[
        "--state-dir",
        dir.to_str().unwrap(),
        "--turn",
        &turn.to_string(),
    ])
}

fn turn_path(dir: &Path, turn: u32) -> PathBuf {
    dir.join("turns").join(format!("{turn:06}.json"))
}

fn write_state(dir: &Path, turn: u32, game: &Game) {
    std::fs::write(turn_path(dir, turn), serde_json::to_vec(game).unwrap()).unwrap();
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn every_played_turn_replays_identically_and_nothing_is_written() {
    let played = played_game().await;
    // Running a turn leaves its orders on disk: they are the replay's input.
    for turn in 0..TURNS {
        assert!(
            played.join(format!("orders/{turn:06}.json")).exists(),
            "orders of turn {turn} kept"
        );
    }
    let dir = fresh_dir();
    copy_dir(&played, &dir);
    let before = snapshot(&dir);

    // Default: the current turn; the directory from the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_galaxy-game"))
        .arg("replay")
        .env("GALAXY_GAME_STATE_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        line,
        json!({
            "turn": TURNS,
            "identical": true,
            "compared": [
                "report Alpha text", "report Alpha json",
                "report Beta text", "report Beta json",
                "report Gamma text", "report Gamma json",
                "state"
            ]
        })
    );
    // Every turn, including the one after which Gamma was banished.
    for turn in 1..=TURNS {
        let run = replay_turn(&dir, turn);
        assert_eq!(
            (run.code, &run.out["identical"]),
            (0, &json!(true)),
            "turn {turn}: {}",
            run.out
        );
        assert_eq!(run.out["turn"], json!(turn));
        assert!(run.stderr.is_empty());
    }
    assert!(
        snapshot(&dir) == before,
        "the state directory changed during the replay"
    );
    let _ = std::fs::remove_dir_all(&played);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_tampered_turn_shows_the_first_differing_report_line() {
    let dir = played_game().await;
    let mut game = Store::open(&dir).unwrap().read_state(3).unwrap().unwrap();
    let home = game
        .planets
        .iter_mut()
        .find(|p| p.owner == Some(RaceId(0)))
        .unwrap();
    home.cap = 12345.5;
    write_state(&dir, 3, &game);
    let before = snapshot(&dir);

    let run = replay_turn(&dir, 3);
    assert_eq!(run.code, 3, "{}", run.out);
    assert_eq!(run.out["identical"], json!(false));
    assert_eq!(run.out["turn"], json!(3));
    let diff = &run.out["first_difference"];
    assert_eq!(diff["what"], json!("report Alpha text"), "{diff}");
    assert!(diff["line"].as_u64().unwrap() > 1);
    let (expected, actual) = (
        diff["expected"].as_str().unwrap(),
        diff["actual"].as_str().unwrap(),
    );
    assert!(expected.contains("12345.50"), "{expected:?}");
    assert!(!actual.contains("12345.50"), "{actual:?}");
    let different = strings(&run.out["different"]);
    assert!(different.contains(&"report Alpha json"));
    assert!(different.contains(&"state"));
    assert_eq!(strings(&run.out["compared"]).len(), 7);
    // The turn before is untouched and still replays identically.
    assert_eq!(replay_turn(&dir, 2).code, 0);
    assert!(snapshot(&dir) == before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_changed_random_generator_differs_in_the_state_only() {
    let dir = played_game().await;
    let mut game = Store::open(&dir)
        .unwrap()
        .read_state(TURNS)
        .unwrap()
        .unwrap();
    game.rng = GameRng::new(7);
    write_state(&dir, TURNS, &game);

    let run = replay(&["--state-dir", dir.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.out);
    assert_eq!(strings(&run.out["different"]), ["state"]);
    let diff = &run.out["first_difference"];
    assert_eq!(diff["what"], json!("state"));
    // The pretty JSON (sorted keys) of `"rng": {"state": …}`.
    assert_eq!(diff["expected"], json!("    \"state\": 7"), "{diff}");
    assert!(
        diff["actual"]
            .as_str()
            .unwrap()
            .starts_with("    \"state\": ")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn changed_orders_change_the_replayed_turn() {
    let dir = played_game().await;
    let path = dir.join("orders/000002.json");
    let mut orders: BTreeMap<String, Value> =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(orders.remove("Alpha").is_some());
    std::fs::write(&path, serde_json::to_vec(&orders).unwrap()).unwrap();

    let run = replay_turn(&dir, 3);
    assert_eq!(run.code, 3, "{}", run.out);
    let diff = &run.out["first_difference"];
    assert_eq!(diff["what"], json!("report Alpha text"), "{diff}");
    assert!(strings(&run.out["different"]).contains(&"state"));
    // Other turns do not read those orders.
    assert_eq!(replay_turn(&dir, 2).code, 0);
    assert_eq!(replay_turn(&dir, 4).code, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn turn_zero_missing_turns_and_bad_arguments_are_errors() {
    let dir = played_game().await;
    let d = dir.to_str().unwrap();
    let error = |run: Run, says: &str| {
        assert_eq!(run.code, 2, "{}", run.out);
        let message = run.out["error"].as_str().unwrap();
        assert!(message.contains(says), "{message:?} should say {says:?}");
        assert_eq!(run.out.as_object().unwrap().len(), 1);
        assert!(run.stderr.contains(says), "{:?}", run.stderr);
    };
    error(replay_turn(&dir, 0), "turn 0");
    error(replay_turn(&dir, TURNS + 1), "not stored");
    error(replay(&["--state-dir", d, "--turn", "x"]), "--turn");
    error(replay(&["--state-dir", d, "--bogus"]), "--bogus");

    std::fs::remove_file(turn_path(&dir, 1)).unwrap();
    error(replay_turn(&dir, 2), "turn 1 is not stored");

    let empty = fresh_dir();
    error(replay(&["--state-dir", empty.to_str().unwrap()]), "no game");
    let missing = empty.join("nope");
    error(replay(&["--state-dir", missing.to_str().unwrap()]), "nope");
    assert!(!missing.exists(), "the replay created the state directory");

    // A state file that does not parse.
    std::fs::write(turn_path(&dir, 3), b"{ not json").unwrap();
    error(replay_turn(&dir, 3), "000003.json");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&empty);
}

/// The replay (and a restarted engine) must continue from exactly the floats
/// a turn computed: a stored state loads back equal, bit for bit.
#[test]
fn a_stored_state_loads_back_exactly() {
    let mut engine = Engine::init(&InitRequest {
        game_id: "floats".into(),
        seed: 3,
        settings: GameSettings::default(),
        races: (0..4)
            .map(|i| InitRace {
                name: format!("R{i}"),
            })
            .collect(),
    })
    .unwrap();
    let dir = fresh_dir();
    let store = Store::open(&dir).unwrap();
    for _ in 0..12 {
        engine.pending = bot::all_orders(&engine.game);
        engine.advance();
        store.save_turn(&engine).unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert!(
            loaded.game == engine.game,
            "turn {} does not load back as it was computed",
            engine.game.turn
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `galaxy-game ARGS…`: exit code and stdout.
fn engine(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_galaxy-game"))
        .args(args)
        .env_remove("GALAXY_GAME_STATE_DIR")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[tokio::test]
async fn the_report_command_prints_stored_reports_and_nothing_else() {
    let dir = played_game().await;
    let d = dir.to_str().unwrap();
    let race = RACES[0];
    let before = snapshot(&dir);
    let (code, out) = engine(&["report", "--race", race, "--turn", "2", "--state-dir", d]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!(report["turn"], 2);
    // The text form, of the current turn by default.
    let (code, text) = engine(&[
        "report",
        "--race",
        race,
        "--format",
        "text",
        "--state-dir",
        d,
    ]);
    assert_eq!(code, 0);
    assert!(text.contains(&format!("{race} Report")), "{text}");
    // No such turn or race: 4; bad arguments: 2.
    let (code, out) = engine(&["report", "--race", race, "--turn", "99", "--state-dir", d]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("report_not_found"));
    assert_eq!(
        engine(&["report", "--race", "Nobody", "--state-dir", d]).0,
        4
    );
    assert_eq!(engine(&["report", "--state-dir", d]).0, 2);
    assert_eq!(engine(&["report", "--race", race, "--format", "pdf"]).0, 2);
    // An unknown command never starts serving.
    assert_eq!(engine(&["serve-please"]).0, 2);
    assert_eq!(snapshot(&dir), before, "the state directory is untouched");
}

#[tokio::test]
async fn the_bot_command_prints_orders_that_parse_back() {
    let dir = played_game().await;
    let d = dir.to_str().unwrap();
    let before = snapshot(&dir);
    let (code, text) = engine(&["bot", "--race", RACES[0], "--state-dir", d]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.trim().is_empty(), "the bot orders something");
    let parsed = galaxy_game::parser::parse_orders(&text);
    assert!(parsed.mistakes.is_empty(), "{text}");
    assert_eq!(engine(&["bot", "--race", "Nobody", "--state-dir", d]).0, 4);
    assert_eq!(
        engine(&["bot", "--race", RACES[0], "--turn", "1", "--state-dir", d]).0,
        2
    );
    assert_eq!(snapshot(&dir), before, "the state directory is untouched");
}
