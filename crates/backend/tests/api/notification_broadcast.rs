//! Broadcast intents (`NotificationService::submit_to`): one intent per
//! `(kind, idempotency_key)` addressed to many users — `game.turn.ready` and
//! `game.paused` reach every active member of a game. One route per
//! user-facing channel and recipient, delivered to the route's own user on
//! the real gRPC push stream and through the mail outbox to a real SMTP
//! server; per-user email preferences, the soft-delete hook, the admin
//! surface (contract-validated) and the database's uniqueness rule.

use std::collections::BTreeSet;
use std::time::Duration;

use galaxy_backend::ids::UserId;
use galaxy_backend::notification::{Intent, NotificationError, Submitted, TickReport};
use galaxy_backend::push::pb::{ClientEvent, push_event};
use galaxy_backend::user::OnUserDeleted as _;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::push::{PushStream, subscribe};
use crate::mail::{ROOT, ROOT_PASSWORD, smtp_server};
use crate::notification::{notification_app, service, submit, tick, user_with_email};

const WAIT: Duration = Duration::from_secs(10);

/// The lobby's producer: submits the broadcast in its own transaction.
async fn submit_to(
    app: &TestApp,
    intent: &Intent,
    recipients: &[Uuid],
) -> Result<Submitted, NotificationError> {
    let recipients: Vec<UserId> = recipients.iter().copied().map(UserId::from).collect();
    let mut tx = app.db().begin().await.expect("begin");
    let submitted = service(app).submit_to(&mut tx, intent, &recipients).await?;
    tx.commit().await.expect("commit");
    Ok(submitted)
}

fn turn_ready(game: Uuid, turn: i64) -> Intent {
    Intent::new(
        "game.turn.ready",
        format!("turn-ready:{game}:{turn}"),
        None,
        json!({"game_id": game, "turn": turn}),
    )
}

/// `(channel, user_id, status, skip_reason)` of the intent's routes, sorted.
async fn routes_of(
    app: &TestApp,
    intent_id: Uuid,
) -> BTreeSet<(String, Option<Uuid>, String, Option<String>)> {
    sqlx::query_as::<_, (String, Option<Uuid>, String, Option<String>)>(
        "SELECT channel, user_id, status, skip_reason FROM notification_routes WHERE intent_id = $1",
    )
    .bind(intent_id)
    .fetch_all(app.db())
    .await
    .expect("routes")
    .into_iter()
    .collect()
}

fn route(
    channel: &str,
    user: Uuid,
    status: &str,
    skip: Option<&str>,
) -> (String, Option<Uuid>, String, Option<String>) {
    (
        channel.to_owned(),
        Some(user),
        status.to_owned(),
        skip.map(str::to_owned),
    )
}

async fn route_id(app: &TestApp, intent_id: Uuid, channel: &str, user: Uuid) -> Uuid {
    sqlx::query_scalar(
        "SELECT route_id FROM notification_routes WHERE intent_id = $1 AND channel = $2 AND user_id = $3",
    )
    .bind(intent_id)
    .bind(channel)
    .bind(user)
    .fetch_one(app.db())
    .await
    .expect("route id")
}

/// `(user_id, recipient_count)` of the stored intent.
async fn intent_row(app: &TestApp, intent_id: Uuid) -> (Option<Uuid>, i32) {
    sqlx::query_as("SELECT user_id, recipient_count FROM notification_intents WHERE intent_id = $1")
        .bind(intent_id)
        .fetch_one(app.db())
        .await
        .expect("intent row")
}

/// The next client event on the gateway's stream (every user's events pass
/// through it); other frames are passed over.
async fn next_client_event(stream: &mut PushStream) -> ClientEvent {
    loop {
        if let Some(push_event::Kind::ClientEvent(event)) = stream.next().await.kind {
            return event;
        }
    }
}

#[tokio::test]
async fn a_turn_ready_broadcast_reaches_every_member_once_and_a_repeat_routes_nothing() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let mut stream = subscribe(&app, "gateway-broadcast-test", None).await;
    let members = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
    let game = Uuid::new_v4();

    let submitted = submit_to(&app, &turn_ready(game, 5), &members)
        .await
        .unwrap();
    assert!(submitted.created);
    let intent_id: Uuid = submitted.intent_id.into();
    assert_eq!(intent_row(&app, intent_id).await, (None, 3));
    assert_eq!(
        routes_of(&app, intent_id).await,
        members
            .iter()
            .map(|&m| route("push", m, "pending", None))
            .collect()
    );

    assert_eq!(tick(&app).await.sent, 3);
    let mut received = BTreeSet::new();
    for _ in 0..3 {
        let event = next_client_event(&mut stream).await;
        assert_eq!(event.kind, "game.turn.ready");
        assert_eq!(event.request_id, format!("turn-ready:{game}:5"));
        let user: Uuid = event.user_id.parse().expect("a user id");
        assert_eq!(
            event.event_id,
            route_id(&app, intent_id, "push", user).await.to_string(),
            "each member's event is their own route"
        );
        let ready = flatbuffers::root::<galaxy_backend::notification::fbs::schema::GameTurnReady>(
            &event.payload,
        )
        .expect("a GameTurnReady table");
        assert_eq!(ready.turn(), 5);
        assert!(received.insert(user), "{user} received the event twice");
    }
    assert_eq!(received, members.into_iter().collect());

    // The same key again — even with another member list — is the first
    // intent and routes nothing.
    let late_joiner = Uuid::new_v4();
    let again = submit_to(&app, &turn_ready(game, 5), &[members[0], late_joiner])
        .await
        .unwrap();
    assert_eq!(
        again,
        Submitted {
            intent_id: submitted.intent_id,
            created: false
        }
    );
    assert_eq!(routes_of(&app, intent_id).await.len(), 3);
    assert_eq!(tick(&app).await, TickReport::default());

    // The next turn is a new intent; it is the next event on the stream, so
    // nothing of turn 5 was published twice in between.
    let next = submit_to(&app, &turn_ready(game, 6), &[late_joiner])
        .await
        .unwrap();
    assert!(next.created);
    assert_eq!(
        intent_row(&app, next.intent_id.into()).await,
        (Some(late_joiner), 1),
        "a single recipient is the intent's user"
    );
    assert_eq!(tick(&app).await.sent, 1);
    let event = next_client_event(&mut stream).await;
    assert_eq!(event.request_id, format!("turn-ready:{game}:6"));
    assert_eq!(event.user_id, late_joiner.to_string());
}

#[tokio::test]
async fn a_broadcast_email_is_skipped_only_for_the_member_who_switched_it_off() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let quiet = user_with_email(&app, "quiet@example.com").await;
    let mailed = user_with_email(&app, "mailed@example.com").await;
    app.api
        .request(
            reqwest::Method::PUT,
            "/api/v1/user/notification-preferences",
        )
        .user(quiet)
        .json(json!({"items": [{"kind": "lobby.membership.removed", "email_enabled": false}]}))
        .send()
        .await
        .assert_status(200);

    let game = Uuid::new_v4();
    let submitted = submit_to(
        &app,
        &Intent::new(
            "lobby.membership.removed",
            format!("removed:{game}"),
            None,
            json!({"game_id": game, "reason": "game_cancelled"}),
        ),
        &[quiet, mailed],
    )
    .await
    .unwrap();
    let intent_id: Uuid = submitted.intent_id.into();
    assert_eq!(
        routes_of(&app, intent_id).await,
        BTreeSet::from([
            route("email", quiet, "skipped", Some("user_preference")),
            route("email", mailed, "pending", None),
            route("push", quiet, "pending", None),
            route("push", mailed, "pending", None),
        ])
    );

    assert_eq!(tick(&app).await.sent, 3);
    let email_route = route_id(&app, intent_id, "email", mailed).await;
    let keys: Vec<String> = sqlx::query_scalar("SELECT idempotency_key FROM mail_deliveries")
        .fetch_all(app.db())
        .await
        .unwrap();
    assert_eq!(
        keys,
        vec![email_route.to_string()],
        "one mail, keyed by its route"
    );
    assert_eq!(crate::mail::tick(&app).await.sent, 1);
    let messages = server
        .wait_for_messages(1, WAIT)
        .await
        .expect("one message");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, vec!["mailed@example.com"]);
}

#[tokio::test]
async fn a_turn_reminder_mails_the_members_who_keep_its_email_on() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let quiet = user_with_email(&app, "quiet@example.com").await;
    let mailed = user_with_email(&app, "mailed@example.com").await;
    app.api
        .request(
            reqwest::Method::PUT,
            "/api/v1/user/notification-preferences",
        )
        .user(quiet)
        .json(json!({"items": [{"kind": "game.turn.reminder", "email_enabled": false}]}))
        .send()
        .await
        .assert_status(200);

    let game = Uuid::new_v4();
    let submitted = submit_to(
        &app,
        &Intent::new(
            "game.turn.reminder",
            format!("turn-reminder:{game}:12"),
            None,
            json!({"game_id": game, "turn": 12, "deadline": "2030-01-02T03:04:05Z"}),
        ),
        &[quiet, mailed],
    )
    .await
    .unwrap();
    let intent_id: Uuid = submitted.intent_id.into();
    assert_eq!(
        routes_of(&app, intent_id).await,
        BTreeSet::from([
            route("email", quiet, "skipped", Some("user_preference")),
            route("email", mailed, "pending", None),
            route("push", quiet, "pending", None),
            route("push", mailed, "pending", None),
        ])
    );
    assert_eq!(tick(&app).await.sent, 3);
    assert_eq!(crate::mail::tick(&app).await.sent, 1);
    let messages = server
        .wait_for_messages(1, WAIT)
        .await
        .expect("one message");
    assert_eq!(messages[0].to, vec!["mailed@example.com"]);
    let subject = messages[0].subject().unwrap_or_default();
    assert!(subject.contains("turn 12"), "{subject}");
    let body = messages[0].body_text().unwrap();
    assert!(
        body.contains(&game.to_string()) && body.contains("2030-01-02T03:04:05Z"),
        "{body}"
    );
}

#[tokio::test]
async fn a_broadcast_to_nobody_is_stored_and_routes_nothing() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let game = Uuid::new_v4();
    let paused = Intent::new(
        "game.paused",
        format!("paused:{game}:3"),
        None,
        json!({"game_id": game, "turn": 3, "reason": "engine_unreachable"}),
    );
    let submitted = submit_to(&app, &paused, &[]).await.unwrap();
    assert!(submitted.created);
    assert_eq!(
        intent_row(&app, submitted.intent_id.into()).await,
        (None, 0)
    );
    assert!(routes_of(&app, submitted.intent_id.into()).await.is_empty());
    assert_eq!(tick(&app).await, TickReport::default());
    // The key is taken: members listed later change nothing.
    let again = submit_to(&app, &paused, &[Uuid::new_v4()]).await.unwrap();
    assert!(!again.created);
    assert!(routes_of(&app, submitted.intent_id.into()).await.is_empty());
}

#[tokio::test]
async fn submit_to_keeps_the_catalog_rules_and_counts_a_repeated_recipient_once() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let game = Uuid::new_v4();
    let member = Uuid::new_v4();

    let mut with_user = turn_ready(game, 1);
    with_user.user_id = Some(member.into());
    let err = submit_to(&app, &with_user, &[member]).await.unwrap_err();
    assert!(
        matches!(
            err,
            NotificationError::UserWithRecipients("game.turn.ready")
        ),
        "{err}"
    );
    let failed = Intent::new(
        "runtime.container_start_failed",
        format!("start:{game}"),
        None,
        json!({"game_id": game}),
    );
    let err = submit_to(&app, &failed, &[member]).await.unwrap_err();
    assert!(matches!(err, NotificationError::UnexpectedUser(_)), "{err}");
    let err = submit_to(
        &app,
        &Intent::new("game.turn.ready", "k", None, json!({"game_id": game})),
        &[member],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, NotificationError::InvalidPayload { .. }),
        "{err}"
    );
    let err = submit_to(
        &app,
        &Intent::new("mail.dead_lettered", "k", None, json!({})),
        &[member],
    )
    .await
    .unwrap_err();
    assert!(matches!(err, NotificationError::UnknownKind(_)), "{err}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_intents")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(count, 0);

    // An admin kind without recipients goes to the operators, as with submit.
    let admin = submit_to(&app, &failed, &[]).await.unwrap();
    let admin_routes: Vec<(String, Option<Uuid>, String)> = sqlx::query_as(
        "SELECT channel, user_id, skip_reason FROM notification_routes WHERE intent_id = $1",
    )
    .bind(admin.intent_id)
    .fetch_all(app.db())
    .await
    .unwrap();
    assert_eq!(
        admin_routes,
        vec![("admin_email".into(), None, "admin_email_unset".into())]
    );
    assert_eq!(intent_row(&app, admin.intent_id.into()).await, (None, 0));

    let twice = submit_to(&app, &turn_ready(game, 1), &[member, member])
        .await
        .unwrap();
    assert_eq!(
        intent_row(&app, twice.intent_id.into()).await,
        (Some(member), 1)
    );
    assert_eq!(
        routes_of(&app, twice.intent_id.into()).await,
        BTreeSet::from([route("push", member, "pending", None)])
    );
}

#[tokio::test]
async fn deleting_a_member_skips_only_their_routes_of_a_broadcast() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let [stays, leaves, also_stays] = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
    let submitted = submit_to(
        &app,
        &turn_ready(Uuid::new_v4(), 9),
        &[stays, leaves, also_stays],
    )
    .await
    .unwrap();

    let mut tx = app.db().begin().await.unwrap();
    galaxy_backend::notification::UserDeletedHook
        .on_user_deleted(&mut tx, leaves.into())
        .await
        .expect("hooks run");
    tx.commit().await.unwrap();

    assert_eq!(
        routes_of(&app, submitted.intent_id.into()).await,
        BTreeSet::from([
            route("push", stays, "pending", None),
            route("push", leaves, "skipped", Some("user_deleted")),
            route("push", also_stays, "pending", None),
        ])
    );
    let report = tick(&app).await;
    assert_eq!((report.claimed, report.sent), (2, 2));
}

#[tokio::test]
async fn admins_see_a_broadcast_with_its_recipients_and_find_it_by_any_member() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let members = [Uuid::new_v4(), Uuid::new_v4()];
    let outsider = Uuid::new_v4();
    let broadcast = submit_to(&app, &turn_ready(Uuid::new_v4(), 2), &members)
        .await
        .unwrap();
    let single = submit(
        &app,
        &Intent::new(
            "lobby.invite.revoked",
            "revoked:1",
            Some(outsider.into()),
            json!({"game_id": Uuid::new_v4()}),
        ),
    )
    .await
    .unwrap();
    let admin = |path: &str| app.api.get(path).basic_auth(ROOT, ROOT_PASSWORD);

    let one = admin(&format!(
        "/api/v1/admin/notifications/intents/{}",
        broadcast.intent_id
    ))
    .send()
    .await;
    one.assert_status(200);
    let one = one.value();
    assert_eq!(one["user_id"], json!(null));
    assert_eq!(one["recipient_count"], json!(2));
    let routed: BTreeSet<String> = one["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        routed,
        members.iter().map(Uuid::to_string).collect::<BTreeSet<_>>()
    );

    for member in members {
        let page = admin("/api/v1/admin/notifications/intents")
            .query("user_id", member)
            .send()
            .await;
        page.assert_status(200);
        let page = page.value();
        assert_eq!(page["total"], json!(1));
        assert_eq!(page["items"][0]["intent_id"], json!(broadcast.intent_id));
    }
    let page = admin("/api/v1/admin/notifications/intents")
        .query("user_id", outsider)
        .send()
        .await
        .value();
    assert_eq!(page["total"], json!(1));
    assert_eq!(page["items"][0]["intent_id"], json!(single.intent_id));
    assert_eq!(page["items"][0]["user_id"], json!(outsider));
    assert_eq!(page["items"][0]["recipient_count"], json!(1));
}

#[tokio::test]
async fn routes_are_unique_per_channel_and_recipient_and_an_admin_route_per_channel() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let member = Uuid::new_v4();
    let user_intent = submit_to(&app, &turn_ready(Uuid::new_v4(), 1), &[member])
        .await
        .unwrap();
    let admin_intent = submit_to(
        &app,
        &Intent::new(
            "runtime.container_start_failed",
            "start:1",
            None,
            json!({"game_id": Uuid::new_v4()}),
        ),
        &[],
    )
    .await
    .unwrap();

    let insert = |intent_id: Uuid, channel: &'static str, user: Option<Uuid>| {
        sqlx::query(
            "INSERT INTO notification_routes (route_id, intent_id, channel, user_id)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::new_v4())
        .bind(intent_id)
        .bind(channel)
        .bind(user)
        .execute(app.db())
    };
    for (intent_id, channel, user) in [
        (user_intent.intent_id.into(), "push", Some(member)),
        (admin_intent.intent_id.into(), "admin_email", None),
    ] {
        let err = insert(intent_id, channel, user)
            .await
            .expect_err("a second route for the same channel and recipient");
        let constraint = err
            .as_database_error()
            .and_then(|e| e.constraint())
            .map(str::to_owned);
        assert_eq!(
            constraint.as_deref(),
            Some("notification_routes_intent_channel_user"),
            "{channel}"
        );
    }
    // Another recipient of the same intent and channel is another route.
    insert(user_intent.intent_id.into(), "push", Some(Uuid::new_v4()))
        .await
        .expect("another recipient");
}
