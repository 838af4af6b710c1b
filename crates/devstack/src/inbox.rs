//! The dev web inbox of `galaxy-dev-smtp`: an HTML page listing the
//! received messages (newest first) and the same list as JSON.
//!
//! - `GET /` — HTML, refreshes itself every 5 s.
//! - `GET /api/messages` — JSON array of [`MessageView`], newest first.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::smtp::{ReceivedMessage, SmtpServer};

/// One message as the inbox shows it.
#[derive(Debug, Serialize)]
pub struct MessageView {
    /// Position in arrival order, starting at 1.
    pub id: usize,
    pub received_at: String,
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub tls: bool,
    pub authenticated_as: Option<String>,
    pub size_bytes: usize,
}

impl MessageView {
    pub fn new(id: usize, message: &ReceivedMessage) -> Self {
        Self {
            id,
            received_at: message
                .received_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            envelope_from: message.from.clone(),
            envelope_to: message.to.clone(),
            from: message.header("From"),
            to: message.header("To"),
            subject: message.subject(),
            text: message.body_text(),
            html: message.body_html(),
            tls: message.tls,
            authenticated_as: message.authenticated_as.clone(),
            size_bytes: message.data.len(),
        }
    }
}

/// The inbox routes over `server`'s message store.
pub fn router(server: Arc<SmtpServer>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/messages", get(list_messages))
        .with_state(server)
}

fn newest_first(server: &SmtpServer) -> Vec<MessageView> {
    let messages = server.messages();
    messages
        .iter()
        .enumerate()
        .rev()
        .map(|(i, m)| MessageView::new(i + 1, m))
        .collect()
}

async fn list_messages(State(server): State<Arc<SmtpServer>>) -> Json<Vec<MessageView>> {
    Json(newest_first(&server))
}

async fn index(State(server): State<Arc<SmtpServer>>) -> impl IntoResponse {
    let messages = newest_first(&server);
    let mut page = String::from(concat!(
        "<!doctype html><html><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"refresh\" content=\"5\">",
        "<title>Galaxy dev inbox</title><style>",
        "body{font-family:sans-serif;margin:2em;max-width:60em}",
        "article{border:1px solid #ccc;border-radius:4px;padding:.5em 1em;margin:1em 0}",
        "pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}",
        ".meta{color:#555;font-size:.9em}</style></head><body>",
        "<h1>Galaxy dev inbox</h1>",
    ));
    let _ = write!(
        page,
        "<p class=\"meta\">{} message(s), newest first. JSON: <a href=\"/api/messages\">/api/messages</a></p>",
        messages.len()
    );
    for m in &messages {
        let _ = write!(
            page,
            "<article><h2>#{} {}</h2><p class=\"meta\">{} · from {} · to {}</p><pre>{}</pre></article>",
            m.id,
            escape(m.subject.as_deref().unwrap_or("(no subject)")),
            escape(&m.received_at),
            escape(&m.envelope_from),
            escape(&m.envelope_to.join(", ")),
            escape(m.text.as_deref().unwrap_or("(no text body)")),
        );
    }
    page.push_str("</body></html>");
    Html(page)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
