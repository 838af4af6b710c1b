//! The lobby under load, against the real backend on loopback, with 10,000
//! accounts and 1,000 public games in `enrollment_open` (created through
//! the admin API, so the lobby cache holds them as it would in service):
//!
//! 1. browsing open public games (`GET /api/v1/user/games/open`, served
//!    from the cache) next to the bare axum hello-world measured in the same
//!    run — target ≥ 70 % of its req/s;
//! 2. apply + approve: concurrent clients each have a user apply to a game
//!    with a fresh race name and an admin approve it, next to pgbench's
//!    single-row INSERT rate with the same client count and duration, in
//!    the same run — target: pairs/s ≥ 30 % of pgbench's tx/s.
//!
//! Figures only; nothing here asserts a timing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use galaxy_backend::app::Application;
use galaxy_backend::config::{PostgresConfig, Secret};
use galaxy_bench::{PgbenchRun, Target, bench_config, fresh_database, interleaved};
use serde_json::{Value, json};
use uuid::Uuid;

const DATABASE: &str = "galaxy_bench_lobby";
const ACCOUNTS: usize = 10_000;
const GAMES: usize = 1_000;
const MAX_RACES: usize = 30;
/// The free tier's `max_concurrent_games`: no user joins more games.
const GAMES_PER_USER: usize = 3;
const ADMIN: &str = "bench-admin";
const ADMIN_PASSWORD: &str = "bench-admin-password";

const BROWSE_ROUNDS: u32 = 3;
const BROWSE_SECONDS: u32 = 3;
const BROWSE_CONNECTIONS: u32 = 32;

const CLIENTS: usize = 32;
const MAX_PAIRS: usize = 5_000;
const MAX_PAIR_SECONDS: u64 = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join("galaxy-bench-lobby");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database(DATABASE).await?;
    let seeding = Instant::now();
    let (users, deadline) = seed_accounts(&dsn).await?;
    let seeded_accounts = seeding.elapsed();

    let config = bench_config(
        &dsn,
        &scratch,
        &[
            ("BACKEND_ADMIN_BOOTSTRAP_USER", ADMIN),
            ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ADMIN_PASSWORD),
            // Nothing here sends mail; the worker would only retry port 9.
            ("BACKEND_MAIL_WORKER_ENABLED", "false"),
            // The games name this engine version; the registry must know it.
            ("BACKEND_RUNTIME_ENGINE_VERSIONS", "0.1.0=galaxy/game:0.1.0"),
        ],
    )?;
    let app = Application::build(config).await?;
    let addr = app.http_addr();
    let stop = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());
    galaxy_bench::wait_ready(addr).await?;

    let api = Api::new(addr);
    // One admin request first: it pays the bcrypt verify and fills the
    // credential cache; many concurrent unverified sign-ins are throttled.
    api.http
        .get(format!("{}/admin/games?per_page=1", api.base))
        .basic_auth(ADMIN, Some(ADMIN_PASSWORD))
        .send()
        .await?
        .error_for_status()?;
    let creating = Instant::now();
    let games = create_games(&api, &deadline).await?;
    println!(
        "\n== lobby: seeded {ACCOUNTS} accounts (SQL, {:.1} s) and {GAMES} public games in enrollment_open (admin API, {:.1} s) ==",
        seeded_accounts.as_secs_f64(),
        creating.elapsed().as_secs_f64()
    );

    browse(&api, users[0]).await?;
    let pairs = apply_and_approve(&api, &users, &games).await?;
    let baseline = pgbench_inserts(&dsn, &scratch, pairs.seconds).await?;
    print_pairs(&pairs, &baseline);

    stop.cancel();
    serving.await??;
    Ok(())
}

/// Migrates the scratch database and inserts the accounts; returns their
/// ids and an enrollment deadline two days ahead (RFC 3339).
async fn seed_accounts(dsn: &str) -> anyhow::Result<(Vec<Uuid>, String)> {
    let pool = galaxy_bench::seeding_pool(dsn, Duration::from_secs(600)).await?;
    let users: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO accounts (user_id, email, user_name, declared_country)
         SELECT gen_random_uuid(), 'player' || g || '@bench.invalid', 'player-' || g, 'DE'
         FROM generate_series(1, $1) AS g
         RETURNING user_id",
    )
    .bind(ACCOUNTS as i64)
    .fetch_all(&pool)
    .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    let deadline: String = sqlx::query_scalar(
        "SELECT to_char((now() + interval '2 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    Ok((users, deadline))
}

/// The backend's HTTP API as the gateway and an operator call it.
#[derive(Clone)]
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(addr: std::net::SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}/api/v1"),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(CLIENTS * 2)
                .build()
                .expect("a reqwest client"),
        }
    }

    async fn admin_post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}/admin{path}", self.base))
            .basic_auth(ADMIN, Some(ADMIN_PASSWORD))
            .json(body)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await?))
    }

    async fn user_post(
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
}

/// Creates the public games (open at once, approval by an admin, 30
/// races) with 16 concurrent admin requests; returns their ids.
async fn create_games(api: &Api, deadline: &str) -> anyhow::Result<Vec<String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (api, next, deadline) = (api.clone(), next.clone(), deadline.to_owned());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= GAMES {
                        return Ok::<_, anyhow::Error>(ids);
                    }
                    let body = json!({
                        "name": format!("Bench game {n}"),
                        "engine_version": "0.1.0",
                        "min_races": 2,
                        "max_races": MAX_RACES,
                        "turn_schedule": { "every": "24h" },
                        "enrollment_deadline": deadline,
                        "auto_approve": false,
                        "open_enrollment": true,
                    });
                    let (status, game) = api.admin_post("/games", &body).await?;
                    ensure!(status == 201, "creating a game answered {status}: {game}");
                    ids.push(
                        game["game_id"]
                            .as_str()
                            .context("a created game has a game_id")?
                            .to_owned(),
                    );
                }
            })
        })
        .collect();
    let mut games = Vec::with_capacity(GAMES);
    for worker in workers {
        games.extend(worker.await??);
    }
    Ok(games)
}

/// Part 1: the cache-served browse next to the bare server.
async fn browse(api: &Api, user: Uuid) -> anyhow::Result<()> {
    let url = format!("{}/user/games/open?per_page=50", api.base);
    let user = user.to_string();
    let body = api
        .http
        .get(&url)
        .header("X-User-ID", &user)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let page: Value = serde_json::from_slice(&body)?;
    ensure!(
        page["total"] == GAMES && page["items"].as_array().map(Vec::len) == Some(50),
        "the open-games page is not 50 of {GAMES}: total {}",
        page["total"]
    );
    let static_addr = serve_static(body.clone()).await?;
    let static_name = format!(
        "bare axum, the same {} KB page as static bytes",
        body.len() / 1024
    );

    let bare_addr = galaxy_bench::serve_bare("127.0.0.1:0").await?;
    let targets = [
        galaxy_bench::bare_target(bare_addr),
        Target {
            name: "GET /api/v1/user/games/open?per_page=50",
            url,
            headers: vec![("X-User-ID", &user), ("X-Forwarded-For", "192.0.2.1")],
        },
        Target {
            name: &static_name,
            url: format!("http://{static_addr}/"),
            headers: vec![],
        },
    ];
    let runs = interleaved(&targets, BROWSE_ROUNDS, BROWSE_SECONDS, BROWSE_CONNECTIONS)?;
    println!(
        "\nbrowse open public games, first page of 50 ({BROWSE_ROUNDS} interleaved rounds of {BROWSE_SECONDS}s per target, median shown; {BROWSE_CONNECTIONS} connections, wrk on the same cores)"
    );
    galaxy_bench::print_vs_bare(&runs);
    println!("target: browse >= 70% of the bare server's req/s");
    Ok(())
}

/// Serves `body` as JSON from a bare axum server on loopback: the transport
/// cost of a response that size, without the lobby's work.
async fn serve_static(body: axum::body::Bytes) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// What the apply + approve run measured.
struct PairFigures {
    pairs: usize,
    elapsed: Duration,
    /// The run's duration rounded up to whole seconds (pgbench's `-T`).
    seconds: u32,
    apply_ms: Vec<f64>,
    approve_ms: Vec<f64>,
    name_retries: usize,
}

/// Part 2: `CLIENTS` concurrent clients, each iteration one user applying
/// and the admin approving, until `MAX_PAIRS` or `MAX_PAIR_SECONDS`.
///
/// Pair `k` puts user `k mod 10,000` into game `(k + 333·r) mod 1,000` in
/// round `r = k / 10,000`: a user's rounds land in distinct games (at most
/// 3, the free tier's limit), and each game gets 10 users a round (30 in
/// all, its `max_races`).
async fn apply_and_approve(
    api: &Api,
    users: &[Uuid],
    games: &[String],
) -> anyhow::Result<PairFigures> {
    let capacity = (ACCOUNTS * GAMES_PER_USER).min(GAMES * MAX_RACES);
    let max_pairs = MAX_PAIRS.min(capacity);
    let users = Arc::new(users.to_vec());
    let games = Arc::new(games.to_vec());
    let next_pair = Arc::new(AtomicUsize::new(0));
    let next_name = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let stop_at = started + Duration::from_secs(MAX_PAIR_SECONDS);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (api, users, games) = (api.clone(), users.clone(), games.clone());
            let (next_pair, next_name) = (next_pair.clone(), next_name.clone());
            tokio::spawn(async move {
                let mut apply_ms = Vec::new();
                let mut approve_ms = Vec::new();
                let mut retries = 0;
                while Instant::now() < stop_at {
                    let k = next_pair.fetch_add(1, Ordering::Relaxed);
                    if k >= max_pairs {
                        break;
                    }
                    let user = users[k % ACCOUNTS];
                    let game = &games[(k + 333 * (k / ACCOUNTS)) % GAMES];
                    let path = format!("/games/{game}/applications");
                    let (took, application) = loop {
                        let name = race_name(next_name.fetch_add(1, Ordering::Relaxed));
                        let sent = Instant::now();
                        let (status, body) = api
                            .user_post(user, &path, &json!({ "race_name": name }))
                            .await?;
                        match status {
                            201 => break (sent.elapsed(), body),
                            // Two names whose canonical keys collide: take the next.
                            409 if body.to_string().contains("race_name_taken") => retries += 1,
                            _ => bail!("applying answered {status}: {body}"),
                        }
                    };
                    apply_ms.push(took.as_secs_f64() * 1000.0);
                    let id = application["application_id"]
                        .as_str()
                        .context("an application has an application_id")?;
                    let sent = Instant::now();
                    let (status, body) = api
                        .admin_post(
                            &format!("/games/{game}/applications/{id}/approve"),
                            &json!({}),
                        )
                        .await?;
                    ensure!(status == 200, "approving answered {status}: {body}");
                    approve_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                Ok::<_, anyhow::Error>((apply_ms, approve_ms, retries))
            })
        })
        .collect();
    let mut figures = PairFigures {
        pairs: 0,
        elapsed: Duration::ZERO,
        seconds: 0,
        apply_ms: Vec::new(),
        approve_ms: Vec::new(),
        name_retries: 0,
    };
    for client in clients {
        let (apply, approve, retries) = client.await??;
        figures.apply_ms.extend(apply);
        figures.approve_ms.extend(approve);
        figures.name_retries += retries;
    }
    figures.elapsed = started.elapsed();
    figures.seconds = figures.elapsed.as_secs_f64().ceil().max(1.0) as u32;
    figures.pairs = figures.approve_ms.len();
    figures.apply_ms.sort_by(f64::total_cmp);
    figures.approve_ms.sort_by(f64::total_cmp);
    Ok(figures)
}

/// A race name unique per `n`: "Race " and `n` in bijective base 26
/// (letters only, so no two keys can fold into one digit string).
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

/// pgbench's single-row INSERT into a scratch table, `CLIENTS` clients for
/// `seconds`, on the same server.
async fn pgbench_inserts(
    dsn: &str,
    scratch: &std::path::Path,
    seconds: u32,
) -> anyhow::Result<galaxy_bench::PgbenchFigures> {
    let config = PostgresConfig {
        dsn: Secret::new(dsn.to_owned()),
        max_conns: 1,
        min_conns: 0,
        operation_timeout: Duration::from_secs(60),
        leader_interval: Duration::from_secs(1),
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(galaxy_backend::postgres::connect_options(&config)?)
        .await?;
    sqlx::query(
        "CREATE TABLE bench_inserts (id bigserial PRIMARY KEY, note text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&pool)
    .await?;
    pool.close().await;
    let script = scratch.join("single_row_insert.sql");
    std::fs::write(
        &script,
        "INSERT INTO bench_inserts (note) VALUES ('pgbench');\n",
    )?;
    tokio::task::spawn_blocking(move || {
        galaxy_bench::pgbench(DATABASE, &script, CLIENTS, PgbenchRun::Seconds(seconds))
    })
    .await?
}

fn print_pairs(pairs: &PairFigures, baseline: &galaxy_bench::PgbenchFigures) {
    let pct = |v: &[f64], p: f64| {
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let secs = pairs.elapsed.as_secs_f64();
    let pair_rate = pairs.pairs as f64 / secs;
    println!(
        "\napply + approve ({CLIENTS} clients; {} pairs in {secs:.2} s; bounded by {MAX_PAIRS} pairs or {MAX_PAIR_SECONDS} s; {} race-name retries)",
        pairs.pairs, pairs.name_retries
    );
    println!(
        "{:<52} {:>10} {:>10} {:>10} {:>9}",
        "", "per s", "p50 ms", "p99 ms", "vs pgbench"
    );
    println!(
        "{:<52} {:>10.0} {:>10} {:>10} {:>8.1}%",
        "apply + approve pairs (compared)",
        pair_rate,
        "",
        "",
        100.0 * pair_rate / baseline.tps
    );
    println!(
        "{:<52} {:>10.0} {:>10} {:>10} {:>8.1}%",
        "  requests (2 per pair)",
        2.0 * pair_rate,
        "",
        "",
        200.0 * pair_rate / baseline.tps
    );
    println!(
        "{:<52} {:>10} {:>10.2} {:>10.2}",
        "  POST /user/games/{id}/applications",
        "",
        pct(&pairs.apply_ms, 0.5),
        pct(&pairs.apply_ms, 0.99)
    );
    println!(
        "{:<52} {:>10} {:>10.2} {:>10.2}",
        "  POST /admin/games/{id}/applications/{id}/approve",
        "",
        pct(&pairs.approve_ms, 0.5),
        pct(&pairs.approve_ms, 0.99)
    );
    println!(
        "{:<52} {:>10.0} {:>10} {:>10} {:>9}",
        format!(
            "pgbench single-row INSERT ({CLIENTS} clients, {} s)",
            pairs.seconds
        ),
        baseline.tps,
        format!("{:.2} avg", baseline.latency_ms),
        "",
        "100.0%"
    );
    println!("target: apply + approve pairs/s >= 30% of pgbench's single-row INSERT tx/s");
}
