//! Findings of the property-based contract run (`scripts/contract-test.sh`),
//! each kept as a regular test: rules the server enforces are the rules
//! `openapi.yaml` states, no more and no less. Every exchange goes through
//! the contract-validating client, so a schema-valid request answered 4xx
//! or a schema-invalid one answered 2xx fails here too.

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::auth::{CHALLENGES, confirm_path, device_key};
use crate::users::{ACCOUNT, ROOT, ROOT_PASSWORD, create_account, spawn};

const PREFERENCES: &str = "/api/v1/user/notification-preferences";
const LOOKUP: &str = "/api/v1/admin/users/lookup";

#[tokio::test]
async fn a_body_that_is_a_json_array_is_refused() {
    // serde reads a struct from a sequence: `[null, null]` was accepted as
    // an empty settings change (200).
    let app = spawn().await;
    let user = create_account(&app, "arrays", None).await;
    for body in ["[null, null]", " [\"en\", \"UTC\"]"] {
        let r = app
            .api
            .request(Method::PATCH, &format!("{ACCOUNT}/settings"))
            .user(user)
            .raw_body(Some("application/json"), body)
            .send()
            .await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_body", "{body}");
    }
}

#[tokio::test]
async fn notification_preferences_take_only_the_documented_properties() {
    let app = spawn().await;
    let user = create_account(&app, "prefs", None).await;
    let bodies = [
        json!({ "items": [{ "kind": "lobby.invite.received", "email_enabled": false, "x": 1 }] }),
        json!({ "items": [], "extra": true }),
        json!({ "items": [["lobby.invite.received", false]] }),
    ];
    for body in bodies {
        let r = app
            .api
            .request(Method::PUT, PREFERENCES)
            .user(user)
            .json(&body)
            .send()
            .await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_body", "{body}");
    }
    // Nothing changed.
    let r = app.api.get(PREFERENCES).user(user).send().await;
    r.assert_status(200);
    assert!(
        r.value()["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["email_enabled"] == true)
    );
}

#[tokio::test]
async fn notification_preferences_answer_403_for_a_deleted_account() {
    let app = spawn().await;
    let user = create_account(&app, "gone", None).await;
    app.api
        .post(&format!("{ACCOUNT}/delete"))
        .user(user)
        .send()
        .await
        .assert_status(204);
    let r = app.api.get(PREFERENCES).user(user).send().await;
    r.assert_status(403);
    assert_eq!(r.error_code(), "account_deleted");
    let r = app
        .api
        .request(Method::PUT, PREFERENCES)
        .user(user)
        .json(json!({ "items": [] }))
        .send()
        .await;
    r.assert_status(403);
}

#[tokio::test]
async fn user_lookup_takes_exactly_one_documented_key() {
    let app = spawn().await;
    let user = create_account(&app, "findme", None).await;
    let lookup = |pairs: &[(&str, String)]| {
        let mut call = app.api.get(LOOKUP).basic_auth(ROOT, ROOT_PASSWORD);
        for (k, v) in pairs {
            call = call.query(k, v);
        }
        call.send()
    };
    lookup(&[("user_id", user.to_string())])
        .await
        .assert_status(200);
    lookup(&[("user_name", "FINDME".into())])
        .await
        .assert_status(200);
    for pairs in [
        vec![],
        vec![
            ("user_id", user.to_string()),
            ("user_name", "findme".into()),
        ],
        vec![("user_id", user.to_string()), ("page", "1".into())],
        vec![("unknown", "x".into())],
    ] {
        let r = lookup(&pairs).await;
        r.assert_status(400);
        assert_eq!(r.error_code(), "invalid_query", "{pairs:?}");
    }
}

#[tokio::test]
async fn the_declared_country_filter_is_two_letters() {
    let app = spawn().await;
    for bad in ["", "D", "DEU", "1A"] {
        let r = app
            .api
            .get("/api/v1/admin/users")
            .basic_auth(ROOT, ROOT_PASSWORD)
            .query("declared_country", bad)
            .send()
            .await;
        r.assert_status(400);
    }
    app.api
        .get("/api/v1/admin/users")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .query("declared_country", "de")
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_sanction_reason_is_measured_as_sent() {
    let app = spawn().await;
    let user = create_account(&app, "sanctioned", None).await;
    let apply = |reason: String| {
        app.api
            .post(&format!("/api/v1/admin/users/{user}/sanctions"))
            .basic_auth(ROOT, ROOT_PASSWORD)
            .json(json!({ "kind": "game_join_ban", "reason": reason }))
            .send()
    };
    for bad in [
        String::new(),
        " \t".into(),
        "\u{3000}".into(),
        format!("{} ", "x".repeat(500)),
    ] {
        let r = apply(bad).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_sanction");
    }
    let r = apply(format!(" {} ", "y".repeat(498))).await;
    r.assert_status(201);
    assert_eq!(r.value()["reason"], "y".repeat(498));
}

#[tokio::test]
async fn confirm_checks_the_device_fields_as_the_contract_states() {
    let app = spawn().await;
    let unknown = confirm_path(&Uuid::new_v4().to_string());
    let confirm = |public_key: String, device_name: String, platform: &str| {
        app.api
            .post(&unknown)
            .json(json!({
                "code": "123456",
                "public_key": public_key,
                "device_name": device_name,
                "platform": platform,
            }))
            .send()
    };
    let key = device_key(3);
    let r = confirm(format!(" {key}"), "phone".into(), "ios").await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_public_key");
    for (name, platform) in [
        ("", "ios"),
        (" ", "ios"),
        ("phone", "\u{2003}"),
        ("a\u{85}b", "ios"),
    ] {
        let r = confirm(key.clone(), name.into(), platform).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_device", "{name:?} {platform:?}");
    }
    let r = confirm(key.clone(), format!("{} ", "x".repeat(100)), "ios").await;
    r.assert_status(422);
    // Valid input reaches the challenge lookup.
    let r = confirm(key, " phone ".into(), "ios").await;
    r.assert_status(404);
}

#[tokio::test]
async fn an_empty_email_is_refused() {
    let app = spawn().await;
    let r = app
        .api
        .post(CHALLENGES)
        .json(json!({ "email": "" }))
        .send()
        .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_email");
}

#[tokio::test]
async fn the_served_document_matches_its_own_response_schema() {
    let app = spawn().await;
    let r = app.api.get("/openapi.yaml").send().await;
    r.assert_status(200);
    assert!(r.text().starts_with("openapi: 3.1.0"));
}

#[tokio::test]
async fn nul_in_search_and_lookup_keys_matches_nothing() {
    // PostgreSQL text cannot hold NUL: these were 500s.
    let app = spawn().await;
    create_account(&app, "nul", None).await;
    let r = app
        .api
        .get("/api/v1/admin/users")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .query("q", "n\0")
        .send()
        .await;
    r.assert_status(200);
    assert_eq!(r.value()["total"], 0);
    for key in ["email", "user_name"] {
        let r = app
            .api
            .get(LOOKUP)
            .basic_auth(ROOT, ROOT_PASSWORD)
            .query(key, "nul\0")
            .send()
            .await;
        r.assert_status(404);
    }
}

#[tokio::test]
async fn a_sanction_reason_with_nul_is_refused() {
    let app = spawn().await;
    let user = create_account(&app, "nulreason", None).await;
    let r = app
        .api
        .post(&format!("/api/v1/admin/users/{user}/sanctions"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "kind": "game_join_ban", "reason": "spam\u{0}" }))
        .send()
        .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_sanction");
}

#[tokio::test]
async fn the_intent_kind_filter_is_a_catalog_kind() {
    let app = spawn().await;
    let list = |kind: &str| {
        app.api
            .get("/api/v1/admin/notifications/intents")
            .basic_auth(ROOT, ROOT_PASSWORD)
            .query("kind", kind)
            .send()
    };
    list("game.turn.ready").await.assert_status(200);
    for bad in ["", "game.turn", "x\0"] {
        let r = list(bad).await;
        r.assert_status(400);
        assert_eq!(r.error_code(), "invalid_query");
    }
}
