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

/// Writes `request` on a fresh connection, then reads until the server
/// closes it (bounded: a hang fails the test) and returns what it sent.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server neither answered nor closed the connection")
    .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// An app whose read timeout (head, idle keep-alive, body chunks) is short.
async fn app_with_read_timeout() -> TestApp {
    TestApp::builder()
        .var("BACKEND_HTTP_READ_TIMEOUT", "300ms")
        .spawn()
        .await
}

/// A raw HTTP/1.1 answer with `status` and the error `code` in its body.
fn assert_raw_error(answer: &str, status: u16, code: &str) {
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {status}")),
        "{answer}"
    );
    assert!(answer.contains(&format!(r#""code":"{code}""#)), "{answer}");
}

#[tokio::test]
async fn a_handler_past_the_write_timeout_is_503_timeout_and_an_immediate_one_is_not() {
    let app = TestApp::builder()
        .var("BACKEND_ADMIN_BOOTSTRAP_USER", "root")
        .var("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", "correct-horse-battery")
        .var("BACKEND_HTTP_WRITE_TIMEOUT", "1ms")
        .spawn()
        .await;
    // A wrong password is checked with bcrypt on the blocking pool: far
    // longer than a millisecond.
    let slow = app
        .api
        .get("/api/v1/admin/admin-accounts")
        .basic_auth("root", "wrong-password-here")
        .send()
        .await;
    slow.assert_status(503);
    assert_eq!(slow.error_code(), "timeout");
    // Answered from memory at the first poll: the deadline never runs.
    app.api.get("/healthz").send().await.assert_status(200);
    app.api
        .get("/api/v1/user/session")
        .user(Uuid::new_v4())
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_stalled_body_is_408_request_timeout() {
    let app = app_with_read_timeout().await;
    // Ten of the forty declared bytes, then nothing.
    let answer = raw_exchange(
        &app,
        b"POST /api/v1/public/auth/challenges HTTP/1.1\r\nHost: test\r\n\
          Content-Type: application/json\r\nContent-Length: 40\r\nConnection: close\r\n\r\n\
          {\"email\":",
    )
    .await;
    assert_raw_error(&answer, 408, "request_timeout");
}

#[tokio::test]
async fn a_chunked_body_past_the_size_limit_is_413() {
    let app = TestApp::builder()
        .var("BACKEND_HTTP_MAX_BODY_SIZE", "1k")
        .spawn()
        .await;
    // No Content-Length to refuse up front: the limit stops the reading.
    let mut request = b"POST /api/v1/public/auth/challenges HTTP/1.1\r\nHost: test\r\n\
        Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    let chunk = format!("{{\"email\":\"{}@example.com\"}}", "a".repeat(4000));
    request.extend_from_slice(format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len()).as_bytes());
    let answer = raw_exchange(&app, &request).await;
    assert_raw_error(&answer, 413, "payload_too_large");
}

#[tokio::test]
async fn an_incomplete_request_head_is_cut_off_after_the_read_timeout() {
    let app = app_with_read_timeout().await;
    // Slowloris: the head never ends. The connection is closed, unanswered.
    let answer = raw_exchange(&app, b"GET /healthz HTTP/1.1\r\nHost: test\r\n").await;
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_read_timeout() {
    let app = app_with_read_timeout().await;
    // One complete request, then silence: answered, then closed.
    let answer = raw_exchange(&app, b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
}

#[tokio::test]
async fn two_x_user_id_headers_are_refused() {
    let app = TestApp::spawn().await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let answer = raw_exchange(
        &app,
        format!(
            "GET /api/v1/user/session HTTP/1.1\r\nHost: x\r\nX-User-ID: {a}\r\nX-User-ID: {b}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_raw_error(&answer, 400, "duplicate_user_id");
}

#[tokio::test]
async fn messages_speak_json_not_rust_and_cut_echoed_input() {
    let app = app_with_admin().await;
    let wrong_shape = app
        .api
        .post(JSON_ROUTE)
        .basic_auth("root", "correct-horse-battery")
        .raw_body(Some("application/json"), "5")
        .send()
        .await;
    wrong_shape.assert_status(422);
    let message = wrong_shape.value()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("expected a JSON object"), "{message}");
    assert!(!message.contains("struct"), "{message}");

    // A 5,000-character path parameter is named, and echoed cut short.
    let long = "x".repeat(5_000);
    let answer = raw_exchange(
        &app,
        format!(
            "GET /api/v1/internal/device-sessions/{long} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_raw_error(&answer, 400, "invalid_path");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    assert!(body.len() < 400, "{body}");
    assert!(body.contains("device_session_id"), "{body}");
    assert!(body.contains(&format!("{}…", "x".repeat(64))), "{body}");

    // Whatever a handler quotes back is cut too (here a 404 naming the id).
    let answer = raw_exchange(
        &app,
        format!(
            "GET /api/v1/admin/mail/deliveries/{long} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nConnection: close\r\n\r\n",
            base64_credentials("root", "correct-horse-battery")
        )
        .as_bytes(),
    )
    .await;
    assert_raw_error(&answer, 404, "not_found");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    assert!(body.len() < 400, "{body}");
}

fn base64_credentials(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// A connection the server ends (here `pg_terminate_backend`, SQLSTATE
/// `57P01`, as in a database restart) is "the database is unavailable":
/// `503 database_unavailable`, never `500 internal`; a wrong statement or a
/// failing one (division by zero) is not.
#[tokio::test]
async fn a_connection_the_server_ends_is_database_unavailable_not_internal() {
    use galaxy_backend::postgres::is_unavailable;
    let app = TestApp::spawn().await;
    let mut conn = app.db().acquire().await.unwrap();
    let ended = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
        .execute(&mut *conn)
        .await
        .expect_err("the server ends its own session");
    assert!(is_unavailable(&ended), "{ended:?}");
    drop(conn);

    let wrong = sqlx::query("SELEC 1").execute(app.db()).await.unwrap_err();
    assert!(!is_unavailable(&wrong), "{wrong:?}");
    let division = sqlx::query("SELECT 1/0")
        .execute(app.db())
        .await
        .unwrap_err();
    assert!(!is_unavailable(&division), "{division:?}");
    assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
}
