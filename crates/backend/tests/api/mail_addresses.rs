//! Addresses beyond ASCII, end to end: an international domain is accepted
//! and sent IDNA-encoded; a non-ASCII local part is refused up front when
//! the relay lacks `SMTPUTF8` (the test relay does); an address the mail
//! library would refuse is a 422, never a 500. And every mail carries the
//! `traceparent` of the span that sent it.

use serde_json::json;

use crate::auth::{CHALLENGES, identity_app, request_code};
use crate::mail::{smtp_server, tick};

#[tokio::test]
async fn an_international_domain_is_accepted_and_sent_idna_encoded() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    request_code(&app, "user@EXÄMPLE.com").await;
    tick(&app).await;
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, ["user@xn--exmple-cua.com"]);
}

#[tokio::test]
async fn a_non_ascii_local_part_is_refused_when_the_relay_lacks_smtputf8() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let r = app
        .api
        .post(CHALLENGES)
        .json(json!({ "email": "Ünï@exämple.com" }))
        .send()
        .await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "unsupported_email");
    tick(&app).await;
    assert!(server.messages().is_empty(), "nothing was queued");
}

#[tokio::test]
async fn an_address_the_mail_library_refuses_is_422_not_500() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    for email in ["İ@example.com", "user@xn--a.com"] {
        let r = app
            .api
            .post(CHALLENGES)
            .json(json!({ "email": email }))
            .send()
            .await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_email", "{email}");
    }
}

#[tokio::test]
async fn every_mail_carries_the_traceparent_of_its_send() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    request_code(&app, "traced@example.com").await;
    tick(&app).await;
    let messages = server.messages();
    let traceparent = messages[0]
        .header("traceparent")
        .unwrap_or_else(|| panic!("no traceparent in {}", messages[0].raw_text()));
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[0], "00");
    assert!(
        parts[1].len() == 32 && parts[1].bytes().all(|b| b.is_ascii_hexdigit()),
        "{traceparent}"
    );
    assert_ne!(parts[1], "0".repeat(32));
    assert_eq!(parts[2].len(), 16, "{traceparent}");
}

/// One trace runs from the HTTP request to the SMTP call: the mail's
/// `traceparent` carries the trace id the request came with.
#[tokio::test]
async fn a_mail_continues_the_trace_of_the_request_that_enqueued_it() {
    let server = smtp_server().await;
    // Request spans are opened (and continue an incoming traceparent) only
    // when traces are exported.
    let app = identity_app(&server)
        .var("BACKEND_OTEL_TRACES_EXPORTER", "stdout")
        .spawn()
        .await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    app.api
        .post("/api/v1/public/auth/challenges")
        .header("traceparent", &format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(serde_json::json!({ "email": "joined@example.com" }))
        .send()
        .await
        .assert_status(202);
    tick(&app).await;
    let messages = server.messages();
    let traceparent = messages[0]
        .header("traceparent")
        .unwrap_or_else(|| panic!("no traceparent in {}", messages[0].raw_text()));
    assert_eq!(
        traceparent.split('-').nth(1),
        Some(trace_id),
        "{traceparent}"
    );
}
