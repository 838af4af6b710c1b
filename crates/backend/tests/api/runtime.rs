//! The game runtime end to end, through the HTTP API against the real
//! PostgreSQL and the real engine: a game the lobby starts is brought up
//! (process driver: the real `galaxy-game` binary; docker driver: the real
//! image on the real daemon), initialised with its members' races, and
//! restarted, stopped and started again by an operator; failures reach the
//! admin channel and put the game back where an admin can act.
//!
//! The pool, the intake and the reconciler are driven step by step
//! (`BACKEND_JOBS_WORKER_ENABLED=false`).

use galaxy_backend::runtime::engine::EngineClient;
use galaxy_backend::runtime::{OpsReport, RuntimeRecord, RuntimeStatus};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::app::TestAppBuilder;
use crate::lobby::{ADMIN_GAMES, GAMES, admin_get, admin_post, game_body, user_get, user_post};
use crate::process_driver::engine_binary;
use crate::users::{admin_app, create_account};

pub const RUNTIMES: &str = "/api/v1/admin/runtimes";

/// An app whose loops are off (the test drives them), running engines as
/// child processes of the real binary.
pub fn process_app() -> TestAppBuilder {
    admin_app()
        .var("BACKEND_LOBBY_SWEEPER_ENABLED", "false")
        .var("BACKEND_JOBS_WORKER_ENABLED", "false")
        .var("BACKEND_NOTIFICATION_WORKER_ENABLED", "false")
        .var("BACKEND_RUNTIME_DRIVER", "process")
        .var(
            "BACKEND_RUNTIME_PROCESS_BINARIES",
            engine_binary().display(),
        )
        .var("BACKEND_RUNTIME_STOP_GRACE_PERIOD", "5s")
}

/// The same on the Docker daemon (engines published on 127.0.0.1).
pub fn docker_app() -> TestAppBuilder {
    admin_app()
        .var("BACKEND_LOBBY_SWEEPER_ENABLED", "false")
        .var("BACKEND_JOBS_WORKER_ENABLED", "false")
        .var("BACKEND_NOTIFICATION_WORKER_ENABLED", "false")
        .var("BACKEND_RUNTIME_DRIVER", "docker")
        .var("BACKEND_RUNTIME_ENGINE_ADDRESSING", "loopback")
        .var("BACKEND_RUNTIME_IMAGE_PULL_POLICY", "never")
        .var("BACKEND_RUNTIME_STOP_GRACE_PERIOD", "5s")
}

/// A private game of three members (alice owns it), started by its owner:
/// `starting`, with a start request for the runtime.
pub async fn three_member_game(app: &TestApp, engine_version: &str) -> String {
    three_member_game_with(app, json!({ "engine_version": engine_version })).await
}

/// [`three_member_game`] with `extra` fields of the game's body.
pub async fn three_member_game_with(app: &TestApp, extra: Value) -> String {
    let tag = &Uuid::new_v4().simple().to_string()[..8];
    let alice = create_account(app, &format!("alice{tag}"), None).await;
    let mut body = game_body("Three");
    body["race_name"] = json!("Zorgons");
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = user_post(app, alice, GAMES, body).await;
    r.assert_status(201);
    let game = r.value()["game_id"].as_str().unwrap().to_owned();
    for (name, race) in [("bob", "Klingons"), ("carol", "Vogons")] {
        let user_name = format!("{name}{tag}");
        let user = create_account(app, &user_name, None).await;
        let r = user_post(
            app,
            alice,
            &format!("{GAMES}/{game}/invites"),
            json!({ "user_name": user_name }),
        )
        .await;
        r.assert_status(201);
        let invite = r.value()["invite_id"].as_str().unwrap().to_owned();
        user_post(
            app,
            user,
            &format!("/api/v1/user/invites/{invite}/accept"),
            json!({ "race_name": race }),
        )
        .await
        .assert_status(200);
    }
    user_post(app, alice, &format!("{GAMES}/{game}/start"), json!({}))
        .await
        .assert_status(200);
    game
}

/// Runs the intake and the pool until no operation is left (bounded).
pub async fn drive(app: &TestApp) -> OpsReport {
    let runtime = &app.state.runtime;
    let mut total = OpsReport::default();
    for _ in 0..50 {
        runtime.take_lobby_requests().await.unwrap();
        let report = runtime.run_operations().await.unwrap();
        total.claimed += report.claimed;
        total.succeeded += report.succeeded;
        total.skipped += report.skipped;
        total.failed += report.failed;
        total.retrying += report.retrying;
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM runtime_operations WHERE state IN ('pending', 'retrying')",
        )
        .fetch_one(app.db())
        .await
        .unwrap();
        if open == 0 {
            return total;
        }
        // A retried operation is due after its backoff: make it due now.
        sqlx::query(
            "UPDATE runtime_operations SET next_attempt_at = now()
             WHERE state = 'retrying'",
        )
        .execute(app.db())
        .await
        .unwrap();
    }
    panic!("runtime operations did not settle: {total:?}");
}

pub async fn record(app: &TestApp, game: &str) -> RuntimeRecord {
    app.state
        .runtime
        .record(game.parse().unwrap())
        .await
        .unwrap()
}

pub async fn game_status(app: &TestApp, game: &str) -> Value {
    let r = admin_get(app, &format!("{ADMIN_GAMES}/{game}")).await;
    r.assert_status(200);
    r.value()
}

pub fn engine_client() -> EngineClient {
    EngineClient::new(&galaxy_backend::config::EngineConfig {
        call_timeout: std::time::Duration::from_secs(30),
        probe_timeout: std::time::Duration::from_secs(10),
    })
    .unwrap()
}

/// The operations of `game`, oldest first: `(op, state, requested_by)`.
pub async fn ops(app: &TestApp, game: &str) -> Vec<(String, String, String)> {
    let r = admin_get(app, &format!("{RUNTIMES}/{game}/operations")).await;
    r.assert_status(200);
    let mut all: Vec<(String, String, String)> = r.value()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["op"].as_str().unwrap().to_owned(),
                o["state"].as_str().unwrap().to_owned(),
                o["requested_by"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    all.reverse();
    all
}

async fn turn_ready_notices(app: &TestApp, game: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM notification_intents WHERE kind = 'game.turn.ready'
         AND payload->>'game_id' = $1",
    )
    .bind(game)
    .fetch_one(app.db())
    .await
    .unwrap()
}

/// The whole lifecycle on one driver: start, play a turn, restart (same
/// turn), stop (paused; stop again is a no-op), start (running again).
pub async fn lifecycle(app: &TestApp) {
    let game = three_member_game(app, "0.1.0").await;
    assert_eq!(game_status(app, &game).await["status"], "starting");

    let report = drive(app).await;
    assert_eq!(report.succeeded, 1, "{report:?}");
    let rec = record(app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    assert_eq!(rec.current_turn, 0);
    assert!(rec.initialised_at.is_some());
    let detail = game_status(app, &game).await;
    assert_eq!(detail["status"], "running", "{detail}");
    assert_eq!(detail["current_turn"], 0);
    assert_eq!(turn_ready_notices(app, &game).await, 1);
    // The lobby's start request is done.
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM game_runtime_requests WHERE game_id = $1::uuid AND completed_at IS NULL",
    )
    .bind(&game)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(open, 0);

    // The engine plays the members' races.
    let engine = engine_client();
    let base = rec.base_url.clone().unwrap();
    let status = engine.status(&base).await.unwrap();
    assert_eq!(status.game_id, game);
    let mut races: Vec<String> = status.races.iter().map(|r| r.race.clone()).collect();
    races.sort();
    assert_eq!(races, ["Klingons", "Vogons", "Zorgons"]);
    // One turn, so a restart has a turn to keep.
    engine.run_turn(&base, 0).await.unwrap();

    // Inspect shows the record, the container and the engine.
    let r = admin_get(app, &format!("{RUNTIMES}/{game}")).await;
    r.assert_status(200);
    assert_eq!(r.value()["engine"]["turn"], 1, "{}", r.value());
    assert_eq!(r.value()["container"]["state"], "running");

    // Restart: the engine resumes at turn 1.
    let r = admin_post(app, &format!("{RUNTIMES}/{game}/restart"), json!({})).await;
    r.assert_status(202);
    assert_eq!(r.value()["operation"]["op"], "restart");
    drive(app).await;
    let rec = record(app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    assert_eq!(rec.current_turn, 1);
    let status = engine
        .status(rec.base_url.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(status.turn, 1);

    // Stop: the game pauses; stopping again changes nothing.
    admin_post(app, &format!("{RUNTIMES}/{game}/stop"), json!({}))
        .await
        .assert_status(202);
    drive(app).await;
    assert_eq!(record(app, &game).await.status, RuntimeStatus::Stopped);
    let detail = game_status(app, &game).await;
    assert_eq!(detail["status"], "paused");
    let again = admin_post(app, &format!("{RUNTIMES}/{game}/stop"), json!({})).await;
    again.assert_status(200);
    assert_eq!(again.value()["operation"], Value::Null);
    assert_eq!(again.value()["runtime"]["status"], "stopped");

    // Start: running again at the same turn, the game resumes.
    admin_post(app, &format!("{RUNTIMES}/{game}/start"), json!({}))
        .await
        .assert_status(202);
    drive(app).await;
    let rec = record(app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    let status = engine
        .status(rec.base_url.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(status.turn, 1);
    assert_eq!(game_status(app, &game).await["status"], "running");

    let log: Vec<(String, String)> = ops(app, &game)
        .await
        .into_iter()
        .map(|(op, state, _)| (op, state))
        .collect();
    let expected: Vec<(String, String)> = ["start", "restart", "stop", "start"]
        .iter()
        .map(|op| (op.to_string(), "succeeded".to_owned()))
        .collect();
    assert_eq!(log, expected);
    // Every admin action is audited.
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM admin_audit_log WHERE target = $1 AND action LIKE 'runtime.%' ORDER BY id",
    )
    .bind(&game)
    .fetch_all(app.db())
    .await
    .unwrap();
    assert_eq!(
        audited,
        ["runtime.restart", "runtime.stop", "runtime.start"]
    );

    // The list shows it.
    let list = admin_get(app, RUNTIMES).await;
    list.assert_status(200);
    assert!(
        list.value()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["game_id"] == game.as_str())
    );

    // Ended: the engine stops, the reports stay readable from the state.
    admin_post(
        app,
        &format!("{ADMIN_GAMES}/{game}/force-stop"),
        json!({ "reason": "season over" }),
    )
    .await
    .assert_status(200);
    drive(app).await;
    assert_eq!(game_status(app, &game).await["status"], "finished");
    assert_eq!(record(app, &game).await.status, RuntimeStatus::Finished);
    let vogons = crate::play::member(app, &game, "Vogons").await;
    let r = app
        .api
        .get(&format!("{GAMES}/{game}/report"))
        .user(vogons)
        .query("turn", 1)
        .query("format", "text")
        .send()
        .await;
    r.assert_status(200);
    assert!(r.text().contains("Vogons Report"), "{}", r.text());
    let _ = user_get;
}

#[tokio::test]
async fn a_started_game_runs_on_the_process_driver_and_survives_restart_stop_and_start() {
    let app = process_app().spawn().await;
    lifecycle(&app).await;
}

#[tokio::test]
async fn a_started_game_runs_in_a_docker_container_and_survives_restart_stop_and_start() {
    let app = docker_app().spawn().await;
    lifecycle(&app).await;
    // The container carries our labels.
    let engines = app.state.runtime.driver().list().await.unwrap();
    assert!(!engines.is_empty());
    cleanup_docker(&app).await;
}

/// Removes this app's containers (their games are in this test's database only).
pub async fn cleanup_docker(app: &TestApp) {
    for record in app.state.runtime.records().await.unwrap() {
        let driver = app.state.runtime.driver();
        let _ = driver
            .stop(&record.container_name, std::time::Duration::from_secs(1))
            .await;
        let _ = driver.remove(&record.container_name).await;
    }
}

#[tokio::test]
async fn unknown_games_and_actions_out_of_place_get_clear_errors() {
    let app = process_app().spawn().await;
    let missing = Uuid::new_v4();
    let r = admin_get(&app, &format!("{RUNTIMES}/{missing}")).await;
    r.assert_status(404);
    let r = admin_post(&app, &format!("{RUNTIMES}/{missing}/stop"), json!({})).await;
    r.assert_status(404);

    let game = three_member_game(&app, "0.1.0").await;
    drive(&app).await;
    // A patch across the minor line is refused, naming both versions.
    crate::lobby::register_engine_version(&app, "0.2.0").await;
    let r = admin_post(
        &app,
        &format!("{RUNTIMES}/{game}/patch"),
        json!({ "engine_version": "0.2.0" }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "patch_not_allowed");
    assert_eq!(r.value()["error"]["details"]["from_version"], "0.1.0");
    assert_eq!(r.value()["error"]["details"]["to_version"], "0.2.0");
    // An unregistered version is a 422.
    let r = admin_post(
        &app,
        &format!("{RUNTIMES}/{game}/patch"),
        json!({ "engine_version": "0.1.9" }),
    )
    .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "unknown_engine_version");
    // A body with unknown fields is refused.
    let r = admin_post(
        &app,
        &format!("{RUNTIMES}/{game}/patch"),
        json!({ "engine_version": "0.1.1", "colour": "red" }),
    )
    .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_body");
    // A full queue answers 503 runtime_busy with Retry-After.
    sqlx::query(
        "INSERT INTO runtime_operations (game_id, op, requested_by, next_attempt_at)
         SELECT $1::uuid, 'banish', 'test', now() + interval '1 hour' FROM generate_series(1, 64)",
    )
    .bind(&game)
    .execute(app.db())
    .await
    .unwrap();
    let r = admin_post(&app, &format!("{RUNTIMES}/{game}/restart"), json!({})).await;
    r.assert_status(503);
    assert_eq!(r.error_code(), "runtime_busy");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn a_missing_image_fails_the_start_tells_the_admins_and_frees_the_game() {
    let app = docker_app().spawn().await;
    let body = json!({ "label": "0.9.0", "image_ref": "galaxy/game:absent-0.9.0" });
    admin_post(&app, "/api/v1/admin/engine-versions", body)
        .await
        .assert_status(201);
    let game = three_member_game(&app, "0.9.0").await;
    let report = drive(&app).await;
    assert_eq!(report.failed, 1, "{report:?}");
    // Failed at once (no retry can bring an image with policy `never`).
    assert_eq!(report.retrying, 0);
    let rec = record(&app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::StartFailed);
    let detail = game_status(&app, &game).await;
    assert_eq!(detail["status"], "enrollment_closed", "{detail}");
    assert!(
        detail["status_reason"]
            .as_str()
            .unwrap()
            .contains("galaxy/game:absent-0.9.0")
    );
    // The admin channel has the kind with the image; without an admin
    // email its route is skipped.
    let (payload, route): (Value, String) = sqlx::query_as(
        "SELECT i.payload, r.status FROM notification_intents i
         JOIN notification_routes r ON r.intent_id = i.intent_id
         WHERE i.kind = 'runtime.image_pull_failed'",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(payload["image_ref"], "galaxy/game:absent-0.9.0");
    assert_eq!(payload["game_id"], game.as_str());
    assert_eq!(route, "skipped");
    // The operation log says why.
    assert_eq!(
        ops(&app, &game).await,
        [("start".to_owned(), "failed".to_owned(), "lobby".to_owned())]
    );
}

#[tokio::test]
async fn the_reconciler_marks_a_vanished_engine_removed_and_pauses_the_game() {
    let app = process_app().spawn().await;
    let game = three_member_game(&app, "0.1.0").await;
    drive(&app).await;
    let rec = record(&app, &game).await;
    // The engine is killed and forgotten behind the runtime's back.
    let driver = app.state.runtime.driver();
    driver
        .stop(&rec.container_name, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    driver.remove(&rec.container_name).await.unwrap();

    let report = app.state.runtime.reconcile().await.unwrap();
    assert_eq!(report.removed, 1, "{report:?}");
    assert_eq!(record(&app, &game).await.status, RuntimeStatus::Removed);
    assert_eq!(game_status(&app, &game).await["status"], "paused");
    let log = ops(&app, &game).await;
    assert_eq!(
        log.last().unwrap(),
        &(
            "mark_removed".to_owned(),
            "succeeded".to_owned(),
            "reconciler".to_owned()
        )
    );
    // A second pass changes nothing.
    let report = app.state.runtime.reconcile().await.unwrap();
    assert_eq!(report.removed, 0);
}

#[tokio::test]
async fn the_reconciler_restarts_an_engine_that_exited_at_the_same_turn() {
    let app = process_app().spawn().await;
    let game = three_member_game(&app, "0.1.0").await;
    drive(&app).await;
    let rec = record(&app, &game).await;
    engine_client()
        .run_turn(rec.base_url.as_deref().unwrap(), 0)
        .await
        .unwrap();
    // The engine dies (its state stays).
    app.state
        .runtime
        .driver()
        .stop(&rec.container_name, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    let report = app.state.runtime.reconcile().await.unwrap();
    assert_eq!(report.unreachable, 1, "{report:?}");
    assert_eq!(report.restarted, 1);
    assert_eq!(game_status(&app, &game).await["status"], "paused");
    drive(&app).await;
    let rec = record(&app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    let status = engine_client()
        .status(rec.base_url.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(status.turn, 1);
    assert_eq!(game_status(&app, &game).await["status"], "running");
    // Probing a healthy engine changes nothing and counts the probe.
    let report = app.state.runtime.reconcile().await.unwrap();
    assert_eq!(report.probed, 1);
    assert_eq!((report.unreachable, report.restarted), (0, 0));
    let metrics = app.scrape_metrics().await;
    assert!(
        metrics.contains("runtime_health_probes_total"),
        "runtime_health_probes_total missing"
    );
    assert!(metrics.contains("runtime_container_ops_total"));
}

#[tokio::test]
async fn with_the_docker_daemon_down_actions_get_503_jobs_wait_and_readyz_stays_ready() {
    let app = docker_app()
        .var("BACKEND_DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .spawn()
        .await;
    let game = three_member_game(&app, "0.1.0").await;
    let runtime = &app.state.runtime;
    runtime.take_lobby_requests().await.unwrap();
    let report = runtime.run_operations().await.unwrap();
    // The start cannot reach the daemon: it waits for a retry, not lost.
    assert_eq!((report.claimed, report.retrying), (1, 1), "{report:?}");
    let (state, error): (String, String) =
        sqlx::query_as("SELECT state, error FROM runtime_operations WHERE game_id = $1::uuid")
            .bind(&game)
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(state, "retrying");
    assert!(error.contains("unavailable"), "{error}");
    assert_eq!(game_status(&app, &game).await["status"], "starting");

    // An admin action says so, with Retry-After.
    let r = admin_post(&app, &format!("{RUNTIMES}/{game}/stop"), json!({})).await;
    r.assert_status(503);
    assert_eq!(r.error_code(), "runtime_unavailable");
    assert!(r.header("retry-after").is_some());
    // The reconciler reports it and changes nothing.
    assert!(runtime.reconcile().await.is_err());
    assert_eq!(record(&app, &game).await.status, RuntimeStatus::Starting);
    // Players keep the lobby: the process stays ready.
    app.api.get("/readyz").send().await.assert_status(200);
}

fn docker_cli(args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(out.status.success(), "docker {args:?}: {out:?}");
    out
}

#[tokio::test]
async fn the_reconciler_adopts_a_labelled_container_started_by_hand_and_marks_it_removed_when_gone()
{
    let app = docker_app().spawn().await;
    // A game whose start the runtime has not taken up (the intake is not
    // driven), and its engine started by hand with our labels.
    let game = three_member_game(&app, "0.1.0").await;
    let name = format!("galaxy-game-{game}");
    docker_cli(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        "galaxy.backend=1",
        "--label",
        &format!("galaxy.game_id={game}"),
        "--label",
        "galaxy.engine_version=0.1.0",
        "-p",
        "127.0.0.1::8080",
        "--tmpfs",
        "/var/lib/galaxy-game:uid=65532,gid=65532",
        "galaxy/game:0.1.0",
    ]);

    let report = app.state.runtime.reconcile().await.unwrap();
    assert_eq!(report.adopted, 1, "{report:?}");
    let rec = record(&app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    assert_eq!(rec.engine_version, "0.1.0");
    assert_eq!(rec.container_name, name);
    let health = engine_client()
        .health(rec.base_url.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(
        ops(&app, &game).await,
        [(
            "adopt".to_owned(),
            "succeeded".to_owned(),
            "reconciler".to_owned()
        )]
    );
    // Adopted once: the next pass probes it and changes nothing.
    let report = app.state.runtime.reconcile().await.unwrap();
    assert_eq!((report.adopted, report.probed), (0, 1), "{report:?}");

    // Removed behind the runtime's back: marked, within one pass.
    docker_cli(&["rm", "-f", &name]);
    let report = app.state.runtime.reconcile().await.unwrap();
    assert_eq!(report.removed, 1, "{report:?}");
    assert_eq!(record(&app, &game).await.status, RuntimeStatus::Removed);
    assert_eq!(
        ops(&app, &game).await.last().unwrap().0,
        "mark_removed".to_owned()
    );
}

#[tokio::test]
async fn a_game_the_engine_cannot_play_fails_its_start_as_invalid_configuration() {
    let app = process_app().spawn().await;
    // An admin force-starts a public game nobody joined.
    let game = crate::lobby::public_game(&app, json!({})).await;
    admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/force-start"),
        json!({ "force": true }),
    )
    .await
    .assert_status(200);
    let report = drive(&app).await;
    assert_eq!(report.failed, 1, "{report:?}");
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM notification_intents WHERE kind = 'runtime.start_config_invalid'",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(payload["game_id"], game.as_str());
    assert!(
        payload["reason"]
            .as_str()
            .unwrap()
            .contains("no active members"),
        "{payload}"
    );
    let detail = game_status(&app, &game).await;
    assert_eq!(detail["status"], "enrollment_closed");
    assert_eq!(record(&app, &game).await.status, RuntimeStatus::StartFailed);
    // The engine it brought up for nothing is stopped again.
    let rec = record(&app, &game).await;
    let engine = app
        .state
        .runtime
        .driver()
        .inspect(&rec.container_name)
        .await
        .unwrap();
    assert!(
        engine.is_none_or(|e| e.state != galaxy_backend::runtime::driver::EngineState::Running)
    );
}

#[tokio::test]
async fn a_member_removed_from_a_running_game_is_banished_in_the_engine() {
    let app = process_app().spawn().await;
    let game = three_member_game(&app, "0.1.0").await;
    drive(&app).await;
    let owner = crate::play::member(&app, &game, "Zorgons").await;
    let bob = crate::play::member(&app, &game, "Klingons").await;
    user_post(
        &app,
        owner,
        &format!("{GAMES}/{game}/members/{bob}/remove"),
        json!({ "reason": "cheating" }),
    )
    .await
    .assert_status(200);
    let report = drive(&app).await;
    assert_eq!(report.succeeded, 1, "{report:?}");
    let rec = record(&app, &game).await;
    let status = engine_client()
        .status(rec.base_url.as_deref().unwrap())
        .await
        .unwrap();
    let klingons = status.races.iter().find(|r| r.race == "Klingons").unwrap();
    assert_eq!(
        serde_json::to_value(klingons.state).unwrap(),
        json!("banished")
    );
    // The lobby's request is done; the log names it.
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM game_runtime_requests WHERE game_id = $1::uuid AND completed_at IS NULL",
    )
    .bind(&game)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(open, 0);
    assert_eq!(
        ops(&app, &game).await.last().unwrap(),
        &(
            "banish".to_owned(),
            "succeeded".to_owned(),
            "lobby".to_owned()
        )
    );
}
