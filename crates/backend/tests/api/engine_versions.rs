//! The engine version registry through the admin API against the real
//! PostgreSQL: the configured `0.1.0` registered at startup, create, read,
//! update and default switching with their refusals and audit rows, the
//! cache surviving a restart, and the lobby refusing games on unknown or
//! disabled labels. Every exchange is contract-validated by the test client.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::client::TestResponse;
use crate::lobby::{ADMIN_GAMES, GAMES, admin_get, admin_post, game_body, user_post};
use crate::users::{ROOT, ROOT_PASSWORD, admin_app, create_account};

const VERSIONS: &str = "/api/v1/admin/engine-versions";

async fn admin_patch(app: &TestApp, path: &str, body: Value) -> TestResponse {
    app.api
        .request(Method::PATCH, path)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(body)
        .send()
        .await
}

async fn set_default(app: &TestApp, label: &str) -> TestResponse {
    app.api
        .post(&format!("{VERSIONS}/{label}/default"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
}

async fn register(app: &TestApp, label: &str) -> Value {
    let r = admin_post(
        app,
        VERSIONS,
        json!({ "label": label, "image_ref": format!("galaxy/game:{label}") }),
    )
    .await;
    r.assert_status(201);
    r.value()
}

async fn audit_actions(app: &TestApp, target: &str) -> Vec<(String, Value)> {
    sqlx::query_as("SELECT action, details FROM admin_audit_log WHERE target = $1 ORDER BY id")
        .bind(target)
        .fetch_all(app.db())
        .await
        .unwrap()
}

fn labels(list: &Value) -> Vec<(String, bool, bool)> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["label"].as_str().unwrap().to_owned(),
                v["enabled"].as_bool().unwrap(),
                v["is_default"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_configured_version_is_registered_as_the_default_at_startup() {
    let app = admin_app().spawn().await;
    let r = admin_get(&app, &format!("{VERSIONS}/0.1.0")).await;
    r.assert_status(200);
    let v = r.value();
    assert_eq!(v["image_ref"], "galaxy/game:0.1.0");
    assert_eq!(
        (v["enabled"].as_bool(), v["is_default"].as_bool()),
        (Some(true), Some(true))
    );
}

#[tokio::test]
async fn admins_create_read_and_update_engine_versions_and_each_change_is_audited() {
    let app = admin_app().spawn().await;
    let created = register(&app, "0.2.0").await;
    assert_eq!(created["label"], "0.2.0");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["is_default"], false);
    assert_eq!(created["notes"], "");

    let r = admin_get(&app, VERSIONS).await;
    r.assert_status(200);
    assert_eq!(
        labels(&r.value()),
        [("0.1.0".into(), true, true), ("0.2.0".into(), true, false)]
    );

    let r = admin_patch(
        &app,
        &format!("{VERSIONS}/0.2.0"),
        json!({ "image_ref": "registry.example/game:0.2.0", "enabled": false, "notes": "broken build" }),
    )
    .await;
    r.assert_status(200);
    let v = r.value();
    assert_eq!(v["image_ref"], "registry.example/game:0.2.0");
    assert_eq!(v["enabled"], false);
    assert_eq!(v["notes"], "broken build");
    let r = admin_get(&app, &format!("{VERSIONS}/0.2.0")).await;
    assert_eq!(r.value(), v);

    let audit = audit_actions(&app, "0.2.0").await;
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "runtime.create_engine_version",
            "runtime.update_engine_version"
        ]
    );
    assert_eq!(audit[1].1["previous_image_ref"], "galaxy/game:0.2.0");
    assert_eq!(audit[1].1["enabled"], false);
}

#[tokio::test]
async fn a_taken_label_is_a_conflict_and_an_unknown_one_is_not_found() {
    let app = admin_app().spawn().await;
    let r = admin_post(
        &app,
        VERSIONS,
        json!({ "label": "0.1.0", "image_ref": "other/image:1" }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "engine_version_exists");

    admin_get(&app, &format!("{VERSIONS}/9.9.9"))
        .await
        .assert_status(404);
    admin_patch(
        &app,
        &format!("{VERSIONS}/9.9.9"),
        json!({ "enabled": false }),
    )
    .await
    .assert_status(404);
    set_default(&app, "9.9.9").await.assert_status(404);
}

#[tokio::test]
async fn labels_that_are_not_semantic_versions_are_refused() {
    let app = admin_app().spawn().await;
    let r = admin_post(
        &app,
        VERSIONS,
        json!({ "label": "01.2.3", "image_ref": "galaxy/game:x" }),
    )
    .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_engine_version");
    assert_eq!(r.value()["error"]["details"]["field"], "label");
}

#[tokio::test]
async fn switching_the_default_moves_it_and_refuses_disabled_versions() {
    let app = admin_app().spawn().await;
    register(&app, "0.2.0").await;

    let r = set_default(&app, "0.2.0").await;
    r.assert_status(200);
    assert_eq!(r.value()["is_default"], true);
    let r = admin_get(&app, VERSIONS).await;
    assert_eq!(
        labels(&r.value()),
        [("0.1.0".into(), true, false), ("0.2.0".into(), true, true)]
    );
    let audit = audit_actions(&app, "0.2.0").await;
    assert_eq!(audit[1].0, "runtime.set_default_engine_version");
    assert_eq!(audit[1].1["previous_default"], "0.1.0");

    // The default cannot be disabled; a disabled version cannot be the default.
    let r = admin_patch(
        &app,
        &format!("{VERSIONS}/0.2.0"),
        json!({ "enabled": false }),
    )
    .await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "engine_version_is_default");
    admin_patch(
        &app,
        &format!("{VERSIONS}/0.1.0"),
        json!({ "enabled": false }),
    )
    .await
    .assert_status(200);
    let r = set_default(&app, "0.1.0").await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "engine_version_disabled");

    let defaults: i64 = sqlx::query_scalar("SELECT count(*) FROM engine_versions WHERE is_default")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(defaults, 1);
}

#[tokio::test]
async fn the_registry_survives_a_restart_and_the_configuration_keeps_admin_choices() {
    let app = admin_app().spawn().await;
    register(&app, "0.2.0").await;
    set_default(&app, "0.2.0").await.assert_status(200);
    admin_patch(
        &app,
        &format!("{VERSIONS}/0.1.0"),
        json!({ "enabled": false }),
    )
    .await
    .assert_status(200);

    let restarted = admin_app()
        .database(app.into_database().await)
        .var(
            "BACKEND_RUNTIME_ENGINE_VERSIONS",
            "0.1.0=galaxy/game:0.1.0-rebuilt,0.3.0=galaxy/game:0.3.0",
        )
        .spawn()
        .await;
    let r = admin_get(&restarted, VERSIONS).await;
    r.assert_status(200);
    let list = r.value();
    assert_eq!(
        labels(&list),
        [
            ("0.1.0".into(), false, false),
            ("0.2.0".into(), true, true),
            ("0.3.0".into(), true, false),
        ]
    );
    assert_eq!(list["items"][0]["image_ref"], "galaxy/game:0.1.0-rebuilt");
}

#[tokio::test]
async fn the_lobby_refuses_games_on_unknown_or_disabled_engine_versions() {
    let app = admin_app().spawn().await;
    let owner = create_account(&app, "owner", None).await;

    let mut body = game_body("Unknown version");
    body["engine_version"] = json!("7.0.0");
    let r = user_post(&app, owner, GAMES, body.clone()).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "unknown_engine_version");
    assert_eq!(r.value()["error"]["details"]["field"], "engine_version");
    let r = admin_post(&app, ADMIN_GAMES, body).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "unknown_engine_version");

    register(&app, "0.2.0").await;
    let mut body = game_body("Registered version");
    body["engine_version"] = json!("0.2.0");
    user_post(&app, owner, GAMES, body.clone())
        .await
        .assert_status(201);

    admin_patch(
        &app,
        &format!("{VERSIONS}/0.2.0"),
        json!({ "enabled": false }),
    )
    .await
    .assert_status(200);
    let r = admin_post(&app, ADMIN_GAMES, body).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "unknown_engine_version");

    admin_post(&app, ADMIN_GAMES, game_body("Default version"))
        .await
        .assert_status(201);
}
