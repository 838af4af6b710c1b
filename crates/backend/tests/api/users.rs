//! The own account (`/api/v1/user/account*`): profile from the cache,
//! user-name and settings validation, the case-insensitive name collision,
//! soft delete (sessions revoked, hooks run in the deleting transaction, a
//! failing hook rolls everything back and leaves the cache as it was), and
//! the cache warm-up after a restart. Every exchange is contract-validated.
//!
//! Accounts are inserted with SQL here (the login flow is not the subject)
//! and pushed into the cache with `UserService::refresh_account`, the call
//! `auth` makes after creating an account.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::helpers::app::TestAppBuilder;
use crate::helpers::client::TestResponse;
use crate::helpers::{TestApp, TestDb};

pub const ROOT: &str = "root";
pub const ROOT_PASSWORD: &str = "root-password-0001";
pub const ACCOUNT: &str = "/api/v1/user/account";

/// An app with a bootstrap admin.
pub async fn spawn() -> TestApp {
    spawn_on(None).await
}

/// A test app with the bootstrap admin [`ROOT`].
pub fn admin_app() -> TestAppBuilder {
    TestApp::builder()
        .var("BACKEND_ADMIN_BOOTSTRAP_USER", ROOT)
        .var("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ROOT_PASSWORD)
}

pub async fn spawn_on(db: Option<TestDb>) -> TestApp {
    let mut builder = admin_app();
    if let Some(db) = db {
        builder = builder.database(db);
    }
    builder.spawn().await
}

/// Inserts an account row (as `auth` would at registration) without
/// touching the cache.
pub async fn insert_account(app: &TestApp, user_name: &str, country: Option<&str>) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO accounts (user_id, email, user_name, declared_country) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(email_of(user_name))
    .bind(user_name)
    .bind(country)
    .execute(app.db())
    .await
    .expect("insert account");
    id
}

/// An account, committed and then announced to the cache.
pub async fn create_account(app: &TestApp, user_name: &str, country: Option<&str>) -> Uuid {
    let id = insert_account(app, user_name, country).await;
    app.state
        .users
        .refresh_account(id.into())
        .await
        .expect("refresh account");
    id
}

pub fn email_of(user_name: &str) -> String {
    format!("{}@example.test", user_name.to_lowercase())
}

/// An active device session row for `user_id`.
pub async fn insert_session(app: &TestApp, user_id: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO device_sessions (id, user_id, public_key, device_name, platform)
         VALUES ($1, $2, $3, 'phone', 'android')",
    )
    .bind(id)
    .bind(user_id)
    .bind(vec![7u8; 32])
    .execute(app.db())
    .await
    .expect("insert session");
    id
}

/// How many of the user's sessions are still active.
pub async fn active_sessions(app: &TestApp, user_id: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM device_sessions WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(app.db())
    .await
    .unwrap()
}

pub async fn get_account(app: &TestApp, user_id: Uuid) -> TestResponse {
    app.api.get(ACCOUNT).user(user_id).send().await
}

async fn patch(app: &TestApp, path: &str, user_id: Uuid, body: Value) -> TestResponse {
    app.api
        .request(Method::PATCH, path)
        .user(user_id)
        .json(body)
        .send()
        .await
}

/// The audit trail's actions on `target`, oldest first.
pub async fn audit_actions(app: &TestApp, target: Uuid) -> Vec<String> {
    let r = app
        .api
        .get("/api/v1/admin/audit")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .query("per_page", 200)
        .send()
        .await;
    r.assert_status(200);
    let mut actions: Vec<String> = r.value()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == target.to_string())
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    actions.reverse();
    actions
}

#[tokio::test]
async fn the_own_account_is_served_with_default_settings_and_entitlements() {
    let app = spawn().await;
    let id = create_account(&app, "Alice", Some("DE")).await;

    let r = get_account(&app, id).await;
    r.assert_status(200);
    let v = r.value();
    assert_eq!(v["user_id"], id.to_string());
    assert_eq!(v["email"], "alice@example.test");
    assert_eq!(v["user_name"], "Alice");
    assert_eq!(v["declared_country"], "DE");
    assert_eq!(v["settings"], json!({ "locale": "en", "time_zone": "UTC" }));
    assert_eq!(v["entitlements"]["tier"], "free");
    assert_eq!(v["entitlements"]["max_concurrent_games"], 3);
    assert_eq!(v["entitlements"]["max_registered_race_names"], 1);
    assert_eq!(v["entitlements"]["overridden"], json!([]));

    let entitlements = app
        .api
        .get("/api/v1/user/account/entitlements")
        .user(id)
        .send()
        .await;
    entitlements.assert_status(200);
    assert_eq!(entitlements.value(), v["entitlements"]);

    // The cache serves it: a change made behind its back is not seen until
    // the owning domain announces it.
    sqlx::query("UPDATE accounts SET declared_country = 'FR' WHERE user_id = $1")
        .bind(id)
        .execute(app.db())
        .await
        .unwrap();
    assert_eq!(
        get_account(&app, id).await.value()["declared_country"],
        "DE"
    );
    app.state.users.refresh_account(id.into()).await.unwrap();
    assert_eq!(
        get_account(&app, id).await.value()["declared_country"],
        "FR"
    );
}

#[tokio::test]
async fn a_user_id_without_an_account_is_not_found_and_a_missing_one_unauthorized() {
    let app = spawn().await;
    let r = get_account(&app, Uuid::new_v4()).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "not_found");
    let r = app.api.get(ACCOUNT).send().await;
    r.assert_status(401);
    assert_eq!(r.error_code(), "missing_user_id");
}

#[tokio::test]
async fn user_names_are_validated_and_unique_case_insensitively() {
    let app = spawn().await;
    let alice = create_account(&app, "alice", None).await;
    let bob = create_account(&app, "bob", None).await;

    for bad in [
        "ab",
        "has space",
        "_edge",
        "edge-",
        "ünïcode",
        &"x".repeat(33),
    ] {
        let r = patch(&app, ACCOUNT, bob, json!({ "user_name": bad })).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_user_name", "{bad}");
    }
    let r = patch(&app, ACCOUNT, bob, json!({ "user_name": "ALICE" })).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "user_name_taken");
    assert_eq!(get_account(&app, bob).await.value()["user_name"], "bob");

    let r = patch(
        &app,
        ACCOUNT,
        bob,
        json!({ "user_name": "Bob.the-Builder_2" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["user_name"], "Bob.the-Builder_2");
    assert_eq!(
        get_account(&app, bob).await.value()["user_name"],
        "Bob.the-Builder_2"
    );
    // Changing only the case of one's own name is not a collision.
    let r = patch(&app, ACCOUNT, alice, json!({ "user_name": "Alice" })).await;
    r.assert_status(200);
    assert_eq!(r.value()["user_name"], "Alice");
    let stored: String = sqlx::query_scalar("SELECT user_name FROM accounts WHERE user_id = $1")
        .bind(alice)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(stored, "Alice");

    let r = patch(&app, ACCOUNT, bob, json!({ "user_name": "x", "extra": 1 })).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_body");
}

#[tokio::test]
async fn settings_are_validated_and_stored_in_canonical_form() {
    let app = spawn().await;
    let id = create_account(&app, "carol", None).await;
    const SETTINGS: &str = "/api/v1/user/account/settings";

    let r = patch(&app, SETTINGS, id, json!({ "locale": "pt-br" })).await;
    r.assert_status(200);
    assert_eq!(
        r.value()["settings"],
        json!({ "locale": "pt-BR", "time_zone": "UTC" })
    );
    let r = patch(
        &app,
        SETTINGS,
        id,
        json!({ "time_zone": "America/Sao_Paulo" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(
        r.value()["settings"],
        json!({ "locale": "pt-BR", "time_zone": "America/Sao_Paulo" })
    );

    for (body, code) in [
        (json!({ "locale": "portuguese" }), "invalid_locale"),
        (json!({ "locale": "en_US" }), "invalid_locale"),
        (
            json!({ "time_zone": "Mars/Olympus_Mons" }),
            "invalid_time_zone",
        ),
        (json!({ "time_zone": "europe/berlin" }), "invalid_time_zone"),
        (json!({ "colour": "blue" }), "invalid_body"),
    ] {
        let r = patch(&app, SETTINGS, id, body.clone()).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), code, "{body}");
    }
    // Nothing of the refused changes stuck; the stored row matches.
    assert_eq!(
        get_account(&app, id).await.value()["settings"],
        json!({ "locale": "pt-BR", "time_zone": "America/Sao_Paulo" })
    );
    let (locale, tz): (String, String) =
        sqlx::query_as("SELECT locale, time_zone FROM user_settings WHERE user_id = $1")
            .bind(id)
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(
        (locale.as_str(), tz.as_str()),
        ("pt-BR", "America/Sao_Paulo")
    );
}

/// Records the users it saw and whether the account was already marked
/// deleted inside the same transaction; fails when told to.
pub struct RecordingHook {
    seen: Mutex<Vec<(Uuid, bool)>>,
    fail: bool,
}

impl galaxy_backend::user::OnUserDeleted for RecordingHook {
    fn name(&self) -> &'static str {
        "test.recording"
    }

    fn on_user_deleted<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        user_id: galaxy_backend::ids::UserId,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let user_id = user_id.0;
            let marked: bool = sqlx::query_scalar(
                "SELECT deleted_at IS NOT NULL FROM accounts WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?;
            self.seen.lock().unwrap().push((user_id, marked));
            if self.fail {
                anyhow::bail!("the test hook refuses");
            }
            Ok(())
        })
    }
}

/// A hook recording every soft delete it sees (and refusing it if `fail`).
pub fn recording_hook(fail: bool) -> Arc<RecordingHook> {
    Arc::new(RecordingHook {
        seen: Mutex::new(Vec::new()),
        fail,
    })
}

/// An app (with the bootstrap admin) running `hook` inside every soft delete.
pub async fn spawn_with_hook(hook: &Arc<RecordingHook>) -> TestApp {
    admin_app().on_user_deleted(hook.clone()).spawn().await
}

impl RecordingHook {
    pub fn seen(&self) -> Vec<(Uuid, bool)> {
        self.seen.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_user_soft_deletes_their_account_sessions_are_revoked_and_hooks_run() {
    let hook = recording_hook(false);
    let app = spawn_with_hook(&hook).await;
    let id = create_account(&app, "dave", None).await;
    let other = create_account(&app, "erin", None).await;
    insert_session(&app, id).await;
    insert_session(&app, id).await;
    insert_session(&app, other).await;

    let r = app
        .api
        .post("/api/v1/user/account/delete")
        .user(id)
        .send()
        .await;
    r.assert_status(204);
    assert_eq!(
        hook.seen(),
        vec![(id, true)],
        "the hook ran inside the delete"
    );
    assert_eq!(active_sessions(&app, id).await, 0);
    assert_eq!(active_sessions(&app, other).await, 1);
    let reason: Vec<String> =
        sqlx::query_scalar("SELECT revoke_reason FROM device_sessions WHERE user_id = $1")
            .bind(id)
            .fetch_all(app.db())
            .await
            .unwrap();
    assert_eq!(reason, vec!["user_deleted", "user_deleted"]);

    for path in [ACCOUNT, "/api/v1/user/account/entitlements"] {
        let r = app.api.get(path).user(id).send().await;
        r.assert_status(403);
        assert_eq!(r.error_code(), "account_deleted");
    }
    let r = app
        .api
        .post("/api/v1/user/account/delete")
        .user(id)
        .send()
        .await;
    r.assert_status(403);
    // The data is kept for audit.
    let (email, deleted): (String, bool) =
        sqlx::query_as("SELECT email, deleted_at IS NOT NULL FROM accounts WHERE user_id = $1")
            .bind(id)
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!((email.as_str(), deleted), ("dave@example.test", true));
    get_account(&app, other).await.assert_status(200);
}

#[tokio::test]
async fn a_failing_hook_rolls_the_delete_back_and_leaves_the_cache_as_it_was() {
    let hook = recording_hook(true);
    let app = spawn_with_hook(&hook).await;
    let id = create_account(&app, "frank", None).await;
    insert_session(&app, id).await;

    let r = app
        .api
        .post("/api/v1/user/account/delete")
        .user(id)
        .send()
        .await;
    r.assert_status(500);
    assert_eq!(r.error_code(), "internal");
    assert_eq!(hook.seen(), vec![(id, true)]);

    // Nothing committed, nothing cached.
    let deleted: bool =
        sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM accounts WHERE user_id = $1")
            .bind(id)
            .fetch_one(app.db())
            .await
            .unwrap();
    assert!(!deleted);
    assert_eq!(active_sessions(&app, id).await, 1);
    let cached = app.state.users.cached(id.into()).expect("still cached");
    assert!(cached.account.deleted_at.is_none());
    get_account(&app, id).await.assert_status(200);
}

#[tokio::test]
async fn a_failed_user_name_change_leaves_the_cache_as_it_was() {
    let app = spawn().await;
    let id = create_account(&app, "grace", None).await;
    // A row committed behind the cache's back makes the update violate the
    // unique index inside the transaction.
    insert_account(&app, "Heidi", None).await;
    let r = patch(&app, ACCOUNT, id, json!({ "user_name": "heidi" })).await;
    r.assert_status(409);
    assert_eq!(
        app.state.users.cached(id.into()).unwrap().account.user_name,
        "grace"
    );
    assert_eq!(get_account(&app, id).await.value()["user_name"], "grace");
}

#[tokio::test]
async fn the_accounts_cache_is_warm_after_a_restart() {
    let app = spawn().await;
    let id = create_account(&app, "ivan", Some("NL")).await;
    patch(
        &app,
        "/api/v1/user/account/settings",
        id,
        json!({ "locale": "nl", "time_zone": "Europe/Amsterdam" }),
    )
    .await
    .assert_status(200);
    // Written by SQL only: the restart must find it in PostgreSQL.
    let quiet = insert_account(&app, "judy", None).await;
    sqlx::query("UPDATE accounts SET deleted_at = now() WHERE user_id = $1")
        .bind(quiet)
        .execute(app.db())
        .await
        .unwrap();
    let before = get_account(&app, id).await.value();

    let db = app.into_database().await;
    let app = spawn_on(Some(db)).await;
    assert!(
        app.state.users.cached(id.into()).is_some(),
        "warmed before ready"
    );
    assert_eq!(get_account(&app, id).await.value(), before);
    let r = get_account(&app, quiet).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "account_deleted");
}

#[tokio::test]
async fn deleting_an_account_after_a_real_login_revokes_and_announces_its_sessions() {
    let server = crate::mail::smtp_server().await;
    let (listener, revocations) = crate::sanctions::record_revocations();
    let hook = recording_hook(false);
    let app = crate::auth::identity_app(&server)
        .on_sessions_revoked(listener)
        .on_user_deleted(hook.clone())
        .spawn()
        .await;
    let one = crate::auth::login(&app, &server, "leaving@example.com", 1, None).await;
    let two = crate::auth::login(&app, &server, "leaving@example.com", 2, None).await;
    assert_eq!(one.user_id, two.user_id);

    app.api
        .post("/api/v1/user/account/delete")
        .user(one.user_id)
        .send()
        .await
        .assert_status(204);
    assert_eq!(hook.seen(), vec![(one.user_id, true)]);
    let events = revocations.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let (user, mut ids, reason) = events[0].clone();
    ids.sort();
    let mut expected = vec![one.device_session_id, two.device_session_id];
    expected.sort();
    assert_eq!(
        (user, ids, reason.as_str()),
        (one.user_id, expected, "user_deleted")
    );
    for session in [one.device_session_id, two.device_session_id] {
        app.api
            .get(&format!("/api/v1/internal/device-sessions/{session}"))
            .send()
            .await
            .assert_status(404);
    }
    // The address no longer logs in to the deleted account.
    let challenge = crate::auth::request_code(&app, "leaving@example.com").await;
    let code = crate::auth::read_code(&app, &server, "leaving@example.com").await;
    let r = crate::auth::confirm(&app, &challenge, &code, 3, None).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "account_deleted");
}
