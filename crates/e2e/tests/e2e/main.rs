//! The integration suite (issue #19): the whole stack booted for real —
//! PostgreSQL (through a forwarder for containers), the dev SMTP server,
//! the backend, the dev gateway — and a whole game played through the
//! gateway with signed requests: login by code, a private game, an invite
//! accepted, the start, two turns, the engine container killed (a forced
//! turn fails, the game pauses) and started again (it resumes and the
//! forced turn runs), a fourth turn, a revoked session refused. Both
//! players watch the gateway's event stream throughout: every push arrives
//! there, and the revoked session's stream is cut off.
//!
//! The same scenario runs twice: with the backend image in a container on
//! the scenario's Docker network (`network` addressing, the Docker socket
//! mounted) and with the backend on the host (`loopback` addressing).
//!
//! Needs the images `make images` builds (`galaxy/backend`, `galaxy/game`)
//! and the machine's PostgreSQL and Docker daemon (`make prepare`).

mod compose;
#[allow(dead_code)]
#[path = "../../../backend/tests/api/helpers/db.rs"]
mod db;
mod docker;
mod player;
mod stack;

use reqwest::Method;
use serde_json::{Value, json};

use crate::docker::must;
use crate::player::Player;
use crate::stack::{Mode, Stack, attached, engine_container};

const GAMES: &str = "/api/v1/user/games";

#[tokio::test(flavor = "multi_thread")]
async fn a_game_plays_through_the_gateway_with_the_backend_image_on_the_engine_network() {
    play(Mode::Container).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_game_plays_through_the_gateway_with_the_backend_on_the_host() {
    play(Mode::Host).await;
}

fn game_body() -> Value {
    json!({
        "name": "E2E",
        "engine_version": env!("CARGO_PKG_VERSION"),
        "min_races": 2,
        "max_races": 2,
        // Turns never fall due by the clock here: the admin forces them.
        "turn_schedule": { "every": "24h" },
        "enrollment_deadline": "2999-01-01T00:00:00Z",
        "race_name": "Zorgons",
    })
}

/// Waits (bounded: 60 s) until `player`'s play status satisfies `done`.
async fn wait_status(
    player: &Player,
    game: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("{GAMES}/{game}/status");
    let mut last = Value::Null;
    for _ in 0..300 {
        let r = player.get(&path).await;
        if r.status == 200 && done(&r.body) {
            return r.body;
        }
        last = r.body;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("waited 60 s for {what}; last status: {last}");
}

/// One turn's orders as classic text (a production order).
fn text_orders(game: &str, race: &str, turn: u64) -> Value {
    json!({ "turn": turn, "text": format!("#GALAXY {game} {race} pw {turn}\np #1 drive\n#END") })
}

async fn play(mode: Mode) {
    let stack = Stack::start(mode).await;

    // Login by code, two players (the second on two devices).
    let alice = stack.login("alice@e2e.example").await;
    let bob = stack.login("bob@e2e.example").await;
    let bob_phone = stack.login("bob@e2e.example").await;
    assert_eq!(bob.user_id, bob_phone.user_id);
    // Both watch the gateway's event stream.
    let mut alice_events = alice.events().await;
    let mut bob_events = bob.events().await;
    for events in [&mut alice_events, &mut bob_events] {
        events.until("ready", |_| true).await;
    }

    // A private game, bob invited by name, the invite accepted.
    let game = alice.post(GAMES, game_body()).await.expect(201)["game_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_name = bob.get("/api/v1/user/account").await.expect(200)["user_name"]
        .as_str()
        .unwrap()
        .to_owned();
    let invite = alice
        .post(
            &format!("{GAMES}/{game}/invites"),
            json!({ "user_name": bob_name }),
        )
        .await
        .expect(201)["invite_id"]
        .as_str()
        .unwrap()
        .to_owned();
    bob_events
        .until("lobby.invite.received", |d| {
            d["payload"]["game_id"] == game.as_str()
        })
        .await;
    bob.post(
        &format!("/api/v1/user/invites/{invite}/accept"),
        json!({ "race_name": "Klingons" }),
    )
    .await
    .expect(200);

    // The start: the engine container comes up on the scenario's network.
    alice
        .post(&format!("{GAMES}/{game}/start"), json!({}))
        .await
        .expect(200);
    let status = wait_status(&alice, &game, "the game running", |s| {
        s["game_status"] == "running" && s["engine_reachable"] == true
    })
    .await;
    assert_eq!(status["turn"], 0, "{status}");
    assert_eq!(status["race"], "Zorgons", "{status}");
    let engine = engine_container(&game);
    assert!(
        attached(&engine, &stack.network.name),
        "{engine} is not on {}",
        stack.network.name
    );
    // The backend reaches it by name on the network, or on a loopback port.
    let runtime = stack
        .admin(Method::GET, &format!("/api/v1/admin/runtimes/{game}"))
        .await
        .expect(200);
    let base_url = runtime["record"]["base_url"].as_str().unwrap_or_default();
    let expected = match stack.mode {
        Mode::Container => format!("http://{engine}:8080"),
        Mode::Host => "http://127.0.0.1:".to_owned(),
    };
    assert!(
        base_url.starts_with(&expected),
        "engine at {base_url:?}, expected {expected}…: {runtime}"
    );

    // Two turns, both players sending orders, forced by the admin.
    for turn in 0..2u64 {
        play_turn(
            &stack,
            &game,
            turn,
            [(&alice, "Zorgons"), (&bob, "Klingons")],
        )
        .await;
        for events in [&mut alice_events, &mut bob_events] {
            let ready = events
                .until("game.turn.ready", |d| {
                    d["payload"]["game_id"] == game.as_str() && d["payload"]["turn"] == turn + 1
                })
                .await;
            assert!(
                ready.id.is_some(),
                "a push carries its cursor as the id: {ready:?}"
            );
        }
    }
    let report = alice
        .get(&format!("{GAMES}/{game}/report?turn=1&format=text"))
        .await;
    assert_eq!(report.status, 200, "{:?}", report.body);

    // The engine container killed: the next turn cannot run, the game pauses.
    must(&["kill", &engine]);
    stack
        .admin(
            Method::POST,
            &format!("/api/v1/admin/runtimes/{game}/force-next-turn"),
        )
        .await
        .expect(200);
    let status = wait_status(&bob, &game, "the game paused", |s| {
        s["game_status"] == "paused"
    })
    .await;
    assert_eq!(
        (
            status["turn"].as_u64(),
            status["engine_reachable"].as_bool()
        ),
        (Some(2), Some(false)),
        "{status}"
    );
    for events in [&mut alice_events, &mut bob_events] {
        events
            .until("game.paused", |d| d["payload"]["game_id"] == game.as_str())
            .await;
    }
    let refused = bob
        .put(
            &format!("{GAMES}/{game}/orders"),
            text_orders(&game, "Klingons", 2),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "game_paused"),
        "{:?}",
        refused.body
    );

    // Started again by the admin: the game resumes, and the turn the admin
    // forced while the engine was down (the flag stays until a turn runs)
    // runs at once: turn 3.
    let started = stack
        .admin(
            Method::POST,
            &format!("/api/v1/admin/runtimes/{game}/start"),
        )
        .await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    wait_status(
        &alice,
        &game,
        "the game resumed and the forced turn run",
        |s| s["game_status"] == "running" && s["runtime_status"] == "running" && s["turn"] == 3,
    )
    .await;
    for events in [&mut alice_events, &mut bob_events] {
        events
            .until("game.resumed", |d| d["payload"]["game_id"] == game.as_str())
            .await;
        events
            .until("game.turn.ready", |d| {
                d["payload"]["game_id"] == game.as_str() && d["payload"]["turn"] == 3
            })
            .await;
    }
    play_turn(&stack, &game, 3, [(&alice, "Zorgons"), (&bob, "Klingons")]).await;

    // bob's other device revokes this one: its stream is cut off, its
    // requests refused; the other device keeps working.
    bob_phone
        .post(
            &format!("/api/v1/user/sessions/{}/revoke", bob.session),
            Value::Null,
        )
        .await
        .expect(204);
    bob_events.until("session.invalidated", |_| true).await;
    assert!(
        bob_events.next().await.is_none(),
        "the stream goes on after session.invalidated"
    );
    let refused = bob.get("/api/v1/user/account").await;
    assert_eq!(refused.status, 401, "{:?}", refused.body);
    bob_phone.get("/api/v1/user/account").await.expect(200);
}

/// Both players send orders for `turn`, the admin forces it, and it runs.
async fn play_turn(stack: &Stack, game: &str, turn: u64, players: [(&Player, &str); 2]) {
    for (player, race) in players {
        player
            .put(
                &format!("{GAMES}/{game}/orders"),
                text_orders(game, race, turn),
            )
            .await
            .expect(200);
    }
    stack
        .admin(
            Method::POST,
            &format!("/api/v1/admin/runtimes/{game}/force-next-turn"),
        )
        .await
        .expect(200);
    wait_status(players[0].0, game, &format!("turn {}", turn + 1), |s| {
        s["turn"] == turn + 1 && s["runtime_status"] == "running"
    })
    .await;
}
