//! The whole backend, built with port 0 against a fresh database, served on
//! a background task, and stopped (gracefully) when the test ends.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use galaxy_backend::app::{Application, ExtraHooks};
use galaxy_backend::config::Config;
use galaxy_backend::server::AppState;
use galaxy_backend::session::OnSessionsRevoked;
use galaxy_backend::user::OnUserDeleted;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::client::ApiClient;
use super::db::TestDb;

pub struct TestApp {
    pub addr: SocketAddr,
    /// `BACKEND_GATEWAY_LISTEN_ADDR`'s listener, when configured.
    pub gateway_addr: Option<SocketAddr>,
    pub grpc_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub api: ApiClient,
    pub state: AppState,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Scratch space (GeoIP fixture, game state root) removed with the app.
    _dir: tempfile::TempDir,
    db_handle: Option<TestDb>,
    db_url: String,
}

/// Environment for a test app; `var` overrides any default.
pub struct TestAppBuilder {
    vars: BTreeMap<String, String>,
    db: Option<TestDb>,
    /// Another running app's database (a second instance on it).
    shared_url: Option<String>,
    hooks: ExtraHooks,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::builder().spawn().await
    }

    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            vars: BTreeMap::new(),
            db: None,
            shared_url: None,
            hooks: ExtraHooks::default(),
        }
    }

    pub fn db(&self) -> &PgPool {
        &self.state.db
    }

    /// The URL of this app's database (e.g. to start a second process on it).
    pub fn database_url(&self) -> String {
        self.db_url.clone()
    }

    /// The Prometheus text exposition of this app's metrics.
    pub async fn scrape_metrics(&self) -> String {
        let addr = self
            .metrics_addr
            .expect("metrics exporter is prometheus in tests");
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("scrape")
            .text()
            .await
            .expect("text")
    }

    /// Stops the app and hands back its database, e.g. to start again on it.
    pub async fn into_database(mut self) -> TestDb {
        let db = self.db_handle.take().expect("database");
        self.stop().await.expect("clean stop");
        db
    }

    /// Graceful shutdown; returns what `run_until_stopped` returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.take().expect("running").await.expect("app task")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestAppBuilder {
    pub fn var(mut self, name: &str, value: impl ToString) -> Self {
        self.vars.insert(name.to_owned(), value.to_string());
        self
    }

    /// Registers `listener` for every session revocation the app announces.
    pub fn on_sessions_revoked(mut self, listener: Arc<dyn OnSessionsRevoked>) -> Self {
        self.hooks.on_sessions_revoked.push(listener);
        self
    }

    /// Registers `hook` to run inside every soft delete.
    pub fn on_user_deleted(mut self, hook: Arc<dyn OnUserDeleted>) -> Self {
        self.hooks.on_user_deleted.push(hook);
        self
    }

    /// Reuses an existing database (e.g. to test a restart).
    pub fn database(mut self, db: TestDb) -> Self {
        self.db = Some(db);
        self
    }

    /// Runs as a second instance on `other`'s database (which `other` keeps
    /// owning: stop this one first).
    pub fn sharing(mut self, other: &TestApp) -> Self {
        self.shared_url = Some(other.database_url());
        self
    }

    pub async fn spawn(self) -> TestApp {
        let (config, dir, db, db_url, hooks) = self.prepare().await;
        let app = Application::build_with(config, hooks)
            .await
            .unwrap_or_else(|e| panic!("app failed to build: {e:#}"));
        let addr = app.http_addr();
        let gateway_addr = app.gateway_addr();
        let grpc_addr = app.grpc_addr();
        let metrics_addr = app.prometheus_addr();
        let state = app.state().clone();
        let shutdown = app.shutdown_token();
        let task = tokio::spawn(app.run_until_stopped());
        let test_app = TestApp {
            addr,
            gateway_addr,
            grpc_addr,
            metrics_addr,
            api: ApiClient::new(format!("http://{addr}")),
            state,
            shutdown,
            task: Some(task),
            _dir: dir,
            db_url,
            db_handle: db,
        };
        test_app.wait_until_ready().await;
        test_app
    }

    async fn prepare(
        self,
    ) -> (
        Config,
        tempfile::TempDir,
        Option<TestDb>,
        String,
        ExtraHooks,
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = match (self.db, &self.shared_url) {
            (Some(db), _) => Some(db),
            (None, Some(_)) => None,
            (None, None) => Some(TestDb::create().await),
        };
        let db_url = match (&db, self.shared_url) {
            (Some(db), _) => db.url(),
            (None, url) => url.expect("a shared database"),
        };
        let geoip = dir.path().join("GeoLite2-Country-test.mmdb");
        galaxy_devstack::geoip::write_fixture(&geoip).expect("write GeoIP fixture");
        let mut vars: BTreeMap<String, String> = [
            ("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("BACKEND_GRPC_PUSH_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            (
                "BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR",
                "127.0.0.1:0".to_owned(),
            ),
            ("BACKEND_OTEL_TRACES_EXPORTER", "none".to_owned()),
            ("BACKEND_OTEL_METRICS_EXPORTER", "prometheus".to_owned()),
            (
                "BACKEND_LOGGING_LEVEL",
                std::env::var("GALAXY_TEST_LOG").unwrap_or_else(|_| "error".into()),
            ),
            ("BACKEND_POSTGRES_DSN", db_url.clone()),
            ("BACKEND_POSTGRES_MAX_CONNS", "8".to_owned()),
            ("BACKEND_POSTGRES_MIN_CONNS", "1".to_owned()),
            ("BACKEND_SMTP_HOST", "127.0.0.1".to_owned()),
            // Nothing listens on port 9: tests that send mail start their own server.
            ("BACKEND_SMTP_PORT", "9".to_owned()),
            ("BACKEND_SMTP_FROM", "galaxy@test.invalid".to_owned()),
            ("BACKEND_SMTP_TLS_MODE", "none".to_owned()),
            ("BACKEND_DOCKER_NETWORK", "galaxy-test".to_owned()),
            (
                "BACKEND_GAME_STATE_ROOT",
                dir.path().join("game-state").display().to_string(),
            ),
            ("BACKEND_GEOIP_DB_PATH", geoip.display().to_string()),
            ("BACKEND_HTTP_SHUTDOWN_TIMEOUT", "5s".to_owned()),
            ("BACKEND_SHUTDOWN_TIMEOUT", "5s".to_owned()),
            // The engine image scripts/engine-image.sh builds (the game crate's version).
            (
                "BACKEND_RUNTIME_ENGINE_VERSIONS",
                "0.1.0=galaxy/game:0.1.0".to_owned(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        vars.extend(self.vars);
        let config = Config::from_vars(vars)
            .unwrap_or_else(|e| panic!("test configuration is invalid:\n{e}"));
        (config, dir, db, db_url, self.hooks)
    }
}

impl TestApp {
    /// Polls `/readyz` (bounded) until the warm-ups have finished.
    async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        let url = format!("http://{}/readyz", self.addr);
        for attempt in 0..500u64 {
            if let Ok(r) = client.get(&url).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2 + attempt.min(20))).await;
        }
        panic!("the app did not become ready");
    }
}
