//! The lobby's flows beyond `lobby.rs`, through the HTTP API against the
//! real PostgreSQL: every lobby notification kind with its payload (and
//! the FlatBuffers tables the gateway receives), the edges of invites,
//! applications and memberships, the admin games surface, public browse,
//! the Race Name Directory's promotion and release, a soft-deleted player
//! in a running game, and the caches warmed again after a restart.

use chrono::{DateTime, Duration, Utc};
use galaxy_backend::ids::GameId;
use galaxy_backend::lobby::{RuntimeSnapshot, Sweeper};
use galaxy_backend::notification::fbs::schema as fb;
use galaxy_backend::push::pb::{ClientEvent, push_event};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::app::TestAppBuilder;
use crate::helpers::client::TestResponse;
use crate::helpers::push::subscribe;
use crate::lobby::{
    ADMIN_GAMES, GAMES, admin_get, admin_post, game_body, intents, lobby_app, private_game,
    public_game, register_engine_version, user_get, user_post,
};
use crate::users::{ROOT, ROOT_PASSWORD, admin_app, create_account};

const INVITES: &str = "/api/v1/user/invites";
const RACE_NAMES: &str = "/api/v1/user/race-names";

/// The builder behind `lobby_app` (loops off), for apps on a given database.
fn lobby_builder() -> TestAppBuilder {
    admin_app()
        .var("BACKEND_LOBBY_SWEEPER_ENABLED", "false")
        .var("BACKEND_JOBS_WORKER_ENABLED", "false")
        .var("BACKEND_NOTIFICATION_WORKER_ENABLED", "false")
}

fn id(r: &TestResponse, field: &str) -> String {
    r.value()[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {}", r.text()))
        .to_owned()
}

fn game_id(raw: &str) -> GameId {
    raw.parse().unwrap()
}

/// `(idempotency_key, payload)` of each intent of `kind` to `user`, oldest first.
async fn notices(app: &TestApp, kind: &str, user: Uuid) -> Vec<(String, Value)> {
    sqlx::query_as(
        "SELECT idempotency_key, payload FROM notification_intents
         WHERE kind = $1 AND user_id = $2 ORDER BY created_at, intent_id",
    )
    .bind(kind)
    .bind(user)
    .fetch_all(app.db())
    .await
    .unwrap()
}

/// The only intent of `kind` to `user`: its key and payload.
async fn notice(app: &TestApp, kind: &str, user: Uuid) -> (String, Value) {
    let mut all = notices(app, kind, user).await;
    assert_eq!(all.len(), 1, "{kind} to {user}: {all:?}");
    all.pop().unwrap()
}

async fn invite(app: &TestApp, owner: Uuid, game: &str, user_name: &str) -> TestResponse {
    user_post(
        app,
        owner,
        &format!("{GAMES}/{game}/invites"),
        json!({ "user_name": user_name }),
    )
    .await
}

async fn apply(app: &TestApp, user: Uuid, game: &str, race: &str) -> TestResponse {
    user_post(
        app,
        user,
        &format!("{GAMES}/{game}/applications"),
        json!({ "race_name": race }),
    )
    .await
}

/// Invites `user_name` to `owner`'s game; they accept as `race`.
async fn invite_and_accept(
    app: &TestApp,
    owner: Uuid,
    game: &str,
    (user, user_name): (Uuid, &str),
    race: &str,
) {
    let r = invite(app, owner, game, user_name).await;
    r.assert_status(201);
    let invite = id(&r, "invite_id");
    user_post(
        app,
        user,
        &format!("{INVITES}/{invite}/accept"),
        json!({ "race_name": race }),
    )
    .await
    .assert_status(200);
}

/// A private game of `owner` that takes applications.
async fn open_private_game(app: &TestApp, owner: Uuid, race: &str) -> String {
    let mut body = game_body("Open house");
    body["race_name"] = json!(race);
    body["accepts_applications"] = json!(true);
    let r = user_post(app, owner, GAMES, body).await;
    r.assert_status(201);
    assert_eq!(r.value()["accepts_applications"], true);
    id(&r, "game_id")
}

/// Force-starts the game and has the runtime report it running.
async fn make_running(app: &TestApp, game: &str) {
    admin_post(
        app,
        &format!("{ADMIN_GAMES}/{game}/force-start"),
        json!({ "force": true }),
    )
    .await
    .assert_status(200);
    let status = app
        .state
        .lobby
        .on_runtime_snapshot(
            game_id(game),
            &RuntimeSnapshot {
                current_turn: 0,
                runtime_status: "running".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(status.as_str(), "running");
}

/// `(user_id, race_name, reason)` of the game's runtime requests of `kind`.
async fn runtime_requests(
    app: &TestApp,
    game: &str,
    kind: &str,
) -> Vec<(Option<Uuid>, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT user_id, race_name, reason FROM game_runtime_requests
         WHERE game_id = $1 AND kind = $2 ORDER BY created_at",
    )
    .bind(Uuid::parse_str(game).unwrap())
    .bind(kind)
    .fetch_all(app.db())
    .await
    .unwrap()
}

async fn admin_list(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let mut call = app.api.get(ADMIN_GAMES).basic_auth(ROOT, ROOT_PASSWORD);
    for (k, v) in query {
        call = call.query(k, v);
    }
    let r = call.send().await;
    r.assert_status(200);
    r.value()
}

async fn browse(app: &TestApp, user: Uuid, query: &[(&str, &str)]) -> TestResponse {
    let mut call = app.api.get(&format!("{GAMES}/open")).user(user);
    for (k, v) in query {
        call = call.query(k, v);
    }
    call.send().await
}

async fn availability(app: &TestApp, user: Uuid, name: &str) -> Value {
    let r = app
        .api
        .get(&format!("{RACE_NAMES}/availability"))
        .query("name", name)
        .user(user)
        .send()
        .await;
    r.assert_status(200);
    r.value()
}

fn game_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["game_id"].as_str().unwrap().to_owned())
        .collect()
}

fn races(detail: &Value) -> Vec<String> {
    detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["race_name"].as_str().unwrap().to_owned())
        .collect()
}

// ---- every lobby notification kind, with its payload ------------------------

#[tokio::test]
async fn the_invitee_is_told_of_an_invite_and_of_its_revocation() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let game = private_game(&app, alice, "Zorgons").await;

    let r = invite(&app, alice, &game, "bob").await;
    r.assert_status(201);
    let invite = id(&r, "invite_id");
    let (key, payload) = notice(&app, "lobby.invite.received", bob).await;
    assert_eq!(key, format!("invite-received:{invite}"));
    assert_eq!(payload["game_id"], game.as_str());
    assert_eq!(payload["inviter_user_id"], alice.to_string());
    assert_eq!(payload["expires_at"], r.value()["expires_at"]);

    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/invites/{invite}/revoke"),
        json!({}),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "revoked");
    let (key, payload) = notice(&app, "lobby.invite.revoked", bob).await;
    assert_eq!(key, format!("invite-revoked:{invite}"));
    assert_eq!(payload, json!({ "game_id": game }));

    // Revoked, it can neither be revoked again nor accepted.
    let again = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/invites/{invite}/revoke"),
        json!({}),
    )
    .await;
    again.assert_status(409);
    assert_eq!(again.error_code(), "invalid_invite_state");
    let accept = user_post(
        &app,
        bob,
        &format!("{INVITES}/{invite}/accept"),
        json!({ "race_name": "Bobbins" }),
    )
    .await;
    accept.assert_status(409);
    assert_eq!(accept.error_code(), "invalid_invite_state");
    assert_eq!(
        accept.value()["error"]["details"]["current_state"],
        "revoked"
    );
    assert_eq!(intents(&app, "lobby.invite.revoked", bob).await, 1);
}

#[tokio::test]
async fn the_owning_user_hears_of_applications_and_applicants_of_the_decision() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let carol = create_account(&app, "carol", None).await;
    let dave = create_account(&app, "dave", None).await;
    let game = open_private_game(&app, alice, "Owners").await;

    let r = apply(&app, carol, &game, "Cybermen").await;
    r.assert_status(201);
    let carols = id(&r, "application_id");
    let r = apply(&app, dave, &game, "Daleks").await;
    r.assert_status(201);
    let daves = id(&r, "application_id");

    let submitted = notices(&app, "lobby.application.submitted", alice).await;
    assert_eq!(
        submitted,
        vec![
            (
                format!("application-submitted:{carols}"),
                json!({ "game_id": game, "application_id": carols }),
            ),
            (
                format!("application-submitted:{daves}"),
                json!({ "game_id": game, "application_id": daves }),
            ),
        ]
    );
    // The applicants see the private game they applied to, without members.
    let seen = user_get(&app, carol, &format!("{GAMES}/{game}")).await;
    seen.assert_status(200);
    assert_eq!(seen.value()["members"], json!([]));
    // The owner lists them.
    let listed = user_get(&app, alice, &format!("{GAMES}/{game}/applications")).await;
    listed.assert_status(200);
    assert_eq!(listed.value()["total"], 2);

    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/applications/{carols}/approve"),
        json!({}),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "approved");
    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/applications/{daves}/reject"),
        json!({ "reason": "no Daleks this season" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["reason"], "no Daleks this season");

    assert_eq!(
        notice(&app, "lobby.application.approved", carol).await,
        (
            format!("application-approved:{carols}"),
            json!({ "game_id": game })
        )
    );
    assert_eq!(
        notice(&app, "lobby.application.rejected", dave).await,
        (
            format!("application-rejected:{daves}"),
            json!({ "game_id": game, "reason": "no Daleks this season" })
        )
    );
    assert_eq!(intents(&app, "lobby.application.approved", dave).await, 0);
    let detail = user_get(&app, alice, &format!("{GAMES}/{game}")).await;
    assert_eq!(races(&detail.value()), ["Owners", "Cybermen"]);
    // Decided, the application cannot be decided again.
    let again = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/applications/{daves}/approve"),
        json!({}),
    )
    .await;
    again.assert_status(409);
    assert_eq!(again.error_code(), "invalid_application_state");
}

#[tokio::test]
async fn removed_and_blocked_members_are_told_and_the_blocked_cannot_apply_again() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let dave = create_account(&app, "dave", None).await;
    let game = open_private_game(&app, alice, "Owners").await;
    invite_and_accept(&app, alice, &game, (bob, "bob"), "Bobbins").await;
    invite_and_accept(&app, alice, &game, (carol, "carol"), "Carolingians").await;
    invite_and_accept(&app, alice, &game, (dave, "dave"), "Davros").await;

    // Only the owner removes: a fellow member is refused.
    let r = user_post(
        &app,
        dave,
        &format!("{GAMES}/{game}/members/{bob}/remove"),
        json!({ "reason": "I do not like Bob" }),
    )
    .await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "not_game_owner");

    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/members/{bob}/remove"),
        json!({ "reason": "never sends orders" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "removed");
    assert_eq!(r.value()["reason"], "never sends orders");
    let (key, payload) = notice(&app, "lobby.membership.removed", bob).await;
    assert!(
        key.starts_with(&format!("membership-removed:{game}:{bob}:")),
        "{key}"
    );
    assert_eq!(
        payload,
        json!({ "game_id": game, "reason": "never sends orders" })
    );

    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/members/{carol}/block"),
        json!({}),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "blocked");
    let (key, payload) = notice(&app, "lobby.membership.blocked", carol).await;
    assert_eq!(key, format!("membership-blocked:{game}:{carol}"));
    assert_eq!(payload["game_id"], game.as_str());
    assert_eq!(intents(&app, "lobby.membership.removed", carol).await, 0);

    // Blocked, Carol cannot come back; removed, Bob can.
    let r = apply(&app, carol, &game, "Carolingians").await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "blocked_from_game");
    apply(&app, bob, &game, "Bobbins").await.assert_status(201);
    // A removed member cannot be removed again.
    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/members/{bob}/remove"),
        json!({ "reason": "twice" }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "not_a_member");
    let detail = user_get(&app, alice, &format!("{GAMES}/{game}")).await;
    assert_eq!(races(&detail.value()), ["Owners", "Davros"]);
}

#[tokio::test]
async fn a_name_taken_to_apply_is_pending_then_registered_or_expired_with_notices() {
    let app = lobby_app().await;
    let eve = create_account(&app, "eve", None).await;
    let frank = create_account(&app, "frank", None).await;
    let mut body = json!({ "auto_approve": true });
    // Past the pending-registration TTL (30 days) enrollment is still open.
    body["enrollment_deadline"] = json!((Utc::now() + Duration::days(90)).to_rfc3339());
    let game = public_game(&app, body).await;

    apply(&app, eve, &game, "Vortigaunts")
        .await
        .assert_status(201);
    let (key, payload) = notice(&app, "lobby.race_name.pending", eve).await;
    assert!(key.starts_with("race-name-pending:"), "{key}");
    assert_eq!(payload["race_name"], "Vortigaunts");
    let expires: DateTime<Utc> = payload["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires > Utc::now() + Duration::days(29), "{expires}");

    let mine = user_get(&app, eve, RACE_NAMES).await;
    mine.assert_status(200);
    assert_eq!(mine.value()["items"][0]["state"], "pending_registration");
    // The notice names the instant the directory holds.
    assert_eq!(
        mine.value()["items"][0]["expires_at"],
        payload["expires_at"]
    );
    let check = availability(&app, eve, "VORTIGAUNTS").await;
    assert_eq!(check["held_by_you"], true);
    assert_eq!(check["available"], false);
    assert_eq!(check["state"], "pending_registration");
    let other = availability(&app, frank, "vortigaunts").await;
    assert_eq!(other["held_by_you"], false);

    // Registering the pending name promotes it: 200, not 201.
    let r = user_post(&app, eve, RACE_NAMES, json!({ "race_name": "Vortigaunts" })).await;
    r.assert_status(200);
    assert_eq!(r.value()["state"], "registered");
    assert_eq!(r.value()["expires_at"], Value::Null);
    assert!(r.value()["registered_at"].is_string());
    let (key, payload) = notice(&app, "lobby.race_name.registered", eve).await;
    assert!(key.starts_with("race-name-registered:"), "{key}");
    assert_eq!(payload, json!({ "race_name": "Vortigaunts" }));

    // Releasing a name one does not hold is 404, whoever holds it.
    for name in ["Nobodies", "Vortigaunts"] {
        let r = user_post(
            &app,
            frank,
            &format!("{RACE_NAMES}/release"),
            json!({ "race_name": name }),
        )
        .await;
        r.assert_status(404);
        assert_eq!(r.error_code(), "not_found", "{name}");
    }

    // Frank's pending name lapses; Eve's registered one does not.
    apply(&app, frank, &game, "Xenomorphs")
        .await
        .assert_status(201);
    let sweeper = Sweeper::new(app.state.lobby.clone());
    let report = sweeper
        .sweep(Utc::now() + Duration::days(31))
        .await
        .unwrap();
    assert_eq!(report.race_names, 1, "{report:?}");
    assert_eq!(report.games, 0, "{report:?}");
    let run = app.state.jobs.tick_report().await.unwrap();
    assert_eq!(run.succeeded, 1, "{run:?}");
    let (key, payload) = notice(&app, "lobby.race_name.expired", frank).await;
    assert!(key.starts_with("race-name-expired:"), "{key}");
    assert_eq!(payload, json!({ "race_name": "Xenomorphs" }));
    assert_eq!(intents(&app, "lobby.race_name.expired", eve).await, 0);
    assert_eq!(
        availability(&app, eve, "Xenomorphs").await["available"],
        true
    );
    assert_eq!(
        user_get(&app, frank, RACE_NAMES).await.value()["items"],
        json!([])
    );
    // The race in the game keeps its name.
    let detail = user_get(&app, frank, &format!("{GAMES}/{game}")).await;
    assert_eq!(detail.value()["my_membership"]["race_name"], "Xenomorphs");
}

#[tokio::test]
async fn lobby_notices_reach_the_push_stream_as_flatbuffers_tables() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let mut stream = subscribe(&app, "gateway-lobby", None).await;

    let game = private_game(&app, alice, "Owners").await;
    let r = invite(&app, alice, &game, "bob").await;
    r.assert_status(201);
    let invite = id(&r, "invite_id");
    user_post(
        &app,
        bob,
        &format!("{INVITES}/{invite}/accept"),
        json!({ "race_name": "Bobbins" }),
    )
    .await
    .assert_status(200);
    user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/members/{bob}/remove"),
        json!({ "reason": "too quiet" }),
    )
    .await
    .assert_status(200);
    let (_, pending) = notice(&app, "lobby.race_name.pending", bob).await;

    // The notification worker is off: one step delivers every route.
    let report = app.state.notification.worker().tick_report().await.unwrap();
    assert!(report.sent >= 4, "{report:?}");

    let wanted = [
        "lobby.invite.received",
        "lobby.race_name.pending",
        "lobby.membership.removed",
    ];
    let mut seen: Vec<ClientEvent> = Vec::new();
    while !wanted.iter().all(|k| {
        seen.iter()
            .any(|e| e.kind == *k && e.user_id == bob.to_string())
    }) {
        if let Some(push_event::Kind::ClientEvent(event)) = stream.next().await.kind {
            seen.push(event);
        }
    }
    let of = |kind: &str| {
        seen.iter()
            .find(|e| e.kind == kind && e.user_id == bob.to_string())
            .unwrap()
    };

    let received = of("lobby.invite.received");
    assert_eq!(received.request_id, format!("invite-received:{invite}"));
    let t = flatbuffers::root::<fb::LobbyInviteReceived>(&received.payload).unwrap();
    assert_eq!(t.game_id(), Some(game.as_str()));
    assert_eq!(t.inviter_user_id(), Some(alice.to_string().as_str()));

    let t = flatbuffers::root::<fb::LobbyRaceNamePending>(&of("lobby.race_name.pending").payload)
        .unwrap();
    assert_eq!(t.race_name(), Some("Bobbins"));
    assert_eq!(t.expires_at(), pending["expires_at"].as_str());

    let t =
        flatbuffers::root::<fb::LobbyMembershipRemoved>(&of("lobby.membership.removed").payload)
            .unwrap();
    assert_eq!(t.game_id(), Some(game.as_str()));
    assert_eq!(t.reason(), Some("too quiet"));
}

// ---- invites ---------------------------------------------------------------------

#[tokio::test]
async fn an_invite_past_its_expiry_answers_invite_expired_and_the_sweeper_expires_it() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let game = private_game(&app, alice, "Owners").await;
    let expires_at = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/invites"),
        json!({ "user_name": "bob", "expires_at": expires_at }),
    )
    .await;
    r.assert_status(201);
    let bobs = id(&r, "invite_id");
    let past = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/invites"),
        json!({ "user_name": "bob", "expires_at": (Utc::now() - Duration::minutes(1)).to_rfc3339() }),
    )
    .await;
    past.assert_status(422);
    assert_eq!(past.error_code(), "invalid_invite");
    assert_eq!(past.value()["error"]["details"]["field"], "expires_at");

    sqlx::query("UPDATE invites SET expires_at = now() - interval '1 minute' WHERE invite_id = $1")
        .bind(Uuid::parse_str(&bobs).unwrap())
        .execute(app.db())
        .await
        .unwrap();
    let r = user_post(
        &app,
        bob,
        &format!("{INVITES}/{bobs}/accept"),
        json!({ "race_name": "Bobbins" }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invite_expired");
    assert!(r.value()["error"]["details"]["expires_at"].is_string());
    // Nothing was taken on the way: the name is still free.
    assert_eq!(availability(&app, bob, "Bobbins").await["available"], true);

    let sweeper = Sweeper::new(app.state.lobby.clone());
    assert_eq!(sweeper.sweep(Utc::now()).await.unwrap().invites, 1);
    let run = app.state.jobs.tick_report().await.unwrap();
    assert_eq!(run.succeeded, 1, "{run:?}");
    let mine = user_get(&app, bob, INVITES).await;
    assert_eq!(mine.value()["items"][0]["status"], "expired");
    assert_eq!(sweeper.sweep(Utc::now()).await.unwrap().invites, 0);
    let r = user_post(
        &app,
        bob,
        &format!("{INVITES}/{bobs}/accept"),
        json!({ "race_name": "Bobbins" }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_invite_state");
    // Expired, it no longer blocks a fresh invite.
    invite(&app, alice, &game, "bob").await.assert_status(201);
}

#[tokio::test]
async fn invites_are_declined_and_refused_when_duplicate_unknown_or_to_oneself() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let game = private_game(&app, alice, "Owners").await;

    let r = invite(&app, alice, &game, "carol").await;
    r.assert_status(201);
    let carols = id(&r, "invite_id");
    let dup = invite(&app, alice, &game, "CAROL").await;
    dup.assert_status(409);
    assert_eq!(dup.error_code(), "invite_exists");
    let unknown = invite(&app, alice, &game, "nobody-at-all").await;
    unknown.assert_status(404);
    assert_eq!(unknown.error_code(), "not_found");
    let me = invite(&app, alice, &game, "alice").await;
    me.assert_status(422);
    assert_eq!(me.error_code(), "invalid_invite");
    assert_eq!(me.value()["error"]["details"]["field"], "user_name");

    // Only the invitee answers an invite.
    let r = user_post(&app, bob, &format!("{INVITES}/{carols}/decline"), json!({})).await;
    r.assert_status(404);
    let r = user_post(
        &app,
        carol,
        &format!("{INVITES}/{carols}/decline"),
        json!({}),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "declined");
    assert!(r.value()["decided_at"].is_string());
    let r = user_post(
        &app,
        carol,
        &format!("{INVITES}/{carols}/accept"),
        json!({ "race_name": "Carolingians" }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_invite_state");
    assert_eq!(r.value()["error"]["details"]["current_state"], "declined");
    // A member is not invited again.
    invite_and_accept(&app, alice, &game, (bob, "bob"), "Bobbins").await;
    let r = invite(&app, alice, &game, "bob").await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "already_member");
    let listed = user_get(&app, alice, &format!("{GAMES}/{game}/invites")).await;
    listed.assert_status(200);
    assert_eq!(listed.value()["total"], 2);
}

#[tokio::test]
async fn only_the_owner_of_a_private_game_invites_and_revokes() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let game = private_game(&app, alice, "Owners").await;
    invite_and_accept(&app, alice, &game, (bob, "bob"), "Bobbins").await;
    let r = invite(&app, alice, &game, "carol").await;
    let carols = id(&r, "invite_id");

    // A member of a private game, or a stranger, finds no game to invite to.
    for user in [bob, carol] {
        let r = invite(&app, user, &game, "alice").await;
        r.assert_status(404);
        let r = user_post(
            &app,
            user,
            &format!("{GAMES}/{game}/invites/{carols}/revoke"),
            json!({}),
        )
        .await;
        r.assert_status(404);
    }
    // A public game belongs to the admins: a user is not its owner.
    let public = public_game(&app, json!({})).await;
    let r = invite(&app, bob, &public, "carol").await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "not_game_owner");
    // A member may see the game but not its invite list.
    let r = user_get(&app, bob, &format!("{GAMES}/{game}/invites")).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "not_game_owner");
    assert_eq!(intents(&app, "lobby.invite.received", alice).await, 0);
}

// ---- applications ----------------------------------------------------------------

#[tokio::test]
async fn an_applicant_withdraws_their_own_application_but_not_someone_elses() {
    let app = lobby_app().await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let game = public_game(&app, json!({})).await;
    let r = apply(&app, bob, &game, "Bobbins").await;
    let bobs = id(&r, "application_id");

    let path = format!("{GAMES}/{game}/applications/{bobs}/withdraw");
    let r = user_post(&app, carol, &path, json!({})).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "not_found");
    let r = user_post(&app, bob, &path, json!({})).await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "withdrawn");
    let r = user_post(&app, bob, &path, json!({})).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_application_state");
    let mine = user_get(&app, bob, "/api/v1/user/applications").await;
    mine.assert_status(200);
    assert_eq!(mine.value()["items"][0]["status"], "withdrawn");
    // Withdrawn, a new application is welcome.
    apply(&app, bob, &game, "Bobbins").await.assert_status(201);
    let inspect = admin_get(&app, &format!("{ADMIN_GAMES}/{game}")).await;
    assert_eq!(inspect.value()["pending_applications"], 1);
}

#[tokio::test]
async fn a_private_game_without_applications_is_closed_to_invitees_and_hidden_from_strangers() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let game = private_game(&app, alice, "Owners").await;
    let r = user_get(&app, alice, &format!("{GAMES}/{game}")).await;
    assert_eq!(r.value()["accepts_applications"], false);

    let r = apply(&app, carol, &game, "Carolingians").await;
    r.assert_status(404);
    invite(&app, alice, &game, "bob").await.assert_status(201);
    let r = apply(&app, bob, &game, "Bobbins").await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "applications_closed");
    // The refusal took no name.
    assert_eq!(
        availability(&app, carol, "Bobbins").await["available"],
        true
    );
}

#[tokio::test]
async fn a_member_applying_again_is_already_a_member() {
    let app = lobby_app().await;
    let bob = create_account(&app, "bob", None).await;
    let game = public_game(&app, json!({ "auto_approve": true })).await;
    let r = apply(&app, bob, &game, "Bobbins").await;
    r.assert_status(201);
    assert_eq!(r.value()["status"], "approved");
    for race in ["Bobbins", "Other Bobs"] {
        let r = apply(&app, bob, &game, race).await;
        r.assert_status(409);
        assert_eq!(r.error_code(), "already_member", "{race}");
    }
}

#[tokio::test]
async fn a_game_join_ban_refuses_creating_and_applying() {
    let app = lobby_app().await;
    let mallory = create_account(&app, "mallory", None).await;
    let game = public_game(&app, json!({})).await;
    let r = crate::sanctions::apply(
        &app,
        mallory,
        json!({ "kind": "game_join_ban", "reason": "griefing" }),
    )
    .await;
    r.assert_status(201);

    let r = user_post(&app, mallory, GAMES, game_body("Mine")).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "game_join_banned");
    assert_eq!(r.value()["error"]["details"]["expires_at"], Value::Null);
    let r = apply(&app, mallory, &game, "Mallorians").await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "game_join_banned");
    assert_eq!(user_get(&app, mallory, GAMES).await.value()["total"], 0);
    assert_eq!(
        availability(&app, mallory, "Mallorians").await["available"],
        true
    );
}

#[tokio::test]
async fn the_game_limit_counts_owned_and_joined_unfinished_games_until_raised() {
    let app = lobby_app().await;
    let grace = create_account(&app, "grace", None).await;
    let public = public_game(&app, json!({ "auto_approve": true })).await;
    apply(&app, grace, &public, "Gracians")
        .await
        .assert_status(201);
    let mut owned = Vec::new();
    for i in 0..2 {
        let r = user_post(&app, grace, GAMES, game_body(&format!("Mine {i}"))).await;
        r.assert_status(201);
        owned.push(id(&r, "game_id"));
    }
    // Free tier: three unfinished games.
    let r = user_post(&app, grace, GAMES, game_body("One too many")).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "game_limit_reached");
    assert_eq!(r.value()["error"]["details"]["limit"], 3);
    let other = public_game(&app, json!({ "auto_approve": true })).await;
    let r = apply(&app, grace, &other, "Graceful").await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "game_limit_reached");

    // A cancelled game no longer counts.
    user_post(
        &app,
        grace,
        &format!("{GAMES}/{}/cancel", owned[0]),
        json!({}),
    )
    .await
    .assert_status(200);
    apply(&app, grace, &other, "Graceful")
        .await
        .assert_status(201);
    let r = user_post(&app, grace, GAMES, game_body("Still too many")).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "game_limit_reached");

    // The admins raise the entitlement.
    let r = app
        .api
        .post(&format!("/api/v1/admin/users/{grace}/entitlements"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "max_concurrent_games": 4 }))
        .send()
        .await;
    r.assert_status(200);
    user_post(&app, grace, GAMES, game_body("Room for one more"))
        .await
        .assert_status(201);
    assert_eq!(user_get(&app, grace, GAMES).await.value()["total"], 4);
}

// ---- memberships ---------------------------------------------------------------

#[tokio::test]
async fn a_member_leaves_before_the_start_but_not_once_it_is_starting() {
    let app = lobby_app().await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let dave = create_account(&app, "dave", None).await;
    let game = public_game(&app, json!({ "auto_approve": true })).await;
    for (user, race) in [(bob, "Bobbins"), (carol, "Carolingians"), (dave, "Davros")] {
        apply(&app, user, &game, race).await.assert_status(201);
    }

    let r = user_post(&app, bob, &format!("{GAMES}/{game}/leave"), json!({})).await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "left");
    assert!(r.value()["ended_at"].is_string());
    let r = user_post(&app, bob, &format!("{GAMES}/{game}/leave"), json!({})).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "not_a_member");
    let detail = user_get(&app, carol, &format!("{GAMES}/{game}")).await;
    assert_eq!(detail.value()["race_count"], 2);
    assert_eq!(user_get(&app, bob, GAMES).await.value()["total"], 0);
    // Bob still sees his past membership.
    let mine = user_get(&app, bob, &format!("{GAMES}/{game}")).await;
    assert_eq!(mine.value()["my_membership"]["status"], "left");
    assert_eq!(mine.value()["members"], json!([]));

    admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/force-start"),
        json!({}),
    )
    .await
    .assert_status(200);
    let r = user_post(&app, carol, &format!("{GAMES}/{game}/leave"), json!({})).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_game_state");
    assert_eq!(r.value()["error"]["details"]["current_state"], "starting");
    assert_eq!(detail_status(&app, &game).await, "starting");
}

async fn detail_status(app: &TestApp, game: &str) -> Value {
    admin_get(app, &format!("{ADMIN_GAMES}/{game}"))
        .await
        .value()["status"]
        .clone()
}

#[tokio::test]
async fn removing_a_member_of_a_running_game_records_a_banish_request() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let game = private_game(&app, alice, "Owners").await;
    invite_and_accept(&app, alice, &game, (bob, "bob"), "Bobbins").await;
    invite_and_accept(&app, alice, &game, (carol, "carol"), "Carolingians").await;
    make_running(&app, &game).await;
    assert_eq!(runtime_requests(&app, &game, "start").await.len(), 1);

    let r = user_post(
        &app,
        carol,
        &format!("{GAMES}/{game}/members/{bob}/remove"),
        json!({ "reason": "mutiny" }),
    )
    .await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "not_game_owner");
    assert_eq!(runtime_requests(&app, &game, "banish").await, vec![]);

    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/members/{bob}/remove"),
        json!({ "reason": "cheating" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(
        runtime_requests(&app, &game, "banish").await,
        vec![(
            Some(bob),
            Some("Bobbins".to_owned()),
            Some("cheating".to_owned())
        )]
    );
    assert_eq!(
        notice(&app, "lobby.membership.removed", bob).await.1,
        json!({ "game_id": game, "reason": "cheating" })
    );
    let detail = user_get(&app, alice, &format!("{GAMES}/{game}")).await;
    assert_eq!(detail.value()["status"], "running");
    assert_eq!(races(&detail.value()), ["Owners", "Carolingians"]);
    // Nobody leaves a game in play.
    let r = user_post(&app, carol, &format!("{GAMES}/{game}/leave"), json!({})).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_game_state");
    // Over, the game's members are no longer removed.
    let finished = app
        .state
        .lobby
        .on_runtime_snapshot(
            game_id(&game),
            &RuntimeSnapshot {
                current_turn: 3,
                runtime_status: "finished".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(finished.as_str(), "finished");
    let r = user_post(
        &app,
        alice,
        &format!("{GAMES}/{game}/members/{carol}/block"),
        json!({}),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_game_state");
    assert_eq!(r.value()["error"]["details"]["current_state"], "finished");
}

// ---- the admin surface -----------------------------------------------------------

#[tokio::test]
async fn admins_list_games_by_status_visibility_engine_version_and_owner_with_page_totals() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    register_engine_version(&app, "0.2.0").await;
    let open = public_game(&app, json!({})).await;
    let draft = public_game(
        &app,
        json!({ "open_enrollment": false, "engine_version": "0.2.0" }),
    )
    .await;
    let a1 = private_game(&app, alice, "Alphas").await;
    let a2 = private_game(&app, alice, "Alphas Two").await;
    let b1 = private_game(&app, bob, "Betas").await;

    let all = admin_list(&app, &[]).await;
    assert_eq!(all["total"], 5);
    // Newest first.
    assert_eq!(
        game_ids(&all),
        [
            b1.as_str(),
            a2.as_str(),
            a1.as_str(),
            draft.as_str(),
            open.as_str()
        ]
    );
    let drafts = admin_list(&app, &[("status", "draft")]).await;
    assert_eq!(game_ids(&drafts), [draft.as_str()]);
    let private = admin_list(&app, &[("visibility", "private")]).await;
    assert_eq!(private["total"], 3);
    let public = admin_list(
        &app,
        &[("visibility", "public"), ("status", "enrollment_open")],
    )
    .await;
    assert_eq!(game_ids(&public), [open.as_str()]);
    let v2 = admin_list(&app, &[("engine_version", "0.2.0")]).await;
    assert_eq!(game_ids(&v2), [draft.as_str()]);
    let alices = admin_list(&app, &[("owner_user_id", &alice.to_string())]).await;
    assert_eq!(game_ids(&alices), [a2.as_str(), a1.as_str()]);
    assert_eq!(alices["items"][0]["owner"]["kind"], "user");

    let page2 = admin_list(&app, &[("per_page", "2"), ("page", "2")]).await;
    assert_eq!(
        (page2["total"].clone(), page2["page"].clone()),
        (json!(5), json!(2))
    );
    assert_eq!(game_ids(&page2), [a1.as_str(), draft.as_str()]);
    let page3 = admin_list(&app, &[("per_page", "2"), ("page", "3")]).await;
    assert_eq!(game_ids(&page3), [open.as_str()]);
    let none = admin_list(&app, &[("owner_user_id", &Uuid::new_v4().to_string())]).await;
    assert_eq!(none["total"], 0);
    let bad = app
        .api
        .get(ADMIN_GAMES)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .query("status", "sleeping")
        .send()
        .await;
    bad.assert_status(400);
}

#[tokio::test]
async fn a_force_start_below_min_races_needs_force() {
    let app = lobby_app().await;
    let bob = create_account(&app, "bob", None).await;
    let game = public_game(&app, json!({ "auto_approve": true, "min_races": 3 })).await;
    apply(&app, bob, &game, "Bobbins").await.assert_status(201);
    let path = format!("{ADMIN_GAMES}/{game}/force-start");

    let r = admin_post(&app, &path, json!({})).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "not_enough_races");
    assert_eq!(
        r.value()["error"]["details"],
        json!({ "races": 1, "min_races": 3 })
    );
    let r = admin_post(&app, &path, json!({ "force": true })).await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "starting");
    assert_eq!(runtime_requests(&app, &game, "start").await.len(), 1);
    // Starting, it cannot be started again.
    let r = admin_post(&app, &path, json!({ "force": true })).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_game_state");
    let inspect = admin_get(&app, &format!("{ADMIN_GAMES}/{game}")).await;
    let started = inspect.value()["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "lobby.force_start")
        .cloned()
        .expect("a force_start audit row");
    assert_eq!(started["actor"], ROOT);
    assert_eq!(started["details"]["force"], true);
}

#[tokio::test]
async fn a_force_stop_before_running_cancels_the_game_and_tells_every_member() {
    let app = lobby_app().await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let game = public_game(&app, json!({ "auto_approve": true })).await;
    apply(&app, bob, &game, "Bobbins").await.assert_status(201);
    apply(&app, carol, &game, "Carolingians")
        .await
        .assert_status(201);

    let r = admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/force-stop"),
        json!({ "reason": "server move" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "cancelled");
    assert_eq!(r.value()["status_reason"], "server move");
    assert_eq!(r.value()["race_count"], 0);
    for user in [bob, carol] {
        let (key, payload) = notice(&app, "lobby.membership.removed", user).await;
        assert_eq!(key, format!("membership-removed:{game}:{user}:cancelled"));
        assert_eq!(
            payload,
            json!({ "game_id": game, "reason": "the game was cancelled: server move" })
        );
        assert_eq!(user_get(&app, user, GAMES).await.value()["total"], 0);
    }
    // Cancelled is final: served from PostgreSQL, and a second stop is a 409.
    let detail = user_get(&app, bob, &format!("{GAMES}/{game}")).await;
    detail.assert_status(200);
    assert_eq!(detail.value()["status"], "cancelled");
    assert_eq!(detail.value()["my_membership"]["status"], "removed");
    let r = admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/force-stop"),
        json!({ "reason": "again" }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "invalid_game_state");
    assert_eq!(runtime_requests(&app, &game, "stop").await, vec![]);
}

#[tokio::test]
async fn a_force_stop_of_a_running_game_records_a_stop_request_and_keeps_it_running() {
    let app = lobby_app().await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let game = public_game(&app, json!({ "auto_approve": true })).await;
    apply(&app, bob, &game, "Bobbins").await.assert_status(201);
    apply(&app, carol, &game, "Carolingians")
        .await
        .assert_status(201);
    make_running(&app, &game).await;

    let path = format!("{ADMIN_GAMES}/{game}/force-stop");
    let r = admin_post(&app, &path, json!({ "reason": "abandoned" })).await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "running");
    // Asked twice, one open request.
    admin_post(&app, &path, json!({ "reason": "abandoned" }))
        .await
        .assert_status(200);
    assert_eq!(
        runtime_requests(&app, &game, "stop").await,
        vec![(None, None, Some("abandoned".to_owned()))]
    );
    assert_eq!(detail_status(&app, &game).await, "running");
    assert_eq!(intents(&app, "lobby.membership.removed", bob).await, 0);
    let detail = user_get(&app, bob, &format!("{GAMES}/{game}")).await;
    assert_eq!(detail.value()["race_count"], 2);
}

#[tokio::test]
async fn an_admin_inspects_a_private_games_applications_invites_and_audit() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let dave = create_account(&app, "dave", None).await;
    let game = open_private_game(&app, alice, "Owners").await;
    let r = invite(&app, alice, &game, "bob").await;
    let bobs = id(&r, "invite_id");
    let r = apply(&app, carol, &game, "Carolingians").await;
    let carols = id(&r, "application_id");
    let r = apply(&app, dave, &game, "Davros").await;
    let daves = id(&r, "application_id");
    admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/applications/{carols}/approve"),
        json!({}),
    )
    .await
    .assert_status(200);
    admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{game}/members/{carol}/ban"),
        json!({ "reason": "abusive chat" }),
    )
    .await
    .assert_status(200);

    let r = admin_get(&app, &format!("{ADMIN_GAMES}/{game}")).await;
    r.assert_status(200);
    let v = r.value();
    assert_eq!(v["visibility"], "private");
    assert_eq!(v["owner"]["kind"], "user");
    assert_eq!(v["my_membership"], Value::Null);
    assert_eq!(races(&v), ["Owners"]);
    let apps: Vec<(String, String)> = v["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["application_id"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        apps,
        [
            (daves, "pending".to_owned()),
            (carols, "approved".to_owned())
        ]
    );
    assert_eq!(v["pending_applications"], 1);
    assert_eq!(v["invites"][0]["invite_id"], bobs.as_str());
    assert_eq!(v["invites"][0]["status"], "pending");
    let actions: Vec<&str> = v["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["lobby.ban_member", "lobby.approve_application"],
        "newest first"
    );
    assert_eq!(
        notice(&app, "lobby.membership.blocked", carol).await.1,
        json!({ "game_id": game, "reason": "abusive chat" })
    );
    let listed = admin_get(&app, &format!("{ADMIN_GAMES}/{game}/applications")).await;
    listed.assert_status(200);
    assert_eq!(listed.value()["total"], 2);
    let r = admin_get(&app, &format!("{ADMIN_GAMES}/{}", Uuid::new_v4())).await;
    r.assert_status(404);
}

// ---- public browse ---------------------------------------------------------------

#[tokio::test]
async fn browsing_public_games_filters_by_status_and_engine_version_and_pages() {
    let app = lobby_app().await;
    let bob = create_account(&app, "bob", None).await;
    register_engine_version(&app, "0.2.0").await;
    let a = public_game(&app, json!({})).await;
    let b = public_game(&app, json!({ "engine_version": "0.2.0" })).await;
    let c = public_game(&app, json!({})).await;
    let cancelled = public_game(&app, json!({})).await;
    admin_post(
        &app,
        &format!("{ADMIN_GAMES}/{cancelled}/force-stop"),
        json!({ "reason": "test" }),
    )
    .await
    .assert_status(200);
    let draft = public_game(&app, json!({ "open_enrollment": false })).await;
    private_game(&app, bob, "Bobbins").await;

    let r = browse(&app, bob, &[]).await;
    r.assert_status(200);
    assert_eq!(r.value()["total"], 3);
    assert_eq!(game_ids(&r.value()), [c.as_str(), b.as_str(), a.as_str()]);
    let r = browse(&app, bob, &[("engine_version", "0.1.0")]).await;
    assert_eq!(game_ids(&r.value()), [c.as_str(), a.as_str()]);
    let r = browse(&app, bob, &[("engine_version", "9.9.9")]).await;
    assert_eq!(r.value()["total"], 0);
    let r = browse(&app, bob, &[("status", "cancelled")]).await;
    r.assert_status(200);
    assert_eq!(game_ids(&r.value()), [cancelled.as_str()]);
    assert_eq!(r.value()["items"][0]["status_reason"], "test");
    let r = browse(&app, bob, &[("status", "finished")]).await;
    assert_eq!(r.value()["total"], 0);
    let r = browse(&app, bob, &[("status", "draft")]).await;
    assert_eq!(game_ids(&r.value()), [draft.as_str()]);

    let r = browse(&app, bob, &[("per_page", "2"), ("page", "2")]).await;
    assert_eq!(r.value()["total"], 3);
    assert_eq!(r.value()["per_page"], 2);
    assert_eq!(game_ids(&r.value()), [a.as_str()]);
    let r = browse(&app, bob, &[("per_page", "2"), ("page", "3")]).await;
    assert_eq!(r.value()["items"], json!([]));
    let r = browse(&app, bob, &[("status", "sleeping")]).await;
    r.assert_status(400);
    assert_eq!(r.error_code(), "invalid_query");
}

// ---- soft delete, restart --------------------------------------------------------

#[tokio::test]
async fn a_deleted_player_is_banished_from_running_games_and_their_applications_and_invites_close()
{
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let carol = create_account(&app, "carol", None).await;
    let running = private_game(&app, alice, "Owners").await;
    invite_and_accept(&app, alice, &running, (bob, "bob"), "Bobbins").await;
    make_running(&app, &running).await;
    let public = public_game(&app, json!({})).await;
    let r = apply(&app, bob, &public, "Bobbins").await;
    let application = id(&r, "application_id");
    let carols = private_game(&app, carol, "Carolingians").await;
    let r = invite(&app, carol, &carols, "bob").await;
    let invite = id(&r, "invite_id");

    app.api
        .post("/api/v1/user/account/delete")
        .user(bob)
        .send()
        .await
        .assert_status(204);

    assert_eq!(
        runtime_requests(&app, &running, "banish").await,
        vec![(
            Some(bob),
            Some("Bobbins".to_owned()),
            Some("account deleted".to_owned())
        )]
    );
    let detail = user_get(&app, alice, &format!("{GAMES}/{running}")).await;
    assert_eq!(detail.value()["status"], "running");
    assert_eq!(races(&detail.value()), ["Owners"]);
    let apps = admin_get(&app, &format!("{ADMIN_GAMES}/{public}/applications")).await;
    assert_eq!(
        apps.value()["items"][0]["application_id"],
        application.as_str()
    );
    assert_eq!(apps.value()["items"][0]["status"], "withdrawn");
    let invites = user_get(&app, carol, &format!("{GAMES}/{carols}/invites")).await;
    assert_eq!(invites.value()["items"][0]["invite_id"], invite.as_str());
    assert_eq!(invites.value()["items"][0]["status"], "declined");
    assert_eq!(
        availability(&app, alice, "Bobbins").await["available"],
        true
    );
}

#[tokio::test]
async fn games_and_race_names_survive_a_restart() {
    let app = lobby_app().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;
    let game = private_game(&app, alice, "Owners").await;
    invite_and_accept(&app, alice, &game, (bob, "bob"), "Bobbins").await;
    let public = public_game(&app, json!({})).await;
    user_post(&app, alice, RACE_NAMES, json!({ "race_name": "Zorg" }))
        .await
        .assert_status(201);

    let db = app.into_database().await;
    let again = lobby_builder().database(db).spawn().await;

    for user in [alice, bob] {
        let mine = user_get(&again, user, GAMES).await;
        assert_eq!(game_ids(&mine.value()), [game.as_str()]);
        let detail = user_get(&again, user, &format!("{GAMES}/{game}")).await;
        detail.assert_status(200);
        assert_eq!(races(&detail.value()), ["Owners", "Bobbins"]);
    }
    assert_eq!(
        game_ids(&browse(&again, bob, &[]).await.value()),
        [public.as_str()]
    );
    let zorg = availability(&again, alice, "Z-O-R-G").await;
    assert_eq!(
        (zorg["available"].clone(), zorg["held_by_you"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(zorg["state"], "registered");
    let bobbins = availability(&again, bob, "bobbins").await;
    assert_eq!(bobbins["held_by_you"], true);
    assert_eq!(bobbins["state"], "pending_registration");
    let r = user_post(&again, bob, RACE_NAMES, json!({ "race_name": "ZORG" })).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "race_name_taken");
    // The restarted cache takes writes as before.
    user_post(&again, bob, &format!("{GAMES}/{game}/leave"), json!({}))
        .await
        .assert_status(200);
    assert_eq!(user_get(&again, bob, GAMES).await.value()["total"], 0);
}
