//! Sanctions applied by admins: a login ban refuses every user-group
//! request (403 `login_banned`) and revokes sessions in the same
//! transaction; lifting it or letting it expire (no manual action) lets the
//! user back; a game-join ban is visible to admins and to the lobby's
//! `active_game_join_ban` without blocking user requests; bad input is
//! refused with stable codes; every action is in the audit trail.

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use galaxy_backend::session::{OnSessionsRevoked, SessionsRevoked};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::client::TestResponse;
use crate::users::{
    ROOT, ROOT_PASSWORD, active_sessions, audit_actions, create_account, get_account,
    insert_session, spawn,
};

fn sanctions_path(user_id: Uuid) -> String {
    format!("/api/v1/admin/users/{user_id}/sanctions")
}

pub async fn apply(app: &TestApp, user_id: Uuid, body: Value) -> TestResponse {
    app.api
        .post(&sanctions_path(user_id))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(body)
        .send()
        .await
}

async fn lift(app: &TestApp, user_id: Uuid, sanction_id: &str) -> TestResponse {
    app.api
        .post(&format!("{}/{sanction_id}/lift", sanctions_path(user_id)))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
}

async fn list(app: &TestApp, user_id: Uuid) -> Vec<Value> {
    let r = app
        .api
        .get(&sanctions_path(user_id))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    r.assert_status(200);
    r.value()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_login_ban_refuses_user_requests_and_revokes_sessions_until_lifted() {
    let app = spawn().await;
    let id = create_account(&app, "mallory", None).await;
    let bystander = create_account(&app, "oscar", None).await;
    insert_session(&app, id).await;
    insert_session(&app, id).await;
    insert_session(&app, bystander).await;

    let r = apply(&app, id, json!({ "kind": "login_ban", "reason": "spam" })).await;
    r.assert_status(201);
    let ban = r.value();
    assert_eq!(ban["kind"], "login_ban");
    assert_eq!(ban["active"], true);
    assert_eq!(ban["created_by"], ROOT);
    assert_eq!(ban["expires_at"], Value::Null);
    let ban_id = ban["sanction_id"].as_str().unwrap().to_owned();

    assert_eq!(active_sessions(&app, id).await, 0, "revoked with the ban");
    assert_eq!(active_sessions(&app, bystander).await, 1);
    for path in [
        "/api/v1/user/account",
        "/api/v1/user/account/entitlements",
        "/api/v1/user/session",
    ] {
        let r = app.api.get(path).user(id).send().await;
        r.assert_status(403);
        assert_eq!(r.error_code(), "login_banned", "{path}");
        assert_eq!(r.value()["error"]["details"]["expires_at"], Value::Null);
    }
    assert!(app.state.users.active_login_ban(id.into()).is_some());
    get_account(&app, bystander).await.assert_status(200);

    let r = lift(&app, id, &ban_id).await;
    r.assert_status(200);
    assert_eq!(r.value()["active"], false);
    assert_eq!(r.value()["lifted_by"], ROOT);
    get_account(&app, id).await.assert_status(200);
    assert!(app.state.users.active_login_ban(id.into()).is_none());

    let r = lift(&app, id, &ban_id).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "sanction_already_lifted");
    let r = lift(&app, id, &Uuid::new_v4().to_string()).await;
    r.assert_status(404);

    assert_eq!(
        audit_actions(&app, id).await,
        vec!["user.sanction_apply", "user.sanction_lift"]
    );
}

#[tokio::test]
async fn an_expired_login_ban_lifts_itself() {
    let app = spawn().await;
    let id = create_account(&app, "peggy", None).await;
    // Long enough that the ban is still on for the checks below even on a
    // loaded machine; the test then waits for it to end.
    let expires_at = Utc::now() + Duration::seconds(4);
    let r = apply(
        &app,
        id,
        json!({ "kind": "login_ban", "reason": "cool down", "expires_at": expires_at }),
    )
    .await;
    r.assert_status(201);
    let r = get_account(&app, id).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "login_banned");
    assert!(r.value()["error"]["details"]["expires_at"].is_string());

    // No lift, no refresh: time passes and the ban is over.
    let wait = (expires_at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(50)).await;
    get_account(&app, id).await.assert_status(200);
    assert!(app.state.users.active_login_ban(id.into()).is_none());
    let items = list(&app, id).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["active"], false);
    assert_eq!(items[0]["lifted_at"], Value::Null);
}

#[tokio::test]
async fn a_game_join_ban_is_visible_but_does_not_block_user_requests() {
    let app = spawn().await;
    let id = create_account(&app, "trent", None).await;
    insert_session(&app, id).await;
    let r = apply(
        &app,
        id,
        json!({ "kind": "game_join_ban", "reason": "griefing",
                "expires_at": Utc::now() + Duration::days(7) }),
    )
    .await;
    r.assert_status(201);

    get_account(&app, id).await.assert_status(200);
    assert_eq!(active_sessions(&app, id).await, 1, "sessions stay");
    let ban = app
        .state
        .users
        .active_game_join_ban(id.into())
        .expect("the lobby sees it");
    assert_eq!(ban.reason, "griefing");
    assert!(app.state.users.active_login_ban(id.into()).is_none());

    let detail = app
        .api
        .get(&format!("/api/v1/admin/users/{id}"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    detail.assert_status(200);
    let active = detail.value()["active_sanctions"].clone();
    assert_eq!(active.as_array().unwrap().len(), 1);
    assert_eq!(active[0]["kind"], "game_join_ban");

    let listed = app
        .api
        .get("/api/v1/admin/users")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .query("sanction", "game_join_ban")
        .send()
        .await;
    listed.assert_status(200);
    assert_eq!(listed.value()["total"], 1);
    assert_eq!(listed.value()["items"][0]["user_id"], id.to_string());
}

#[tokio::test]
async fn bad_sanctions_are_refused_with_stable_codes() {
    let app = spawn().await;
    let id = create_account(&app, "victor", None).await;
    for (body, code) in [
        (
            json!({ "kind": "login_ban", "reason": "  " }),
            "invalid_sanction",
        ),
        (
            json!({ "kind": "login_ban", "reason": "x".repeat(501) }),
            "invalid_sanction",
        ),
        (
            json!({ "kind": "login_ban", "reason": "late",
                    "expires_at": Utc::now() - Duration::minutes(1) }),
            "invalid_sanction",
        ),
        (json!({ "kind": "chat_ban", "reason": "r" }), "invalid_body"),
    ] {
        let r = apply(&app, id, body.clone()).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), code, "{body}");
    }
    let r = apply(
        &app,
        Uuid::new_v4(),
        json!({ "kind": "login_ban", "reason": "r" }),
    )
    .await;
    r.assert_status(404);
    assert!(list(&app, id).await.is_empty());
    get_account(&app, id).await.assert_status(200);
}

/// One announced revocation: (user, sessions, reason).
pub type Revocation = (Uuid, Vec<Uuid>, String);

/// A listener recording every `SessionsRevoked` the app announces, and
/// what it saw.
pub fn record_revocations() -> (Arc<dyn OnSessionsRevoked>, Arc<Mutex<Vec<Revocation>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let listener = move |e: &SessionsRevoked| {
        sink.lock().unwrap().push((
            e.user_id.0,
            e.device_session_ids.iter().map(|id| id.0).collect(),
            e.reason.as_str().to_owned(),
        ));
    };
    (Arc::new(listener), seen)
}

#[tokio::test]
async fn a_login_ban_after_a_real_login_is_announced_and_lifting_it_lets_the_user_back() {
    let server = crate::mail::smtp_server().await;
    let (listener, revocations) = record_revocations();
    let app = crate::auth::identity_app(&server)
        .on_sessions_revoked(listener)
        .spawn()
        .await;
    let me = crate::auth::login(&app, &server, "Ban.Me@example.com", 1, None).await;
    assert!(me.account_created);
    // The account reached the cache when auth created it.
    get_account(&app, me.user_id).await.assert_status(200);

    let r = apply(
        &app,
        me.user_id,
        json!({ "kind": "login_ban", "reason": "abuse" }),
    )
    .await;
    r.assert_status(201);
    let ban_id = r.value()["sanction_id"].as_str().unwrap().to_owned();
    assert_eq!(
        *revocations.lock().unwrap(),
        vec![(
            me.user_id,
            vec![me.device_session_id],
            "login_ban".to_owned()
        )]
    );
    let r = get_account(&app, me.user_id).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "login_banned");

    lift(&app, me.user_id, &ban_id).await.assert_status(200);
    let again = crate::auth::login(&app, &server, "ban.me@example.com", 2, None).await;
    assert_eq!(again.user_id, me.user_id);
    assert!(!again.account_created);
    get_account(&app, me.user_id).await.assert_status(200);
}
