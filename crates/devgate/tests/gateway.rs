//! The reference gateway in front of the real backend (port 0, a fresh
//! database, the gateway credential on): a device logs in through the
//! gateway's public routes, then signed user requests reach the backend as
//! that user, and every bad signature is refused with 401 before the
//! backend sees it (its `http_requests_total` for the route stays put).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use galaxy_backend::app::Application;
use galaxy_backend::config::Config as BackendConfig;
use galaxy_backend::server::AppState;
use galaxy_devgate::signature::{self, SESSION_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use galaxy_devgate::{Config, Gateway};
use galaxy_devstack::smtp::{SmtpServer, SmtpServerOptions};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[allow(dead_code)]
#[path = "../../backend/tests/api/helpers/db.rs"]
mod db;

const SECRET: &str = "a-gateway-secret-of-at-least-32-characters";
const ACCOUNT: &str = "/api/v1/user/account";

/// The backend, the SMTP server it mails codes to, and the gateway.
struct Stack {
    backend: SocketAddr,
    gateway: String,
    state: AppState,
    smtp: SmtpServer,
    http: reqwest::Client,
    metrics: SocketAddr,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
    _db: db::TestDb,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A logged-in device.
struct Device {
    key: SigningKey,
    session: Uuid,
    user_id: Uuid,
}

async fn stack() -> Stack {
    let smtp = SmtpServer::start(SmtpServerOptions::default())
        .await
        .expect("SMTP server");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db::TestDb::create().await;
    let geoip = dir.path().join("GeoLite2-Country-test.mmdb");
    galaxy_devstack::geoip::write_fixture(&geoip).expect("GeoIP fixture");
    let vars: BTreeMap<String, String> = [
        ("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("BACKEND_GRPC_PUSH_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        (
            "BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR",
            "127.0.0.1:0".to_owned(),
        ),
        ("BACKEND_OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("BACKEND_OTEL_METRICS_EXPORTER", "prometheus".to_owned()),
        ("BACKEND_LOGGING_LEVEL", "error".to_owned()),
        ("BACKEND_POSTGRES_DSN", db.url()),
        ("BACKEND_POSTGRES_MAX_CONNS", "4".to_owned()),
        ("BACKEND_POSTGRES_MIN_CONNS", "1".to_owned()),
        ("BACKEND_SMTP_HOST", "127.0.0.1".to_owned()),
        ("BACKEND_SMTP_PORT", smtp.port().to_string()),
        ("BACKEND_SMTP_FROM", "galaxy@test.invalid".to_owned()),
        ("BACKEND_SMTP_TLS_MODE", "none".to_owned()),
        ("BACKEND_MAIL_WORKER_ENABLED", "false".to_owned()),
        ("BACKEND_DOCKER_NETWORK", "galaxy-test".to_owned()),
        (
            "BACKEND_GAME_STATE_ROOT",
            dir.path().join("game-state").display().to_string(),
        ),
        ("BACKEND_GEOIP_DB_PATH", geoip.display().to_string()),
        ("BACKEND_HTTP_SHUTDOWN_TIMEOUT", "5s".to_owned()),
        ("BACKEND_SHUTDOWN_TIMEOUT", "5s".to_owned()),
        (
            "BACKEND_RUNTIME_ENGINE_VERSIONS",
            "0.1.0=galaxy/game:0.1.0".to_owned(),
        ),
        ("BACKEND_GATEWAY_SECRET", SECRET.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = BackendConfig::from_vars(vars).unwrap_or_else(|e| panic!("backend config:\n{e}"));
    let app = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("backend: {e:#}"));
    let backend = app.http_addr();
    let metrics = app.prometheus_addr().expect("prometheus exporter");
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());

    let gateway = Gateway::bind(
        Config::from_vars(
            [
                ("DEVGATE_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
                ("DEVGATE_BACKEND_URL", format!("http://{backend}")),
                ("DEVGATE_GATEWAY_SECRET", SECRET.to_owned()),
                ("DEVGATE_FRESHNESS", "60s".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        )
        .expect("gateway config"),
    )
    .await
    .expect("gateway binds");
    let gateway_url = format!("http://{}", gateway.local_addr());
    let stop = shutdown.clone();
    tokio::spawn(gateway.run_until(async move { stop.cancelled().await }));

    let stack = Stack {
        backend,
        gateway: gateway_url,
        state,
        smtp,
        http: reqwest::Client::new(),
        metrics,
        shutdown,
        _dir: dir,
        _db: db,
    };
    stack.wait_until_ready().await;
    stack
}

impl Stack {
    async fn wait_until_ready(&self) {
        let url = format!("http://{}/readyz", self.backend);
        for attempt in 0..500u64 {
            if let Ok(r) = self.http.get(&url).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2 + attempt.min(20))).await;
        }
        panic!("the backend did not become ready");
    }

    /// Logs a device in through the gateway's public routes (unsigned).
    async fn login(&self, email: &str, seed: u8) -> Device {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let r = self
            .http
            .post(format!("{}/api/v1/public/auth/challenges", self.gateway))
            .json(&json!({ "email": email }))
            .send()
            .await
            .expect("challenge");
        assert_eq!(r.status(), 202, "challenge through the gateway");
        let challenge: Value = r.json().await.unwrap();
        let challenge = challenge["challenge_id"].as_str().unwrap().to_owned();

        self.state
            .mail
            .worker()
            .tick_report()
            .await
            .expect("mail step");
        let messages = self.smtp.messages();
        let body = messages
            .iter()
            .rev()
            .find(|m| m.to.iter().any(|to| to == email))
            .expect("login mail")
            .body_text()
            .expect("text body");
        let at = body.find("login code is ").expect("code line") + "login code is ".len();
        let code = &body[at..at + 6];

        let public_key =
            base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes());
        let r = self
            .http
            .post(format!(
                "{}/api/v1/public/auth/challenges/{challenge}/confirm",
                self.gateway
            ))
            .json(&json!({
                "code": code,
                "public_key": public_key,
                "device_name": "devgate test",
                "platform": "test",
            }))
            .send()
            .await
            .expect("confirm");
        assert!(
            matches!(r.status().as_u16(), 200 | 201),
            "confirm through the gateway: {}",
            r.status()
        );
        let v: Value = r.json().await.unwrap();
        Device {
            key,
            session: v["device_session_id"].as_str().unwrap().parse().unwrap(),
            user_id: v["user_id"].as_str().unwrap().parse().unwrap(),
        }
    }

    /// Sends `method path` through the gateway with explicit signature
    /// headers (each `None` leaves that header out).
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &[u8],
        headers: [Option<String>; 3],
    ) -> reqwest::Response {
        let mut call = self
            .http
            .request(method, format!("{}{path}", self.gateway))
            .body(body.to_vec());
        if !body.is_empty() {
            call = call.header("content-type", "application/json");
        }
        for (name, value) in [SESSION_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]
            .into_iter()
            .zip(headers)
        {
            if let Some(value) = value {
                call = call.header(name, value);
            }
        }
        call.send().await.expect("gateway answers")
    }

    /// A request from `device`, signed now.
    async fn signed(
        &self,
        device: &Device,
        method: reqwest::Method,
        path: &str,
        body: &[u8],
    ) -> reqwest::Response {
        let ts = now();
        let sig = signature::sign(&device.key, method.as_str(), path, body, ts);
        self.send(
            method,
            path,
            body,
            [
                Some(device.session.to_string()),
                Some(ts.to_string()),
                Some(sig),
            ],
        )
        .await
    }

    /// How many requests for `path` the backend has answered.
    async fn backend_saw(&self, path: &str) -> f64 {
        let text = self
            .http
            .get(format!("http://{}/metrics", self.metrics))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| {
                l.starts_with("http_requests_total") && l.contains(&format!("path=\"{path}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn assert_refused(response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), 401, "expected 401 {code}");
    let v: Value = response.json().await.expect("error body");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
}

#[tokio::test]
async fn a_signed_request_reaches_the_backend_as_the_sessions_user() {
    let stack = stack().await;
    let device = stack.login("signed@example.com", 7).await;

    let r = stack
        .signed(&device, reqwest::Method::GET, ACCOUNT, b"")
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["user_id"], device.user_id.to_string(), "{v}");

    // A query is part of what is signed, and a body too.
    let r = stack
        .signed(
            &device,
            reqwest::Method::GET,
            "/api/v1/user/sessions?limit=10",
            b"",
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(stack.backend_saw(ACCOUNT).await, 1.0);
}

#[tokio::test]
async fn bad_signatures_are_refused_before_the_backend_sees_them() {
    let stack = stack().await;
    let device = stack.login("refused@example.com", 8).await;
    let session = Some(device.session.to_string());
    let get = reqwest::Method::GET;
    let ts = now();
    let good = signature::sign(&device.key, "GET", ACCOUNT, b"", ts);

    // No headers at all, or one of them missing.
    assert_refused(
        stack
            .send(get.clone(), ACCOUNT, b"", [None, None, None])
            .await,
        "missing_signature",
    )
    .await;
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [session.clone(), Some(ts.to_string()), None],
            )
            .await,
        "missing_signature",
    )
    .await;

    // Signed by another key.
    let other = SigningKey::from_bytes(&[99; 32]);
    let wrong = signature::sign(&other, "GET", ACCOUNT, b"", ts);
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [session.clone(), Some(ts.to_string()), Some(wrong)],
            )
            .await,
        "bad_signature",
    )
    .await;

    // A signature for another body (tampered in transit).
    let patch = reqwest::Method::PATCH;
    let sent = br#"{"user_name":"mallory"}"#;
    let signed_for = signature::sign(
        &device.key,
        "PATCH",
        ACCOUNT,
        br#"{"user_name":"alice"}"#,
        ts,
    );
    assert_refused(
        stack
            .send(
                patch,
                ACCOUNT,
                sent,
                [session.clone(), Some(ts.to_string()), Some(signed_for)],
            )
            .await,
        "bad_signature",
    )
    .await;

    // Garbage instead of a signature.
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [
                    session.clone(),
                    Some(ts.to_string()),
                    Some("bm9wZQ==".into()),
                ],
            )
            .await,
        "bad_signature",
    )
    .await;

    // A captured request replayed after the window (and one from the future).
    for skew in [-61, -3600, 61] {
        let old = ts + skew;
        let replayed = signature::sign(&device.key, "GET", ACCOUNT, b"", old);
        assert_refused(
            stack
                .send(
                    get.clone(),
                    ACCOUNT,
                    b"",
                    [session.clone(), Some(old.to_string()), Some(replayed)],
                )
                .await,
            "stale_timestamp",
        )
        .await;
    }

    // An unknown session, and one that is not a UUID.
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [
                    Some(Uuid::new_v4().to_string()),
                    Some(ts.to_string()),
                    Some(good.clone()),
                ],
            )
            .await,
        "unknown_session",
    )
    .await;
    assert_refused(
        stack
            .send(
                get.clone(),
                ACCOUNT,
                b"",
                [
                    Some("nope".into()),
                    Some(ts.to_string()),
                    Some(good.clone()),
                ],
            )
            .await,
        "unknown_session",
    )
    .await;

    // A client-supplied X-User-ID is no way around it.
    let r = stack
        .http
        .get(format!("{}{ACCOUNT}", stack.gateway))
        .header("x-user-id", device.user_id.to_string())
        .send()
        .await
        .unwrap();
    assert_refused(r, "missing_signature").await;

    assert_eq!(
        stack.backend_saw(ACCOUNT).await,
        0.0,
        "the backend saw a refused request"
    );

    // The same session, properly signed, still works.
    let r = stack
        .send(
            get,
            ACCOUNT,
            b"",
            [session, Some(ts.to_string()), Some(good)],
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_revoked_session_is_refused() {
    let stack = stack().await;
    let device = stack.login("revoked@example.com", 9).await;
    let revoke = format!("/api/v1/user/sessions/{}/revoke", device.session);

    let r = stack
        .signed(&device, reqwest::Method::POST, &revoke, b"")
        .await;
    assert_eq!(r.status(), 204, "revoke through the gateway");

    let r = stack
        .signed(&device, reqwest::Method::GET, ACCOUNT, b"")
        .await;
    assert_refused(r, "unknown_session").await;
    assert_eq!(stack.backend_saw(ACCOUNT).await, 0.0);
}

#[tokio::test]
async fn only_the_public_and_user_groups_are_served() {
    let stack = stack().await;
    let device = stack.login("groups@example.com", 10).await;
    // The internal lookup and the admin group are not reachable through the gateway.
    let internal = format!("/api/v1/internal/device-sessions/{}", device.session);
    for path in [internal.as_str(), "/api/v1/admin/users", "/readyz"] {
        let r = stack
            .http
            .get(format!("{}{path}", stack.gateway))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "not_found");
    }
}
