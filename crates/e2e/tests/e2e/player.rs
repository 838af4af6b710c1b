//! A player's device talking to the gateway through the CLI's client
//! (`galaxy_cli::client`: login by email code, requests signed with the
//! device key) and the gateway's event stream (SSE, `GET
//! /api/v1/user/events`, read with `galaxy_cli::sse`).

use std::time::Duration;

use ed25519_dalek::SigningKey;
use galaxy_cli::client::{AdminCredentials, Client, ClientError, Device};
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

    /// A call's outcome: the response read as JSON, or the API's error in
    /// its documented shape; a transport failure panics.
    async fn of(what: &str, outcome: Result<reqwest::Response, ClientError>) -> Answer {
        match outcome {
            Ok(response) => {
                let status = response.status().as_u16();
                let bytes = response.bytes().await.unwrap_or_default();
                Answer {
                    status,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                }
            }
            Err(ClientError::Api(e)) => Answer {
                status: e.status,
                body: json!({ "error": { "code": e.code, "message": e.message, "details": e.details } }),
            },
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// The admin's client (HTTP Basic, straight to the backend).
pub fn admin(backend: &str, (user, password): (&str, &str)) -> Client {
    Client::new(backend, backend)
        .expect("client")
        .with_admin(AdminCredentials {
            user: user.to_owned(),
            password: password.to_owned(),
        })
}

/// An admin request (with an empty JSON body unless a GET); its answer.
pub async fn admin_call(client: &Client, method: Method, path: &str) -> Answer {
    let what = format!("{method} {path}");
    let body = (method != Method::GET).then(|| json!({}));
    Answer::of(
        &what,
        client.admin_request(method, path, body.as_ref()).await,
    )
    .await
}

/// A logged-in device.
pub struct Player {
    pub user_id: String,
    pub session: String,
    client: Client,
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
        let client = Client::new(gateway, gateway).expect("client");
        let challenge = client
            .request_login_code(email)
            .await
            .unwrap_or_else(|e| panic!("login code for {email}: {e}"));
        let code = code_of(email.to_owned()).await;
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let logged_in = client
            .confirm_login_code(&challenge.challenge_id, &code, &key, "e2e", "test")
            .await
            .unwrap_or_else(|e| panic!("confirm for {email}: {e}"));
        Player {
            user_id: logged_in.user_id,
            session: logged_in.device_session_id.clone(),
            client: client.with_device(Device {
                key,
                session_id: logged_in.device_session_id,
            }),
        }
    }

    /// A signed request with a JSON body (`Value::Null`: none).
    pub async fn call(&self, method: Method, path: &str, body: Value) -> Answer {
        let what = format!("{method} {path} through the gateway");
        let body = (!body.is_null()).then_some(body);
        Answer::of(
            &what,
            self.client.user_request(method, path, body.as_ref()).await,
        )
        .await
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
        let response = self
            .client
            .user_request(Method::GET, "/api/v1/user/events", None)
            .await
            .unwrap_or_else(|e| panic!("GET /api/v1/user/events: {e}"));
        let content_type = response
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
            response: Some(response),
            parser: galaxy_cli::sse::Parser::new(),
            pending: Default::default(),
        }
    }
}

/// One server-sent event, its data read as JSON.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Option<String>,
    pub kind: String,
    pub data: Value,
}

/// A reader of the gateway's SSE stream.
pub struct Events {
    response: Option<reqwest::Response>,
    parser: galaxy_cli::sse::Parser,
    pending: std::collections::VecDeque<Event>,
}

impl Events {
    /// The next event, `None` once the stream has ended (bounded: 60 s).
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let response = self.response.as_mut()?;
            let chunk = tokio::time::timeout(Duration::from_secs(60), response.chunk())
                .await
                .expect("no event within 60 s");
            match chunk {
                Ok(Some(bytes)) => self
                    .pending
                    .extend(self.parser.feed(&bytes).into_iter().map(|m| Event {
                        id: m.id,
                        kind: m.event,
                        data: serde_json::from_str(&m.data).unwrap_or(Value::String(m.data)),
                    })),
                Ok(None) | Err(_) => self.response = None,
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
