//! The dev web inbox over a live server's store.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use galaxy_devstack::inbox;
use galaxy_devstack::smtp::{SmtpServer, SmtpServerOptions};
use http_body_util::BodyExt;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tower::ServiceExt;

async fn get(server: &Arc<SmtpServer>, uri: &str) -> (StatusCode, String) {
    let response = inbox::router(Arc::clone(server))
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn inbox_lists_messages_newest_first_as_html_and_json() {
    let server = Arc::new(
        SmtpServer::start(SmtpServerOptions::default())
            .await
            .unwrap(),
    );
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(server.port())
        .build();
    for (to, code) in [
        ("first@example.com", "111111"),
        ("second@example.com", "222222"),
    ] {
        let email = Message::builder()
            .from("galaxy@localhost".parse::<Mailbox>().unwrap())
            .to(to.parse::<Mailbox>().unwrap())
            .subject("Your <login> code")
            .body(format!("Code: {code}"))
            .unwrap();
        mailer.send(email).await.unwrap();
    }
    server
        .wait_for_messages(2, Duration::from_secs(10))
        .await
        .unwrap();

    let (status, json) = get(&server, "/api/messages").await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], 2);
    assert_eq!(list[0]["envelope_to"][0], "second@example.com");
    assert_eq!(list[0]["subject"], "Your <login> code");
    assert_eq!(list[0]["text"].as_str().unwrap().trim_end(), "Code: 222222");
    assert_eq!(list[1]["envelope_to"][0], "first@example.com");

    let (status, html) = get(&server, "/").await;
    assert_eq!(status, StatusCode::OK);
    let second = html.find("222222").unwrap();
    let first = html.find("111111").unwrap();
    assert!(second < first, "newest first");
    assert!(html.contains("Your &lt;login&gt; code"), "escaped");
}
