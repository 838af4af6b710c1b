//! Bad input always gets the JSON error shape with a stable code and the
//! right status; never a 500, never a hang.

use uuid::Uuid;

use crate::helpers::TestApp;

#[tokio::test]
async fn unknown_routes_are_404_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let r = app.api.get("/api/v1/public/nothing-here").send().await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let r = app.api.delete("/healthz").send().await;
    r.assert_status(405);
    assert_eq!(r.error_code(), "method_not_allowed");
    assert!(
        r.header("allow").is_some_and(|a| a.contains("GET")),
        "Allow header: {:?}",
        r.header("allow")
    );
}

#[tokio::test]
async fn the_user_group_requires_x_user_id() {
    let app = TestApp::spawn().await;
    let missing = app.api.get("/api/v1/user/session").send().await;
    missing.assert_status(401);
    assert_eq!(missing.error_code(), "missing_user_id");
    let malformed = app
        .api
        .get("/api/v1/user/session")
        .header("x-user-id", "not-a-uuid")
        .send()
        .await;
    malformed.assert_status(401);
    assert_eq!(malformed.error_code(), "invalid_user_id");
    let user = Uuid::new_v4();
    let ok = app.api.get("/api/v1/user/session").user(user).send().await;
    ok.assert_status(200);
    assert_eq!(ok.value()["user_id"], user.to_string());
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = TestApp::builder()
        .var("BACKEND_HTTP_MAX_BODY_SIZE", "1k")
        .spawn()
        .await;
    let r = app
        .api
        .get("/api/v1/user/session")
        .user(Uuid::new_v4())
        .raw_body(Some("application/json"), vec![b' '; 4096])
        .send()
        .await;
    r.assert_status(413);
    assert_eq!(r.error_code(), "payload_too_large");
}

/// A JSON route to send bad bodies to: creating an admin account.
async fn app_with_admin() -> TestApp {
    TestApp::builder()
        .var("BACKEND_ADMIN_BOOTSTRAP_USER", "root")
        .var("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", "correct-horse-battery")
        .spawn()
        .await
}

const JSON_ROUTE: &str = "/api/v1/admin/admin-accounts";

#[tokio::test]
async fn malformed_json_is_400_and_a_wrong_shape_is_422() {
    let app = app_with_admin().await;
    let malformed = app
        .api
        .post(JSON_ROUTE)
        .basic_auth("root", "correct-horse-battery")
        .raw_body(Some("application/json"), r#"{"username": "x", "#)
        .send()
        .await;
    malformed.assert_status(400);
    assert_eq!(malformed.error_code(), "malformed_json");
    let wrong_shape = app
        .api
        .post(JSON_ROUTE)
        .basic_auth("root", "correct-horse-battery")
        .raw_body(Some("application/json"), r#"{"username": 42}"#)
        .send()
        .await;
    wrong_shape.assert_status(422);
    assert_eq!(wrong_shape.error_code(), "invalid_body");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = app_with_admin().await;
    for content_type in [Some("text/plain"), None] {
        let r = app
            .api
            .post(JSON_ROUTE)
            .basic_auth("root", "correct-horse-battery")
            .raw_body(content_type, "username=x")
            .send()
            .await;
        r.assert_status(415);
        assert_eq!(r.error_code(), "unsupported_media_type");
    }
}
