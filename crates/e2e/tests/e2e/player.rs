//! A player's device talking to the gateway: login by email code, then
//! requests signed with the device key (`galaxy_wire::signature`), and the
//! gateway's event stream (SSE, `GET /api/v1/user/events`).

use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use galaxy_wire::signature::{self, SESSION_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use reqwest::Method;
use serde_json::{Value, json};

/// An answer: status and JSON body (`Value::Null` when there is none).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// Panics unless the status is `status`; the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        self.body
    }

    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// A logged-in device.
pub struct Player {
    pub user_id: String,
    pub session: String,
    key: SigningKey,
    gateway: String,
    http: reqwest::Client,
}

impl Player {
    /// Logs `email` in through the gateway's public routes: a challenge,
    /// the code from the mail `code_of` reads, the confirmation with a
    /// fresh device key.
    pub async fn login<F, Fut>(gateway: &str, email: &str, code_of: F) -> Player
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = String>,
    {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{gateway}/api/v1/public/auth/challenges"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .expect("the gateway answers");
        let challenge = answer(r).await.expect(202)["challenge_id"]
            .as_str()
            .expect("challenge_id")
            .to_owned();
        let code = code_of(email.to_owned()).await;
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let public_key =
            base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes());
        let r = http
            .post(format!(
                "{gateway}/api/v1/public/auth/challenges/{challenge}/confirm"
            ))
            .json(&json!({
                "code": code,
                "public_key": public_key,
                "device_name": "e2e",
                "platform": "test",
            }))
            .send()
            .await
            .expect("the gateway answers");
        let confirmed = answer(r).await;
        assert!(
            matches!(confirmed.status, 200 | 201),
            "confirm: {confirmed:?}"
        );
        Player {
            user_id: confirmed.body["user_id"].as_str().unwrap().to_owned(),
            session: confirmed.body["device_session_id"]
                .as_str()
                .unwrap()
                .to_owned(),
            key,
            gateway: gateway.to_owned(),
            http,
        }
    }

    fn signed(&self, method: Method, path: &str, body: &[u8]) -> reqwest::RequestBuilder {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let sig = signature::sign(&self.key, method.as_str(), path, body, ts);
        let mut call = self
            .http
            .request(method, format!("{}{path}", self.gateway))
            .header(SESSION_HEADER, &self.session)
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, sig)
            .body(body.to_vec());
        if !body.is_empty() {
            call = call.header("content-type", "application/json");
        }
        call
    }

    /// A signed request with a JSON body (`Value::Null`: none).
    pub async fn call(&self, method: Method, path: &str, body: Value) -> Answer {
        let bytes = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        };
        let r = self
            .signed(method.clone(), path, &bytes)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path} through the gateway: {e}"));
        answer(r).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, Value::Null).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, body).await
    }

    /// Opens the gateway's event stream for this device.
    pub async fn events(&self) -> Events {
        let r = self
            .signed(Method::GET, "/api/v1/user/events", b"")
            .send()
            .await
            .expect("the gateway answers");
        assert_eq!(r.status(), 200, "GET /api/v1/user/events");
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Events {
            response: Some(r),
            buffer: String::new(),
        }
    }
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Option<String>,
    pub kind: String,
    pub data: Value,
}

/// A reader of the gateway's SSE stream.
pub struct Events {
    response: Option<reqwest::Response>,
    buffer: String,
}

impl Events {
    /// The next event, `None` once the stream has ended (bounded: 60 s).
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(at) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..at + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
                continue;
            }
            let response = self.response.as_mut()?;
            let chunk = tokio::time::timeout(Duration::from_secs(60), response.chunk())
                .await
                .expect("no event within 60 s");
            match chunk {
                Ok(Some(bytes)) => self
                    .buffer
                    .push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n")),
                Ok(None) | Err(_) => {
                    self.response = None;
                }
            }
        }
    }

    /// Reads events until one of `kind` whose data matches `want`; panics
    /// if the stream ends first.
    pub async fn until(&mut self, kind: &str, want: impl Fn(&Value) -> bool) -> Event {
        while let Some(event) = self.next().await {
            if event.kind == kind && want(&event.data) {
                return event;
            }
        }
        panic!("the event stream ended before a {kind} event");
    }
}

/// One message (lines up to a blank line); comments and messages without
/// data are skipped.
fn parse(block: &str) -> Option<Event> {
    let (mut id, mut kind, mut data) = (None, "message".to_owned(), String::new());
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_owned()),
            "event" => kind = value.to_owned(),
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(Event {
        id,
        kind,
        data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
    })
}
