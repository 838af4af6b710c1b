//! The game runtime with the `process` driver: 100 games started at once
//! against the real `galaxy-backend` binary (a child process of this bench,
//! so its RSS is the backend's alone) on a fresh database, each engine a
//! real `galaxy-game` child of the backend on a loopback port.
//!
//! 1. 100 private games of 2 or 3 members are set up through the HTTP API
//!    (owner creates, invites, members accept; bounded concurrency);
//! 2. every owner starts their game (`POST /api/v1/user/games/{id}/start`);
//!    measured: from the first start request until every runtime record is
//!    `running` and every lobby game reads `running` (bounded: gives up
//!    after five minutes);
//! 3. then: the backend's RSS, the engines' summed RSS and the process
//!    count, read from `/proc`;
//! 4. the engine status probe (`GET {base_url}/api/v1/admin/status`, as
//!    the runtime calls it) round trip, every engine in turn, 10 rounds;
//! 5. the backend is stopped with SIGTERM (it stops its engines) and no
//!    engine may remain.
//!
//! The backend runs with its defaults (`BACKEND_RUNTIME_WORKER_POOL_SIZE`,
//! `BACKEND_RUNTIME_JOB_QUEUE_SIZE`, `BACKEND_POSTGRES_MAX_CONNS`), its
//! workers on. Figures only; nothing here asserts a timing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use galaxy_backend::config::{PostgresConfig, Secret};
use serde_json::{Value, json};
use uuid::Uuid;

const DATABASE: &str = "galaxy_bench_runtime";
const GAMES: usize = 100;
/// Concurrent HTTP clients while setting the games up and starting them.
const CLIENTS: usize = 8;
const ADMIN: &str = "bench-admin";
const ADMIN_PASSWORD: &str = "bench-admin-password";
/// How long every game has to reach `running`.
const START_BUDGET: Duration = Duration::from_secs(300);
const POLL_EVERY: Duration = Duration::from_millis(100);
const PROBE_ROUNDS: usize = 10;
/// How long the backend has to stop after SIGTERM.
const STOP_BUDGET: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let backend_bin = sibling("galaxy-backend")?;
    let engine_bin = engine_binary()?;
    let scratch = std::env::temp_dir().join("galaxy-bench-runtime");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).context("remove the previous run's scratch")?;
    }
    std::fs::create_dir_all(&scratch)?;
    let dsn = galaxy_bench::fresh_database(DATABASE).await?;
    let (members, deadline) = seed_accounts(&dsn).await?;

    let http_port = free_port()?.to_string();
    let grpc_port = free_port()?.to_string();
    let http_addr = format!("127.0.0.1:{http_port}");
    let grpc_addr = format!("127.0.0.1:{grpc_port}");
    let engine = engine_bin.display().to_string();
    let vars = galaxy_bench::bench_vars(
        &dsn,
        &scratch,
        &[
            ("BACKEND_HTTP_LISTEN_ADDR", &http_addr),
            ("BACKEND_GRPC_PUSH_LISTEN_ADDR", &grpc_addr),
            ("BACKEND_LOGGING_LEVEL", "warn"),
            ("BACKEND_ADMIN_BOOTSTRAP_USER", ADMIN),
            ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ADMIN_PASSWORD),
            // Nothing here sends mail; the worker would only retry port 9.
            ("BACKEND_MAIL_WORKER_ENABLED", "false"),
            ("BACKEND_RUNTIME_DRIVER", "process"),
            ("BACKEND_RUNTIME_PROCESS_BINARIES", &engine),
            ("BACKEND_RUNTIME_ENGINE_VERSIONS", "0.1.0=galaxy/game:0.1.0"),
            ("BACKEND_JOBS_WORKER_ENABLED", "true"),
        ],
    )?;
    let log = scratch.join("backend.log");
    let mut backend = Backend::spawn(&backend_bin, &vars, &log)?;
    let addr: std::net::SocketAddr = http_addr.parse()?;
    if let Err(err) = galaxy_bench::wait_ready(addr).await {
        bail!("{err:#}; backend log {}:\n{}", log.display(), tail(&log));
    }

    let api = Api::new(&http_addr);
    // One admin request first: it pays the bcrypt verify and fills the
    // credential cache.
    api.admin_get("/games?per_page=1").await?;

    let setting_up = Instant::now();
    let games = set_up_games(&api, &members, &deadline).await?;
    let set_up = setting_up.elapsed();

    let start = start_all(&api, &games).await;
    let start = match start {
        Ok(start) => start,
        Err(err) => {
            let stopped = backend.stop();
            bail!(
                "{err:#}\n(backend stopped: {stopped:?}); backend log {}:\n{}",
                log.display(),
                tail(&log)
            );
        }
    };

    let processes = process_figures(backend.pid(), &engine_bin)?;
    let probes = probe_engines(&start.base_urls).await?;

    let stopping = Instant::now();
    let stop = backend.stop()?;
    let stopped_in = stopping.elapsed();
    let left: Vec<u32> = processes
        .engines
        .iter()
        .copied()
        .filter(|&pid| is_engine(pid, &engine_bin))
        .collect();

    print_figures(&Figures {
        set_up,
        start: &start,
        processes: &processes,
        probes: &probes,
        engine_bin: &engine_bin,
        stop_status: stop,
        stopped_in,
        left: &left,
    });
    ensure!(
        left.is_empty(),
        "engines still running after the backend stopped: pids {left:?}"
    );
    Ok(())
}

/// A binary built next to this bench (`target/release/NAME`).
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .context("the bench binary has a directory")?
        .join(name);
    ensure!(
        path.is_file(),
        "{} is missing: build it with `cargo build --release -p galaxy-backend --bins -p galaxy-game --bins` (scripts/bench.sh does)",
        path.display()
    );
    Ok(path)
}

/// The engine binary: `GALAXY_GAME_BIN`, else the release `galaxy-game`
/// built next to this bench, else the one `make engine-image` builds.
fn engine_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("GALAXY_GAME_BIN") {
        return Ok(std::fs::canonicalize(PathBuf::from(path))?);
    }
    let built = sibling("galaxy-game");
    if let Ok(path) = built {
        return Ok(path);
    }
    let image_build = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target-engine/x86_64-unknown-linux-gnu/release/galaxy-game");
    if image_build.is_file() {
        return Ok(std::fs::canonicalize(image_build)?);
    }
    built
}

/// The members of each game, `(user_id, user_name)`, owner first.
type Members = Vec<Vec<(Uuid, String)>>;

/// Migrates the scratch database and inserts the members of every game:
/// game `g` has 2 members when `g` is odd, 3 when even (250 accounts).
/// Returns them and an enrollment deadline two days ahead (RFC 3339).
async fn seed_accounts(dsn: &str) -> anyhow::Result<(Members, String)> {
    let config = PostgresConfig {
        dsn: Secret::new(dsn.to_owned()),
        max_conns: 2,
        min_conns: 0,
        operation_timeout: Duration::from_secs(600),
    };
    let pool = galaxy_bench::migrated_pool(&config).await?;
    let mut games = Vec::with_capacity(GAMES);
    for g in 0..GAMES {
        let mut members = Vec::new();
        for m in 0..members_of(g) {
            let user_name = format!("runner-{g}-{m}");
            let id: Uuid = sqlx::query_scalar(
                "INSERT INTO accounts (user_id, email, user_name, declared_country)
                 VALUES (gen_random_uuid(), $1, $2, 'DE') RETURNING user_id",
            )
            .bind(format!("{user_name}@bench.invalid"))
            .bind(&user_name)
            .fetch_one(&pool)
            .await?;
            members.push((id, user_name));
        }
        games.push(members);
    }
    let deadline: String = sqlx::query_scalar(
        "SELECT to_char((now() + interval '2 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    Ok((games, deadline))
}

fn members_of(game: usize) -> usize {
    if game.is_multiple_of(2) { 3 } else { 2 }
}

/// A loopback port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The backend as a child process: SIGTERM on [`Backend::stop`]; dropped
/// without it, SIGTERM and then SIGKILL, so no run leaves it behind.
struct Backend {
    child: Option<Child>,
}

impl Backend {
    fn spawn(
        binary: &Path,
        vars: &std::collections::BTreeMap<String, String>,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let out = std::fs::File::create(log)?;
        let mut cmd = Command::new(binary);
        // Only the bench's configuration: no BACKEND_* of the caller's shell.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("BACKEND_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .envs(vars)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        Ok(Self { child: Some(child) })
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, then waits up to [`STOP_BUDGET`] for the exit.
    fn stop(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let mut child = self.child.take().context("the backend was stopped")?;
        signal(child.id(), "TERM");
        let deadline = Instant::now() + STOP_BUDGET;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the backend did not stop within {STOP_BUDGET:?} of SIGTERM; killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.stop();
        }
    }
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status();
}

/// The last lines of the backend's log, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The backend's HTTP API as the gateway and an operator call it.
#[derive(Clone)]
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(addr: &str) -> Self {
        Self {
            base: format!("http://{addr}/api/v1"),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(CLIENTS * 2)
                .timeout(Duration::from_secs(60))
                .build()
                .expect("a reqwest client"),
        }
    }

    async fn admin_get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .get(format!("{}/admin{path}", self.base))
            .basic_auth(ADMIN, Some(ADMIN_PASSWORD))
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await?;
        ensure!(
            status.is_success(),
            "GET /admin{path} answered {status}: {body}"
        );
        Ok(body)
    }

    async fn user_post(&self, user: Uuid, path: &str, body: &Value) -> anyhow::Result<Value> {
        let (status, body) = self.user_post_status(user, path, body).await?;
        ensure!(
            (200..300).contains(&status),
            "POST /user{path} answered {status}: {body}"
        );
        Ok(body)
    }

    async fn user_post_status(
        &self,
        user: Uuid,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}/user{path}", self.base))
            .header("X-User-ID", user.to_string())
            .header("X-Forwarded-For", "192.0.2.1")
            .json(body)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await?))
    }

    /// `user_post` of `body` with a fresh `race_name`, the next one when
    /// two names' canonical keys collide ("rn" and "m").
    async fn post_with_race(
        &self,
        user: Uuid,
        path: &str,
        mut body: Value,
        names: &AtomicUsize,
    ) -> anyhow::Result<Value> {
        loop {
            body["race_name"] = json!(race_name(names.fetch_add(1, Ordering::Relaxed)));
            let (status, answer) = self.user_post_status(user, path, &body).await?;
            match status {
                200..300 => return Ok(answer),
                409 if answer.to_string().contains("race_name_taken") => {}
                _ => bail!("POST /user{path} answered {status}: {answer}"),
            }
        }
    }
}

/// Runs `work(i)` for `i` in `0..count` on [`CLIENTS`] concurrent clients;
/// returns the results in order.
async fn bounded<T, F, Fut>(count: usize, work: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (next, work) = (next.clone(), work.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return Ok::<_, anyhow::Error>(done);
                    }
                    done.push((i, work(i).await?));
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for client in clients {
        all.extend(client.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

/// Each game: its owner creates it (private, 2 to 3 races), invites the
/// others, they accept. Returns `(game_id, owner)`s.
async fn set_up_games(
    api: &Api,
    members: &Members,
    deadline: &str,
) -> anyhow::Result<Vec<(String, Uuid)>> {
    let members = Arc::new(members.to_vec());
    let (api, deadline) = (api.clone(), deadline.to_owned());
    let names = Arc::new(AtomicUsize::new(0));
    bounded(GAMES, move |g| {
        let (api, members, deadline) = (api.clone(), members.clone(), deadline.clone());
        let names = names.clone();
        async move {
            let game_members = &members[g];
            let (owner, _) = game_members[0];
            let game = api
                .post_with_race(
                    owner,
                    "/games",
                    json!({
                        "name": format!("Runtime bench {g}"),
                        "engine_version": "0.1.0",
                        "min_races": 2,
                        "max_races": 3,
                        "turn_schedule": { "every": "24h" },
                        "enrollment_deadline": deadline,
                    }),
                    &names,
                )
                .await?;
            let game_id = game["game_id"]
                .as_str()
                .context("a created game has a game_id")?
                .to_owned();
            for (user, user_name) in game_members.iter().skip(1) {
                let invite = api
                    .user_post(
                        owner,
                        &format!("/games/{game_id}/invites"),
                        &json!({ "user_name": user_name }),
                    )
                    .await?;
                let invite_id = invite["invite_id"]
                    .as_str()
                    .context("an invite has an invite_id")?;
                api.post_with_race(
                    *user,
                    &format!("/invites/{invite_id}/accept"),
                    json!({}),
                    &names,
                )
                .await?;
            }
            Ok((game_id, owner))
        }
    })
    .await
}

/// A race name unique per `n`: "Race " and `n` in bijective base 26.
fn race_name(mut n: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
        n -= 1;
    }
    letters.reverse();
    format!("Race {}", String::from_utf8(letters).expect("ASCII"))
}

/// What starting every game measured.
struct StartFigures {
    /// The start requests themselves (first sent to last answered).
    requests: Duration,
    /// First start request until every runtime record is `running`.
    records_running: Duration,
    /// First start request until every lobby game reads `running`.
    all_running: Duration,
    /// Per game: first start request until its record was seen `running`
    /// (polled every [`POLL_EVERY`]), sorted.
    per_game: Vec<Duration>,
    /// Start operations by final state (`succeeded`, …) and attempts.
    attempts: usize,
    base_urls: Vec<String>,
}

async fn start_all(api: &Api, games: &[(String, Uuid)]) -> anyhow::Result<StartFigures> {
    let first = Instant::now();
    let owners: Arc<Vec<(String, Uuid)>> = Arc::new(games.to_vec());
    {
        let (api, owners) = (api.clone(), owners.clone());
        bounded(GAMES, move |g| {
            let (api, owners) = (api.clone(), owners.clone());
            async move {
                let (game, owner) = &owners[g];
                api.user_post(*owner, &format!("/games/{game}/start"), &json!({}))
                    .await?;
                Ok(())
            }
        })
        .await?;
    }
    let requests = first.elapsed();

    let mut seen: HashMap<String, Duration> = HashMap::new();
    let mut records_running = None;
    let records = loop {
        let now = first.elapsed();
        let records = api.admin_get("/runtimes").await?;
        let items = records["items"].as_array().cloned().unwrap_or_default();
        for r in &items {
            if r["status"] == "running" {
                let id = r["game_id"].as_str().unwrap_or_default().to_owned();
                seen.entry(id).or_insert(now);
            }
        }
        if seen.len() >= GAMES && records_running.is_none() {
            records_running = Some(now);
        }
        if records_running.is_some() {
            let lobby = api.admin_get("/games?status=running&per_page=1").await?;
            if lobby["total"].as_u64() == Some(GAMES as u64) {
                break items;
            }
        }
        if now > START_BUDGET {
            let mut by_status: HashMap<String, usize> = HashMap::new();
            for r in &items {
                *by_status
                    .entry(r["status"].as_str().unwrap_or("?").to_owned())
                    .or_default() += 1;
            }
            let errors: Vec<String> = items
                .iter()
                .filter_map(|r| r["last_error"].as_str().map(str::to_owned))
                .take(5)
                .collect();
            bail!(
                "gave up after {START_BUDGET:?}: {} of {GAMES} runtimes running; records by status {by_status:?} ({} records); some errors: {errors:#?}",
                seen.len(),
                items.len()
            );
        }
        tokio::time::sleep(POLL_EVERY).await;
    };
    let all_running = first.elapsed();

    let mut attempts = 0;
    for (game, _) in games {
        let ops = api
            .admin_get(&format!("/runtimes/{game}/operations"))
            .await?;
        for op in ops["items"].as_array().into_iter().flatten() {
            if op["op"] == "start" {
                attempts += op["attempts"].as_u64().unwrap_or(0) as usize;
            }
        }
    }
    let mut per_game: Vec<Duration> = seen.into_values().collect();
    per_game.sort();
    let base_urls = records
        .iter()
        .filter_map(|r| r["base_url"].as_str().map(str::to_owned))
        .collect();
    Ok(StartFigures {
        requests,
        records_running: records_running.unwrap_or(all_running),
        all_running,
        per_game,
        attempts,
        base_urls,
    })
}

/// The backend's and its engines' memory and count, from `/proc`.
struct ProcessFigures {
    backend_rss_mib: f64,
    backend_hwm_mib: f64,
    engines: Vec<u32>,
    engines_rss_mib: f64,
    /// Proportional set size: shared pages (the binary's text) split.
    engines_pss_mib: f64,
    engine_rss_max_mib: f64,
    backend_threads: u64,
}

fn process_figures(backend: u32, engine_bin: &Path) -> anyhow::Result<ProcessFigures> {
    let status = proc_status(backend).context("the backend's /proc status")?;
    let mut engines = Vec::new();
    let mut engines_rss = 0.0;
    let mut engines_pss = 0.0;
    let mut engine_rss_max: f64 = 0.0;
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(s) = proc_status(pid) else { continue };
        if s.get("PPid").map(String::as_str) == Some(&backend.to_string())
            && is_engine(pid, engine_bin)
        {
            let rss = kib_as_mib(s.get("VmRSS"));
            engines_rss += rss;
            engines_pss += pss_mib(pid);
            engine_rss_max = engine_rss_max.max(rss);
            engines.push(pid);
        }
    }
    Ok(ProcessFigures {
        backend_rss_mib: kib_as_mib(status.get("VmRSS")),
        backend_hwm_mib: kib_as_mib(status.get("VmHWM")),
        engines,
        engines_rss_mib: engines_rss,
        engines_pss_mib: engines_pss,
        engine_rss_max_mib: engine_rss_max,
        backend_threads: status
            .get("Threads")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
    })
}

/// `/proc/PID/status` as `key → value` (values trimmed).
fn proc_status(pid: u32) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect(),
    )
}

/// `Pss` of `/proc/PID/smaps_rollup`, in MiB (0 when unreadable).
fn pss_mib(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let pss = text
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .map(|v| v.trim().to_owned());
    kib_as_mib(pss.as_ref())
}

fn kib_as_mib(v: Option<&String>) -> f64 {
    v.and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Whether `pid` is a live (not zombie) process of the engine binary.
fn is_engine(pid: u32, engine_bin: &Path) -> bool {
    let live = proc_status(pid)
        .and_then(|s| s.get("State").cloned())
        .is_some_and(|s| !s.starts_with('Z'));
    live && std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == engine_bin)
}

/// Round trips of `GET {base_url}/api/v1/admin/status`, every engine in
/// turn, [`PROBE_ROUNDS`] rounds, one kept-alive client (the first round
/// opens the connections); sorted, in milliseconds.
async fn probe_engines(base_urls: &[String]) -> anyhow::Result<Vec<f64>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let mut took = Vec::with_capacity(base_urls.len() * PROBE_ROUNDS);
    for _ in 0..PROBE_ROUNDS {
        for url in base_urls {
            let sent = Instant::now();
            let r = http
                .get(format!("{url}/api/v1/admin/status"))
                .send()
                .await?;
            let status = r.status();
            let body = r.bytes().await?;
            took.push(sent.elapsed().as_secs_f64() * 1000.0);
            ensure!(
                status.is_success(),
                "{url}/api/v1/admin/status answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    took.sort_by(f64::total_cmp);
    Ok(took)
}

struct Figures<'a> {
    set_up: Duration,
    start: &'a StartFigures,
    processes: &'a ProcessFigures,
    probes: &'a [f64],
    engine_bin: &'a Path,
    stop_status: std::process::ExitStatus,
    stopped_in: Duration,
    left: &'a [u32],
}

fn pct<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
        .copied()
}

fn print_figures(f: &Figures<'_>) {
    let s = f.start;
    let p = f.processes;
    let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "\n== runtime: {GAMES} games (2-3 races each) started with the process driver; {cores} cores; engine {} ==",
        f.engine_bin.display()
    );
    println!(
        "set up through the HTTP API (create, invite, accept; {CLIENTS} clients): {:.1} s",
        f.set_up.as_secs_f64()
    );
    println!("\nstart");
    println!(
        "{:<60} {:>10.2} s",
        format!("{GAMES} owner start requests ({CLIENTS} clients)"),
        s.requests.as_secs_f64()
    );
    println!(
        "{:<60} {:>10.2} s",
        "first start request -> every runtime record running",
        s.records_running.as_secs_f64()
    );
    println!(
        "{:<60} {:>10.2} s",
        "first start request -> every lobby game running",
        s.all_running.as_secs_f64()
    );
    println!(
        "{:<60} {:>10.2} s",
        "  per game, first (polled every 100 ms)",
        ms(s.per_game.first().copied()) / 1000.0
    );
    println!(
        "{:<60} {:>10.2} s",
        "  per game, p50",
        ms(pct(&s.per_game, 0.5)) / 1000.0
    );
    println!(
        "{:<60} {:>10.2} s",
        "  per game, p99",
        ms(pct(&s.per_game, 0.99)) / 1000.0
    );
    println!(
        "{:<60} {:>12}",
        "start operation attempts (1 per game = no retry)", s.attempts
    );
    println!("\nprocesses (all running)");
    println!(
        "{:<60} {:>8.1} MiB",
        format!("galaxy-backend RSS ({} threads)", p.backend_threads),
        p.backend_rss_mib
    );
    println!(
        "{:<60} {:>8.1} MiB",
        "galaxy-backend peak RSS (VmHWM)", p.backend_hwm_mib
    );
    println!(
        "{:<60} {:>8.1} MiB",
        format!("galaxy-game engines' RSS, sum of {}", p.engines.len()),
        p.engines_rss_mib
    );
    println!(
        "{:<60} {:>8.1} MiB",
        "  their PSS, sum (shared pages split)", p.engines_pss_mib
    );
    println!(
        "{:<60} {:>8.1} MiB",
        "  largest engine RSS", p.engine_rss_max_mib
    );
    println!(
        "{:<60} {:>12}",
        "processes: backend + engines",
        1 + p.engines.len()
    );
    println!(
        "\nengine status probe GET {{base_url}}/api/v1/admin/status ({} engines x {PROBE_ROUNDS} rounds, one by one, keep-alive)",
        s.base_urls.len()
    );
    println!(
        "{:<60} {:>10} {:>10} {:>10}",
        "", "p50 ms", "p99 ms", "max ms"
    );
    println!(
        "{:<60} {:>10.3} {:>10.3} {:>10.3}",
        format!("round trip ({} probes)", f.probes.len()),
        pct(f.probes, 0.5).unwrap_or(f64::NAN),
        pct(f.probes, 0.99).unwrap_or(f64::NAN),
        f.probes.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "\nSIGTERM -> backend exited ({}) in {:.2} s; galaxy-game processes left: {}",
        f.stop_status,
        f.stopped_in.as_secs_f64(),
        f.left.len()
    );
}
