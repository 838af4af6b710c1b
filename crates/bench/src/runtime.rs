//! What the runtime benches share: the real `galaxy-backend` binary started
//! as a child process with the `process` driver, its HTTP API as the
//! gateway and an operator call it, and private games set up and started
//! through it (`galaxy-bench-runtime`, `galaxy-bench-turns`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use uuid::Uuid;

/// Concurrent HTTP clients while setting the games up and starting them.
pub const CLIENTS: usize = 8;
pub const ADMIN: &str = "bench-admin";
pub const ADMIN_PASSWORD: &str = "bench-admin-password";
/// How long every game has to reach `running`.
const START_BUDGET: Duration = Duration::from_secs(300);
const POLL_EVERY: Duration = Duration::from_millis(100);
/// How long the backend has to stop after SIGTERM.
const STOP_BUDGET: Duration = Duration::from_secs(60);

/// A binary built next to this bench (`target/release/NAME`).
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
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
pub fn engine_binary() -> anyhow::Result<PathBuf> {
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
pub type Members = Vec<Vec<(Uuid, String)>>;

/// Migrates the scratch database and inserts the members of `games`
/// games: game `g` has 2 members when `g` is odd, 3 when even (250
/// accounts for 100 games). Returns them and an enrollment deadline two
/// days ahead (RFC 3339).
pub async fn seed_accounts(dsn: &str, games: usize) -> anyhow::Result<(Members, String)> {
    let pool = crate::seeding_pool(dsn, Duration::from_secs(600)).await?;
    let count = games;
    let mut games = Vec::with_capacity(count);
    for g in 0..count {
        let mut members = Vec::new();
        for m in 0..members_of(g) {
            let user_name = format!("runner-{g}-{m}");
            let id = insert_account(&pool, &user_name, "bench.invalid").await?;
            members.push((id, user_name));
        }
        games.push(members);
    }
    let deadline = enrollment_deadline(&pool).await?;
    pool.close().await;
    Ok((games, deadline))
}

/// Inserts an account `user_name` (email `user_name@domain`) straight into
/// the database; returns its user id.
pub async fn insert_account(
    pool: &sqlx::PgPool,
    user_name: &str,
    domain: &str,
) -> anyhow::Result<Uuid> {
    Ok(sqlx::query_scalar(
        "INSERT INTO accounts (user_id, email, user_name, declared_country)
         VALUES (gen_random_uuid(), $1, $2, 'DE') RETURNING user_id",
    )
    .bind(format!("{user_name}@{domain}"))
    .bind(user_name)
    .fetch_one(pool)
    .await?)
}

/// An enrollment deadline two days ahead, in the API's RFC 3339 form.
pub async fn enrollment_deadline(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar(
        "SELECT to_char((now() + interval '2 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    )
    .fetch_one(pool)
    .await?)
}

pub fn members_of(game: usize) -> usize {
    if game.is_multiple_of(2) { 3 } else { 2 }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The backend as a child process: SIGTERM on [`Backend::stop`]; dropped
/// without it, SIGTERM and then SIGKILL, so no run leaves it behind.
pub struct Backend {
    child: Option<Child>,
}

impl Backend {
    pub fn spawn(
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

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, then waits up to [`STOP_BUDGET`] for the exit.
    pub fn stop(&mut self) -> anyhow::Result<std::process::ExitStatus> {
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
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The backend's HTTP API as the gateway and an operator call it.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(addr: &str) -> Self {
        Self {
            base: format!("http://{addr}/api/v1"),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(CLIENTS * 2)
                .timeout(Duration::from_secs(60))
                .build()
                .expect("a reqwest client"),
        }
    }

    pub async fn admin_get(&self, path: &str) -> anyhow::Result<Value> {
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

    /// `POST /admin{path}` (no body); the status and the body (`null`
    /// when empty or not JSON).
    pub async fn admin_post(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}/admin{path}", self.base))
            .basic_auth(ADMIN, Some(ADMIN_PASSWORD))
            .send()
            .await?;
        let status = r.status().as_u16();
        let body = r.bytes().await?;
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    /// `GET /user{path}` as `user`.
    pub async fn user_get(&self, user: Uuid, path: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .get(format!("{}/user{path}", self.base))
            .header("X-User-ID", user.to_string())
            .header("X-Forwarded-For", "192.0.2.1")
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await?;
        ensure!(
            status.is_success(),
            "GET /user{path} answered {status}: {body}"
        );
        Ok(body)
    }

    /// The API's base URL (`http://ADDR/api/v1`).
    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn user_post(&self, user: Uuid, path: &str, body: &Value) -> anyhow::Result<Value> {
        let (status, body) = self.user_post_status(user, path, body).await?;
        ensure!(
            (200..300).contains(&status),
            "POST /user{path} answered {status}: {body}"
        );
        Ok(body)
    }

    pub async fn user_post_status(
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
pub async fn bounded<T, F, Fut>(count: usize, work: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send,
{
    bounded_on(CLIENTS, count, work).await
}

/// [`bounded`] on `clients` concurrent clients.
pub async fn bounded_on<T, F, Fut>(clients: usize, count: usize, work: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let clients: Vec<_> = (0..clients.max(1))
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

/// Each game of `games` (indices into `members`): its owner creates it
/// (private, 2 to 3 races, `turn_schedule`), invites the others, they
/// accept. Returns `(game_id, owner)`s.
pub async fn set_up_games(
    api: &Api,
    members: &Members,
    games: std::ops::Range<usize>,
    turn_schedule: &Value,
    deadline: &str,
) -> anyhow::Result<Vec<(String, Uuid)>> {
    let members = Arc::new(members.to_vec());
    let (api, deadline) = (api.clone(), deadline.to_owned());
    let schedule = turn_schedule.clone();
    // Race names of other ranges are further on (a taken one is skipped).
    let names = Arc::new(AtomicUsize::new(games.start * 3));
    let first = games.start;
    bounded(games.len(), move |i| {
        let (api, members, deadline) = (api.clone(), members.clone(), deadline.clone());
        let (names, schedule) = (names.clone(), schedule.clone());
        let g = first + i;
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
                        "turn_schedule": schedule,
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
pub fn race_name(mut n: usize) -> String {
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
pub struct StartFigures {
    /// The start requests themselves (first sent to last answered).
    pub requests: Duration,
    /// First start request until every runtime record is `running`.
    pub records_running: Duration,
    /// First start request until every lobby game reads `running`.
    pub all_running: Duration,
    /// Per game: first start request until its record was seen `running`
    /// (polled every [`POLL_EVERY`]), sorted.
    pub per_game: Vec<Duration>,
    /// Start operations by final state (`succeeded`, …) and attempts.
    pub attempts: usize,
    pub base_urls: Vec<String>,
    /// Each game's engine address, by game id.
    pub urls: HashMap<String, String>,
}

/// Every owner of `games` starts theirs ([`CLIENTS`] at a time); waits
/// until each runtime record is `running` and the lobby counts
/// `running_before` plus these games running.
pub async fn start_all(
    api: &Api,
    games: &[(String, Uuid)],
    running_before: usize,
) -> anyhow::Result<StartFigures> {
    let count = games.len();
    let ids: std::collections::HashSet<&str> = games.iter().map(|(g, _)| g.as_str()).collect();
    let first = Instant::now();
    let owners: Arc<Vec<(String, Uuid)>> = Arc::new(games.to_vec());
    {
        let (api, owners) = (api.clone(), owners.clone());
        bounded(count, move |g| {
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
            let id = r["game_id"].as_str().unwrap_or_default();
            if r["status"] == "running" && ids.contains(id) {
                seen.entry(id.to_owned()).or_insert(now);
            }
        }
        if seen.len() >= count && records_running.is_none() {
            records_running = Some(now);
        }
        if records_running.is_some() {
            let lobby = api.admin_get("/games?status=running&per_page=1").await?;
            if lobby["total"].as_u64() == Some((running_before + count) as u64) {
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
                "gave up after {START_BUDGET:?}: {} of {count} runtimes running; records by status {by_status:?} ({} records); some errors: {errors:#?}",
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
    let urls: HashMap<String, String> = records
        .iter()
        .filter(|r| r["game_id"].as_str().is_some_and(|id| ids.contains(id)))
        .filter_map(|r| {
            let id = r["game_id"].as_str()?.to_owned();
            Some((id, r["base_url"].as_str()?.to_owned()))
        })
        .collect();
    let base_urls = urls.values().cloned().collect();
    Ok(StartFigures {
        requests,
        records_running: records_running.unwrap_or(all_running),
        all_running,
        per_game,
        attempts,
        base_urls,
        urls,
    })
}

/// The `p` quantile (0..=1) of `sorted`, nearest rank.
pub fn pct<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
        .copied()
}
