//! The admin users surface: Basic Auth, list with paging and filters (a
//! deleted account's email never listed), lookup by id / email / user name,
//! the detail with country counters, entitlement overrides (defaults, set,
//! clear, validation, seen by the user), admin soft delete and session
//! revocation, each recorded in the audit trail.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::client::TestResponse;
use crate::users::{
    ROOT, ROOT_PASSWORD, active_sessions, audit_actions, create_account, email_of, get_account,
    insert_session, recording_hook, spawn, spawn_with_hook,
};

const USERS: &str = "/api/v1/admin/users";

async fn get(app: &TestApp, path: &str, query: &[(&str, &str)]) -> TestResponse {
    let mut call = app.api.get(path).basic_auth(ROOT, ROOT_PASSWORD);
    for (k, v) in query {
        call = call.query(k, v);
    }
    call.send().await
}

async fn post(app: &TestApp, path: &str, body: Option<Value>) -> TestResponse {
    let mut call = app.api.post(path).basic_auth(ROOT, ROOT_PASSWORD);
    if let Some(body) = body {
        call = call.json(body);
    }
    call.send().await
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["user_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_users_surface_requires_admin_credentials() {
    let app = spawn().await;
    let r = app.api.get(USERS).send().await;
    r.assert_status(401);
    assert_eq!(r.error_code(), "missing_credentials");
    let r = app
        .api
        .get(&format!("{USERS}/{}", Uuid::new_v4()))
        .basic_auth(ROOT, "wrong-password-0001")
        .send()
        .await;
    r.assert_status(401);
}

#[tokio::test]
async fn users_are_listed_newest_first_with_paging_and_filters() {
    let app = spawn().await;
    let anna = create_account(&app, "anna", Some("DE")).await;
    let _bert = create_account(&app, "Bert", Some("FR")).await;
    let _berta = create_account(&app, "berta", Some("DE")).await;
    let gone = create_account(&app, "gone", Some("DE")).await;
    post(&app, &format!("{USERS}/{gone}/delete"), None)
        .await
        .assert_status(200);

    let all = get(&app, USERS, &[]).await;
    all.assert_status(200);
    let all = all.value();
    assert_eq!(all["total"], 4);
    assert_eq!(names(&all), vec!["gone", "berta", "Bert", "anna"]);
    let gone_item = &all["items"][0];
    assert_eq!(gone_item["status"], "deleted");
    assert_eq!(
        gone_item["email"],
        Value::Null,
        "a deleted email is never listed"
    );
    assert_eq!(all["items"][3]["email"], email_of("anna"));

    let page = get(&app, USERS, &[("per_page", "2"), ("page", "2")])
        .await
        .value();
    assert_eq!(
        (page["page"].clone(), page["per_page"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(page["total"], 4);
    assert_eq!(names(&page), vec!["Bert", "anna"]);

    let active_de = get(
        &app,
        USERS,
        &[("status", "active"), ("declared_country", "de")],
    )
    .await
    .value();
    assert_eq!(names(&active_de), vec!["berta", "anna"]);
    let deleted = get(&app, USERS, &[("status", "deleted")]).await.value();
    assert_eq!(names(&deleted), vec!["gone"]);
    let search = get(&app, USERS, &[("q", "BER")]).await.value();
    assert_eq!(names(&search), vec!["berta", "Bert"]);
    let none = get(&app, USERS, &[("q", "%")]).await.value();
    assert_eq!(none["total"], 0, "the search is a plain substring");

    crate::sanctions::apply(&app, anna, json!({ "kind": "login_ban", "reason": "r" }))
        .await
        .assert_status(201);
    let banned = get(&app, USERS, &[("sanction", "login_ban")]).await.value();
    assert_eq!(names(&banned), vec!["anna"]);

    for bad in [
        ("declared_country", "Germany"),
        ("status", "asleep"),
        ("per_page", "0"),
    ] {
        let r = get(&app, USERS, &[bad]).await;
        r.assert_status(400);
        assert_eq!(r.error_code(), "invalid_query");
    }
}

#[tokio::test]
async fn an_account_is_found_by_id_email_or_user_name_with_its_counters() {
    let app = spawn().await;
    let id = create_account(&app, "Quentin", Some("SE")).await;
    sqlx::query(
        "INSERT INTO user_country_counters (user_id, country, count) VALUES ($1, 'SE', 5), ($1, 'NO', 2)",
    )
    .bind(id)
    .execute(app.db())
    .await
    .unwrap();

    let by_id = get(&app, &format!("{USERS}/{id}"), &[]).await;
    by_id.assert_status(200);
    let detail = by_id.value();
    assert_eq!(detail["user_name"], "Quentin");
    assert_eq!(detail["declared_country"], "SE");
    assert_eq!(detail["status"], "active");
    assert_eq!(detail["entitlements"]["tier"], "free");
    let counters: Vec<(String, i64)> = detail["country_counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["country"].as_str().unwrap().to_owned(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counters, vec![("SE".into(), 5), ("NO".into(), 2)]);

    let lookup = format!("{USERS}/lookup");
    for (key, value) in [
        ("user_id", id.to_string()),
        ("email", " QUENTIN@example.test ".to_owned()),
        ("user_name", "quentin".to_owned()),
    ] {
        let r = get(&app, &lookup, &[(key, value.as_str())]).await;
        r.assert_status(200);
        assert_eq!(r.value()["user_id"], id.to_string(), "{key}");
    }
    for query in [vec![], vec![("email", "a@b.c"), ("user_name", "quentin")]] {
        let r = get(&app, &lookup, &query).await;
        r.assert_status(400);
        assert_eq!(r.error_code(), "invalid_query");
    }
    let r = get(&app, &lookup, &[("user_name", "nobody")]).await;
    r.assert_status(404);
    let r = get(&app, &format!("{USERS}/not-a-uuid"), &[]).await;
    r.assert_status(404);

    // After a soft delete the email no longer finds the account.
    post(&app, &format!("{USERS}/{id}/delete"), None)
        .await
        .assert_status(200);
    let r = get(&app, &lookup, &[("email", "quentin@example.test")]).await;
    r.assert_status(404);
    let r = get(&app, &lookup, &[("user_id", &id.to_string())]).await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "deleted");
}

#[tokio::test]
async fn entitlements_default_by_tier_and_admins_override_them() {
    let app = spawn().await;
    let id = create_account(&app, "rupert", None).await;
    let path = format!("{USERS}/{id}/entitlements");

    let r = get(&app, &path, &[]).await;
    r.assert_status(200);
    assert_eq!(r.value()["max_concurrent_games"], 3);
    assert_eq!(
        app.state.users.entitlements(id.into()).max_concurrent_games,
        3
    );

    let r = post(&app, &path, Some(json!({ "tier": "premium" }))).await;
    r.assert_status(200);
    assert_eq!(
        (
            r.value()["max_concurrent_games"].clone(),
            r.value()["max_registered_race_names"].clone()
        ),
        (json!(10), json!(5))
    );
    let r = post(&app, &path, Some(json!({ "max_concurrent_games": 25 }))).await;
    r.assert_status(200);
    let v = r.value();
    assert_eq!(v["tier"], "premium");
    assert_eq!(v["max_concurrent_games"], 25);
    assert_eq!(v["max_registered_race_names"], 5);
    assert_eq!(v["overridden"], json!(["max_concurrent_games"]));
    // The user sees the same snapshot, from the cache.
    assert_eq!(get_account(&app, id).await.value()["entitlements"], v);
    assert_eq!(
        app.state.users.entitlements(id.into()).max_concurrent_games,
        25
    );

    let r = post(&app, &path, Some(json!({ "max_concurrent_games": null }))).await;
    r.assert_status(200);
    assert_eq!(r.value()["max_concurrent_games"], 10);
    assert_eq!(r.value()["overridden"], json!([]));

    for body in [
        json!({ "max_concurrent_games": -1 }),
        json!({ "max_registered_race_names": 10001 }),
    ] {
        let r = post(&app, &path, Some(body)).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_limits");
    }
    let r = post(&app, &path, Some(json!({ "tier": "gold" }))).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_body");
    let r = post(
        &app,
        &format!("{USERS}/{}/entitlements", Uuid::new_v4()),
        Some(json!({ "tier": "free" })),
    )
    .await;
    r.assert_status(404);

    assert_eq!(
        audit_actions(&app, id).await,
        vec!["user.entitlements_set"; 3]
    );
}

#[tokio::test]
async fn an_admin_soft_deletes_an_account_and_revokes_sessions() {
    let hook = recording_hook(false);
    let app = spawn_with_hook(&hook).await;
    let id = create_account(&app, "sybil", None).await;
    let other = create_account(&app, "ted", None).await;
    insert_session(&app, id).await;
    insert_session(&app, other).await;
    insert_session(&app, other).await;

    let r = post(&app, &format!("{USERS}/{other}/revoke-sessions"), None).await;
    r.assert_status(200);
    assert_eq!(r.value(), json!({ "user_id": other, "revoked": 2 }));
    assert_eq!(active_sessions(&app, other).await, 0);
    get_account(&app, other).await.assert_status(200);

    let r = post(&app, &format!("{USERS}/{id}/delete"), None).await;
    r.assert_status(200);
    let v = r.value();
    assert_eq!(v["status"], "deleted");
    assert!(v["deleted_at"].is_string());
    assert_eq!(hook.seen(), vec![(id, true)]);
    assert_eq!(active_sessions(&app, id).await, 0);
    let r = get_account(&app, id).await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "account_deleted");

    let r = post(&app, &format!("{USERS}/{id}/delete"), None).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "account_already_deleted");
    let r = post(&app, &format!("{USERS}/{}/delete", Uuid::new_v4()), None).await;
    r.assert_status(404);

    assert_eq!(audit_actions(&app, id).await, vec!["user.soft_delete"]);
    assert_eq!(
        audit_actions(&app, other).await,
        vec!["user.sessions_revoke"]
    );
}
