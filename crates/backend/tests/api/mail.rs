//! The mail outbox against a real SMTP server over TCP (`galaxy-devstack`):
//! enqueue inside the producer's transaction, delivery with headers, body
//! and Message-ID, retries with backoff, dead letters, TLS, leases, two
//! workers on one database, the startup drain and the metrics.
//!
//! The app's own worker loop is switched off (`BACKEND_MAIL_WORKER_ENABLED`)
//! so each test drives the worker step itself; "time passes" is written as
//! SQL that makes a row due now.

use std::collections::BTreeSet;
use std::time::Duration;

use galaxy_backend::mail::{
    self, DeliveryId, Enqueued, Mail, MailError, MailSettings, Template, TickReport,
};
use galaxy_backend::telemetry::Metrics;
use galaxy_devstack::smtp::{Behaviour, SmtpServer, SmtpServerOptions, TlsMode};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::app::TestAppBuilder;

pub const FROM: &str = "galaxy@test.invalid";
pub const ROOT: &str = "root";
pub const ROOT_PASSWORD: &str = "root-password-0001";
const WAIT: Duration = Duration::from_secs(10);

/// An app whose SMTP settings point at `server`, with its worker loop off.
pub fn mail_app(server: &SmtpServer) -> TestAppBuilder {
    let builder = TestApp::builder()
        .var("BACKEND_SMTP_HOST", "127.0.0.1")
        .var("BACKEND_SMTP_PORT", server.port())
        .var("BACKEND_SMTP_FROM", FROM)
        .var("BACKEND_MAIL_WORKER_ENABLED", "false")
        .var("BACKEND_ADMIN_BOOTSTRAP_USER", ROOT)
        .var("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ROOT_PASSWORD);
    match server.tls_mode() {
        TlsMode::None => builder.var("BACKEND_SMTP_TLS_MODE", "none"),
        TlsMode::StartTls => builder.var("BACKEND_SMTP_TLS_MODE", "starttls"),
        TlsMode::Implicit => builder.var("BACKEND_SMTP_TLS_MODE", "tls"),
    }
}

pub async fn smtp_server() -> SmtpServer {
    SmtpServer::start(SmtpServerOptions::default())
        .await
        .expect("SMTP server starts")
}

pub fn mail(app: &TestApp) -> &Mail {
    &app.state.mail
}

/// Enqueues a login code in its own committed transaction.
pub async fn enqueue_login_code(app: &TestApp, to: &str, code: &str) -> DeliveryId {
    let mut tx = app.db().begin().await.expect("begin");
    let id = mail::enqueue_login_code(&mut tx, to, code, Duration::from_secs(600))
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    id
}

/// Enqueues `total` login codes to `pilot<n>@example.com` in one
/// committed transaction.
async fn enqueue_login_codes(app: &TestApp, total: usize) -> Vec<DeliveryId> {
    let mut tx = app.db().begin().await.unwrap();
    let mut ids = Vec::with_capacity(total);
    for n in 0..total {
        let id = mail::enqueue_login_code(
            &mut tx,
            &format!("pilot{n}@example.com"),
            &format!("{n:06}"),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    ids
}

pub async fn tick(app: &TestApp) -> TickReport {
    mail(app).worker().tick_report().await.expect("worker step")
}

/// Makes every unfinished delivery due now, as if its backoff had elapsed.
pub async fn make_due(app: &TestApp) {
    sqlx::query(
        "UPDATE mail_deliveries SET next_attempt_at = now() WHERE state IN ('pending', 'retrying')",
    )
    .execute(app.db())
    .await
    .expect("make due");
}

pub async fn state_of(app: &TestApp, id: DeliveryId) -> String {
    sqlx::query_scalar("SELECT state FROM mail_deliveries WHERE delivery_id = $1")
        .bind(id.0)
        .fetch_one(app.db())
        .await
        .expect("state")
}

/// `(attempt_no, outcome, smtp_code)` of every attempt, in order.
pub async fn attempts_of(app: &TestApp, id: DeliveryId) -> Vec<(i32, String, Option<i16>)> {
    sqlx::query_as("SELECT attempt_no, outcome, smtp_code FROM mail_attempts WHERE delivery_id = $1 ORDER BY attempt_no")
        .bind(id.0)
        .fetch_all(app.db())
        .await
        .expect("attempts")
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.db())
        .await
        .expect("count")
}

/// The Message-ID the relay sees for delivery `id` (the parser drops the `<>`).
pub fn message_id(id: DeliveryId) -> String {
    format!("{id}@test.invalid")
}

/// The Message-ID header of a received message.
pub fn received_id(m: &galaxy_devstack::smtp::ReceivedMessage) -> String {
    m.header("Message-ID")
        .expect("Message-ID")
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

#[tokio::test]
async fn an_enqueued_login_code_is_delivered_with_its_headers_body_and_message_id() {
    let server = smtp_server().await;
    let app = mail_app(&server).spawn().await;

    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;
    assert_eq!(state_of(&app, id).await, "pending");

    let report = tick(&app).await;
    assert_eq!((report.claimed, report.sent), (1, 1));

    let messages = server
        .wait_for_messages(1, WAIT)
        .await
        .expect("one message");
    let m = &messages[0];
    assert_eq!(m.from, FROM);
    assert_eq!(m.to, vec!["pilot@example.com"]);
    assert_eq!(m.subject().as_deref(), Some("Your Galaxy login code"));
    assert_eq!(received_id(m), message_id(id));
    assert!(m.header("Date").is_some());
    let body = m.body_text().expect("text body");
    assert!(body.contains("Your Galaxy login code is 424242"), "{body}");
    assert!(body.contains("expires in 10 minutes"), "{body}");
    assert!(!m.tls);

    assert_eq!(state_of(&app, id).await, "sent");
    assert_eq!(
        attempts_of(&app, id).await,
        vec![(1, "sent".to_owned(), None)]
    );
    let (lease, sent_at): (Option<Uuid>, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT lease_token, sent_at FROM mail_deliveries WHERE delivery_id = $1")
            .bind(id.0)
            .fetch_one(app.db())
            .await
            .unwrap();
    assert!(lease.is_none(), "the lease is released");
    assert!(sent_at.is_some());

    // Nothing is left to do.
    assert_eq!(tick(&app).await, TickReport::default());
}

#[tokio::test]
async fn enqueue_commits_and_rolls_back_with_the_producers_transaction() {
    let server = smtp_server().await;
    let app = mail_app(&server).spawn().await;

    let mut tx = app.db().begin().await.unwrap();
    mail::enqueue_login_code(
        &mut tx,
        "pilot@example.com",
        "111111",
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&app, "SELECT count(*) FROM mail_deliveries").await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM mail_payloads").await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM mail_recipients").await, 0);

    // Outside any transaction, enqueue commits on its own.
    let mut conn = app.db().acquire().await.unwrap();
    let id = mail::enqueue_login_code(
        &mut conn,
        "pilot@example.com",
        "222222",
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    drop(conn);
    assert_eq!(state_of(&app, id).await, "pending");
    assert_eq!(count(&app, "SELECT count(*) FROM mail_recipients").await, 1);
}

#[tokio::test]
async fn enqueueing_the_same_template_and_key_twice_yields_one_delivery() {
    let server = smtp_server().await;
    let app = mail_app(&server).spawn().await;
    let template = Template::LoginCode {
        code: "123456".into(),
        ttl: Duration::from_secs(300),
    };

    let mut tx = app.db().begin().await.unwrap();
    let first = mail::enqueue(&mut tx, "pilot@example.com", &template, "challenge-1")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = app.db().begin().await.unwrap();
    let second = mail::enqueue(&mut tx, "pilot@example.com", &template, "challenge-1")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert!(first.created);
    assert_eq!(
        second,
        Enqueued {
            delivery_id: first.delivery_id,
            created: false
        }
    );
    assert_eq!(count(&app, "SELECT count(*) FROM mail_deliveries").await, 1);
    assert_eq!(
        count(&app, "SELECT count(*) FROM mail_payloads").await,
        1,
        "the duplicate's payload is discarded"
    );

    // Another key is another delivery.
    let mut conn = app.db().acquire().await.unwrap();
    let third = mail::enqueue(&mut conn, "pilot@example.com", &template, "challenge-2")
        .await
        .unwrap();
    assert!(third.created);
    assert_ne!(third.delivery_id, first.delivery_id);
}

#[tokio::test]
async fn an_invalid_recipient_is_refused_at_enqueue() {
    let server = smtp_server().await;
    let app = mail_app(&server).spawn().await;
    let mut conn = app.db().acquire().await.unwrap();
    let err = mail::enqueue_login_code(&mut conn, "not an address", "1", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::InvalidRecipient), "{err:?}");
    assert!(
        !err.to_string().contains("not an address"),
        "the address stays out of the error"
    );
    drop(conn);
    assert_eq!(count(&app, "SELECT count(*) FROM mail_deliveries").await, 0);
}

#[tokio::test]
async fn a_4xx_reply_is_retried_with_backoff_and_then_succeeds() {
    let server = SmtpServer::start(
        SmtpServerOptions::default().with_behaviour(Behaviour::TransientRejectTimes(1)),
    )
    .await
    .unwrap();
    let app = mail_app(&server)
        .var("BACKEND_MAIL_RETRY_BASE", "60s")
        .spawn()
        .await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;

    let report = tick(&app).await;
    assert_eq!((report.claimed, report.retrying), (1, 1));
    assert_eq!(state_of(&app, id).await, "retrying");
    assert_eq!(
        attempts_of(&app, id).await,
        vec![(1, "transient_failure".to_owned(), Some(451))]
    );
    // First retry waits base/2 … base (jitter): between 30 s and 60 s from now.
    let wait: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM mail_deliveries WHERE delivery_id = $1",
    )
    .bind(id.0)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert!((29.0..=60.5).contains(&wait), "next attempt in {wait} s");
    let last_error: Option<String> =
        sqlx::query_scalar("SELECT last_error FROM mail_deliveries WHERE delivery_id = $1")
            .bind(id.0)
            .fetch_one(app.db())
            .await
            .unwrap();
    assert!(last_error.is_some_and(|e| e.contains("451")));

    // Not due yet: the worker leaves it alone.
    assert_eq!(tick(&app).await.claimed, 0);

    make_due(&app).await;
    let report = tick(&app).await;
    assert_eq!(report.sent, 1);
    assert_eq!(state_of(&app, id).await, "sent");
    assert_eq!(
        attempts_of(&app, id).await,
        vec![
            (1, "transient_failure".to_owned(), Some(451)),
            (2, "sent".to_owned(), None)
        ]
    );
    let messages = server.wait_for_messages(1, WAIT).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(received_id(&messages[0]), message_id(id));
}

#[tokio::test]
async fn a_dropped_connection_is_a_transient_failure() {
    let server = SmtpServer::start(
        SmtpServerOptions::default().with_behaviour(Behaviour::DropConnectionTimes(1)),
    )
    .await
    .unwrap();
    let app = mail_app(&server).spawn().await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;

    assert_eq!(tick(&app).await.retrying, 1);
    let attempts = attempts_of(&app, id).await;
    assert_eq!(attempts, vec![(1, "transient_failure".to_owned(), None)]);

    make_due(&app).await;
    assert_eq!(tick(&app).await.sent, 1);
    assert_eq!(server.wait_for_messages(1, WAIT).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_5xx_reply_dead_letters_at_once_without_a_retry() {
    let server =
        SmtpServer::start(SmtpServerOptions::default().with_behaviour(Behaviour::PermanentReject))
            .await
            .unwrap();
    let app = mail_app(&server).spawn().await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;

    let report = tick(&app).await;
    assert_eq!((report.claimed, report.dead_lettered), (1, 1));
    assert_eq!(state_of(&app, id).await, "dead_lettered");
    assert_eq!(
        attempts_of(&app, id).await,
        vec![(1, "permanent_failure".to_owned(), Some(550))]
    );
    let (reason, attempt_count, last_error): (String, i32, Option<String>) = sqlx::query_as(
        "SELECT reason, attempt_count, last_error FROM mail_dead_letters WHERE delivery_id = $1",
    )
    .bind(id.0)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!((reason.as_str(), attempt_count), ("permanent_failure", 1));
    let last_error = last_error.unwrap();
    assert!(last_error.contains("550"), "{last_error}");
    assert!(
        !last_error.contains("pilot@example.com"),
        "addresses are redacted: {last_error}"
    );

    // Never retried, however long we wait.
    make_due(&app).await;
    sqlx::query("UPDATE mail_deliveries SET next_attempt_at = now() - interval '1 day'")
        .execute(app.db())
        .await
        .unwrap();
    assert_eq!(tick(&app).await.claimed, 0);
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn running_out_of_attempts_dead_letters_the_delivery() {
    let server = SmtpServer::start(SmtpServerOptions::default().with_behaviour(Behaviour::Down))
        .await
        .unwrap();
    let app = mail_app(&server)
        .var("BACKEND_MAIL_MAX_ATTEMPTS", "3")
        .spawn()
        .await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;

    for attempt in 1..=3 {
        let report = tick(&app).await;
        assert_eq!(report.claimed, 1, "attempt {attempt}");
        make_due(&app).await;
    }
    assert_eq!(state_of(&app, id).await, "dead_lettered");
    let attempts = attempts_of(&app, id).await;
    assert_eq!(
        attempts.iter().map(|a| a.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(
        attempts.iter().all(|a| a.1 == "transient_failure"),
        "{attempts:?}"
    );
    let reason: String =
        sqlx::query_scalar("SELECT reason FROM mail_dead_letters WHERE delivery_id = $1")
            .bind(id.0)
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(reason, "max_attempts");
    assert_eq!(
        tick(&app).await.claimed,
        0,
        "a dead letter is not picked up again"
    );
}

async fn tls_round_trip(mode: TlsMode) {
    let server = SmtpServer::start(SmtpServerOptions::default().with_tls(mode))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("relay-ca.pem");
    std::fs::write(&ca, server.certificate_pem().unwrap()).unwrap();
    let app = mail_app(&server)
        .var("BACKEND_SMTP_CA_FILE", ca.display())
        .spawn()
        .await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;

    let report = tick(&app).await;
    assert_eq!(report.sent, 1, "{:?}", attempts_of(&app, id).await);
    let messages = server.wait_for_messages(1, WAIT).await.unwrap();
    assert!(messages[0].tls, "the message travelled over TLS");
    assert_eq!(received_id(&messages[0]), message_id(id));
}

#[tokio::test]
async fn starttls_works_with_the_relays_self_signed_certificate() {
    tls_round_trip(TlsMode::StartTls).await;
}

#[tokio::test]
async fn implicit_tls_works_with_the_relays_self_signed_certificate() {
    tls_round_trip(TlsMode::Implicit).await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_transient_failure() {
    let server = SmtpServer::start(SmtpServerOptions::default().with_tls(TlsMode::StartTls))
        .await
        .unwrap();
    // No BACKEND_SMTP_CA_FILE: the self-signed certificate is not trusted.
    let app = mail_app(&server).spawn().await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;
    assert_eq!(tick(&app).await.retrying, 1);
    assert_eq!(attempts_of(&app, id).await[0].1, "transient_failure");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn smtp_auth_credentials_are_used() {
    let server =
        SmtpServer::start(SmtpServerOptions::default().with_credentials("galaxy", "relay-secret"))
            .await
            .unwrap();
    let app = mail_app(&server)
        .var("BACKEND_SMTP_USERNAME", "galaxy")
        .var("BACKEND_SMTP_PASSWORD", "relay-secret")
        .spawn()
        .await;
    enqueue_login_code(&app, "pilot@example.com", "424242").await;
    assert_eq!(tick(&app).await.sent, 1);
    let messages = server.wait_for_messages(1, WAIT).await.unwrap();
    assert_eq!(messages[0].authenticated_as.as_deref(), Some("galaxy"));
}

/// A second outbox on the app's database, as another process would have.
fn second_process(app: &TestApp, tweak: impl FnOnce(&mut MailSettings)) -> Mail {
    let mut settings = mail(app).settings().clone();
    tweak(&mut settings);
    Mail::new(app.db().clone(), settings, &Metrics::noop()).expect("second outbox")
}

#[tokio::test]
async fn two_worker_loops_on_one_database_never_send_the_same_delivery_twice() {
    let server = smtp_server().await;
    let app = mail_app(&server)
        .var("BACKEND_MAIL_BATCH_SIZE", "7")
        .spawn()
        .await;
    let total = 120;
    let ids: BTreeSet<DeliveryId> = enqueue_login_codes(&app, total).await.into_iter().collect();

    let other = second_process(&app, |_| {});
    let run = |outbox: Mail| {
        tokio::spawn(async move {
            let worker = outbox.worker();
            let mut sent = 0;
            // Step until a step finds nothing due (no sleeping).
            loop {
                let report = worker.tick_report().await.expect("step");
                if report.claimed == 0 {
                    return sent;
                }
                sent += report.sent;
            }
        })
    };
    let (a, b) = tokio::join!(run(mail(&app).clone()), run(other));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a + b, total, "every delivery sent once ({a} + {b})");
    assert!(a > 0 && b > 0, "both workers took part ({a}, {b})");

    let messages = server.wait_for_messages(total, WAIT).await.unwrap();
    assert_eq!(messages.len(), total, "no duplicates reached the relay");
    let message_ids: BTreeSet<String> = messages.iter().map(received_id).collect();
    let expected: BTreeSet<String> = ids.iter().map(|id| message_id(*id)).collect();
    assert_eq!(message_ids, expected);
    assert_eq!(
        count(&app, "SELECT count(*) FROM mail_attempts").await,
        total as i64
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM mail_deliveries WHERE state = 'sent'"
        )
        .await,
        total as i64
    );
}

#[tokio::test]
async fn a_worker_killed_after_claiming_leaves_the_delivery_to_be_retried_after_the_lease() {
    let server = smtp_server().await;
    let app = mail_app(&server)
        .var("BACKEND_MAIL_LEASE", "2m")
        .spawn()
        .await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;

    // Worker A claims the delivery, then "dies" before sending.
    let dead = second_process(&app, |_| {});
    let claim = dead.worker().claim().await.unwrap();
    assert_eq!(claim.deliveries.len(), 1);
    let (lease_until, next_attempt_at, state): (
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        String,
    ) = sqlx::query_as(
        "SELECT lease_until, next_attempt_at, state FROM mail_deliveries WHERE delivery_id = $1",
    )
    .bind(id.0)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(
        lease_until, next_attempt_at,
        "the row is due again exactly when the lease expires"
    );
    assert_eq!(state, "pending");
    let remaining = (lease_until - chrono::Utc::now()).num_seconds();
    assert!(
        (100..=120).contains(&remaining),
        "lease of 2m, {remaining} s left"
    );

    // While the lease holds, nobody else takes it.
    assert_eq!(tick(&app).await.claimed, 0);

    // The lease runs out.
    sqlx::query("UPDATE mail_deliveries SET next_attempt_at = now(), lease_until = now() WHERE delivery_id = $1")
        .bind(id.0)
        .execute(app.db())
        .await
        .unwrap();
    let report = tick(&app).await;
    assert_eq!((report.claimed, report.sent), (1, 1));
    assert_eq!(state_of(&app, id).await, "sent");
    assert_eq!(
        attempts_of(&app, id).await,
        vec![(1, "sent".to_owned(), None)]
    );

    // If worker A was only slow, not dead, its late result changes nothing;
    // the copy it sends carries the same Message-ID for the receiver to drop.
    let late = dead.worker().deliver(claim).await.unwrap();
    assert_eq!((late.lease_lost, late.sent), (1, 0));
    assert_eq!(attempts_of(&app, id).await.len(), 1);
    let messages = server.wait_for_messages(2, WAIT).await.unwrap();
    let ids: Vec<String> = messages.iter().map(received_id).collect();
    assert_eq!(ids, vec![message_id(id), message_id(id)]);
}

#[tokio::test]
async fn a_killed_workers_deliveries_go_out_once_its_short_lease_runs_out() {
    let server = smtp_server().await;
    let app = mail_app(&server)
        .var("BACKEND_MAIL_LEASE", "2s")
        .spawn()
        .await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;

    // Worker A claims the delivery and is killed: nothing renews its lease.
    let dead = second_process(&app, |_| {});
    assert_eq!(dead.worker().claim().await.unwrap().deliveries.len(), 1);
    let lease_left: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM lease_until - now())::float8 FROM mail_deliveries WHERE delivery_id = $1",
    )
    .bind(id.0)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert!(lease_left <= 2.0, "a short lease: {lease_left} s left");

    // The next worker steps find it again as soon as the lease has run out
    // (not minutes later), without anyone touching the row.
    let sent = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if tick(&app).await.sent == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(sent.is_ok(), "the delivery was taken over");
    assert_eq!(state_of(&app, id).await, "sent");
    let messages = server.wait_for_messages(1, WAIT).await.unwrap();
    assert_eq!(received_id(&messages[0]), message_id(id));
}

/// What a crash could send twice is what the relay accepted but the outbox
/// has not recorded as sent. A send keeps its slot until its answer is
/// written, so that is never more than `BACKEND_MAIL_SEND_CONCURRENCY`
/// mails. Checked while a step drains: the set of messages the relay holds
/// is read first, their states after (states only move on to `sent`, so
/// the check can only be kinder than the moment it stands for, never flaky).
#[tokio::test]
async fn no_more_mails_than_the_send_concurrency_are_ever_accepted_but_unrecorded() {
    let server = smtp_server().await;
    let concurrency: i64 = 2;
    let app = mail_app(&server)
        .var("BACKEND_MAIL_BATCH_SIZE", "60")
        .var("BACKEND_MAIL_SEND_CONCURRENCY", concurrency.to_string())
        .spawn()
        .await;
    let total = 60;
    enqueue_login_codes(&app, total).await;

    let outbox = mail(&app).clone();
    let step = tokio::spawn(async move { outbox.worker().tick_report().await.expect("step") });
    let mut samples = 0;
    let mut worst = 0;
    while !step.is_finished() {
        let received: Vec<Uuid> = server
            .messages()
            .iter()
            .map(|m| {
                received_id(m)
                    .trim_end_matches("@test.invalid")
                    .parse()
                    .unwrap()
            })
            .collect();
        let unrecorded: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM mail_deliveries WHERE delivery_id = ANY($1) AND state <> 'sent'",
        )
        .bind(&received)
        .fetch_one(app.db())
        .await
        .unwrap();
        worst = worst.max(unrecorded);
        samples += 1;
    }
    assert_eq!(step.await.unwrap().sent, total);
    assert!(samples > 0);
    assert!(
        worst <= concurrency,
        "{worst} mails were accepted by the relay but not recorded (send concurrency {concurrency}, {samples} samples)"
    );
}

#[tokio::test]
async fn startup_drains_pending_and_retrying_deliveries() {
    let server = smtp_server().await;
    let db = {
        let app = mail_app(&server).spawn().await;
        let pending = enqueue_login_code(&app, "pilot1@example.com", "111111").await;
        let retrying = enqueue_login_code(&app, "pilot2@example.com", "222222").await;
        sqlx::query("UPDATE mail_deliveries SET state = 'retrying', cycle_attempts = 1, attempt_count = 1 WHERE delivery_id = $1")
            .bind(retrying.0)
            .execute(app.db())
            .await
            .unwrap();
        assert_ne!(pending, retrying);
        app.into_database().await
    };

    // A restart with the worker loop on: nobody calls the step.
    let app: TestApp = mail_app(&server)
        .var("BACKEND_MAIL_WORKER_ENABLED", "true")
        .var("BACKEND_MAIL_WORKER_INTERVAL", "1h")
        .database(db)
        .spawn()
        .await;
    let messages = server
        .wait_for_messages(2, WAIT)
        .await
        .expect("both delivered at startup");
    let mut codes: Vec<bool> = vec![
        messages
            .iter()
            .any(|m| m.body_text().unwrap_or_default().contains("111111")),
        messages
            .iter()
            .any(|m| m.body_text().unwrap_or_default().contains("222222")),
    ];
    codes.dedup();
    assert_eq!(codes, vec![true]);
    // The attempts are recorded just after the relay accepted the messages.
    for _ in 0..200 {
        if count(
            &app,
            "SELECT count(*) FROM mail_deliveries WHERE state = 'sent'",
        )
        .await
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM mail_deliveries WHERE state = 'sent'"
        )
        .await,
        2
    );
    let retried: Vec<(i32, String, Option<i16>)> = sqlx::query_as(
        "SELECT a.attempt_no, a.outcome, a.smtp_code FROM mail_attempts a
         JOIN mail_recipients r USING (delivery_id) WHERE r.address = 'pilot2@example.com'",
    )
    .fetch_all(app.db())
    .await
    .unwrap();
    assert_eq!(
        retried,
        vec![(2, "sent".to_owned(), None)],
        "the attempt counter continues"
    );
}

/// The value of the sample of `name` whose labels contain every `labels` pair.
pub fn sample(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            if metric != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            all.then(|| value.parse().ok()).flatten()
        })
}

#[tokio::test]
async fn metrics_count_attempts_dead_letters_and_the_outbox_depth() {
    let server = SmtpServer::start(
        SmtpServerOptions::default().with_behaviour(Behaviour::TransientRejectTimes(1)),
    )
    .await
    .unwrap();
    let app = mail_app(&server).spawn().await;
    let first = enqueue_login_code(&app, "pilot1@example.com", "111111").await;
    assert_eq!(tick(&app).await.retrying, 1);
    make_due(&app).await;
    assert_eq!(tick(&app).await.sent, 1);
    server
        .set_behaviour(Behaviour::PermanentReject)
        .await
        .unwrap();
    let second = enqueue_login_code(&app, "pilot2@example.com", "222222").await;
    enqueue_login_code(&app, "pilot3@example.com", "333333").await;
    sqlx::query("UPDATE mail_deliveries SET next_attempt_at = now() + interval '1 hour' WHERE delivery_id NOT IN ($1, $2)")
        .bind(first.0)
        .bind(second.0)
        .execute(app.db())
        .await
        .unwrap();
    assert_eq!(tick(&app).await.dead_lettered, 1);
    // An idle step refreshes the depth at once.
    assert_eq!(tick(&app).await.claimed, 0);

    let scrape = app.scrape_metrics().await;
    let get = |name: &str, labels: &[(&str, &str)]| {
        sample(&scrape, name, labels).unwrap_or_else(|| panic!("no {name}{labels:?} in\n{scrape}"))
    };
    assert_eq!(get("mail_attempts_total", &[("outcome", "sent")]), 1.0);
    assert_eq!(
        get("mail_attempts_total", &[("outcome", "transient_failure")]),
        1.0
    );
    assert_eq!(
        get("mail_attempts_total", &[("outcome", "permanent_failure")]),
        1.0
    );
    assert_eq!(get("mail_dead_letters_total", &[]), 1.0);
    assert_eq!(get("mail_outbox_depth", &[("state", "pending")]), 1.0);
    assert_eq!(get("mail_outbox_depth", &[("state", "retrying")]), 0.0);
    assert_eq!(get("mail_outbox_depth", &[("state", "dead_lettered")]), 1.0);
}
