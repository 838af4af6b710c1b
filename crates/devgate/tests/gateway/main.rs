//! The reference gateway in front of the real backend (port 0, a fresh
//! database, the gateway credential on): a device logs in through the
//! gateway's public routes, then signed user requests reach the backend as
//! that user ([`signing`]), and with push on the gateway streams each
//! session its events ([`events`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use galaxy_backend::app::Application;
use galaxy_backend::config::Config as BackendConfig;
use galaxy_backend::server::AppState;
use galaxy_devgate::push::PushStatus;
use galaxy_devgate::signature::{self, SESSION_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use galaxy_devgate::{Config, Gateway};
use galaxy_devstack::smtp::{SmtpServer, SmtpServerOptions};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

mod events;
mod signing;

#[allow(dead_code)]
#[path = "../../../backend/tests/api/helpers/db.rs"]
mod db;

const SECRET: &str = "a-gateway-secret-of-at-least-32-characters";
const ACCOUNT: &str = "/api/v1/user/account";
/// The longest a test waits for anything.
const WAIT: Duration = Duration::from_secs(30);

/// The backend, the SMTP server it mails codes to, and the gateway.
struct Stack {
    backend: SocketAddr,
    grpc: SocketAddr,
    gateway: String,
    state: AppState,
    smtp: SmtpServer,
    http: reqwest::Client,
    metrics: SocketAddr,
    backend_vars: BTreeMap<String, String>,
    backend_stop: CancellationToken,
    backend_task: Option<JoinHandle<anyhow::Result<()>>>,
    gateway_stop: CancellationToken,
    gateway_task: Option<JoinHandle<std::io::Result<()>>>,
    push: watch::Receiver<PushStatus>,
    _dir: tempfile::TempDir,
    _db: db::TestDb,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.gateway_stop.cancel();
        self.backend_stop.cancel();
    }
}

/// A logged-in device.
struct Device {
    key: SigningKey,
    session: Uuid,
    user_id: Uuid,
}

/// The stack with the gateway's push off.
async fn stack() -> Stack {
    start(false).await
}

/// The stack with the gateway subscribed to the backend's push stream.
async fn push_stack() -> Stack {
    start(true).await
}

async fn start(push: bool) -> Stack {
    let smtp = SmtpServer::start(SmtpServerOptions::default())
        .await
        .expect("SMTP server");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db::TestDb::create().await;
    let geoip = dir.path().join("GeoLite2-Country-test.mmdb");
    galaxy_devstack::geoip::write_fixture(&geoip).expect("GeoIP fixture");
    let backend_vars: BTreeMap<String, String> = [
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
    let app = build_backend(&backend_vars).await;
    let (backend, grpc) = (app.http_addr(), app.grpc_addr());

    let mut gateway_vars = vec![
        ("DEVGATE_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("DEVGATE_BACKEND_URL", format!("http://{backend}")),
        ("DEVGATE_GATEWAY_SECRET", SECRET.to_owned()),
        ("DEVGATE_FRESHNESS", "60s".to_owned()),
        ("DEVGATE_CLIENT_ID", "devgate-test".to_owned()),
    ];
    if push {
        gateway_vars.push(("DEVGATE_PUSH_URL", format!("http://{grpc}")));
    } else {
        // Without push nothing tells the gateway of a revocation: look up
        // every request, so a revoked session is refused at once.
        gateway_vars.push(("DEVGATE_LOOKUP_CACHE", "0".to_owned()));
    }
    let gateway = Gateway::bind(
        Config::from_vars(
            gateway_vars
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
        .expect("gateway config"),
    )
    .await
    .expect("gateway binds");
    let gateway_url = format!("http://{}", gateway.local_addr());
    let push = gateway.push_status();
    let gateway_stop = CancellationToken::new();
    let stop = gateway_stop.clone();
    let gateway_task = tokio::spawn(gateway.run_until(async move { stop.cancelled().await }));

    let mut stack = Stack {
        backend,
        grpc,
        gateway: gateway_url,
        state: app.state().clone(),
        smtp,
        http: reqwest::Client::new(),
        metrics: app.prometheus_addr().expect("prometheus exporter"),
        backend_vars,
        backend_stop: app.shutdown_token(),
        backend_task: None,
        gateway_stop,
        gateway_task: Some(gateway_task),
        push,
        _dir: dir,
        _db: db,
    };
    stack.backend_task = Some(tokio::spawn(app.run_until_stopped()));
    stack.wait_until_ready().await;
    stack
}

async fn build_backend(vars: &BTreeMap<String, String>) -> Application {
    let config =
        BackendConfig::from_vars(vars.clone()).unwrap_or_else(|e| panic!("backend config:\n{e}"));
    Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("backend: {e:#}"))
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
            tokio::time::sleep(Duration::from_millis(2 + attempt.min(20))).await;
        }
        panic!("the backend did not become ready");
    }

    /// Stops the backend and starts a new process of it (in-process) on
    /// the same database and addresses; the gateway keeps running.
    async fn restart_backend(&mut self) {
        self.backend_stop.cancel();
        self.backend_task
            .take()
            .expect("a running backend")
            .await
            .expect("backend task")
            .expect("backend stops cleanly");
        let mut vars = self.backend_vars.clone();
        vars.insert("BACKEND_HTTP_LISTEN_ADDR".into(), self.backend.to_string());
        vars.insert(
            "BACKEND_GRPC_PUSH_LISTEN_ADDR".into(),
            self.grpc.to_string(),
        );
        let app = build_backend(&vars).await;
        self.state = app.state().clone();
        self.metrics = app.prometheus_addr().expect("prometheus exporter");
        self.backend_stop = app.shutdown_token();
        self.backend_task = Some(tokio::spawn(app.run_until_stopped()));
        self.wait_until_ready().await;
    }

    /// Waits until the gateway has opened `n` push subscriptions and one
    /// is open now.
    async fn wait_for_subscription(&mut self, n: u64) {
        tokio::time::timeout(
            WAIT,
            self.push.wait_for(|s| s.connected && s.subscriptions >= n),
        )
        .await
        .expect("the gateway subscribes within the timeout")
        .expect("the gateway is running");
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

    /// `method path` to the gateway with explicit signature headers (each
    /// `None` leaves that header out), not sent yet.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &[u8],
        headers: [Option<String>; 3],
    ) -> reqwest::RequestBuilder {
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
        call
    }

    /// Sends `method path` through the gateway with explicit signature headers.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &[u8],
        headers: [Option<String>; 3],
    ) -> reqwest::Response {
        self.call(method, path, body, headers)
            .send()
            .await
            .expect("gateway answers")
    }

    /// A request from `device`, signed now.
    async fn signed(
        &self,
        device: &Device,
        method: reqwest::Method,
        path: &str,
        body: &[u8],
    ) -> reqwest::Response {
        let headers = signed_headers(device, &method, path, body);
        self.send(method, path, body, headers).await
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

/// The signature headers of a request from `device`, signed now.
fn signed_headers(
    device: &Device,
    method: &reqwest::Method,
    path: &str,
    body: &[u8],
) -> [Option<String>; 3] {
    let ts = now();
    [
        Some(device.session.to_string()),
        Some(ts.to_string()),
        Some(signature::sign(
            &device.key,
            method.as_str(),
            path,
            body,
            ts,
        )),
    ]
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
