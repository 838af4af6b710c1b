//! Device sessions: listing and revoking over HTTP, the gateway lookup
//! served from the active-session cache (hit, miss, after revoke), the
//! revocation event, a failed commit leaving the cache alone, and the
//! cache warm-up after a restart.

use std::sync::{Arc, Mutex};

use galaxy_backend::session::{OnSessionsRevoked, RevocationReason, SessionsRevoked};
use uuid::Uuid;

use crate::auth::{device_key, identity_app, login};
use crate::helpers::TestApp;
use crate::mail::smtp_server;

fn lookup_path(id: Uuid) -> String {
    format!("/api/v1/internal/device-sessions/{id}")
}

async fn lookup(app: &TestApp, id: Uuid) -> crate::helpers::client::TestResponse {
    app.api.get(&lookup_path(id)).send().await
}

/// A listener recording every revocation the app announces, and what it saw.
fn record_events() -> (Arc<dyn OnSessionsRevoked>, Arc<Mutex<Vec<SessionsRevoked>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let listener = move |e: &SessionsRevoked| sink.lock().unwrap().push(e.clone());
    (Arc::new(listener), seen)
}

#[tokio::test]
async fn the_gateway_lookup_resolves_active_sessions_only() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let me = login(&app, &server, "gw@example.com", 7, None).await;

    let r = lookup(&app, me.device_session_id).await;
    r.assert_status(200);
    let v = r.value();
    assert_eq!(v["user_id"], me.user_id.to_string());
    assert_eq!(v["device_session_id"], me.device_session_id.to_string());
    assert_eq!(v["public_key"], device_key(7));
    assert_eq!(v["status"], "active");

    let miss = lookup(&app, Uuid::new_v4()).await;
    miss.assert_status(404);
    assert_eq!(miss.error_code(), "device_session_not_found");
    let bad = app
        .api
        .get("/api/v1/internal/device-sessions/not-a-uuid")
        .send()
        .await;
    bad.assert_status(400);
}

#[tokio::test]
async fn sessions_are_listed_revoked_one_or_all_and_logging_in_again_works() {
    let server = smtp_server().await;
    let (listener, events) = record_events();
    // Four logins of one address within a minute: above the default of 3.
    let app = identity_app(&server)
        .var("BACKEND_AUTH_CHALLENGE_THROTTLE_MAX", 10)
        .on_sessions_revoked(listener)
        .spawn()
        .await;
    let a = login(&app, &server, "devices@example.com", 1, None).await;
    let b = login(&app, &server, "devices@example.com", 2, None).await;
    let c = login(&app, &server, "devices@example.com", 3, None).await;
    let user = a.user_id;

    let list = app.api.get("/api/v1/user/sessions").user(user).send().await;
    list.assert_status(200);
    let ids: Vec<String> = list.value()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["device_session_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        [
            c.device_session_id,
            b.device_session_id,
            a.device_session_id
        ]
        .map(|id| id.to_string()),
        "newest first"
    );

    let path = format!("/api/v1/user/sessions/{}/revoke", a.device_session_id);
    app.api
        .post(&path)
        .user(user)
        .send()
        .await
        .assert_status(204);
    lookup(&app, a.device_session_id).await.assert_status(404);
    lookup(&app, b.device_session_id).await.assert_status(200);
    // Revoking again changes nothing and announces nothing.
    app.api
        .post(&path)
        .user(user)
        .send()
        .await
        .assert_status(204);
    // Another user cannot see or revoke it.
    let r = app.api.post(&path).user(Uuid::new_v4()).send().await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "device_session_not_found");

    let all = app
        .api
        .post("/api/v1/user/sessions/revoke-all")
        .user(user)
        .send()
        .await;
    all.assert_status(200);
    let mut revoked: Vec<String> = all.value()["device_session_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    revoked.sort();
    let mut expected = vec![
        b.device_session_id.to_string(),
        c.device_session_id.to_string(),
    ];
    expected.sort();
    assert_eq!(revoked, expected);
    lookup(&app, b.device_session_id).await.assert_status(404);
    lookup(&app, c.device_session_id).await.assert_status(404);
    let list = app.api.get("/api/v1/user/sessions").user(user).send().await;
    assert!(list.value()["items"].as_array().unwrap().is_empty());

    {
        let events = events.lock().unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(
            events[0].device_session_ids,
            vec![a.device_session_id.into()]
        );
        assert_eq!(events[0].reason, RevocationReason::UserRevoked);
        assert_eq!(events[1].device_session_ids.len(), 2);
        assert!(events.iter().all(|e| e.user_id == user.into()));
    }

    let again = login(&app, &server, "devices@example.com", 4, None).await;
    assert_eq!(again.user_id, user);
    lookup(&app, again.device_session_id)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_failed_commit_leaves_the_session_cache_unchanged() {
    let server = smtp_server().await;
    let (listener, events) = record_events();
    let app = identity_app(&server)
        .on_sessions_revoked(listener)
        .spawn()
        .await;
    let me = login(&app, &server, "commit@example.com", 1, None).await;
    // Make every later commit that revoked a session fail.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$;
         CREATE CONSTRAINT TRIGGER refuse_revocation AFTER UPDATE ON device_sessions
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit();",
    )
    .execute(app.db())
    .await
    .unwrap();

    let err = app
        .state
        .sessions
        .revoke_all(me.user_id.into(), RevocationReason::AdminRevoked)
        .await;
    assert!(err.is_err(), "the commit must fail");
    lookup(&app, me.device_session_id).await.assert_status(200);
    assert!(events.lock().unwrap().is_empty(), "nothing is announced");
    let r = app
        .api
        .post("/api/v1/user/sessions/revoke-all")
        .user(me.user_id)
        .send()
        .await;
    r.assert_status(500);
    lookup(&app, me.device_session_id).await.assert_status(200);
    let active: i64 =
        sqlx::query_scalar("SELECT count(*) FROM device_sessions WHERE revoked_at IS NULL")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(active, 1);
}

#[tokio::test]
async fn the_session_cache_is_warmed_again_after_a_restart() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let kept = login(&app, &server, "restart@example.com", 1, None).await;
    let gone = login(&app, &server, "restart@example.com", 2, None).await;
    app.state
        .sessions
        .revoke(
            gone.user_id.into(),
            gone.device_session_id.into(),
            RevocationReason::UserRevoked,
        )
        .await
        .unwrap();

    let db = app.into_database().await;
    let again = identity_app(&server).database(db).spawn().await;
    assert_eq!(again.state.sessions.cached_count(), 1);
    let r = lookup(&again, kept.device_session_id).await;
    r.assert_status(200);
    assert_eq!(r.value()["public_key"], device_key(1));
    lookup(&again, gone.device_session_id)
        .await
        .assert_status(404);
}

#[tokio::test]
async fn a_login_whose_commit_fails_caches_nothing() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$;
         CREATE CONSTRAINT TRIGGER refuse_new_session AFTER INSERT ON device_sessions
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit();",
    )
    .execute(app.db())
    .await
    .unwrap();
    let challenge = crate::auth::request_code(&app, "doomed@example.com").await;
    let code = crate::auth::read_code(&app, &server, "doomed@example.com").await;
    let r = crate::auth::confirm(&app, &challenge, &code, 1, None).await;
    r.assert_status(500);
    assert_eq!(app.state.sessions.cached_count(), 0);
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(accounts, 0, "the account rolled back with the session");

    // Once the database accepts it, the same code logs in.
    sqlx::raw_sql("DROP TRIGGER refuse_new_session ON device_sessions")
        .execute(app.db())
        .await
        .unwrap();
    let r = crate::auth::confirm(&app, &challenge, &code, 1, None).await;
    r.assert_status(201);
    let id: Uuid = r.value()["device_session_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    lookup(&app, id).await.assert_status(200);
}

/// A session another instance just created (written to PostgreSQL, its
/// announcement not arrived yet) is found by a lookup that misses the
/// cache; a revoked one written the same way stays unknown.
#[tokio::test]
async fn a_lookup_that_misses_the_cache_reads_the_session_once_from_postgres() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let me = login(&app, &server, "elsewhere@example.com", 7, None).await;
    let key =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, device_key(8)).unwrap();
    let (fresh, revoked) = (Uuid::new_v4(), Uuid::new_v4());
    for (id, revoked_at) in [(fresh, None), (revoked, Some(chrono::Utc::now()))] {
        sqlx::query(
            "INSERT INTO device_sessions
                 (id, user_id, public_key, device_name, platform, revoked_at, revoke_reason)
             VALUES ($1, $2, $3, 'other instance', 'test', $4,
                     CASE WHEN $4 IS NULL THEN NULL ELSE 'user_revoked' END)",
        )
        .bind(id)
        .bind(me.user_id)
        .bind(&key)
        .bind(revoked_at)
        .execute(app.db())
        .await
        .unwrap();
    }
    let r = lookup(&app, fresh).await;
    r.assert_status(200);
    assert_eq!(r.value()["public_key"], device_key(8));
    assert_eq!(
        lookup(&app, revoked).await.error_code(),
        "device_session_not_found"
    );
    assert_eq!(
        lookup(&app, Uuid::new_v4()).await.error_code(),
        "device_session_not_found"
    );
}
