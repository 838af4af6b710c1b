//! Liveness, readiness, the served contract and request ids.

use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_is_ok_while_the_process_lives() {
    let app = TestApp::spawn().await;
    let r = app.api.get("/healthz").send().await;
    r.assert_status(200);
    assert_eq!(r.value()["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ready_once_started() {
    let app = TestApp::spawn().await;
    app.api.get("/readyz").send().await.assert_status(200);
}

#[tokio::test]
async fn readyz_waits_for_registered_caches() {
    let app = TestApp::spawn().await;
    app.state.readiness.register_cache("test-cache");
    let r = app.api.get("/readyz").send().await;
    r.assert_status(503);
    assert_eq!(r.error_code(), "not_ready");
    assert_eq!(
        r.value()["error"]["details"]["caches_pending"][0],
        "test-cache"
    );
    app.state.readiness.mark_cache_warm("test-cache");
    app.api.get("/readyz").send().await.assert_status(200);
}

#[tokio::test]
async fn readyz_turns_unready_when_postgres_is_unreachable() {
    let app = TestApp::spawn().await;
    app.api.get("/readyz").send().await.assert_status(200);
    // Closing the pool makes every query fail as an unreachable server would.
    app.state.db.close().await;
    let r = app.api.get("/readyz").send().await;
    r.assert_status(503);
    assert_eq!(r.value()["error"]["details"]["postgres"], false);
    let health = app.api.get("/healthz").send().await;
    health.assert_status(200);
}

#[tokio::test]
async fn the_contract_and_its_docs_page_are_served() {
    let app = TestApp::spawn().await;
    let r = app.api.get("/openapi.yaml").send().await;
    r.assert_status(200);
    assert_eq!(r.text(), galaxy_backend::server::OPENAPI_YAML);
    let docs = app.api.get("/docs").send().await;
    docs.assert_status(200);
    assert!(docs.text().contains("/openapi.yaml"));
}

#[tokio::test]
async fn a_request_id_is_generated_or_echoed() {
    let app = TestApp::spawn().await;
    let generated = app.api.get("/healthz").send().await;
    let id = generated
        .header("x-request-id")
        .expect("generated request id");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "generated id is a UUID: {id}"
    );
    let echoed = app
        .api
        .get("/healthz")
        .header("x-request-id", "req-123")
        .send()
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("req-123"));
}

#[tokio::test]
async fn http_metrics_use_route_templates() {
    let app = TestApp::spawn().await;
    let user = uuid::Uuid::new_v4();
    app.api
        .get("/api/v1/user/session")
        .user(user)
        .send()
        .await
        .assert_status(200);
    app.api
        .get("/no/such/route")
        .send()
        .await
        .assert_status(404);
    let text = app.scrape_metrics().await;
    let line = text
        .lines()
        .find(|l| l.starts_with("http_requests_total") && l.contains("/api/v1/user/session"))
        .unwrap_or_else(|| panic!("no http_requests_total for the route:\n{text}"));
    assert!(
        line.contains(r#"group="user""#) && line.contains(r#"status="200""#),
        "{line}"
    );
    assert!(
        !text.contains("/no/such/route"),
        "raw URLs must never become labels"
    );
    assert!(text.contains("http_request_duration_seconds"), "{text}");
    assert!(
        text.contains("db_pool"),
        "db pool metrics are exported:\n{text}"
    );
}
