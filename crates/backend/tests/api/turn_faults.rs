//! Turns under faults (issue #18), against the real engine (process
//! driver), held mid-turn by its TEST ONLY turn delay
//! (`GALAXY_GAME_TEST_TURN_DELAY_MS`, set by a wrapper script mapped as the
//! engine binary): an engine killed during a turn pauses the game and, once
//! started again, the turn runs exactly once with the orders sent before;
//! an engine that fails a turn pauses the game as `generation_failed`; a
//! backend killed mid-turn leaves a tick the next process runs exactly
//! once; order submits racing the cut-off are either in the closing turn or
//! refused, never acknowledged and lost.

use std::path::{Path, PathBuf};
use std::time::Duration;

use galaxy_backend::notification::fbs::schema as fb;
use galaxy_backend::push::pb::{ClientEvent, push_event};
use galaxy_backend::runtime::RuntimeStatus;
use galaxy_model::api::GenerationState;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::app::TestAppBuilder;
use crate::helpers::push::{PushStream, subscribe};
use crate::lobby::{GAMES, admin_post, user_post};
use crate::play::{get, member, put, typed_orders};
use crate::process::{Running, base_env, wait_until};
use crate::process_driver::engine_binary;
use crate::runtime::{
    RUNTIMES, drive, engine_client, game_status, process_app, record, three_member_game,
};
use crate::turns::{age_turn, engine_turn, force_next_turn, intents_of, running_game};
use crate::users::{ROOT, ROOT_PASSWORD};

/// A wrapper around the real engine that holds every turn `delay_ms`.
fn slow_engine(dir: &Path, delay_ms: u64) -> PathBuf {
    let path = dir.join("slow-galaxy-game");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nGALAXY_GAME_TEST_TURN_DELAY_MS={delay_ms} exec {} \"$@\"\n",
            engine_binary().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// [`process_app`] running `engine` for every image.
fn slow_app(engine: &Path) -> TestAppBuilder {
    process_app().var("BACKEND_RUNTIME_PROCESS_BINARIES", engine.display())
}

/// Polls the engine until it holds a turn (bounded: 30 s).
async fn wait_generating(base_url: &str) {
    let client = engine_client();
    for _ in 0..1500 {
        if let Ok(status) = client.status(base_url).await
            && status.generation == GenerationState::InProgress
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the engine never held a turn");
}

fn state_dir(app: &TestApp, game: &str) -> PathBuf {
    app.state.runtime.settings().state_root.join(game)
}

/// The order sets the engine keeps for `turn` (`orders/<turn>.json`): the
/// line ids of each race.
fn stored_orders(state_dir: &Path, turn: u32) -> Value {
    let path = state_dir.join("orders").join(format!("{turn:06}.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

fn line_ids(stored: &Value, race: &str) -> Vec<String> {
    stored[race]["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Delivers the queued notifications, then reads the stream until `user`'s
/// `kind` event (bounded: 50 frames of at most 10 s each).
async fn pushed(app: &TestApp, stream: &mut PushStream, kind: &str, user: Uuid) -> ClientEvent {
    app.state.notification.worker().tick_report().await.unwrap();
    for _ in 0..50 {
        if let Some(push_event::Kind::ClientEvent(event)) = stream.next().await.kind
            && event.kind == kind
            && event.user_id == user.to_string()
        {
            return event;
        }
    }
    panic!("no {kind} for {user} on the push stream");
}

#[tokio::test]
async fn an_engine_killed_mid_turn_pauses_the_game_and_the_turn_later_runs_once_with_the_orders_sent()
 {
    let dir = tempfile::tempdir().unwrap();
    let app = slow_app(&slow_engine(dir.path(), 3000)).spawn().await;
    let game = running_game(&app).await;
    let zorgons = member(&app, &game, "Zorgons").await;
    put(
        &app,
        zorgons,
        &game,
        "orders",
        json!({ "turn": 0, "orders": typed_orders() }),
    )
    .await
    .assert_status(200);
    let mut stream = subscribe(&app, "gw-turn-faults", None).await;
    let rec = record(&app, &game).await;
    let base = rec.base_url.clone().unwrap();

    // The turn is due; while the engine holds it, the engine is killed.
    age_turn(&app, &game, 25).await;
    let runtime = app.state.runtime.clone();
    let tick = tokio::spawn(async move { runtime.run_due_turns().await.unwrap() });
    wait_generating(&base).await;
    assert_eq!(
        record(&app, &game).await.status,
        RuntimeStatus::GenerationInProgress
    );
    app.state
        .runtime
        .driver()
        .stop(&rec.container_name, Duration::ZERO)
        .await
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(60), tick)
        .await
        .expect("the tick ends")
        .unwrap();
    assert_eq!(
        (report.due, report.ran, report.failed),
        (1, 0, 1),
        "{report:?}"
    );
    let rec = record(&app, &game).await;
    assert_eq!(
        (rec.status, rec.current_turn),
        (RuntimeStatus::EngineUnreachable, 0)
    );
    assert_eq!(game_status(&app, &game).await["status"], "paused");
    let paused = intents_of(&app, "game.paused", &game).await;
    assert_eq!(paused.len(), 1);
    assert_eq!(paused[0]["reason"], "engine_unreachable");
    assert_eq!(paused[0]["turn"], 0);
    // The member hears of it on the push stream.
    let event = pushed(&app, &mut stream, "game.paused", zorgons).await;
    let t = flatbuffers::root::<fb::GamePaused>(&event.payload).unwrap();
    assert_eq!(t.game_id(), Some(game.as_str()));
    assert_eq!(t.reason(), Some("engine_unreachable"));
    assert_eq!(t.turn(), 0);
    // The killed engine never stored the turn.
    let state = state_dir(&app, &game);
    assert!(!state.join("turns").join("000001.json").exists());

    // An operator starts the engine again: the game resumes at the same
    // turn with a fresh deadline, and the orders sent are still there.
    admin_post(&app, &format!("{RUNTIMES}/{game}/start"), json!({}))
        .await
        .assert_status(202);
    drive(&app).await;
    let rec = record(&app, &game).await;
    assert_eq!((rec.status, rec.current_turn), (RuntimeStatus::Running, 0));
    let detail = game_status(&app, &game).await;
    assert_eq!(detail["status"], "running");
    let deadline: chrono::DateTime<chrono::Utc> =
        detail["next_deadline"].as_str().unwrap().parse().unwrap();
    assert!(deadline > chrono::Utc::now() + chrono::Duration::hours(23));
    assert_eq!(intents_of(&app, "game.resumed", &game).await.len(), 1);
    let event = pushed(&app, &mut stream, "game.resumed", zorgons).await;
    let t = flatbuffers::root::<fb::GameResumed>(&event.payload).unwrap();
    assert_eq!(t.turn(), 0);
    let r = get(&app, zorgons, &game, "orders").await;
    r.assert_status(200);
    assert_eq!(r.value()["orders"], typed_orders());
    // Not due before its new deadline.
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().due, 0);

    // Due again: the turn runs once, on the orders sent before the kill.
    age_turn(&app, &game, 25).await;
    let report = app.state.runtime.run_due_turns().await.unwrap();
    assert_eq!(
        (report.due, report.ran, report.failed),
        (1, 1, 0),
        "{report:?}"
    );
    assert_eq!(engine_turn(&app, &game).await, 1);
    assert_eq!(record(&app, &game).await.current_turn, 1);
    let ready: Vec<i64> = intents_of(&app, "game.turn.ready", &game)
        .await
        .iter()
        .map(|p| p["turn"].as_i64().unwrap())
        .collect();
    assert_eq!(ready, [0, 1]);
    assert_eq!(
        line_ids(&stored_orders(&state, 0), "Zorgons"),
        ["a1", "a2", "a3"]
    );
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().ran, 0);
    assert_eq!(engine_turn(&app, &game).await, 1);
}

#[tokio::test]
async fn an_engine_failing_a_turn_pauses_the_game_as_generation_failed_until_resumed() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let zorgons = member(&app, &game, "Zorgons").await;
    // A real fault: turn 1's state file cannot be written (a directory
    // stands where it goes), so the engine fails the turn with a 500.
    let blocker = state_dir(&app, &game).join("turns").join("000001.json");
    std::fs::create_dir_all(blocker.join("in-the-way")).unwrap();

    age_turn(&app, &game, 25).await;
    let report = app.state.runtime.run_due_turns().await.unwrap();
    assert_eq!(
        (report.due, report.ran, report.failed),
        (1, 0, 1),
        "{report:?}"
    );
    let rec = record(&app, &game).await;
    assert_eq!(
        (rec.status, rec.current_turn),
        (RuntimeStatus::GenerationFailed, 0)
    );
    assert!(rec.last_error.is_some());
    assert_eq!(game_status(&app, &game).await["status"], "paused");
    let paused = intents_of(&app, "game.paused", &game).await;
    assert_eq!(paused.len(), 1);
    assert_eq!(paused[0]["reason"], "generation_failed");
    let failed = intents_of(&app, "game.generation.failed", &game).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["turn"], 0);
    // The engine still answers, at the turn it could not run.
    assert_eq!(engine_turn(&app, &game).await, 0);
    let r = put(&app, zorgons, &game, "orders", json!({ "orders": [] })).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "game_paused");
    // Nothing runs while paused.
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().due, 0);

    // The fault cleared, the owner resumes; the turn runs once when due.
    std::fs::remove_dir_all(&blocker).unwrap();
    user_post(&app, zorgons, &format!("{GAMES}/{game}/resume"), json!({}))
        .await
        .assert_status(200);
    assert_eq!(record(&app, &game).await.status, RuntimeStatus::Running);
    age_turn(&app, &game, 25).await;
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().ran, 1);
    assert_eq!(engine_turn(&app, &game).await, 1);
    assert_eq!(record(&app, &game).await.current_turn, 1);
}

#[tokio::test]
async fn orders_racing_the_cut_off_are_in_the_closing_turn_or_refused_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let app = slow_app(&slow_engine(dir.path(), 1500)).spawn().await;
    let game = running_game(&app).await;
    let races = ["Zorgons", "Klingons", "Vogons"];
    let mut users = Vec::new();
    for race in races {
        users.push(member(&app, &game, race).await);
    }
    let set = |i: usize| {
        json!({ "turn": 0, "orders": [
            { "id": format!("s{i}"), "order": { "kind": "set_option", "option": "BattleProtocol" } }
        ] })
    };
    // Every member has a set in before the cut-off.
    for user in &users {
        put(&app, *user, &game, "orders", set(0))
            .await
            .assert_status(200);
    }
    force_next_turn(&app, &game).await;

    // Each member sends set after set until one is refused, while the tick
    // claims the turn and the engine holds it.
    let submits = users.iter().map(|user| {
        let app = &app;
        let game = &game;
        async move {
            let mut answers: Vec<(usize, u16, Value)> = Vec::new();
            for i in 1..=2000 {
                let r = put(app, *user, game, "orders", set(i)).await;
                let refused = r.status != 200;
                answers.push((i, r.status, r.value()));
                if refused {
                    return answers;
                }
            }
            panic!("never refused: the turn was never claimed");
        }
    });
    let (report, answers) = tokio::join!(
        app.state.runtime.run_due_turns(),
        futures::future::join_all(submits)
    );
    let report = report.unwrap();
    assert_eq!((report.ran, report.failed), (1, 0), "{report:?}");
    assert_eq!(engine_turn(&app, &game).await, 1);

    let stored = stored_orders(&state_dir(&app, &game), 0);
    for ((race, answers), _) in races.iter().zip(&answers).zip(&users) {
        let (last, refusal) = answers.split_at(answers.len() - 1);
        // Every answer but the last is a 200 for turn 0.
        for (i, status, body) in last {
            assert_eq!(*status, 200, "{race} set {i}: {body}");
            assert_eq!(body["turn"], 0, "{race} set {i}: {body}");
        }
        let (i, status, body) = &refusal[0];
        assert_eq!(*status, 409, "{race} set {i}: {body}");
        assert_eq!(body["error"]["code"], "turn_already_closed", "{body}");
        // The last set acknowledged is the one the closed turn kept.
        let acknowledged = last.last().map_or(0, |(i, _, _)| *i);
        assert_eq!(
            line_ids(&stored, race),
            [format!("s{acknowledged}")],
            "{race}: {answers:?}"
        );
    }
    // The new turn starts empty.
    for user in &users {
        let r = get(&app, *user, &game, "orders").await;
        r.assert_status(200);
        assert_eq!(r.value()["turn"], 1);
        assert_eq!(r.value()["orders"], json!([]));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_killed_mid_turn_leaves_a_tick_the_next_process_runs_exactly_once() {
    // The game is set up (three members, started) by an in-process app
    // whose loops are off (its admin is the one the binary's API knows);
    // the binary then starts it and plays.
    let app = process_app().spawn().await;
    let game = three_member_game(&app, "0.1.0").await;
    let db = app.into_database().await;
    let options: sqlx::postgres::PgConnectOptions = db.url().parse().unwrap();
    let pool = sqlx::PgPool::connect_with(options.options([("search_path", "backend")]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let slow = slow_engine(dir.path(), 3000);
    let mut env = base_env(&db.url(), dir.path());
    env.extend(
        [
            ("BACKEND_RUNTIME_DRIVER", "process".to_owned()),
            (
                "BACKEND_RUNTIME_PROCESS_BINARIES",
                slow.display().to_string(),
            ),
            (
                "BACKEND_RUNTIME_ENGINE_VERSIONS",
                "0.1.0=galaxy/game:0.1.0".to_owned(),
            ),
            ("BACKEND_LOBBY_SWEEPER_ENABLED", "false".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let record_is = |what: &str| {
        format!(
            "SELECT coalesce((SELECT {what} FROM runtime_records WHERE game_id = '{game}'), false)"
        )
    };

    let first = Running::start(&env);
    wait_until(
        &pool,
        &format!("SELECT status = 'running' FROM games WHERE game_id = '{game}'"),
        "the first process starts the game",
    )
    .await;
    let forced = reqwest::Client::new()
        .post(format!(
            "http://{}{RUNTIMES}/{game}/force-next-turn",
            first.http
        ))
        .basic_auth(ROOT, Some(ROOT_PASSWORD))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), 200);
    wait_until(
        &pool,
        &record_is("status = 'generation_in_progress'"),
        "the first process claims the turn",
    )
    .await;
    let base_url: String =
        sqlx::query_scalar("SELECT base_url FROM runtime_records WHERE game_id = $1::uuid")
            .bind(&game)
            .fetch_one(&pool)
            .await
            .unwrap();
    wait_generating(&base_url).await;
    first.signal("KILL");
    let (status, _) = first.wait_with_rest();
    assert!(!status.success());
    // The engine dies with the backend, the turn un-run.
    let probe = reqwest::Client::new();
    let mut gone = false;
    for _ in 0..300 {
        if probe
            .get(format!("{base_url}/healthz"))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .is_err()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the engine outlived the killed backend");
    let state = dir.path().join("state").join(&game);
    assert!(
        !state.join("turns").join("000001.json").exists(),
        "the killed engine stored the turn"
    );
    // The tick is left behind; its age (past the engine call timeout) is
    // simulated rather than waited for.
    let stuck = sqlx::query(
        "UPDATE runtime_records SET generation_started_at = now() - interval '1 hour'
         WHERE game_id = $1::uuid AND status = 'generation_in_progress' AND force_next_turn",
    )
    .bind(&game)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(stuck.rows_affected(), 1);

    // The next process recovers the record and runs the turn, once.
    let second = Running::start(&env);
    wait_until(
        &pool,
        &record_is("status = 'running' AND current_turn = 1 AND NOT force_next_turn"),
        "the second process runs the turn",
    )
    .await;
    wait_until(
        &pool,
        &format!(
            "SELECT status = 'running' AND current_turn = 1 FROM games WHERE game_id = '{game}'"
        ),
        "the game is running at turn 1",
    )
    .await;
    let base_url: String =
        sqlx::query_scalar("SELECT base_url FROM runtime_records WHERE game_id = $1::uuid")
            .bind(&game)
            .fetch_one(&pool)
            .await
            .unwrap();
    let status = engine_client().status(&base_url).await.unwrap();
    assert_eq!(status.turn, 1);
    let turns: Vec<String> = sqlx::query_scalar(
        "SELECT state FROM runtime_operations WHERE game_id = $1::uuid AND op = 'turn'
         ORDER BY created_at",
    )
    .bind(&game)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        turns.iter().filter(|s| *s == "succeeded").count(),
        1,
        "{turns:?}"
    );
    let ready: Vec<i64> = sqlx::query_scalar(
        "SELECT (payload->>'turn')::bigint FROM notification_intents
         WHERE kind = 'game.turn.ready' AND payload->>'game_id' = $1 ORDER BY created_at",
    )
    .bind(&game)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(ready, [0, 1]);

    second.signal("TERM");
    let (status, _) = second.wait_with_rest();
    assert!(status.success());
    pool.close().await;
    drop(db);
}

#[tokio::test]
async fn a_forced_turn_the_engine_ran_behind_a_dead_tick_is_not_run_again_after_a_restart() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    force_next_turn(&app, &game).await;
    // A backend claimed the forced turn and died; the engine ran it, then
    // its host went down too before anyone asked.
    let rec = record(&app, &game).await;
    sqlx::query(
        "UPDATE runtime_records SET status = 'generation_in_progress',
             generation_started_at = now() - interval '1 hour' WHERE game_id = $1::uuid",
    )
    .bind(&game)
    .execute(app.db())
    .await
    .unwrap();
    engine_client()
        .run_turn(rec.base_url.as_deref().unwrap(), 0)
        .await
        .unwrap();
    app.state
        .runtime
        .driver()
        .stop(&rec.container_name, Duration::from_secs(1))
        .await
        .unwrap();
    let report = app.state.runtime.run_due_turns().await.unwrap();
    assert_eq!(report.recovered, 1, "{report:?}");
    assert_eq!(game_status(&app, &game).await["status"], "paused");

    // Started again, the engine is at turn 1: the forced turn has run.
    admin_post(&app, &format!("{RUNTIMES}/{game}/start"), json!({}))
        .await
        .assert_status(202);
    drive(&app).await;
    let rec = record(&app, &game).await;
    assert_eq!(
        (rec.status, rec.current_turn, rec.force_next_turn),
        (RuntimeStatus::Running, 1, false)
    );
    let detail = game_status(&app, &game).await;
    assert_eq!(
        (detail["status"].as_str(), detail["current_turn"].as_i64()),
        (Some("running"), Some(1))
    );
    // Members hear of the turn they missed.
    let ready: Vec<i64> = intents_of(&app, "game.turn.ready", &game)
        .await
        .iter()
        .map(|p| p["turn"].as_i64().unwrap())
        .collect();
    assert_eq!(ready, [0, 1]);
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().ran, 0);
    assert_eq!(engine_turn(&app, &game).await, 1);
}
