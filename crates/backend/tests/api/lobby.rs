//! The lobby through its HTTP API against the real PostgreSQL: private games
//! by invite, public games by application, the status machine and its 409s,
//! the Race Name Directory's collisions, the sweeper's steps with a
//! controlled clock, the runtime snapshot seam, the soft-delete hook, the
//! cache's failed-commit path, and races for the last slot and the same
//! name. Every exchange is contract-validated by the test client.

use chrono::{Duration, Utc};
use galaxy_backend::ids::GameId;
use galaxy_backend::lobby::{RuntimeSnapshot, Sweeper};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::client::TestResponse;
use crate::users::{ROOT, ROOT_PASSWORD, admin_app, create_account};

pub const GAMES: &str = "/api/v1/user/games";
pub const ADMIN_GAMES: &str = "/api/v1/admin/games";

/// An app whose sweeper and job runner only run when a test steps them.
pub async fn lobby_app() -> TestApp {
    admin_app()
        .var("BACKEND_LOBBY_SWEEPER_ENABLED", "false")
        .var("BACKEND_JOBS_WORKER_ENABLED", "false")
        .var("BACKEND_NOTIFICATION_WORKER_ENABLED", "false")
        .spawn()
        .await
}

pub fn game_body(name: &str) -> Value {
    json!({
        "name": name,
        "engine_version": "0.1.0",
        "min_races": 2,
        "max_races": 4,
        "turn_schedule": { "every": "24h" },
        "enrollment_deadline": (Utc::now() + Duration::days(2)).to_rfc3339(),
    })
}

pub async fn user_post(app: &TestApp, user: Uuid, path: &str, body: Value) -> TestResponse {
    app.api.post(path).user(user).json(body).send().await
}

pub async fn user_get(app: &TestApp, user: Uuid, path: &str) -> TestResponse {
    app.api.get(path).user(user).send().await
}

pub async fn admin_post(app: &TestApp, path: &str, body: Value) -> TestResponse {
    app.api
        .post(path)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(body)
        .send()
        .await
}

pub async fn admin_get(app: &TestApp, path: &str) -> TestResponse {
    app.api
        .get(path)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
}

/// Registers engine version `label` (image `galaxy/game:{label}`); the
/// tests' configuration registers only `0.1.0`.
pub async fn register_engine_version(app: &TestApp, label: &str) {
    let body = json!({ "label": label, "image_ref": format!("galaxy/game:{label}") });
    admin_post(app, "/api/v1/admin/engine-versions", body)
        .await
        .assert_status(201);
}

/// A private game owned by `owner`, who plays it as `race`.
pub async fn private_game(app: &TestApp, owner: Uuid, race: &str) -> String {
    let mut body = game_body("Private");
    body["race_name"] = json!(race);
    let r = user_post(app, owner, GAMES, body).await;
    r.assert_status(201);
    r.value()["game_id"].as_str().unwrap().to_owned()
}

/// A public game created by the admin.
pub async fn public_game(app: &TestApp, extra: Value) -> String {
    let mut body = game_body("Public");
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = admin_post(app, ADMIN_GAMES, body).await;
    r.assert_status(201);
    r.value()["game_id"].as_str().unwrap().to_owned()
}

/// How many intents of `kind` exist for `user`.
pub async fn intents(app: &TestApp, kind: &str, user: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM notification_intents i
         WHERE i.kind = $1 AND (i.user_id = $2 OR EXISTS (SELECT 1 FROM notification_routes r
            WHERE r.intent_id = i.intent_id AND r.user_id = $2))",
    )
    .bind(kind)
    .bind(user)
    .fetch_one(app.db())
    .await
    .unwrap()
}

fn game_id(raw: &str) -> GameId {
    raw.parse().unwrap()
}

#[tokio::test]
async fn a_friend_invited_by_user_name_accepts_and_both_see_the_members() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let game = private_game(&app, alice, "Zorgons").await;

    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/invites"),
        json!({ "user_name": "BOB" }),
    )
    .await;
    r.assert_status(201);
    let invite = r.value()["invite_id"].as_str().unwrap().to_owned();
    assert_eq!(intents(&app, "lobby.invite.received", bob).await, 1);

    // Bob sees the invite and the game; Carol sees neither.
    let mine = user_get(&app, bob, "/api/v1/user/invites").await;
    mine.assert_status(200);
    assert_eq!(mine.value()["total"], 1);
    user_get(&app, bob, &format!("{GAMES}/{game}"))
        .await
        .assert_status(200);
    user_get(&app, carol, &format!("{GAMES}/{game}"))
        .await
        .assert_status(404);

    let r = user_post(
        &app,
        bob,
        &format!("/api/v1/user/invites/{invite}/accept"),
        json!({ "race_name": "Klingons" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["race_name"], "Klingons");
    assert_eq!(r.value()["status"], "active");

    for user in [alice, bob] {
        let r = user_get(&app, user, &format!("{GAMES}/{game}")).await;
        r.assert_status(200);
        let races: Vec<String> = r.value()["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["race_name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(races, ["Zorgons", "Klingons"]);
        assert_eq!(r.value()["race_count"], 2);
    }
    // The invite is spent; a second accept is a 409 naming its state.
    let again = user_post(
        &app,
        bob,
        &format!("/api/v1/user/invites/{invite}/accept"),
        json!({ "race_name": "Klingons" }),
    )
    .await;
    again.assert_status(409);
    assert_eq!(again.error_code(), "invalid_invite_state");
    // My games lists it for both.
    assert_eq!(user_get(&app, bob, GAMES).await.value()["total"], 1);
}

#[tokio::test]
async fn strangers_apply_to_a_public_game_and_the_admin_approves_or_rejects() {
    let app = lobby_app().await;
    let dave = create_account(&app, "dave", None).await;
    let erin = create_account(&app, "erin", None).await;
    let game = public_game(&app, json!({})).await;

    let open = user_get(&app, dave, &format!("{GAMES}/open")).await;
    open.assert_status(200);
    assert_eq!(open.value()["total"], 1);

    let r = user_post(
        &app,
        dave,
        &format!("{GAMES}/{game}/applications"),
        json!({ "race_name": "Daleks" }),
    )
    .await;
    r.assert_status(201);
    let dave_app = r.value()["application_id"].as_str().unwrap().to_owned();
    assert_eq!(r.value()["status"], "pending");
    let dup = user_post(
        &app,
        dave,
        &format!("{GAMES}/{game}/applications"),
        json!({ "race_name": "Daleks" }),
    )
    .await;
    dup.assert_status(409);
    assert_eq!(dup.error_code(), "application_exists");
    let r = user_post(
        &app,
        erin,
        &format!("{GAMES}/{game}/applications"),
        json!({ "race_name": "Ewoks" }),
    )
    .await;
    let erin_app = r.value()["application_id"].as_str().unwrap().to_owned();

    let pending = admin_get(&app, &format!("{ADMIN_GAMES}/{game}")).await;
    pending.assert_status(200);
    assert_eq!(pending.value()["pending_applications"], 2);

    admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/applications/{dave_app}/approve"),
        json!({}),
    )
    .await
    .assert_status(200);
    let r = admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/applications/{erin_app}/reject"),
        json!({ "reason": "full of Ewoks" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "rejected");
    assert_eq!(intents(&app, "lobby.application.approved", dave).await, 1);
    assert_eq!(intents(&app, "lobby.application.rejected", erin).await, 1);

    let detail = user_get(&app, dave, &format!("{GAMES}/{game}")).await;
    assert_eq!(detail.value()["my_membership"]["race_name"], "Daleks");
    let inspect = admin_get(&app, &format!("{ADMIN_GAMES}/{game}")).await;
    let actions: Vec<String> = inspect.value()["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"lobby.approve_application".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"lobby.create_game".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn race_names_collide_as_a_player_expects() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let r = user_post(
        &app,
        alice,
        "/api/v1/user/race-names",
        json!({ "race_name": "Zorg" }),
    )
    .await;
    r.assert_status(201);
    assert_eq!(r.value()["state"], "registered");
    for other in ["ZORG", "Z-o r g", "zorg", "Z_O_R_G"] {
        let r = user_post(
            &app,
            bob,
            "/api/v1/user/race-names",
            json!({ "race_name": other }),
        )
        .await;
        r.assert_status(409);
        assert_eq!(r.error_code(), "race_name_taken", "{other}");
    }
    let check = app
        .api
        .get("/api/v1/user/race-names/availability")
        .query("name", "zOrG")
        .user(bob)
        .send()
        .await;
    check.assert_status(200);
    assert_eq!(check.value()["available"], false);
    assert_eq!(check.value()["held_by_you"], false);
    let bad = user_post(
        &app,
        bob,
        "/api/v1/user/race-names",
        json!({ "race_name": "x" }),
    )
    .await;
    bad.assert_status(422);
    assert_eq!(bad.error_code(), "invalid_race_name");
    // The free tier holds one registered name.
    let second = user_post(
        &app,
        alice,
        "/api/v1/user/race-names",
        json!({ "race_name": "Vogons" }),
    )
    .await;
    second.assert_status(409);
    assert_eq!(second.error_code(), "race_name_limit_reached");
    // Released, it is free for Bob.
    user_post(
        &app,
        alice,
        "/api/v1/user/race-names/release",
        json!({ "race_name": "ZORG" }),
    )
    .await
    .assert_status(200);
    user_post(
        &app,
        bob,
        "/api/v1/user/race-names",
        json!({ "race_name": "Zorg" }),
    )
    .await
    .assert_status(201);
}

#[tokio::test]
async fn wrong_states_and_wrong_callers_get_their_codes() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let game = public_game(&app, json!({ "open_enrollment": false })).await;
    let r = user_post(
        &app,
        bob,
        &format!("{GAMES}/{game}/applications"),
        json!({ "race_name": "Borg" }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_game_state");
    assert_eq!(r.value()["error"]["details"]["current_state"], "draft");

    let private = private_game(&app, alice, "Andorians").await;
    let r = user_post(&app, bob, &format!("{GAMES}/{private}/start"), json!({})).await;
    r.assert_status(404);
    let r = user_post(&app, alice, &format!("{GAMES}/{private}/start"), json!({})).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "not_enough_races");
    let mut bad = game_body("Bad");
    bad["turn_schedule"] = json!({ "cron": "61 * * * *" });
    let r = user_post(&app, alice, GAMES, bad).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_schedule");
    let mut bad = game_body("Bad");
    bad["settings"] = json!({ "empty_planets": 5000 });
    let r = user_post(&app, alice, GAMES, bad).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_settings");
    assert_eq!(
        r.value()["error"]["details"]["field"],
        "settings.empty_planets"
    );
    let r = user_get(&app, alice, &format!("{GAMES}/{}", Uuid::new_v4())).await;
    r.assert_status(404);
}

#[tokio::test]
async fn the_sweeper_closes_enrollment_at_the_deadline() {
    let app = lobby_app().await;
    let users = [
        create_account(&app, "p1", None).await,
        create_account(&app, "p2", None).await,
    ];
    let full = public_game(&app, json!({ "auto_approve": true })).await;
    let empty = public_game(&app, json!({})).await;
    for (i, user) in users.iter().enumerate() {
        user_post(
            &app,
            *user,
            &format!("{GAMES}/{full}/applications"),
            json!({ "race_name": format!("Racers {i}") }),
        )
        .await
        .assert_status(201);
    }
    let sweeper = Sweeper::new(app.state.lobby.clone());
    // Not yet due.
    assert_eq!(sweeper.sweep(Utc::now()).await.unwrap().games, 0);
    let later = Utc::now() + Duration::days(3);
    let report = sweeper.sweep(later).await.unwrap();
    assert_eq!(report.games, 2);
    // Swept again before the jobs ran: deduplicated, nothing new queued.
    sweeper.sweep(later).await.unwrap();
    let run = app.state.jobs.tick_report().await.unwrap();
    assert_eq!(run.succeeded, 2, "{run:?}");

    let status = |id: String| {
        let app = &app;
        async move { admin_get(app, &format!("{ADMIN_GAMES}/{id}")).await.value()["status"].clone() }
    };
    assert_eq!(status(full.clone()).await, "starting");
    assert_eq!(status(empty.clone()).await, "cancelled");
    let requests: i64 =
        sqlx::query_scalar("SELECT count(*) FROM game_runtime_requests WHERE kind = 'start'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(requests, 1);
    // Running the job again changes nothing.
    let again = app
        .state
        .lobby
        .close_enrollment_due(game_id(&full), later)
        .await
        .unwrap();
    assert_eq!(again, None);
}

#[tokio::test]
async fn the_runtime_snapshot_advances_turns_and_pauses_the_game() {
    let app = lobby_app().await;
    let a = create_account(&app, "alpha", None).await;
    let b = create_account(&app, "beta", None).await;
    let game = public_game(&app, json!({ "auto_approve": true })).await;
    for (user, race) in [(a, "Alphas"), (b, "Betas")] {
        user_post(
            &app,
            user,
            &format!("{GAMES}/{game}/applications"),
            json!({ "race_name": race }),
        )
        .await
        .assert_status(201);
    }
    admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/force-start"),
        json!({}),
    )
    .await
    .assert_status(200);
    let lobby = &app.state.lobby;
    let snap = |turn, status: &str| RuntimeSnapshot {
        current_turn: turn,
        runtime_status: status.to_owned(),
    };
    let id = game_id(&game);
    assert_eq!(
        lobby
            .on_runtime_snapshot(id, &snap(0, "running"))
            .await
            .unwrap()
            .as_str(),
        "running"
    );
    lobby
        .on_runtime_snapshot(id, &snap(1, "running"))
        .await
        .unwrap();
    lobby
        .on_runtime_snapshot(id, &snap(1, "running"))
        .await
        .unwrap();
    // Turn 0 (the start) and turn 1, each once.
    assert_eq!(intents(&app, "game.turn.ready", a).await, 2);
    assert_eq!(intents(&app, "game.turn.ready", b).await, 2);
    let detail = user_get(&app, a, &format!("{GAMES}/{game}")).await;
    assert_eq!(detail.value()["current_turn"], 1);
    assert!(detail.value()["next_deadline"].is_string());

    let paused = lobby
        .on_runtime_snapshot(id, &snap(1, "generation_failed"))
        .await
        .unwrap();
    assert_eq!(paused.as_str(), "paused");
    assert_eq!(intents(&app, "game.paused", b).await, 1);
    let detail = user_get(&app, b, &format!("{GAMES}/{game}")).await;
    assert_eq!(detail.value()["status"], "paused");
    assert_eq!(detail.value()["status_reason"], "generation_failed");

    // A member removed from a game in play is banished through a request.
    let r = admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/members/{b}/ban"),
        json!({ "reason": "cheating" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "blocked");
    let banish: (String, String) =
        sqlx::query_as("SELECT kind, race_name FROM game_runtime_requests WHERE kind = 'banish'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(banish, ("banish".to_owned(), "Betas".to_owned()));
}

#[tokio::test]
async fn a_soft_deleted_member_leaves_and_frees_their_pending_names() {
    let app = lobby_app().await;
    let owner = create_account(&app, "owner", None).await;
    let gone = create_account(&app, "gone", None).await;
    let game = private_game(&app, owner, "Owners").await;
    let r = user_post(
        &app,
        owner,
        &format!("{GAMES}/{game}/invites"),
        json!({ "user_name": "gone" }),
    )
    .await;
    let invite = r.value()["invite_id"].as_str().unwrap().to_owned();
    user_post(
        &app,
        gone,
        &format!("/api/v1/user/invites/{invite}/accept"),
        json!({ "race_name": "Ghosts" }),
    )
    .await
    .assert_status(200);

    app.api
        .post("/api/v1/user/account/delete")
        .user(gone)
        .send()
        .await
        .assert_status(204);
    let detail = user_get(&app, owner, &format!("{GAMES}/{game}")).await;
    assert_eq!(detail.value()["race_count"], 1);
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM race_names WHERE user_id = $1")
        .bind(gone)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(held, 0);
    let check = app
        .api
        .get("/api/v1/user/race-names/availability")
        .query("name", "Ghosts")
        .user(owner)
        .send()
        .await;
    assert_eq!(check.value()["available"], true);
}

#[tokio::test]
async fn a_failed_commit_leaves_the_lobby_cache_unchanged() {
    let app = lobby_app().await;
    let owner = create_account(&app, "owner", None).await;
    let game = private_game(&app, owner, "Owners").await;
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$;
         CREATE CONSTRAINT TRIGGER refuse_game_change AFTER UPDATE ON games
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit();",
    )
    .execute(app.db())
    .await
    .unwrap();
    let r = user_post(&app, owner, &format!("{GAMES}/{game}/cancel"), json!({})).await;
    r.assert_status(500);
    let detail = user_get(&app, owner, &format!("{GAMES}/{game}")).await;
    assert_eq!(detail.value()["status"], "enrollment_open");
    assert_eq!(detail.value()["race_count"], 1);
}

#[tokio::test]
async fn two_players_racing_for_the_last_slot_get_one_seat() {
    let app = lobby_app().await;
    let mut players = Vec::new();
    for i in 0..6 {
        players.push(create_account(&app, &format!("racer{i}"), None).await);
    }
    let game = public_game(&app, json!({ "auto_approve": true, "max_races": 2 })).await;
    user_post(
        &app,
        players[0],
        &format!("{GAMES}/{game}/applications"),
        json!({ "race_name": "First" }),
    )
    .await
    .assert_status(201);
    let calls = players[1..].iter().enumerate().map(|(i, p)| {
        let app = &app;
        let path = format!("{GAMES}/{game}/applications");
        async move { user_post(app, *p, &path, json!({ "race_name": format!("Late {i}") })).await }
    });
    let answers = futures::future::join_all(calls).await;
    let won = answers.iter().filter(|r| r.status == 201).count();
    let full = answers
        .iter()
        .filter(|r| r.status == 409 && r.error_code() == "game_full")
        .count();
    assert_eq!((won, full), (1, 4));
    let detail = admin_get(&app, &format!("{ADMIN_GAMES}/{game}")).await;
    assert_eq!(detail.value()["race_count"], 2);
}

#[tokio::test]
async fn two_players_taking_the_same_name_at_once_get_one_winner() {
    let app = lobby_app().await;
    let mut players = Vec::new();
    for i in 0..4 {
        players.push(create_account(&app, &format!("namer{i}"), None).await);
    }
    let mut games = Vec::new();
    for _ in 0..4 {
        games.push(public_game(&app, json!({})).await);
    }
    let calls = players.iter().zip(&games).map(|(p, g)| {
        let app = &app;
        let path = format!("{GAMES}/{g}/applications");
        async move { user_post(app, *p, &path, json!({ "race_name": "Highlander" })).await }
    });
    let answers = futures::future::join_all(calls).await;
    let won = answers.iter().filter(|r| r.status == 201).count();
    let taken = answers
        .iter()
        .filter(|r| r.status == 409 && r.error_code() == "race_name_taken")
        .count();
    assert_eq!((won, taken), (1, 3));
}
