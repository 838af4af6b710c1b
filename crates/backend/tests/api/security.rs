//! Regression tests of the security review (issue 14), each reproducing a
//! finding through the real app, PostgreSQL and the devstack SMTP server:
//! sessions that end, canonical device keys, the admin sign-in record,
//! duplicated preference kinds. (Two instances on one database are
//! tested in `cluster_*.rs`.)

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use galaxy_backend::session::{OnSessionsRevoked, RevocationReason, SessionsRevoked};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{confirm_path, identity_app, login, request_code};
use crate::helpers::TestApp;
use crate::helpers::client::TestResponse;
use crate::mail::{ROOT, ROOT_PASSWORD, smtp_server};

fn lookup_path(id: Uuid) -> String {
    format!("/api/v1/internal/device-sessions/{id}")
}

fn record_events() -> (Arc<dyn OnSessionsRevoked>, Arc<Mutex<Vec<SessionsRevoked>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let listener = move |e: &SessionsRevoked| sink.lock().unwrap().push(e.clone());
    (Arc::new(listener), seen)
}

async fn backdate(app: &TestApp, session: Uuid, column: &str, days: i32) {
    let sql = match column {
        "created_at" => {
            "UPDATE device_sessions SET created_at = now() - make_interval(days => $2) WHERE id = $1"
        }
        _ => {
            "UPDATE device_sessions SET last_seen_at = now() - make_interval(days => $2) WHERE id = $1"
        }
    };
    sqlx::query(sql)
        .bind(session)
        .bind(days)
        .execute(app.db())
        .await
        .unwrap();
}

async fn revoke_reason(app: &TestApp, session: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT revoke_reason FROM device_sessions WHERE id = $1")
        .bind(session)
        .fetch_one(app.db())
        .await
        .unwrap()
}

/// §4: sessions past the absolute lifetime or the idle timeout end at the
/// pruning step: revoked as `expired`, gone from the lookup, announced.
#[tokio::test]
async fn sessions_past_their_lifetime_or_idle_timeout_expire_and_are_announced() {
    let server = smtp_server().await;
    let (listener, events) = record_events();
    let app = identity_app(&server)
        .on_sessions_revoked(listener)
        .spawn()
        .await;
    let old = login(&app, &server, "old@example.com", 1, None).await;
    let idle = login(&app, &server, "idle@example.com", 2, None).await;
    let fresh = login(&app, &server, "fresh@example.com", 3, None).await;
    backdate(&app, old.device_session_id, "created_at", 366).await;
    backdate(&app, old.device_session_id, "last_seen_at", 1).await;
    backdate(&app, idle.device_session_id, "last_seen_at", 31).await;
    events.lock().unwrap().clear();

    app.state.auth.prune().await.unwrap();

    for gone in [&old, &idle] {
        let r = app
            .api
            .get(&lookup_path(gone.device_session_id))
            .send()
            .await;
        r.assert_status(404);
        assert_eq!(r.error_code(), "device_session_not_found");
        assert_eq!(
            revoke_reason(&app, gone.device_session_id).await.as_deref(),
            Some("expired")
        );
    }
    app.api
        .get(&lookup_path(fresh.device_session_id))
        .send()
        .await
        .assert_status(200);
    let mut seen: Vec<(Uuid, Vec<Uuid>, &str)> = events
        .lock()
        .unwrap()
        .iter()
        .map(|e| {
            let ids = e
                .device_session_ids
                .iter()
                .map(|id| *id.as_uuid())
                .collect();
            (*e.user_id.as_uuid(), ids, e.reason.as_str())
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        (
            old.user_id,
            vec![old.device_session_id],
            RevocationReason::Expired.as_str(),
        ),
        (
            idle.user_id,
            vec![idle.device_session_id],
            RevocationReason::Expired.as_str(),
        ),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    // A second step finds nothing more.
    events.lock().unwrap().clear();
    app.state.auth.prune().await.unwrap();
    assert!(events.lock().unwrap().is_empty());
}

/// §4: the lookup itself refuses an expired session (before any pruning
/// step), and a lookup keeps a session alive: its last use is written back.
#[tokio::test]
async fn the_lookup_refuses_expired_sessions_and_use_keeps_a_session_alive() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let stale = login(&app, &server, "stale@example.com", 4, None).await;
    let used = login(&app, &server, "used@example.com", 5, None).await;
    backdate(&app, stale.device_session_id, "last_seen_at", 31).await;
    backdate(&app, used.device_session_id, "last_seen_at", 10).await;
    let db = app.into_database().await;

    // A restart loads the stored ages; the pruning loop is far away.
    let app = identity_app(&server).database(db).spawn().await;
    let r = app
        .api
        .get(&lookup_path(stale.device_session_id))
        .send()
        .await;
    r.assert_status(404);
    app.api
        .get(&lookup_path(used.device_session_id))
        .send()
        .await
        .assert_status(200);
    // The use is written back by the step, so the stored last use (made
    // older here) does not expire the session.
    backdate(&app, used.device_session_id, "last_seen_at", 31).await;
    app.state.auth.prune().await.unwrap();
    assert_eq!(revoke_reason(&app, used.device_session_id).await, None);
    app.api
        .get(&lookup_path(used.device_session_id))
        .send()
        .await
        .assert_status(200);
    assert_eq!(
        revoke_reason(&app, stale.device_session_id)
            .await
            .as_deref(),
        Some("expired")
    );
}

/// §4: a non-canonical Ed25519 encoding (y = 2^255 − 1 ≡ 18 mod p) is
/// refused like any invalid key, without costing the challenge an attempt.
#[tokio::test]
async fn non_canonical_device_keys_are_refused() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let challenge = request_code(&app, "canon@example.com").await;
    let code = crate::auth::read_code(&app, &server, "canon@example.com").await;
    let mut high = [0xffu8; 32];
    high[31] = 0x7f;
    let r = app
        .api
        .post(&confirm_path(&challenge))
        .json(json!({
            "code": code,
            "public_key": base64::engine::general_purpose::STANDARD.encode(high),
            "device_name": "d",
            "platform": "test",
        }))
        .send()
        .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_public_key");
    let r = crate::auth::confirm(&app, &challenge, &code, 9, None).await;
    r.assert_status(201);
}

/// §4: failed admin sign-ins land in the audit trail with their source.
#[tokio::test]
async fn failed_admin_sign_ins_are_in_the_audit_trail() {
    let app = crate::users::admin_app().spawn().await;
    app.api
        .get("/api/v1/admin/audit")
        .basic_auth(ROOT, "wrong-password-1")
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .assert_status(401);
    app.api
        .get("/api/v1/admin/audit")
        .basic_auth("nobody", "wrong-password-2")
        .send()
        .await
        .assert_status(401);
    let r = app
        .api
        .get("/api/v1/admin/audit")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    r.assert_status(200);
    let failed: Vec<(String, String)> = r.value()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "admin_account.sign_in_failed")
        .map(|e| {
            assert_eq!(e["actor"], e["target"]);
            let source = e["details"]["source"].as_str().unwrap().to_owned();
            (e["target"].as_str().unwrap().to_owned(), source)
        })
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(
        failed[0].0, "unknown",
        "a username that is no account is not kept"
    );
    assert_eq!(failed[1].0, ROOT);
    assert!(!failed[1].1.is_empty() && failed[1].1 != "unknown");
}

/// §4: a kind listed twice in the preferences is a 422, not a 500.
#[tokio::test]
async fn a_notification_kind_listed_twice_is_refused() {
    let app = TestApp::spawn().await;
    let user = crate::users::create_account(&app, "prefs-twice", None).await;
    let r = app
        .api
        .get("/api/v1/user/notification-preferences")
        .user(user)
        .send()
        .await;
    r.assert_status(200);
    let kind = r.value()["items"][0]["kind"].as_str().unwrap().to_owned();
    let r = app
        .api
        .request(
            reqwest::Method::PUT,
            "/api/v1/user/notification-preferences",
        )
        .user(user)
        .json(json!({ "items": [
            { "kind": kind, "email_enabled": false },
            { "kind": kind, "email_enabled": true },
        ]}))
        .send()
        .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "duplicate_notification_kind");
}

async fn request_code_from(app: &TestApp, email: &str, source: &str) -> TestResponse {
    app.api
        .post(crate::auth::CHALLENGES)
        .header("x-forwarded-for", source)
        .json(json!({ "email": email }))
        .send()
        .await
}

fn challenge_id(r: &TestResponse) -> String {
    r.assert_status(202);
    r.value()["challenge_id"].as_str().unwrap().to_owned()
}

/// §1: 100 wrong codes from one source (21 challenges × 5 in the report)
/// no longer lock the owner out: the owner's correct code from a source
/// that has not been failing logs in; the failing source waits, and a
/// fresh source gets one try.
#[tokio::test]
async fn strangers_cannot_lock_the_owner_out_of_login_codes() {
    let server = smtp_server().await;
    let app = identity_app(&server)
        .var("BACKEND_AUTH_CHALLENGE_THROTTLE_MAX", 100)
        .var("BACKEND_AUTH_CHALLENGE_SOURCE_MAX", 100)
        .spawn()
        .await;
    let victim = "victim@example.com";
    let attacker = "198.51.100.1";
    for _ in 0..20 {
        let id = challenge_id(&request_code_from(&app, victim, attacker).await);
        for _ in 0..5 {
            crate::auth::confirm(&app, &id, "wrong!", 1, Some(attacker))
                .await
                .assert_status(400);
        }
    }
    let spare = challenge_id(&request_code_from(&app, victim, attacker).await);
    let r = crate::auth::confirm(&app, &spare, "wrong!", 1, Some(attacker)).await;
    r.assert_status(429);
    assert_eq!(r.error_code(), "too_many_attempts");
    crate::mail::tick(&app).await;

    // The owner, from their own address, gets in.
    let owner = "192.0.2.10";
    let mine = challenge_id(&request_code_from(&app, victim, owner).await);
    let code = crate::auth::read_code(&app, &server, victim).await;
    crate::auth::confirm(&app, &mine, &code, 7, Some(owner))
        .await
        .assert_status(201);

    // Another stranger gets a single try beyond the cap, then waits.
    let other = "198.51.100.2";
    crate::auth::confirm(&app, &spare, "wrong!", 1, Some(other))
        .await
        .assert_status(400);
    crate::auth::confirm(&app, &spare, "wrong!", 1, Some(other))
        .await
        .assert_status(429);
}

/// §1: burned challenges count toward the per-address limit (the report
/// had 23 mails reach one address in a second), and one source cannot
/// open challenges without bound.
#[tokio::test]
async fn every_challenge_in_the_window_counts_and_sources_are_bounded() {
    let server = smtp_server().await;
    let app = identity_app(&server)
        .var("BACKEND_AUTH_CHALLENGE_SOURCE_MAX", 5)
        .spawn()
        .await;
    let email = "flood@example.com";
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = challenge_id(&request_code_from(&app, email, "198.51.100.5").await);
        if !ids.contains(&id) {
            for _ in 0..5 {
                crate::auth::confirm(&app, &id, "wrong!", 1, None).await;
            }
        }
        ids.push(id);
    }
    assert_eq!(ids[3], ids[2], "the limit (3) holds with burned challenges");
    assert_eq!(ids[4], ids[2]);
    let opened: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_challenges WHERE email = $1")
        .bind(email)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(opened, 3, "three mails, not five");

    // One source, many addresses: 2 more challenges reach its bound of 5.
    let source = "198.51.100.5";
    for i in 0..2 {
        challenge_id(&request_code_from(&app, &format!("spray{i}@example.com"), source).await);
    }
    let r = request_code_from(&app, "spray9@example.com", source).await;
    r.assert_status(429);
    assert_eq!(r.error_code(), "too_many_requests");
    let retry_after: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Another source is not affected.
    challenge_id(&request_code_from(&app, "spray9@example.com", "192.0.2.77").await);
}

/// §1: a forged `X-Forwarded-For` no longer chooses the admin throttle's
/// key: wrong passwords from one peer with rotating forged sources do not
/// lock the admin out elsewhere, and spraying usernames is throttled.
#[tokio::test]
async fn forged_forwarded_sources_cannot_lock_an_admin_out_or_spray_usernames() {
    let app = crate::users::admin_app().spawn().await;
    let audit = "/api/v1/admin/audit";
    let attacker = app.api.bound_to([127, 0, 0, 2].into());
    let mut statuses = Vec::new();
    for i in 0..10 {
        let r = attacker
            .get(audit)
            .basic_auth(ROOT, "wrong-guess-0000")
            .header("x-forwarded-for", &format!("198.51.100.{i}"))
            .send()
            .await;
        statuses.push(r.status);
    }
    assert_eq!(
        statuses,
        [[401; 8].as_slice(), [429; 2].as_slice()].concat()
    );
    let admin = app.api.bound_to([127, 0, 0, 3].into());
    admin
        .get(audit)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .header("x-forwarded-for", "198.51.100.200")
        .send()
        .await
        .assert_status(200);

    let sprayer = app.api.bound_to([127, 0, 0, 4].into());
    let mut throttled = 0;
    for i in 0..30 {
        let r = sprayer
            .get(audit)
            .basic_auth(&format!("user{i}"), "wrong-guess-0000")
            .header("x-forwarded-for", &format!("203.0.113.{i}"))
            .send()
            .await;
        throttled += usize::from(r.status == 429);
    }
    assert_eq!(throttled, 22, "8 failures allowed per source");
}

const CODE_SECRET: &str = "a-test-secret-of-at-least-32-characters";

/// The pre-fix stored form: HMAC-SHA256 keyed by the challenge id alone.
fn id_keyed_hash(challenge: Uuid, code: &str) -> Vec<u8> {
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(challenge.as_bytes()).unwrap();
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

async fn login_mail_bodies(app: &TestApp, challenge: Uuid) -> (Uuid, String) {
    sqlx::query_as(
        "SELECT d.delivery_id, p.text_body FROM auth_challenges c
         JOIN mail_deliveries d ON d.delivery_id = c.mail_delivery_id
         JOIN mail_payloads p ON p.payload_id = d.payload_id WHERE c.id = $1",
    )
    .bind(challenge)
    .fetch_one(app.db())
    .await
    .unwrap()
}

/// §2: the stored code hash is keyed with the server secret (the challenge
/// id in the same row no longer opens it), the login mail's body is
/// redacted once sent (the delivery row stays for admins), and with the
/// secret set a code survives a restart.
#[tokio::test]
async fn a_database_read_gives_away_neither_codes_nor_mails() {
    let server = smtp_server().await;
    let app = identity_app(&server)
        .var("BACKEND_AUTH_CODE_SECRET", CODE_SECRET)
        .spawn()
        .await;
    let email = "reader@example.com";
    let challenge = request_code(&app, email).await;
    let id = Uuid::parse_str(&challenge).unwrap();
    let code = crate::auth::read_code(&app, &server, email).await;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT code_hash FROM auth_challenges WHERE id = $1")
        .bind(id)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_ne!(
        stored,
        id_keyed_hash(id, &code),
        "the row alone opens the hash"
    );

    // Sent: the step redacts the body; the delivery stays visible.
    // (The `auth_redact` loop may already have run; the step is idempotent.)
    app.state.auth.redact_mail().await.unwrap();
    let (delivery, _) = login_mail_bodies(&app, id).await;
    let (_, body) = login_mail_bodies(&app, id).await;
    assert!(!body.contains(&code), "{body}");
    app.api
        .get(&format!("/api/v1/admin/mail/deliveries/{delivery}"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .assert_status(200);

    // A restart with the same secret: the mailed code still works.
    let db = app.into_database().await;
    let app = identity_app(&server)
        .var("BACKEND_AUTH_CODE_SECRET", CODE_SECRET)
        .database(db)
        .spawn()
        .await;
    crate::auth::confirm(&app, &challenge, &code, 3, None)
        .await
        .assert_status(201);
}

/// §2: a login mail not yet sent keeps its code while the challenge is
/// open, and is redacted once the challenge is no longer open.
#[tokio::test]
async fn unsent_login_mails_are_redacted_once_their_challenge_ends() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let challenge = request_code(&app, "late@example.com").await;
    let id = Uuid::parse_str(&challenge).unwrap();
    app.state.auth.redact_mail().await.unwrap();
    let (_, body) = login_mail_bodies(&app, id).await;
    assert!(body.contains("login code is "), "still to be sent: {body}");
    sqlx::query(
        "UPDATE auth_challenges SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(id)
    .execute(app.db())
    .await
    .unwrap();
    app.state.auth.prune().await.unwrap();
    let (_, body) = login_mail_bodies(&app, id).await;
    assert!(!body.contains("login code is "), "{body}");
}

const GATEWAY_SECRET: &str = "gateway-secret-of-at-least-32-characters";

/// §3: with a gateway credential configured, the user and internal groups
/// and the push stream answer only callers presenting it (the report read
/// a user's email with a bare `X-User-ID`, and took over a gateway's push
/// stream); with the right credential everything works as before.
#[tokio::test]
async fn a_configured_gateway_credential_guards_user_internal_and_grpc() {
    let server = smtp_server().await;
    let app = identity_app(&server)
        .var("BACKEND_GATEWAY_SECRET", GATEWAY_SECRET)
        .spawn()
        .await;
    let me = login(&app, &server, "guarded@example.com", 1, None).await;

    let r = app
        .api
        .get("/api/v1/user/account")
        .user(me.user_id)
        .send()
        .await;
    r.assert_status(401);
    assert_eq!(r.error_code(), "gateway_credential_required");
    let r = app
        .api
        .get("/api/v1/user/account")
        .user(me.user_id)
        .header(
            "x-gateway-credential",
            "gateway-secret-of-at-least-32-characterz",
        )
        .send()
        .await;
    r.assert_status(401);
    let r = app
        .api
        .get("/api/v1/user/account")
        .user(me.user_id)
        .header("x-gateway-credential", GATEWAY_SECRET)
        .send()
        .await;
    r.assert_status(200);

    let lookup = lookup_path(me.device_session_id);
    let r = app.api.get(&lookup).send().await;
    r.assert_status(401);
    assert_eq!(r.error_code(), "gateway_credential_required");
    app.api
        .get(&lookup)
        .header("x-gateway-credential", GATEWAY_SECRET)
        .send()
        .await
        .assert_status(200);

    // Public routes and probes need nothing.
    app.api.get("/healthz").send().await.assert_status(200);

    // gRPC: without the metadata the stream is refused.
    let channel = crate::helpers::push::channel(&app).await;
    let err = crate::helpers::push::subscribe_on(channel, "gw-1", None)
        .await
        .err()
        .expect("refused");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let mut client = galaxy_backend::push::pb::push_client::PushClient::new(
        crate::helpers::push::channel(&app).await,
    );
    let mut request = tonic::Request::new(galaxy_backend::push::pb::GatewaySubscribeRequest {
        gateway_client_id: "gw-1".into(),
        cursor: String::new(),
    });
    request
        .metadata_mut()
        .insert("x-gateway-credential", GATEWAY_SECRET.parse().unwrap());
    assert!(client.subscribe_push(request).await.is_ok());
}

/// §3: with a gateway listener configured, the user and internal groups are
/// served there only; the main listener keeps public, admin and probes.
#[tokio::test]
async fn the_gateway_groups_can_have_their_own_listener() {
    let server = smtp_server().await;
    let app = identity_app(&server)
        .var("BACKEND_GATEWAY_LISTEN_ADDR", "127.0.0.1:0")
        .spawn()
        .await;
    let me = login(&app, &server, "split@example.com", 1, None).await;
    let gateway = crate::helpers::client::ApiClient::new(format!(
        "http://{}",
        app.gateway_addr.expect("gateway listener")
    ));
    let lookup = lookup_path(me.device_session_id);
    app.api.get(&lookup).send().await.assert_status(404);
    app.api
        .get("/api/v1/user/account")
        .user(me.user_id)
        .send()
        .await
        .assert_status(404);
    gateway.get(&lookup).send().await.assert_status(200);
    gateway
        .get("/api/v1/user/account")
        .user(me.user_id)
        .send()
        .await
        .assert_status(200);
    // The public group (the login above) and the admin group stay on the
    // main listener; both serve the probes.
    app.api
        .get("/api/v1/admin/audit")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .assert_status(200);
    gateway.get("/healthz").send().await.assert_status(200);
}
