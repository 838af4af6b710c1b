//! Patching a running game end to end: the shadow check (the new version
//! replays the last turn on a copy of the state and must play it byte for
//! byte as stored), `force`, the switch to the new image on the same state,
//! and the rollback when the new image does not come up. Docker: the test
//! images of `scripts/engine-test-images.sh`; process driver: its host
//! binaries.

use std::path::PathBuf;

use galaxy_backend::runtime::RuntimeStatus;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::lobby::{admin_get, admin_post};
use crate::process_driver::engine_binary;
use crate::runtime::{
    RUNTIMES, cleanup_docker, docker_app, drive, engine_client, game_status, process_app, record,
    three_member_game,
};

/// Registers `label` as `image_ref`.
async fn register(app: &TestApp, label: &str, image_ref: &str) {
    admin_post(
        app,
        "/api/v1/admin/engine-versions",
        json!({ "label": label, "image_ref": image_ref }),
    )
    .await
    .assert_status(201);
}

/// A started game (driven until running) that played one turn: turn 1.
async fn game_at_turn_one(app: &TestApp) -> String {
    let game = three_member_game(app, "0.1.0").await;
    drive(app).await;
    let rec = record(app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    engine_client()
        .run_turn(rec.base_url.as_deref().unwrap(), 0)
        .await
        .unwrap();
    game
}

async fn patch(app: &TestApp, game: &str, body: Value) -> crate::helpers::client::TestResponse {
    admin_post(app, &format!("{RUNTIMES}/{game}/patch"), body).await
}

/// The engine's current turn.
async fn engine_turn(app: &TestApp, game: &str) -> u32 {
    let rec = record(app, game).await;
    engine_client()
        .status(rec.base_url.as_deref().expect("a running engine"))
        .await
        .unwrap()
        .turn
}

/// The newest operation of `game`.
async fn last_op(app: &TestApp, game: &str) -> Value {
    let r = admin_get(app, &format!("{RUNTIMES}/{game}/operations")).await;
    r.assert_status(200);
    r.value()["items"][0].clone()
}

/// No replay copy is left under the state root.
async fn no_shadow_copies_left(app: &TestApp) {
    let dir = app
        .state
        .runtime
        .settings()
        .state_root
        .join(galaxy_backend::runtime::shadow::SHADOW_DIR);
    let left: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    assert!(left.is_empty(), "shadow copies left: {left:?}");
}

/// A refusal of the rules-variant version: 409 with the first difference.
fn assert_changes_rules(r: &crate::helpers::client::TestResponse, from: &str) {
    r.assert_status(409);
    assert_eq!(r.error_code(), "patch_changes_rules", "{}", r.value());
    let details = &r.value()["error"]["details"];
    assert_eq!(details["from_version"], from);
    assert_eq!(details["to_version"], "0.1.3");
    assert_eq!(details["turn"], 1);
    let what = details["what"].as_str().unwrap();
    assert!(
        what.starts_with("report ") || what == "state",
        "what: {what}"
    );
    assert!(details["line"].as_u64().unwrap() >= 1, "{details}");
    assert_ne!(details["expected"], details["actual"], "{details}");
}

#[tokio::test]
async fn a_docker_patch_replays_the_last_turn_first_and_refuses_changed_rules_unless_forced() {
    let app = docker_app().spawn().await;
    register(&app, "0.1.1", "galaxy/game:0.1.1").await;
    register(&app, "0.1.3", "galaxy/game-rules:0.1.3").await;
    register(&app, "0.2.0", "galaxy/game:0.2.0").await;
    let game = game_at_turn_one(&app).await;

    // The same binary: identical, queued, applied on the same state.
    let r = patch(&app, &game, json!({ "engine_version": "0.1.1" })).await;
    r.assert_status(202);
    let op = &r.value()["operation"];
    assert_eq!(op["op"], "patch");
    assert_eq!(op["params"]["shadow"], "identical", "{op}");
    assert_eq!(op["params"]["shadow_turn"], 1);
    let report = drive(&app).await;
    assert_eq!(report.succeeded, 1, "{report:?}");
    let rec = record(&app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    assert_eq!(rec.engine_version, "0.1.1");
    assert_eq!(rec.image_ref, "galaxy/game:0.1.1");
    let container = app
        .state
        .runtime
        .driver()
        .inspect(&rec.container_name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(container.image, "galaxy/game:0.1.1");
    assert_eq!(engine_turn(&app, &game).await, 1);
    assert_eq!(game_status(&app, &game).await["engine_version"], "0.1.1");
    no_shadow_copies_left(&app).await;

    // Another rules build: refused with the first differing line, nothing queued.
    let r = patch(&app, &game, json!({ "engine_version": "0.1.3" })).await;
    assert_changes_rules(&r, "0.1.1");
    assert_eq!(
        last_op(&app, &game).await["params"]["engine_version"],
        "0.1.1"
    );
    no_shadow_copies_left(&app).await;
    // No replay container is left behind.
    let shadows = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", "label=galaxy.shadow=1"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shadows.stdout).trim().is_empty(),
        "replay containers left"
    );

    // Forced: queued without the check and applied.
    let r = patch(
        &app,
        &game,
        json!({ "engine_version": "0.1.3", "force": true }),
    )
    .await;
    r.assert_status(202);
    assert_eq!(r.value()["operation"]["params"]["shadow"], "forced");
    let report = drive(&app).await;
    assert_eq!(report.succeeded, 1, "{report:?}");
    let rec = record(&app, &game).await;
    assert_eq!(rec.engine_version, "0.1.3");
    assert_eq!(rec.image_ref, "galaxy/game-rules:0.1.3");
    assert_eq!(engine_turn(&app, &game).await, 1);
    assert_eq!(game_status(&app, &game).await["engine_version"], "0.1.3");

    // Across the minor line: refused before any check.
    let r = patch(&app, &game, json!({ "engine_version": "0.2.0" })).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "patch_not_allowed");

    cleanup_docker(&app).await;
}

/// An image that cannot serve (`scripts/engine-test-images.sh`): its
/// entrypoint is `galaxy-game replay --turn 0`, which exits at once.
const EXITING_IMAGE: &str = "galaxy/game-broken:0.1.2";

#[tokio::test]
async fn a_docker_patch_to_an_image_that_cannot_serve_rolls_back_to_the_old_one() {
    let app = docker_app().spawn().await;
    register(&app, "0.1.2", EXITING_IMAGE).await;
    let game = game_at_turn_one(&app).await;

    // It cannot replay either: the check reaches no verdict.
    let r = patch(&app, &game, json!({ "engine_version": "0.1.2" })).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "shadow_check_failed", "{}", r.value());
    let details = &r.value()["error"]["details"];
    assert_eq!(details["from_version"], "0.1.0");
    assert_eq!(details["to_version"], "0.1.2");
    assert!(
        details["reason"].as_str().unwrap().contains("exit 2"),
        "{details}"
    );
    no_shadow_copies_left(&app).await;

    // Forced: the new image does not come up and the old one is back.
    let r = patch(
        &app,
        &game,
        json!({ "engine_version": "0.1.2", "force": true }),
    )
    .await;
    r.assert_status(202);
    let report = drive(&app).await;
    assert_eq!(
        report.failed,
        1,
        "{report:?} {}",
        last_op(&app, &game).await
    );
    let rec = record(&app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    assert_eq!(rec.engine_version, "0.1.0");
    assert_eq!(rec.image_ref, "galaxy/game:0.1.0");
    let container = app
        .state
        .runtime
        .driver()
        .inspect(&rec.container_name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(container.image, "galaxy/game:0.1.0");
    assert_eq!(engine_turn(&app, &game).await, 1);
    assert_eq!(game_status(&app, &game).await["engine_version"], "0.1.0");
    let op = last_op(&app, &game).await;
    assert_eq!(op["op"], "patch");
    assert_eq!(op["state"], "failed");
    let error = op["error"].as_str().unwrap();
    assert!(error.contains("rolled back to 0.1.0"), "{error}");

    cleanup_docker(&app).await;
}

/// The rules-variant host binary (`GALAXY_GAME_RULES_BIN`, or where
/// `scripts/engine-test-images.sh` leaves it); `None` when not built.
fn rules_binary() -> Option<PathBuf> {
    release_binary("GALAXY_GAME_RULES_BIN", "galaxy-game-rules-variant")
}

fn release_binary(var: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        return Some(path.into());
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target-engine/x86_64-unknown-linux-gnu/release")
        .join(name);
    path.is_file().then_some(path)
}

/// A process-driver app where 0.1.0 runs the debug engine, 0.1.1 the
/// release one (`GALAXY_GAME_BIN`, else the debug one again) and 0.1.3 the
/// rules variant; `None` (the test is skipped) without the rules variant.
fn process_patch_app() -> Option<crate::helpers::app::TestAppBuilder> {
    let Some(rules) = rules_binary() else {
        eprintln!(
            "SKIPPED: the rules-variant engine binary is not built; run scripts/engine-test-images.sh \
             or set GALAXY_GAME_RULES_BIN"
        );
        return None;
    };
    let debug = engine_binary();
    let release = release_binary("GALAXY_GAME_BIN", "galaxy-game").unwrap_or_else(|| debug.clone());
    let binaries = format!(
        "galaxy/game:0.1.0={},galaxy/game:0.1.1={},galaxy/game-rules:0.1.3={}",
        debug.display(),
        release.display(),
        rules.display()
    );
    Some(process_app().var("BACKEND_RUNTIME_PROCESS_BINARIES", binaries))
}

#[tokio::test]
async fn a_process_patch_is_refused_when_the_new_binary_plays_the_last_turn_differently() {
    let Some(builder) = process_patch_app() else {
        return;
    };
    let app = builder.spawn().await;
    register(&app, "0.1.1", "galaxy/game:0.1.1").await;
    register(&app, "0.1.3", "galaxy/game-rules:0.1.3").await;
    let game = game_at_turn_one(&app).await;

    let r = patch(&app, &game, json!({ "engine_version": "0.1.3" })).await;
    assert_changes_rules(&r, "0.1.0");
    no_shadow_copies_left(&app).await;
    assert_eq!(record(&app, &game).await.engine_version, "0.1.0");

    // The same rules in another build: identical, patched.
    let r = patch(&app, &game, json!({ "engine_version": "0.1.1" })).await;
    r.assert_status(202);
    assert_eq!(r.value()["operation"]["params"]["shadow"], "identical");
    assert_eq!(r.value()["operation"]["params"]["shadow_turn"], 1);
    let report = drive(&app).await;
    assert_eq!(report.succeeded, 1, "{report:?}");
    let rec = record(&app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    assert_eq!(rec.engine_version, "0.1.1");
    assert_eq!(engine_turn(&app, &game).await, 1);
    assert_eq!(game_status(&app, &game).await["engine_version"], "0.1.1");
    no_shadow_copies_left(&app).await;
}

#[tokio::test]
async fn a_process_patch_at_turn_zero_has_nothing_to_replay() {
    let Some(builder) = process_patch_app() else {
        return;
    };
    let app = builder.spawn().await;
    register(&app, "0.1.3", "galaxy/game-rules:0.1.3").await;
    let game = three_member_game(&app, "0.1.0").await;
    drive(&app).await;

    // Even the rules variant passes: there is no turn to compare.
    let r = patch(&app, &game, json!({ "engine_version": "0.1.3" })).await;
    r.assert_status(202);
    assert_eq!(
        r.value()["operation"]["params"]["shadow"],
        "skipped: turn 0"
    );
    assert!(r.value()["operation"]["params"]["shadow_turn"].is_null());
    drive(&app).await;
    let rec = record(&app, &game).await;
    assert_eq!(rec.engine_version, "0.1.3");
    assert_eq!(engine_turn(&app, &game).await, 0);
    no_shadow_copies_left(&app).await;
}
