//! The player's game endpoints end to end: members of a game running on
//! the real engine (process driver) send orders, typed and as classic
//! text, edit them line by line, read them back, read their reports of
//! the current and past turns, and see where the game stands; every guard
//! (membership, pause, a turn being generated, a stale turn, a dead race,
//! an engine that does not answer) answers with its own code.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::client::TestResponse;
use crate::lobby::{GAMES, admin_post, user_post};
use crate::runtime::{RUNTIMES, drive, engine_client, process_app, record, three_member_game};
use crate::users::create_account;

pub async fn member(app: &TestApp, game: &str, race: &str) -> Uuid {
    sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE game_id = $1::uuid AND race_name = $2",
    )
    .bind(game)
    .bind(race)
    .fetch_one(app.db())
    .await
    .unwrap()
}

pub async fn put(app: &TestApp, user: Uuid, game: &str, what: &str, body: Value) -> TestResponse {
    app.api
        .request(Method::PUT, &format!("{GAMES}/{game}/{what}"))
        .user(user)
        .json(body)
        .send()
        .await
}

pub async fn get(app: &TestApp, user: Uuid, game: &str, what: &str) -> TestResponse {
    app.api
        .get(&format!("{GAMES}/{game}/{what}"))
        .user(user)
        .send()
        .await
}

async fn report(
    app: &TestApp,
    user: Uuid,
    game: &str,
    turn: Option<u32>,
    text: bool,
) -> TestResponse {
    let mut call = app.api.get(&format!("{GAMES}/{game}/report")).user(user);
    if let Some(turn) = turn {
        call = call.query("turn", turn);
    }
    if text {
        call = call.query("format", "text");
    }
    call.send().await
}

/// A running game of three members on the real engine.
async fn running_game(app: &TestApp) -> String {
    let game = three_member_game(app, "0.1.0").await;
    drive(app).await;
    game
}

pub fn typed_orders() -> Value {
    json!([
        { "id": "a1", "order": { "kind": "produce", "planet": "#1", "product": "drive" } },
        { "id": "a2", "order": { "kind": "set_option", "option": "BattleProtocol" } },
        { "id": "a3", "order": { "kind": "send", "unit": { "group": "max" }, "planet": "#2", "ships": 0 } },
    ])
}

fn orders_in(status: &Value, race: &str) -> bool {
    status["races"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["race"] == race)
        .unwrap_or_else(|| panic!("{race} in {status}"))["orders_in"]
        .as_bool()
        .unwrap()
}

#[tokio::test]
async fn members_send_typed_and_text_orders_edit_them_by_line_and_read_them_back() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let zorgons = member(&app, &game, "Zorgons").await;
    let klingons = member(&app, &game, "Klingons").await;

    // Nobody has orders in yet.
    let r = get(&app, zorgons, &game, "status").await;
    r.assert_status(200);
    let status = r.value();
    assert_eq!(status["race"], "Zorgons");
    assert_eq!(status["turn"], 0);
    assert_eq!(status["game_status"], "running");
    assert_eq!(status["runtime_status"], "running");
    assert_eq!(status["engine_reachable"], true);
    assert!(!orders_in(&status, "Zorgons"));

    // Typed, for the current turn named: stored for the caller's race.
    let r = put(
        &app,
        zorgons,
        &game,
        "orders",
        json!({ "turn": 0, "orders": typed_orders() }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["race"], "Zorgons");
    assert_eq!(r.value()["orders"], typed_orders());
    let r = get(&app, zorgons, &game, "orders").await;
    r.assert_status(200);
    assert_eq!(r.value()["orders"], typed_orders());

    // Classic text, the turn left out: parsed into lines "1", "2", …; a
    // line that does not parse comes back as a mistake.
    let text = format!("#GALAXY {game} Klingons pw 0\np #1 drive\nk nonsense\n#END");
    let r = put(&app, klingons, &game, "orders", json!({ "text": text })).await;
    r.assert_status(200);
    let stored = r.value();
    assert_eq!(stored["race"], "Klingons");
    assert_eq!(stored["orders"][0]["id"], "1");
    assert_eq!(stored["orders"][0]["order"]["kind"], "produce");
    assert_eq!(stored["mistakes"][0]["code"], "syntax", "{stored}");
    // Each member sees only their own set.
    let r = get(&app, klingons, &game, "orders").await;
    assert_eq!(r.value()["orders"].as_array().unwrap().len(), 1);
    assert_eq!(
        get(&app, zorgons, &game, "orders").await.value()["orders"],
        typed_orders()
    );

    // The status shows who has orders in.
    let status = get(&app, klingons, &game, "status").await.value();
    assert_eq!(status["race"], "Klingons");
    assert!(orders_in(&status, "Zorgons"));
    assert!(orders_in(&status, "Klingons"));
    assert!(!orders_in(&status, "Vogons"));

    // One line at a time: replace, add, delete, delete again.
    let order = json!({ "kind": "produce", "planet": "#1", "product": { "ship": "Drone" } });
    let r = put(
        &app,
        zorgons,
        &game,
        "commands",
        json!({ "id": "a1", "order": order }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["outcome"], "replaced");
    assert_eq!(r.value()["orders"][0]["order"], order);
    let r = put(
        &app,
        zorgons,
        &game,
        "commands",
        json!({ "turn": 0, "id": "b1", "order": { "kind": "quit" } }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["outcome"], "added");
    assert_eq!(r.value()["orders"].as_array().unwrap().len(), 4);
    let r = put(&app, zorgons, &game, "commands", json!({ "id": "b1" })).await;
    r.assert_status(200);
    assert_eq!(r.value()["outcome"], "deleted");
    let r = put(&app, zorgons, &game, "commands", json!({ "id": "b1" })).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "order_not_found");

    // The body names no race, and may not: the caller's race is used.
    let r = put(
        &app,
        zorgons,
        &game,
        "orders",
        json!({ "race": "Klingons", "orders": [] }),
    )
    .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_body");
    // Exactly one of orders and text.
    let r = put(
        &app,
        zorgons,
        &game,
        "orders",
        json!({ "orders": [], "text": "#END" }),
    )
    .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_body");
    let r = put(&app, zorgons, &game, "orders", json!({ "turn": 0 })).await;
    r.assert_status(422);
    // Duplicate line ids: refused by the engine, nothing changed.
    let twice = json!([
        { "id": "x", "order": { "kind": "quit" } },
        { "id": "x", "order": { "kind": "quit" } },
    ]);
    let r = put(&app, zorgons, &game, "orders", json!({ "orders": twice })).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_orders");
    assert_eq!(
        get(&app, zorgons, &game, "orders").await.value()["orders"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // A text header naming another race is refused.
    let text = format!("#GALAXY {game} Vogons pw 0\np #1 drive\n#END");
    let r = put(&app, zorgons, &game, "orders", json!({ "text": text })).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_orders");

    // A turn that is not the current one.
    let r = put(
        &app,
        zorgons,
        &game,
        "orders",
        json!({ "turn": 7, "orders": [] }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "turn_already_closed");
    assert_eq!(r.value()["error"]["details"]["current_turn"], 0);

    // Not a member: 403 on every endpoint.
    let stranger = create_account(
        &app,
        &format!("x{}", &Uuid::new_v4().simple().to_string()[..8]),
        None,
    )
    .await;
    for r in [
        get(&app, stranger, &game, "status").await,
        get(&app, stranger, &game, "orders").await,
        report(&app, stranger, &game, None, false).await,
        put(&app, stranger, &game, "orders", json!({ "orders": [] })).await,
        put(&app, stranger, &game, "commands", json!({ "id": "a" })).await,
    ] {
        r.assert_status(403);
        assert_eq!(r.error_code(), "not_a_member");
    }
    // An unknown game is 404.
    let r = get(&app, zorgons, &Uuid::new_v4().to_string(), "status").await;
    r.assert_status(404);
}

#[tokio::test]
async fn reports_of_the_current_and_past_turns_read_as_json_and_text() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let zorgons = member(&app, &game, "Zorgons").await;

    let r = report(&app, zorgons, &game, None, false).await;
    r.assert_status(200);
    assert_eq!(r.value()["turn"], 0);
    assert_eq!(r.value()["race"], "Zorgons");
    let r = report(&app, zorgons, &game, Some(0), true).await;
    r.assert_status(200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let turn0_text = r.text();
    assert!(turn0_text.contains("Zorgons"), "{turn0_text}");
    // A turn not played yet.
    let r = report(&app, zorgons, &game, Some(1), false).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "report_not_found");

    // The engine plays turn 0 (the scheduler's part, done by hand here).
    let base = record(&app, &game).await.base_url.unwrap();
    engine_client().run_turn(&base, 0).await.unwrap();

    let r = report(&app, zorgons, &game, None, false).await;
    r.assert_status(200);
    assert_eq!(r.value()["turn"], 1);
    let r = report(&app, zorgons, &game, Some(1), true).await;
    r.assert_status(200);
    assert_ne!(r.text(), turn0_text);
    // The past turn stays readable, unchanged.
    let r = report(&app, zorgons, &game, Some(0), false).await;
    r.assert_status(200);
    assert_eq!(r.value()["turn"], 0);
    let r = report(&app, zorgons, &game, Some(0), true).await;
    assert_eq!(r.text(), turn0_text);

    // Orders for the turn just closed: the engine says which is current.
    let r = put(
        &app,
        zorgons,
        &game,
        "orders",
        json!({ "turn": 0, "orders": [] }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "turn_already_closed");
    assert_eq!(r.value()["error"]["details"]["current_turn"], 1);
    let status = get(&app, zorgons, &game, "status").await.value();
    assert_eq!(status["turn"], 1);

    // A bad format is a bad query.
    let r = app
        .api
        .get(&format!("{GAMES}/{game}/report"))
        .user(zorgons)
        .query("format", "pdf")
        .send()
        .await;
    r.assert_status(400);
}

#[tokio::test]
async fn dead_races_and_ended_memberships_cannot_play() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let zorgons = member(&app, &game, "Zorgons").await;
    let klingons = member(&app, &game, "Klingons").await;
    let vogons = member(&app, &game, "Vogons").await;

    // The Vogons are banished in the engine: their orders are refused,
    // their reports still read.
    let base = record(&app, &game).await.base_url.unwrap();
    engine_client().banish(&base, "Vogons").await.unwrap();
    let r = put(&app, vogons, &game, "orders", json!({ "orders": [] })).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "race_not_alive");
    assert_eq!(r.value()["error"]["details"]["race"], "Vogons");
    report(&app, vogons, &game, None, false)
        .await
        .assert_status(200);

    // The owner removes the Klingons' player: every endpoint says so.
    user_post(
        &app,
        zorgons,
        &format!("{GAMES}/{game}/members/{klingons}/remove"),
        json!({ "reason": "idle" }),
    )
    .await
    .assert_status(200);
    for r in [
        put(&app, klingons, &game, "orders", json!({ "orders": [] })).await,
        get(&app, klingons, &game, "status").await,
        report(&app, klingons, &game, None, false).await,
    ] {
        r.assert_status(403);
        assert_eq!(r.error_code(), "membership_ended");
        assert_eq!(
            r.value()["error"]["details"]["membership_status"],
            "removed"
        );
    }
}

#[tokio::test]
async fn orders_are_refused_while_a_turn_is_generated_or_the_game_is_paused() {
    let app = process_app().spawn().await;
    // Not in play yet: the game is starting.
    let game = three_member_game(&app, "0.1.0").await;
    let zorgons = member(&app, &game, "Zorgons").await;
    let r = put(&app, zorgons, &game, "orders", json!({ "orders": [] })).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_game_state");
    assert_eq!(r.value()["error"]["details"]["current_state"], "starting");
    drive(&app).await;
    put(
        &app,
        zorgons,
        &game,
        "orders",
        json!({ "orders": typed_orders() }),
    )
    .await
    .assert_status(200);

    // A turn is being generated: the turn is closed for orders and edits.
    let game_id = game.parse().unwrap();
    let set_status = |status: &'static str| {
        let app = &app;
        let game = game.clone();
        async move {
            sqlx::query("UPDATE runtime_records SET status = $2 WHERE game_id = $1::uuid")
                .bind(&game)
                .bind(status)
                .execute(app.db())
                .await
                .unwrap();
            app.state.runtime.refresh_record(game_id).await.unwrap();
        }
    };
    set_status("generation_in_progress").await;
    for r in [
        put(&app, zorgons, &game, "orders", json!({ "orders": [] })).await,
        put(&app, zorgons, &game, "commands", json!({ "id": "a1" })).await,
    ] {
        r.assert_status(409);
        assert_eq!(r.error_code(), "turn_already_closed");
        assert_eq!(r.value()["error"]["details"]["current_turn"], 0);
    }
    // Reads go on; nothing was changed.
    let r = get(&app, zorgons, &game, "orders").await;
    r.assert_status(200);
    assert_eq!(r.value()["orders"], typed_orders());
    assert_eq!(
        get(&app, zorgons, &game, "status").await.value()["runtime_status"],
        "generation_in_progress"
    );
    set_status("running").await;

    // An operator stops the engine: the game pauses.
    admin_post(&app, &format!("{RUNTIMES}/{game}/stop"), json!({}))
        .await
        .assert_status(202);
    drive(&app).await;
    for r in [
        put(&app, zorgons, &game, "orders", json!({ "orders": [] })).await,
        put(&app, zorgons, &game, "commands", json!({ "id": "a1" })).await,
        // With its engine stopped, a paused game's reports wait too.
        report(&app, zorgons, &game, None, false).await,
        get(&app, zorgons, &game, "orders").await,
    ] {
        r.assert_status(409);
        assert_eq!(r.error_code(), "game_paused");
    }
    let r = get(&app, zorgons, &game, "status").await;
    r.assert_status(200);
    let status = r.value();
    assert_eq!(status["game_status"], "paused");
    assert_eq!(status["runtime_status"], "stopped");
    assert_eq!(status["engine_reachable"], false);
    assert_eq!(status["turn"], 0);
    assert_eq!(status["races"], json!([]));
    assert_eq!(status["next_deadline"], Value::Null);
}

#[tokio::test]
async fn an_engine_that_does_not_answer_is_a_503_with_retry_after_and_changes_nothing() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let zorgons = member(&app, &game, "Zorgons").await;
    put(
        &app,
        zorgons,
        &game,
        "orders",
        json!({ "orders": typed_orders() }),
    )
    .await
    .assert_status(200);

    // The engine dies behind the runtime's back (the record says running).
    let rec = record(&app, &game).await;
    app.state
        .runtime
        .driver()
        .stop(&rec.container_name, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    for r in [
        put(&app, zorgons, &game, "orders", json!({ "orders": [] })).await,
        put(&app, zorgons, &game, "commands", json!({ "id": "a1" })).await,
        get(&app, zorgons, &game, "orders").await,
        report(&app, zorgons, &game, None, true).await,
    ] {
        r.assert_status(503);
        assert_eq!(r.error_code(), "engine_unavailable");
        assert_eq!(r.header("retry-after"), Some("5"));
    }
    // The status still answers, from the runtime record.
    let r = get(&app, zorgons, &game, "status").await;
    r.assert_status(200);
    assert_eq!(r.value()["engine_reachable"], false);
    assert_eq!(r.value()["runtime_status"], "running");

    // Back up: the set sent before is intact.
    admin_post(&app, &format!("{RUNTIMES}/{game}/restart"), json!({}))
        .await
        .assert_status(202);
    drive(&app).await;
    let r = get(&app, zorgons, &game, "orders").await;
    r.assert_status(200);
    assert_eq!(r.value()["orders"], typed_orders());
}
