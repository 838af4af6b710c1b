//! Login by email code, end to end over HTTP, with the codes read from the
//! real SMTP server (`galaxy-devstack`): registration and a second device,
//! expiry, burning, single use, the hourly cap across challenges, the
//! request throttle, enumeration resistance, placeholder user-name
//! collisions and input validation.
//!
//! The app's mail worker loop is off; [`read_code`] runs the worker step
//! and takes the code out of the delivered message.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use galaxy_devstack::smtp::SmtpServer;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::app::TestAppBuilder;
use crate::mail::{mail_app, smtp_server, tick};

pub const CHALLENGES: &str = "/api/v1/public/auth/challenges";

/// An app whose mail goes to `server` (worker loop off).
pub fn identity_app(server: &SmtpServer) -> TestAppBuilder {
    mail_app(server)
}

pub fn confirm_path(challenge_id: &str) -> String {
    format!("{CHALLENGES}/{challenge_id}/confirm")
}

/// Base64 of a valid Ed25519 public key derived from `seed`.
pub fn device_key(seed: u8) -> String {
    let signing = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    base64::engine::general_purpose::STANDARD.encode(signing.verifying_key().as_bytes())
}

/// Requests a code; returns the challenge id (asserting 202).
pub async fn request_code(app: &TestApp, email: &str) -> String {
    let r = app
        .api
        .post(CHALLENGES)
        .json(json!({ "email": email }))
        .send()
        .await;
    r.assert_status(202);
    r.value()["challenge_id"].as_str().unwrap().to_owned()
}

/// Delivers pending mail and returns the newest code mailed to `email`.
pub async fn read_code(app: &TestApp, server: &SmtpServer, email: &str) -> String {
    tick(app).await;
    let messages = server.messages();
    let message = messages
        .iter()
        .rev()
        .find(|m| m.to.iter().any(|to| to.eq_ignore_ascii_case(email.trim())))
        .unwrap_or_else(|| panic!("no mail to {email}"));
    let body = message.body_text().expect("text body");
    let at = body.find("login code is ").expect("code line") + "login code is ".len();
    let code = &body[at..at + 6];
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "code {code:?}");
    code.to_owned()
}

/// Confirms with a valid device body.
pub async fn confirm(
    app: &TestApp,
    challenge_id: &str,
    code: &str,
    key_seed: u8,
    forwarded_for: Option<&str>,
) -> crate::helpers::client::TestResponse {
    let mut call = app.api.post(&confirm_path(challenge_id)).json(json!({
        "code": code,
        "public_key": device_key(key_seed),
        "device_name": format!("device {key_seed}"),
        "platform": "test",
    }));
    if let Some(xff) = forwarded_for {
        call = call.header("x-forwarded-for", xff);
    }
    call.send().await
}

/// A full login: request, read the mail, confirm (200 or 201).
pub struct LoggedIn {
    pub user_id: Uuid,
    pub device_session_id: Uuid,
    pub account_created: bool,
}

pub async fn login(
    app: &TestApp,
    server: &SmtpServer,
    email: &str,
    key_seed: u8,
    forwarded_for: Option<&str>,
) -> LoggedIn {
    let challenge = request_code(app, email).await;
    let code = read_code(app, server, email).await;
    let r = confirm(app, &challenge, &code, key_seed, forwarded_for).await;
    assert!(
        r.status == 200 || r.status == 201,
        "login failed: {}",
        r.text()
    );
    let v = r.value();
    LoggedIn {
        user_id: v["user_id"].as_str().unwrap().parse().unwrap(),
        device_session_id: v["device_session_id"].as_str().unwrap().parse().unwrap(),
        account_created: v["account_created"].as_bool().unwrap(),
    }
}

fn wrong(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

#[tokio::test]
async fn registering_then_logging_in_on_a_second_device_reuses_the_account() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;

    let first = login(&app, &server, "Pilot@Example.com", 1, None).await;
    assert!(first.account_created);
    let (email, user_name): (String, String) =
        sqlx::query_as("SELECT email, user_name FROM accounts WHERE user_id = $1")
            .bind(first.user_id)
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(email, "pilot@example.com", "stored normalised");
    assert!(user_name.starts_with("player-"), "{user_name}");

    let challenge = request_code(&app, "pilot@example.com").await;
    let code = read_code(&app, &server, "pilot@example.com").await;
    let r = confirm(&app, &challenge, &code, 2, None).await;
    r.assert_status(200);
    let second = r.value();
    assert_eq!(second["user_id"], first.user_id.to_string());
    assert_eq!(second["account_created"], false);
    assert_ne!(
        second["device_session_id"],
        first.device_session_id.to_string()
    );

    let sessions = app
        .api
        .get("/api/v1/user/sessions")
        .user(first.user_id)
        .send()
        .await;
    sessions.assert_status(200);
    assert_eq!(sessions.value()["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_code_works_only_once() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let challenge = request_code(&app, "once@example.com").await;
    let code = read_code(&app, &server, "once@example.com").await;
    confirm(&app, &challenge, &code, 1, None)
        .await
        .assert_status(201);
    let again = confirm(&app, &challenge, &code, 2, None).await;
    again.assert_status(409);
    assert_eq!(again.error_code(), "challenge_consumed");
}

#[tokio::test]
async fn an_expired_challenge_is_refused() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let challenge = request_code(&app, "late@example.com").await;
    let code = read_code(&app, &server, "late@example.com").await;
    sqlx::query("UPDATE auth_challenges SET expires_at = now() - interval '1 second'")
        .execute(app.db())
        .await
        .unwrap();
    let r = confirm(&app, &challenge, &code, 1, None).await;
    r.assert_status(410);
    assert_eq!(r.error_code(), "challenge_expired");
}

#[tokio::test]
async fn five_wrong_codes_burn_the_challenge() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let challenge = request_code(&app, "guess@example.com").await;
    let code = read_code(&app, &server, "guess@example.com").await;
    for left in (0..5).rev() {
        let r = confirm(&app, &challenge, &wrong(&code), 1, None).await;
        r.assert_status(400);
        assert_eq!(r.error_code(), "wrong_code");
        assert_eq!(r.value()["error"]["details"]["attempts_left"], left);
    }
    let r = confirm(&app, &challenge, &code, 1, None).await;
    r.assert_status(410);
    assert_eq!(r.error_code(), "challenge_burned");
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(accounts, 0);
}

#[tokio::test]
async fn failed_confirmations_are_capped_per_address_across_challenges() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let email = "many@example.com";
    let first = request_code(&app, email).await;
    // 99 failures earlier this hour, spread over the address's challenges.
    sqlx::query(
        "INSERT INTO auth_failed_confirmations (email, challenge_id, failed_at)
         SELECT $1, $2, now() - interval '30 minutes' FROM generate_series(1, 99)",
    )
    .bind(email)
    .bind(Uuid::parse_str(&first).unwrap())
    .execute(app.db())
    .await
    .unwrap();
    // The 100th failure is still a plain wrong code.
    let code = read_code(&app, &server, email).await;
    confirm(&app, &first, &wrong(&code), 1, None)
        .await
        .assert_status(400);

    // A fresh challenge with the right code is refused too: opening more
    // challenges does not buy more guesses.
    let second = request_code(&app, email).await;
    let code = read_code(&app, &server, email).await;
    let r = confirm(&app, &second, &code, 1, None).await;
    r.assert_status(429);
    assert_eq!(r.error_code(), "too_many_attempts");
    let retry_after: u64 = r.header("retry-after").unwrap().parse().unwrap();
    // The oldest failure leaves the window in about 30 minutes.
    assert!((1700..=1800).contains(&retry_after), "{retry_after}");
    assert_eq!(
        r.value()["error"]["details"]["retry_after_seconds"],
        retry_after
    );

    // Another address is unaffected.
    let other = login(&app, &server, "other@example.com", 2, None).await;
    assert!(other.account_created);
}

#[tokio::test]
async fn throttled_requests_reuse_the_newest_challenge_without_more_mail() {
    let server = smtp_server().await;
    let app = identity_app(&server)
        .var("BACKEND_AUTH_CHALLENGE_THROTTLE_MAX", "2")
        .spawn()
        .await;
    let email = "busy@example.com";
    let a = request_code(&app, email).await;
    let b = request_code(&app, email).await;
    assert_ne!(a, b);
    let c = request_code(&app, email).await;
    let d = request_code(&app, email).await;
    assert_eq!(c, b, "the newest open challenge comes back");
    assert_eq!(d, b);
    tick(&app).await;
    assert_eq!(server.messages().len(), 2, "no mail for reused challenges");
    let challenges: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_challenges")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(challenges, 2);
    // The code mailed for the reused challenge still works.
    let code = read_code(&app, &server, email).await;
    confirm(&app, &b, &code, 1, None).await.assert_status(201);
    // Consumed challenges still count within the window (each was a mail):
    // no new one; the newest open one (the first) comes back.
    let e = request_code(&app, email).await;
    assert_eq!(e, a);
}

#[tokio::test]
async fn known_and_unknown_addresses_get_identical_answers() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    login(&app, &server, "known@example.com", 1, None).await;

    let ask = |email: &'static str| {
        let app = &app;
        async move {
            app.api
                .post(CHALLENGES)
                .json(json!({ "email": email }))
                .send()
                .await
        }
    };
    let known = ask("known@example.com").await;
    let unknown = ask("unknown@example.com").await;
    assert_eq!(known.status, 202);
    assert_eq!(known.status, unknown.status);
    let names = |r: &crate::helpers::client::TestResponse| -> BTreeSet<String> {
        r.headers.keys().map(|k| k.as_str().to_owned()).collect()
    };
    assert_eq!(names(&known), names(&unknown));
    for header in ["content-type", "content-length"] {
        assert_eq!(known.header(header), unknown.header(header), "{header}");
    }
    let keys = |v: Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(known.value()), keys(unknown.value()));
    // Both addresses are mailed a code.
    tick(&app).await;
    assert!(
        server
            .messages()
            .iter()
            .any(|m| m.to == ["unknown@example.com"])
    );
}

#[tokio::test]
async fn a_deleted_accounts_address_gets_a_code_but_cannot_log_in() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let gone = login(&app, &server, "gone@example.com", 1, None).await;
    sqlx::query("UPDATE accounts SET deleted_at = now() WHERE user_id = $1")
        .bind(gone.user_id)
        .execute(app.db())
        .await
        .unwrap();
    let challenge = request_code(&app, "gone@example.com").await;
    let code = read_code(&app, &server, "gone@example.com").await;
    let r = confirm(&app, &challenge, &code, 2, None).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "account_deleted");
}

#[tokio::test]
async fn placeholder_user_name_collisions_are_retried() {
    let server = smtp_server().await;
    let app = identity_app(&server)
        .var("BACKEND_AUTH_USERNAME_MAX_RETRIES", "3")
        .spawn()
        .await;
    for n in 0..3 {
        sqlx::query("INSERT INTO accounts (user_id, email, user_name) VALUES ($1, $2, $3)")
            .bind(Uuid::new_v4())
            .bind(format!("seed{n}@example.com"))
            .bind(format!("Player-Taken-{n}"))
            .execute(app.db())
            .await
            .unwrap();
    }
    app.state
        .auth
        .set_user_name_generator(Arc::new(|n| format!("player-taken-{n}")));
    let fresh = login(&app, &server, "fresh@example.com", 1, None).await;
    let name: String = sqlx::query_scalar("SELECT user_name FROM accounts WHERE user_id = $1")
        .bind(fresh.user_id)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(
        name, "player-taken-3",
        "three case-insensitive collisions, then a free name"
    );

    // With every name of the budget taken, registration fails cleanly and
    // the code stays usable (nothing was committed).
    app.state
        .auth
        .set_user_name_generator(Arc::new(|n| format!("player-taken-{}", n % 4)));
    let challenge = request_code(&app, "unlucky@example.com").await;
    let code = read_code(&app, &server, "unlucky@example.com").await;
    let r = confirm(&app, &challenge, &code, 2, None).await;
    r.assert_status(500);
    assert_eq!(r.error_code(), "internal");
    app.state
        .auth
        .set_user_name_generator(Arc::new(|_| "player-lucky".to_owned()));
    confirm(&app, &challenge, &code, 2, None)
        .await
        .assert_status(201);
}

#[tokio::test]
async fn malformed_emails_keys_and_devices_are_refused() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    for email in [
        "",
        "no-at-sign",
        "a@b",
        "two@@example.com",
        "sp ace@example.com",
    ] {
        let r = app
            .api
            .post(CHALLENGES)
            .json(json!({ "email": email }))
            .send()
            .await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_email", "{email:?}");
    }

    let challenge = request_code(&app, "keys@example.com").await;
    let code = read_code(&app, &server, "keys@example.com").await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    for key in [
        "not base64 at all".to_owned(),
        b64(&[9u8; 31]),
        b64(&[9u8; 33]),
        b64(&identity),
    ] {
        let r = app
            .api
            .post(&confirm_path(&challenge))
            .json(json!({ "code": code, "public_key": key, "device_name": "d", "platform": "p" }))
            .send()
            .await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_public_key", "{key}");
    }
    let r = app
        .api
        .post(&confirm_path(&challenge))
        .json(json!({ "code": code, "public_key": device_key(1), "device_name": "", "platform": "p" }))
        .send()
        .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_device");
    // None of that counted against the challenge.
    confirm(&app, &challenge, &code, 1, None)
        .await
        .assert_status(201);

    let r = confirm(&app, &Uuid::new_v4().to_string(), "123456", 1, None).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "challenge_not_found");
}

#[tokio::test]
async fn a_login_ban_refuses_confirm_and_consumes_the_code() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let me = login(&app, &server, "banned@example.com", 1, None).await;
    crate::sanctions::apply(
        &app,
        me.user_id,
        json!({ "kind": "login_ban", "reason": "spam" }),
    )
    .await
    .assert_status(201);
    app.api
        .get(&format!(
            "/api/v1/internal/device-sessions/{}",
            me.device_session_id
        ))
        .send()
        .await
        .assert_status(404);

    let challenge = request_code(&app, "banned@example.com").await;
    let code = read_code(&app, &server, "banned@example.com").await;
    let r = confirm(&app, &challenge, &code, 2, None).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "login_banned");
    assert_eq!(r.value()["error"]["details"]["expires_at"], Value::Null);
    let again = confirm(&app, &challenge, &code, 2, None).await;
    again.assert_status(409);
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM device_sessions WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(me.user_id)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(active, 0);
}

#[tokio::test]
async fn old_challenges_and_failures_are_pruned() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let old = request_code(&app, "old@example.com").await;
    let fresh = request_code(&app, "fresh@example.com").await;
    let code = read_code(&app, &server, "fresh@example.com").await;
    confirm(&app, &fresh, &wrong(&code), 1, None)
        .await
        .assert_status(400);
    sqlx::query(
        "UPDATE auth_challenges SET expires_at = now() - interval '25 hours' WHERE id = $1",
    )
    .bind(Uuid::parse_str(&old).unwrap())
    .execute(app.db())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO auth_failed_confirmations (email, challenge_id, failed_at)
         VALUES ('fresh@example.com', $1, now() - interval '2 hours')",
    )
    .bind(Uuid::parse_str(&fresh).unwrap())
    .execute(app.db())
    .await
    .unwrap();

    app.state.auth.prune().await.unwrap();
    let challenges: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM auth_challenges")
        .fetch_all(app.db())
        .await
        .unwrap();
    assert_eq!(challenges, vec![Uuid::parse_str(&fresh).unwrap()]);
    let failures: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_failed_confirmations")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(failures, 1, "the failure within the hour stays");
}
