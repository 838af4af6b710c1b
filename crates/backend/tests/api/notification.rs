//! The notification pipeline end to end: a test producer submits every
//! catalog kind inside its own transaction; the route worker step publishes
//! push routes to the real gRPC push stream and turns email routes into
//! mail deliveries that the mail worker sends to a real SMTP server;
//! idempotency, preferences, the soft-delete hook, backoff and dead letters,
//! the admin surface (contract-validated) and the catalog vs the database.
//!
//! The app's worker loops are off (`BACKEND_*_WORKER_ENABLED=false`) so each
//! test drives the steps itself; "time passes" is SQL that makes a route due.

use std::collections::BTreeSet;
use std::time::Duration;

use galaxy_backend::notification::{
    CATALOG, Channel, Intent, NotificationError, NotificationService, Submitted, TickReport,
    catalog,
};
use galaxy_backend::push::pb::push_client::PushClient;
use galaxy_backend::push::pb::{GatewaySubscribeRequest, push_event};
use galaxy_backend::user::OnUserDeleted as _;
use galaxy_devstack::smtp::SmtpServer;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::app::TestAppBuilder;
use crate::mail::{ROOT, ROOT_PASSWORD, mail_app, smtp_server};

const WAIT: Duration = Duration::from_secs(10);
const ADMIN_EMAIL: &str = "ops@example.com";

/// An app mailing through `server` whose worker loops are off.
pub(crate) fn notification_app(server: &SmtpServer) -> TestAppBuilder {
    mail_app(server).var("BACKEND_NOTIFICATION_WORKER_ENABLED", "false")
}

pub(crate) fn service(app: &TestApp) -> &NotificationService {
    &app.state.notification
}

/// A user with a live account whose address is `email`.
pub(crate) async fn user_with_email(app: &TestApp, email: &str) -> Uuid {
    let user = Uuid::new_v4();
    sqlx::query("INSERT INTO accounts (user_id, email, user_name) VALUES ($1, $2, $3)")
        .bind(user)
        .bind(email)
        .bind(format!("player-{}", user.simple()))
        .execute(app.db())
        .await
        .expect("insert account");
    user
}

/// The test producer: submits in its own transaction and commits.
pub(crate) async fn submit(app: &TestApp, intent: &Intent) -> Result<Submitted, NotificationError> {
    let mut tx = app.db().begin().await.expect("begin");
    let submitted = service(app).submit(&mut tx, intent).await?;
    tx.commit().await.expect("commit");
    Ok(submitted)
}

/// The catalog's sample intent of `kind` (user-addressed unless admin).
fn sample(kind: &str, user: Uuid) -> Intent {
    let spec = catalog::lookup(kind).expect("catalog kind");
    Intent::new(
        kind,
        format!("test:{kind}:{}", Uuid::new_v4()),
        (!spec.is_admin()).then_some(user.into()),
        catalog::sample_payload(spec),
    )
}

pub(crate) async fn tick(app: &TestApp) -> TickReport {
    service(app)
        .worker()
        .tick_report()
        .await
        .expect("notification worker step")
}

/// `(channel, status, skip_reason)` of the intent's routes, sorted.
async fn routes_of(app: &TestApp, intent_id: Uuid) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT channel, status, skip_reason FROM notification_routes WHERE intent_id = $1 ORDER BY channel",
    )
    .bind(intent_id)
    .fetch_all(app.db())
    .await
    .expect("routes")
}

async fn route_id(app: &TestApp, intent_id: Uuid, channel: &str) -> Uuid {
    sqlx::query_scalar(
        "SELECT route_id FROM notification_routes WHERE intent_id = $1 AND channel = $2",
    )
    .bind(intent_id)
    .bind(channel)
    .fetch_one(app.db())
    .await
    .expect("route id")
}

async fn make_due(app: &TestApp) {
    sqlx::query("UPDATE notification_routes SET next_attempt_at = now() WHERE status IN ('pending', 'retrying')")
        .execute(app.db())
        .await
        .expect("make due");
}

fn owned(rows: &[(&str, &str, Option<&str>)]) -> Vec<(String, String, Option<String>)> {
    rows.iter()
        .map(|(c, s, r)| (c.to_string(), s.to_string(), r.map(str::to_owned)))
        .collect()
}

#[tokio::test]
async fn every_catalog_kind_is_submitted_and_routed_to_its_channels() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let user = user_with_email(&app, "pilot@example.com").await;

    let mut expected_routes = 0;
    for spec in CATALOG {
        let submitted = submit(&app, &sample(spec.kind, user))
            .await
            .expect(spec.kind);
        assert!(submitted.created, "{}", spec.kind);
        let channels: BTreeSet<String> = routes_of(&app, submitted.intent_id.into())
            .await
            .into_iter()
            .map(|(c, _, _)| c)
            .collect();
        let want: BTreeSet<String> = spec
            .channels
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect();
        assert_eq!(channels, want, "{}", spec.kind);
        expected_routes += spec.channels.len();
    }
    let admin_kinds: Vec<String> = CATALOG
        .iter()
        .filter(|spec| spec.is_admin())
        .map(|spec| spec.kind.to_owned())
        .collect();
    let user_id_of_admin_intents: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notification_intents WHERE kind = ANY($1) AND user_id IS NOT NULL",
    )
    .bind(&admin_kinds)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(user_id_of_admin_intents, 0);

    // No admin address configured: the admin routes (one per admin kind)
    // were skipped at submit; the worker delivers everything else in one step.
    let report = tick(&app).await;
    assert_eq!(report.claimed, expected_routes - admin_kinds.len());
    assert_eq!(report.sent, expected_routes - admin_kinds.len());
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notification_routes WHERE status NOT IN ('sent', 'skipped')",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(open, 0);
    // Every email route handed one delivery to the outbox, keyed by its id.
    let unlinked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notification_routes r
         LEFT JOIN mail_deliveries d ON d.delivery_id = r.mail_delivery_id
         WHERE r.channel = 'email' AND (d.delivery_id IS NULL OR d.idempotency_key <> r.route_id::text)",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(unlinked, 0);
    assert_eq!(tick(&app).await, TickReport::default());

    let metrics = app.scrape_metrics().await;
    assert!(
        metrics.contains(r#"notification_intents_total{kind="game.paused",otel_scope_name="galaxy-backend",outcome="accepted"} 1"#)
            || metrics.lines().any(|l| l.starts_with("notification_intents_total{") && l.contains(r#"kind="game.paused""#) && l.contains(r#"outcome="accepted""#) && l.ends_with(" 1")),
        "{metrics}"
    );
    let admin_routes = format!(" {}", admin_kinds.len());
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("notification_routes_total{")
                && l.contains(r#"channel="admin_email""#)
                && l.ends_with(&admin_routes)),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_repeated_intent_is_a_no_op_that_returns_the_first() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let user = Uuid::new_v4();
    let intent = Intent::new(
        "game.turn.ready",
        "turn-ready:g:7",
        Some(user.into()),
        json!({"game_id": Uuid::new_v4(), "turn": 7}),
    );
    let first = submit(&app, &intent).await.unwrap();
    let again = submit(&app, &intent).await.unwrap();
    assert!(first.created);
    assert_eq!(
        again,
        Submitted {
            intent_id: first.intent_id,
            created: false
        }
    );
    // The same key under another kind is another intent.
    let mut paused = intent.clone();
    paused.kind = "game.paused".into();
    paused.payload["reason"] = json!("engine_unreachable");
    assert!(submit(&app, &paused).await.unwrap().created);

    let routes: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_routes")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(routes, 2);
    assert_eq!(tick(&app).await.sent, 2);
    // A repeat after delivery still changes nothing.
    assert!(!submit(&app, &intent).await.unwrap().created);
    assert_eq!(tick(&app).await, TickReport::default());
}

#[tokio::test]
async fn submit_commits_and_rolls_back_with_the_producer() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let intent = sample("lobby.invite.revoked", Uuid::new_v4());
    let mut tx = app.db().begin().await.unwrap();
    service(&app).submit(&mut tx, &intent).await.unwrap();
    tx.rollback().await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_intents")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(count, 0);
    assert_eq!(tick(&app).await, TickReport::default());
    // After the rollback the same key is free.
    assert!(submit(&app, &intent).await.unwrap().created);
}

#[tokio::test]
async fn invalid_intents_are_rejected_with_a_clear_error() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let user = Some(Uuid::new_v4());
    let game = json!(Uuid::new_v4());

    let err = submit(
        &app,
        &Intent::new("mail.dead_lettered", "k", user.map(Into::into), json!({})),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, NotificationError::UnknownKind(ref k) if k == "mail.dead_lettered"),
        "{err}"
    );
    let err = submit(
        &app,
        &Intent::new(
            "auth.login_code",
            "k",
            user.map(Into::into),
            json!({"code": "1", "ttl": 1}),
        ),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, NotificationError::UnknownKind(_)),
        "login codes are direct mail"
    );

    let err = submit(
        &app,
        &Intent::new(
            "game.turn.ready",
            "k",
            user.map(Into::into),
            json!({"game_id": game}),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid game.turn.ready payload: the payload lacks the required field `turn`"
    );
    let err = submit(
        &app,
        &Intent::new(
            "game.turn.ready",
            "k",
            user.map(Into::into),
            json!({"game_id": game, "turn": "7"}),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid game.turn.ready payload: the payload field `turn` must be a non-negative integer"
    );
    let err = submit(
        &app,
        &Intent::new(
            "lobby.race_name.pending",
            "k",
            user.map(Into::into),
            json!({"race_name": "Zorg", "expires_at": "tomorrow"}),
        ),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, NotificationError::InvalidPayload { .. }),
        "{err}"
    );
    let err = submit(
        &app,
        &Intent::new(
            "game.turn.ready",
            "k",
            None,
            json!({"game_id": game, "turn": 1}),
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, NotificationError::MissingUser(_)), "{err}");
    let err = submit(
        &app,
        &Intent::new(
            "runtime.container_start_failed",
            "k",
            user.map(Into::into),
            json!({"game_id": game}),
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, NotificationError::UnexpectedUser(_)), "{err}");
    let err = submit(
        &app,
        &Intent::new(
            "game.turn.ready",
            "",
            user.map(Into::into),
            json!({"game_id": game, "turn": 1}),
        ),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, NotificationError::InvalidIdempotencyKey),
        "{err}"
    );

    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_intents")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(count, 0);
    let metrics = app.scrape_metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("notification_intents_total{")
                && l.contains(r#"kind="unknown""#)
                && l.contains(r#"outcome="rejected""#)),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_email_route_reaches_the_smtp_server_exactly_once() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let user = user_with_email(&app, "pilot@example.com").await;
    let game = Uuid::new_v4();
    let intent = Intent::new(
        "lobby.invite.received",
        format!("invite:{game}:{user}"),
        Some(user.into()),
        json!({"game_id": game, "inviter_user_id": Uuid::new_v4()}),
    );
    let submitted = submit(&app, &intent).await.unwrap();
    assert_eq!(tick(&app).await.sent, 2, "push and email");
    let email_route = route_id(&app, submitted.intent_id.into(), "email").await;

    // A retried route (e.g. a worker that died before committing) enqueues
    // the same delivery again: the route id is the mail idempotency key.
    sqlx::query("UPDATE notification_routes SET status = 'retrying', next_attempt_at = now() WHERE route_id = $1")
        .bind(email_route)
        .execute(app.db())
        .await
        .unwrap();
    assert_eq!(tick(&app).await.sent, 1);
    let deliveries: Vec<(Uuid, String, String)> =
        sqlx::query_as("SELECT delivery_id, template_id, idempotency_key FROM mail_deliveries")
            .fetch_all(app.db())
            .await
            .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].1, "lobby.invite.received");
    assert_eq!(deliveries[0].2, email_route.to_string());

    let mail = crate::mail::tick(&app).await;
    assert_eq!(mail.sent, 1);
    let messages = server
        .wait_for_messages(1, WAIT)
        .await
        .expect("one message");
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.to, vec!["pilot@example.com"]);
    assert_eq!(
        m.subject().as_deref(),
        Some("You are invited to a Galaxy game")
    );
    let body = m.body_text().expect("text body");
    assert!(body.contains(&game.to_string()), "{body}");
}

#[tokio::test]
async fn email_routes_go_to_the_account_address_and_are_skipped_without_one() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;

    // The identity domain's directory (installed by the app): a user with no
    // live account has no address, so the email route is skipped.
    let stranger = Uuid::new_v4();
    let first = submit(&app, &sample("lobby.application.approved", stranger))
        .await
        .unwrap();
    assert_eq!(tick(&app).await.skipped, 1);
    assert_eq!(
        routes_of(&app, first.intent_id.into()).await,
        owned(&[
            ("email", "skipped", Some("no_email_address")),
            ("push", "sent", None)
        ])
    );

    // A real account: the mail goes to its address.
    let member = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO accounts (user_id, email, user_name) VALUES ($1, 'member@example.com', 'member-1')",
    )
    .bind(member)
    .execute(app.db())
    .await
    .unwrap();
    submit(&app, &sample("lobby.application.approved", member))
        .await
        .unwrap();
    assert_eq!(tick(&app).await.sent, 2);
    assert_eq!(crate::mail::tick(&app).await.sent, 1);
    let messages = server
        .wait_for_messages(1, WAIT)
        .await
        .expect("one message");
    assert_eq!(messages[0].to, vec!["member@example.com"]);
}

#[tokio::test]
async fn admin_routes_are_skipped_without_an_admin_email() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    for kind in [
        "runtime.image_pull_failed",
        "runtime.container_start_failed",
        "runtime.start_config_invalid",
    ] {
        let submitted = submit(&app, &sample(kind, Uuid::nil())).await.unwrap();
        assert_eq!(
            routes_of(&app, submitted.intent_id.into()).await,
            owned(&[("admin_email", "skipped", Some("admin_email_unset"))]),
            "{kind}"
        );
    }
    assert_eq!(tick(&app).await, TickReport::default());
    let deliveries: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_deliveries")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(deliveries, 0);
}

#[tokio::test]
async fn admin_routes_mail_the_admin_email_when_it_is_set() {
    let server = smtp_server().await;
    let app = notification_app(&server)
        .var("BACKEND_NOTIFICATION_ADMIN_EMAIL", ADMIN_EMAIL)
        .spawn()
        .await;
    let game = Uuid::new_v4();
    let submitted = submit(
        &app,
        &Intent::new(
            "runtime.image_pull_failed",
            format!("pull:{game}"),
            None,
            json!({"game_id": game, "image_ref": "galaxy/game:1.2.3"}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(tick(&app).await.sent, 1);
    assert_eq!(
        routes_of(&app, submitted.intent_id.into()).await,
        owned(&[("admin_email", "sent", None)])
    );
    assert_eq!(crate::mail::tick(&app).await.sent, 1);
    let messages = server
        .wait_for_messages(1, WAIT)
        .await
        .expect("one message");
    assert_eq!(messages[0].to, vec![ADMIN_EMAIL]);
    let subject = messages[0].subject().unwrap_or_default();
    assert!(subject.contains(&game.to_string()), "{subject}");
    assert!(
        messages[0]
            .body_text()
            .unwrap()
            .contains("galaxy/game:1.2.3")
    );
}

#[tokio::test]
async fn a_switched_off_email_is_skipped_while_push_still_goes_out() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let user = user_with_email(&app, "pilot@example.com").await;

    let prefs = app
        .api
        .get("/api/v1/user/notification-preferences")
        .user(user)
        .send()
        .await;
    prefs.assert_status(200);
    let items = prefs.value()["items"].as_array().unwrap().clone();
    let emailing: Vec<&str> = catalog::email_configurable().map(|s| s.kind).collect();
    assert_eq!(items.len(), emailing.len());
    assert!(items.iter().all(|i| i["email_enabled"] == json!(true)));

    let put = app
        .api
        .request(
            reqwest::Method::PUT,
            "/api/v1/user/notification-preferences",
        )
        .user(user)
        .json(json!({"items": [{"kind": "lobby.membership.removed", "email_enabled": false}]}))
        .send()
        .await;
    put.assert_status(200);
    let after = put.value();
    let removed = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "lobby.membership.removed")
        .unwrap()
        .clone();
    assert_eq!(removed["email_enabled"], json!(false));

    let submitted = submit(&app, &sample("lobby.membership.removed", user))
        .await
        .unwrap();
    assert_eq!(
        routes_of(&app, submitted.intent_id.into()).await,
        owned(&[
            ("email", "skipped", Some("user_preference")),
            ("push", "pending", None)
        ])
    );
    assert_eq!(tick(&app).await.sent, 1);
    // Another kind still mails; another user is unaffected.
    let other = submit(&app, &sample("lobby.membership.blocked", user))
        .await
        .unwrap();
    assert_eq!(routes_of(&app, other.intent_id.into()).await.len(), 2);
    assert!(
        routes_of(&app, other.intent_id.into())
            .await
            .iter()
            .all(|(_, s, _)| s == "pending")
    );

    // Unknown kinds and kinds without email change nothing.
    for (kind, code) in [
        ("lobby.nope", "unknown_notification_kind"),
        ("game.turn.ready", "email_not_configurable"),
        ("runtime.image_pull_failed", "email_not_configurable"),
    ] {
        let r = app
            .api
            .request(
                reqwest::Method::PUT,
                "/api/v1/user/notification-preferences",
            )
            .user(user)
            .json(json!({"items": [
                {"kind": "lobby.invite.received", "email_enabled": false},
                {"kind": kind, "email_enabled": false}
            ]}))
            .send()
            .await;
        r.assert_status(422);
        assert_eq!(r.error_code(), code);
    }
    let prefs = app
        .api
        .get("/api/v1/user/notification-preferences")
        .user(user)
        .send()
        .await
        .value();
    let invite = prefs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "lobby.invite.received")
        .unwrap()
        .clone();
    assert_eq!(invite["email_enabled"], json!(true));

    // Switched back on, it mails again.
    app.api
        .request(
            reqwest::Method::PUT,
            "/api/v1/user/notification-preferences",
        )
        .user(user)
        .json(json!({"items": [{"kind": "lobby.membership.removed", "email_enabled": true}]}))
        .send()
        .await
        .assert_status(200);
    let again = submit(&app, &sample("lobby.membership.removed", user))
        .await
        .unwrap();
    assert!(
        routes_of(&app, again.intent_id.into())
            .await
            .iter()
            .all(|(_, s, _)| s == "pending")
    );

    app.api
        .get("/api/v1/user/notification-preferences")
        .send()
        .await
        .assert_status(401);
}

#[tokio::test]
async fn deleting_a_user_skips_their_open_routes_and_keeps_every_row() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let doomed = user_with_email(&app, "doomed@example.com").await;
    let bystander = Uuid::new_v4();

    let delivered = submit(&app, &sample("game.turn.ready", doomed))
        .await
        .unwrap();
    assert_eq!(tick(&app).await.sent, 1);
    let open = submit(&app, &sample("lobby.invite.received", doomed))
        .await
        .unwrap();
    let other = submit(&app, &sample("game.paused", bystander))
        .await
        .unwrap();

    let mut tx = app.db().begin().await.unwrap();
    galaxy_backend::notification::UserDeletedHook
        .on_user_deleted(&mut tx, doomed.into())
        .await
        .expect("hooks run");
    tx.commit().await.unwrap();

    assert_eq!(
        routes_of(&app, open.intent_id.into()).await,
        owned(&[
            ("email", "skipped", Some("user_deleted")),
            ("push", "skipped", Some("user_deleted"))
        ])
    );
    assert_eq!(
        routes_of(&app, delivered.intent_id.into()).await,
        owned(&[("push", "sent", None)])
    );
    assert_eq!(
        routes_of(&app, other.intent_id.into()).await,
        owned(&[("push", "pending", None)])
    );
    let report = tick(&app).await;
    assert_eq!(
        (report.claimed, report.sent),
        (1, 1),
        "only the bystander's route is left"
    );
    let intents: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_intents")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(intents, 3, "nothing is deleted");
}

#[tokio::test]
async fn a_failing_route_backs_off_and_is_dead_lettered_after_the_maximum() {
    let server = smtp_server().await;
    let app = notification_app(&server)
        .var("BACKEND_NOTIFICATION_MAX_ATTEMPTS", "3")
        .spawn()
        .await;
    let submitted = submit(&app, &sample("game.turn.ready", Uuid::new_v4()))
        .await
        .unwrap();
    // A stored payload that no longer fits its kind's schema: the typed
    // push event cannot be built, so publishing fails every time.
    sqlx::query("UPDATE notification_intents SET payload = '{\"turn\": 3}' WHERE intent_id = $1")
        .bind(submitted.intent_id)
        .execute(app.db())
        .await
        .unwrap();

    let report = tick(&app).await;
    assert_eq!((report.claimed, report.retrying), (1, 1));
    let (status, attempts, wait, error): (String, i32, f64, Option<String>) = sqlx::query_as(
        "SELECT status, attempts, extract(epoch FROM next_attempt_at - now())::float8, last_error
         FROM notification_routes WHERE intent_id = $1",
    )
    .bind(submitted.intent_id)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!((status.as_str(), attempts), ("retrying", 1));
    assert!(
        wait > 0.5 && wait <= 2.0,
        "first backoff within [1s, 2s]: {wait}"
    );
    assert!(error.unwrap().contains("`game_id` is missing"));
    // Not due yet: the next step leaves it alone.
    assert_eq!(tick(&app).await, TickReport::default());

    make_due(&app).await;
    assert_eq!(tick(&app).await.retrying, 1);
    let wait: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM notification_routes",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert!(
        wait > 1.5 && wait <= 4.0,
        "second backoff within [2s, 4s]: {wait}"
    );
    make_due(&app).await;
    assert_eq!(tick(&app).await.dead_lettered, 1);
    make_due(&app).await;
    assert_eq!(
        tick(&app).await,
        TickReport::default(),
        "dead letters are not retried"
    );

    let route = route_id(&app, submitted.intent_id.into(), "push").await;
    let page = app
        .api
        .get("/api/v1/admin/notifications/dead-letters")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    page.assert_status(200);
    let page = page.value();
    assert_eq!(page["total"], json!(1));
    let dead = &page["items"][0];
    assert_eq!(dead["route_id"], json!(route));
    assert_eq!(dead["kind"], json!("game.turn.ready"));
    assert_eq!(dead["attempts"], json!(3));
    assert_eq!(dead["channel"], json!("push"));
}

#[tokio::test]
async fn push_routes_reach_the_gateway_stream_as_typed_events_with_correlation() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let mut client = PushClient::connect(format!("http://{}", app.grpc_addr))
        .await
        .expect("connect");
    let mut stream = client
        .subscribe_push(GatewaySubscribeRequest {
            gateway_client_id: "gateway-notification-test".into(),
            cursor: String::new(),
        })
        .await
        .expect("subscribe")
        .into_inner();

    let user = Uuid::new_v4();
    let game = Uuid::new_v4();
    let intent = Intent::new(
        "game.paused",
        format!("paused:{game}:12"),
        Some(user.into()),
        json!({"game_id": game, "turn": 12, "reason": "engine_unreachable"}),
    );
    let submitted = submit(&app, &intent).await.unwrap();
    assert_eq!(tick(&app).await.sent, 1);
    let route = route_id(&app, submitted.intent_id.into(), "push").await;

    let event = tokio::time::timeout(WAIT, async {
        loop {
            let message = stream
                .message()
                .await
                .expect("stream")
                .expect("open stream");
            if let Some(push_event::Kind::ClientEvent(event)) = message.kind {
                return event;
            }
        }
    })
    .await
    .expect("the event arrives");
    assert_eq!(event.user_id, user.to_string());
    assert_eq!(event.device_session_id, "");
    assert_eq!(event.kind, "game.paused");
    assert_eq!(event.event_id, route.to_string());
    assert_eq!(event.request_id, format!("paused:{game}:12"));
    let paused =
        flatbuffers::root::<galaxy_backend::notification::fbs::schema::GamePaused>(&event.payload)
            .expect("a GamePaused table");
    assert_eq!(paused.game_id(), Some(game.to_string().as_str()));
    assert_eq!(paused.turn(), 12);
    assert_eq!(paused.reason(), Some("engine_unreachable"));
}

#[tokio::test]
async fn a_committed_submit_wakes_the_worker_without_waiting_for_the_interval() {
    let server = smtp_server().await;
    let app = mail_app(&server)
        .var("BACKEND_NOTIFICATION_WORKER_INTERVAL", "1h")
        .spawn()
        .await;
    // The loop's first step ran at start; from now on only a wake-up can
    // deliver within the hour-long interval.
    let submitted = submit(&app, &sample("lobby.race_name.expired", Uuid::new_v4()))
        .await
        .unwrap();
    let delivered = tokio::time::timeout(WAIT, async {
        loop {
            if routes_of(&app, submitted.intent_id.into()).await == owned(&[("push", "sent", None)])
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        delivered.is_ok(),
        "the route was delivered after the commit"
    );
}

#[tokio::test]
async fn admins_list_filter_and_inspect_intents_with_their_routes() {
    let server = smtp_server().await;
    let app = notification_app(&server).spawn().await;
    let alice = user_with_email(&app, "alice@example.com").await;
    let bob = Uuid::new_v4();
    let a = submit(&app, &sample("lobby.invite.received", alice))
        .await
        .unwrap();
    let b = submit(&app, &sample("game.turn.ready", bob)).await.unwrap();
    let c = submit(&app, &sample("runtime.container_start_failed", alice))
        .await
        .unwrap();
    assert_eq!(tick(&app).await.sent, 3);

    let admin = |path: &str| app.api.get(path).basic_auth(ROOT, ROOT_PASSWORD);
    let all = admin("/api/v1/admin/notifications/intents").send().await;
    all.assert_status(200);
    let all = all.value();
    assert_eq!(all["total"], json!(3));
    let ids: Vec<Value> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["intent_id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![json!(c.intent_id), json!(b.intent_id), json!(a.intent_id)],
        "newest first"
    );

    let by_user = admin("/api/v1/admin/notifications/intents")
        .query("user_id", alice)
        .send()
        .await
        .value();
    assert_eq!(by_user["total"], json!(1));
    assert_eq!(by_user["items"][0]["routes"].as_array().unwrap().len(), 2);
    let by_kind = admin("/api/v1/admin/notifications/intents")
        .query("kind", "game.turn.ready")
        .send()
        .await
        .value();
    assert_eq!(by_kind["items"][0]["intent_id"], json!(b.intent_id));
    let skipped = admin("/api/v1/admin/notifications/intents")
        .query("status", "skipped")
        .send()
        .await
        .value();
    assert_eq!(skipped["total"], json!(1));
    assert_eq!(skipped["items"][0]["intent_id"], json!(c.intent_id));
    let paged = admin("/api/v1/admin/notifications/intents")
        .query("per_page", 2)
        .query("page", 2)
        .send()
        .await
        .value();
    assert_eq!(
        (
            paged["total"].clone(),
            paged["items"].as_array().unwrap().len()
        ),
        (json!(3), 1)
    );
    admin("/api/v1/admin/notifications/intents")
        .query("status", "lost")
        .send()
        .await
        .assert_status(400);

    let one = admin(&format!(
        "/api/v1/admin/notifications/intents/{}",
        a.intent_id
    ))
    .send()
    .await;
    one.assert_status(200);
    let one = one.value();
    assert_eq!(one["kind"], json!("lobby.invite.received"));
    let routes = one["routes"].as_array().unwrap();
    let email = routes.iter().find(|r| r["channel"] == "email").unwrap();
    assert_eq!(email["status"], json!("sent"));
    assert!(email["mail_delivery_id"].is_string());
    assert!(email["next_attempt_at"].is_null());

    let missing = admin(&format!(
        "/api/v1/admin/notifications/intents/{}",
        Uuid::new_v4()
    ))
    .send()
    .await;
    missing.assert_status(404);
    admin("/api/v1/admin/notifications/intents/not-a-uuid")
        .send()
        .await
        .assert_status(404);
    app.api
        .get("/api/v1/admin/notifications/intents")
        .send()
        .await
        .assert_status(401);
}

/// The kinds named in a `CHECK (kind IN (…))` constraint.
async fn constraint_kinds(app: &TestApp, name: &str) -> BTreeSet<String> {
    let definition: String = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1",
    )
    .bind(name)
    .fetch_one(app.db())
    .await
    .unwrap_or_else(|e| panic!("constraint {name}: {e}"));
    definition
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_database_constraints_list_exactly_the_catalog_kinds() {
    let app = TestApp::spawn().await;
    let catalog_kinds: BTreeSet<String> = CATALOG.iter().map(|s| s.kind.to_owned()).collect();
    assert_eq!(
        constraint_kinds(&app, "notification_intents_kind_check").await,
        catalog_kinds
    );
    let emailing: BTreeSet<String> = catalog::email_configurable()
        .map(|s| s.kind.to_owned())
        .collect();
    assert_eq!(
        constraint_kinds(&app, "notification_preferences_kind_check").await,
        emailing
    );
    let channels: BTreeSet<String> = Channel::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(
        constraint_kinds(&app, "notification_routes_channel_check").await,
        channels
    );
}
