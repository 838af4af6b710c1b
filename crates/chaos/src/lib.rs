//! The chaos suite's shared pieces: the real backend binary as a child
//! process that can be killed and restarted, free loopback ports, and the
//! scenario type. Scenarios live in [`scenarios`], one module each.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use galaxy_devstack::smtp::SmtpServer;
use serde_json::{Value, json};

pub mod scenarios;

/// What one scenario run found: pass or fail, and its line of figures.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub passed: bool,
    pub figures: String,
}

impl Outcome {
    /// A failure that produced no figures.
    pub fn failed(why: String) -> Self {
        Self {
            passed: false,
            figures: why,
        }
    }
}

/// The random seed of this run: `GALAXY_CHAOS_SEED`, or a fresh one.
pub fn seed() -> u64 {
    std::env::var("GALAXY_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

/// A free TCP port on loopback (bound and released; good enough for a
/// child process started right after).
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A scenario's stack: an SMTP server of its own, a fresh migrated
/// database `galaxy_chaos_<name>`, and the backend configured for both
/// (plus `overrides`), not started yet; its log is
/// `$TMPDIR/galaxy-chaos-<name>/backend.log`.
pub struct Stack {
    pub smtp: SmtpServer,
    pub pool: sqlx::PgPool,
    pub backend: Backend,
}

impl Stack {
    pub async fn new(name: &str, overrides: &[(&str, &str)]) -> anyhow::Result<Self> {
        let smtp = SmtpServer::start(galaxy_devstack::smtp::SmtpServerOptions::default()).await?;
        let scratch = std::env::temp_dir().join(format!("galaxy-chaos-{name}"));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch)?;
        let dsn = galaxy_bench::fresh_database(&format!("galaxy_chaos_{name}")).await?;
        let port = smtp.port().to_string();
        let mut vars = vec![("BACKEND_SMTP_PORT", port.as_str())];
        vars.extend_from_slice(overrides);
        let env = galaxy_bench::bench_vars(&dsn, &scratch, &vars)?;
        let pool = migrated(&env).await?;
        let backend = Backend::new(env, scratch.join("backend.log"))?;
        Ok(Self {
            smtp,
            pool,
            backend,
        })
    }
}

/// What the login-code clients of [`CodeLoad`] got back.
#[derive(Default)]
pub struct Tally {
    /// The addresses whose request was answered `202`.
    pub accepted_emails: Mutex<Vec<String>>,
    /// `503`: the database was unreachable (a clean refusal).
    pub unavailable: AtomicUsize,
    /// Every other status, with its count.
    pub other_statuses: Mutex<BTreeMap<u16, usize>>,
    /// No answer: the connection was refused or dropped.
    pub connection_errors: AtomicUsize,
    pub slowest_ms: AtomicU64,
}

impl Tally {
    /// Requests answered `202`.
    pub fn accepted(&self) -> usize {
        self.accepted_emails.lock().expect("tally").len()
    }

    /// Answers with a 5xx other than `503`.
    pub fn server_errors(&self) -> usize {
        self.others(|status| status >= 500)
    }

    /// Answers neither `202`, `503` nor another 5xx.
    pub fn other(&self) -> usize {
        self.others(|status| status < 500)
    }

    fn others(&self, which: impl Fn(u16) -> bool) -> usize {
        let statuses = self.other_statuses.lock().expect("tally");
        statuses
            .iter()
            .filter(|(s, _)| which(**s))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Clients asking the backend for login codes in a loop — each a transaction
/// that writes a challenge and its outbox row — one address and one source
/// per request, so no throttle applies.
pub struct CodeLoad {
    pub tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl CodeLoad {
    /// Starts `clients` clients against `base`, pausing `pause` between
    /// requests; each request may take up to `timeout`.
    pub fn start(base: &str, clients: usize, pause: Duration, timeout: Duration) -> Self {
        let tally = Arc::new(Tally::default());
        let stop = Arc::new(AtomicBool::new(false));
        let url = format!("{base}/api/v1/public/auth/challenges");
        let clients = (0..clients)
            .map(|c| {
                let (tally, stop, url) = (tally.clone(), stop.clone(), url.clone());
                tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    let mut i = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let started = Instant::now();
                        let email = format!("c{c}-{i}@chaos.invalid");
                        let sent = http
                            .post(&url)
                            .header(
                                "x-forwarded-for",
                                format!("10.{c}.{}.{}", i / 250 % 250, i % 250),
                            )
                            .json(&json!({ "email": email }))
                            .timeout(timeout)
                            .send()
                            .await;
                        let ms = started.elapsed().as_millis() as u64;
                        tally.slowest_ms.fetch_max(ms, Ordering::Relaxed);
                        let mut wait = pause;
                        match sent.map(|r| r.status().as_u16()) {
                            Ok(202) => tally.accepted_emails.lock().expect("tally").push(email),
                            Ok(503) => {
                                tally.unavailable.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(s) => {
                                *tally
                                    .other_statuses
                                    .lock()
                                    .expect("tally")
                                    .entry(s)
                                    .or_default() += 1;
                            }
                            // Not listening: wait a little rather than spin.
                            Err(_) => {
                                tally.connection_errors.fetch_add(1, Ordering::Relaxed);
                                wait = Duration::from_millis(50);
                            }
                        }
                        tokio::time::sleep(wait).await;
                    }
                })
            })
            .collect();
        Self {
            tally,
            stop,
            clients,
        }
    }

    /// Stops the clients and waits for their last requests.
    pub async fn stop(self) -> Arc<Tally> {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            let _ = client.await;
        }
        self.tally
    }
}

/// A pool on the database of the backend environment `env`, migrated as
/// the backend migrates it (for seeding before it starts).
pub async fn migrated(env: &BTreeMap<String, String>) -> anyhow::Result<sqlx::PgPool> {
    let config = galaxy_backend::config::Config::from_vars(env.clone())
        .map_err(|e| anyhow::anyhow!("invalid backend environment: {e}"))?;
    galaxy_bench::migrated_pool(&config.postgres).await
}

/// Enqueues `n` login-code mails to `<prefix><i>@chaos.invalid`, 100 per
/// transaction, as the backend's producers do.
pub async fn enqueue_mail(pool: &sqlx::PgPool, prefix: &str, n: usize) -> anyhow::Result<()> {
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut tx = pool.begin().await?;
        for i in chunk {
            galaxy_backend::mail::enqueue_login_code(
                &mut tx,
                &format!("{prefix}{i}@chaos.invalid"),
                &format!("{:06}", i % 1_000_000),
                Duration::from_secs(600),
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Waits (at most `limit`) until no delivery is `pending` or `retrying`
/// and the relay holds `deliveries` distinct Message-IDs; how many were
/// still open when it stopped waiting.
pub async fn wait_drained(
    pool: &sqlx::PgPool,
    smtp: &SmtpServer,
    deliveries: usize,
    limit: Duration,
) -> anyhow::Result<i64> {
    let deadline = Instant::now() + limit;
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM mail_deliveries WHERE state IN ('pending', 'retrying')",
        )
        .fetch_one(pool)
        .await?;
        if (open == 0 && by_message_id(smtp).len() >= deliveries) || Instant::now() > deadline {
            return Ok(open);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Messages received per Message-ID.
pub fn by_message_id(
    smtp: &galaxy_devstack::smtp::SmtpServer,
) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for message in smtp.messages() {
        if let Some(id) = message.header("Message-ID") {
            *counts.entry(id.trim().to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

/// Logs `email` in from `source` with the code the relay received (the
/// newest mail to it); returns the user id and the device session id.
pub async fn login(
    http: &reqwest::Client,
    base: &str,
    smtp: &SmtpServer,
    email: &str,
    source: &str,
) -> anyhow::Result<(String, String)> {
    let seen = smtp.messages().len();
    let challenge = scenarios::auth_flood::open_challenge(http, base, email, source).await?;
    let message = smtp
        .wait_for_messages(seen + 1, Duration::from_secs(30))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .rev()
        .find(|m| m.to.iter().any(|to| to == email))
        .context("no login mail")?;
    let body = message.body_text().context("no text body")?;
    let at = body.find("login code is ").context("no code line")? + "login code is ".len();
    let code = body.get(at..at + 6).context("short code")?;
    let r: Value = http
        .post(format!(
            "{base}/api/v1/public/auth/challenges/{challenge}/confirm"
        ))
        .header("x-forwarded-for", source)
        .json(&json!({
            "code": code,
            "public_key": public_key(),
            "device_name": "chaos",
            "platform": "test",
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let field = |name: &str| {
        r[name]
            .as_str()
            .map(str::to_owned)
            .context("no user or session id")
    };
    Ok((field("user_id")?, field("device_session_id")?))
}

/// A valid device public key (base64 of an Ed25519 key).
pub fn public_key() -> String {
    use base64::Engine as _;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes())
}

/// The release backend binary.
pub fn backend_bin() -> PathBuf {
    std::env::var_os("GALAXY_CHAOS_BACKEND_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/galaxy-backend"))
}

/// The real backend binary, run as a child with a fixed environment so it
/// can be killed and started again on the same database and ports.
pub struct Backend {
    env: BTreeMap<String, String>,
    http: SocketAddr,
    grpc: SocketAddr,
    child: Option<Child>,
    log: PathBuf,
}

impl Backend {
    /// Prepares (does not start) a backend with `env`, listening for HTTP on
    /// a free loopback port; its output is appended to `log`.
    pub fn new(mut env: BTreeMap<String, String>, log: PathBuf) -> anyhow::Result<Self> {
        let (http, grpc) = (free_addr()?, free_addr()?);
        env.insert("BACKEND_HTTP_LISTEN_ADDR".into(), http.to_string());
        env.insert("BACKEND_GRPC_PUSH_LISTEN_ADDR".into(), grpc.to_string());
        Ok(Self {
            env,
            http,
            grpc,
            child: None,
            log,
        })
    }

    /// A second instance on the same database and configuration, on ports
    /// of its own, logging to `log`.
    pub fn sibling(&self, log: PathBuf) -> anyhow::Result<Self> {
        Self::new(self.env.clone(), log)
    }

    /// `/readyz`'s role (`leader` or `standby`), or `None` when it does not
    /// answer ready.
    pub async fn role(&self, http: &reqwest::Client) -> Option<String> {
        let r = http
            .get(format!("{}/readyz", self.url()))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let body: Value = r.json().await.ok()?;
        body["role"].as_str().map(str::to_owned)
    }

    /// The HTTP base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// The gRPC push listener's URL.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// CPU seconds (user + system) the running process has used so far,
    /// from `/proc/<pid>/stat`.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let pid = self.pid().context("the backend is not running")?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th fields of the whole line.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = fields.get(11..13).map_or(Ok(0.0), |f| {
            f.iter().map(|v| v.parse::<f64>()).sum::<Result<f64, _>>()
        })?;
        Ok(ticks / 100.0)
    }

    /// Starts the process (without waiting for readiness).
    pub fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(backend_bin())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", backend_bin().display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until `/readyz` answers 200, for at most `limit`.
    pub async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "the backend exited with {status} (log: {})",
                    self.log.display()
                );
            }
            if let Ok(r) = client.get(format!("{}/readyz", self.url())).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > limit {
                bail!("the backend was not ready within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the process and waits until it is ready (at most a minute).
    pub async fn start_ready(&mut self) -> anyhow::Result<()> {
        self.start()?;
        self.wait_ready(Duration::from_secs(60)).await
    }

    /// SIGKILL, and reaps it.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM; waits up to `limit` for the exit and returns its code.
    pub async fn terminate(&mut self, limit: Duration) -> anyhow::Result<Option<i32>> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status.code());
            }
            if started.elapsed() > limit {
                child.kill()?;
                child.wait()?;
                bail!("the backend did not exit within {limit:?} of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.kill9();
    }
}
