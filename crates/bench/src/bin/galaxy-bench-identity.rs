//! Identity at scale: startup-to-ready time and RSS with 100,000 accounts
//! and 200,000 active device sessions seeded (target < 2 s), then `wrk`
//! against the gateway's device-session lookup and the cache-served
//! `GET /api/v1/user/account`, next to a bare axum hello-world measured in
//! the same run (target ≥ 80 % of its req/s).

use std::time::{Duration, Instant};

use galaxy_backend::app::Application;
use galaxy_bench::{Target, bench_config, fresh_database, interleaved};
use uuid::Uuid;

const ACCOUNTS: i64 = 100_000;
const SESSIONS_PER_ACCOUNT: i64 = 2;
const ROUNDS: u32 = 5;
const SECONDS: u32 = 3;
const CONNECTIONS: u32 = 32;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join("galaxy-bench-identity");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database("galaxy_bench_identity").await?;

    let seeded = Instant::now();
    let (session_id, user_id) = seed(&dsn).await?;
    println!(
        "\n== identity: seeded {ACCOUNTS} accounts and {} active sessions in {:.1} s ==",
        ACCOUNTS * SESSIONS_PER_ACCOUNT,
        seeded.elapsed().as_secs_f64()
    );

    let config = bench_config(&dsn, &scratch, &[("BACKEND_MAIL_WORKER_ENABLED", "false")])?;
    let started = Instant::now();
    let app = Application::build(config).await?;
    let built = started.elapsed();
    let addr = app.http_addr();
    let stop = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(format!("http://{addr}/readyz")).send().await
            && r.status().is_success()
        {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the backend did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ready = started.elapsed();
    println!(
        "startup to ready: {:.3} s (build + migrations {:.3} s, cache warm-ups {:.3} s)   (target < 2 s)",
        ready.as_secs_f64(),
        built.as_secs_f64(),
        (ready - built).as_secs_f64()
    );
    println!(
        "RSS after warm-up: {:.0} MiB (peak {:.0} MiB)",
        rss_mib("VmRSS:"),
        rss_mib("VmHWM:")
    );

    let bare_addr = galaxy_bench::serve_bare("127.0.0.1:0").await?;

    let user = user_id.to_string();
    let lookup = format!("http://{addr}/api/v1/internal/device-sessions/{session_id}");
    let targets = [
        galaxy_bench::bare_target(bare_addr),
        Target {
            name: "GET /healthz (same stack, no domain work)",
            url: format!("http://{addr}/healthz"),
            headers: vec![],
        },
        Target {
            name: "GET /api/v1/internal/device-sessions/{id}",
            url: lookup,
            headers: vec![],
        },
        Target {
            name: "GET /api/v1/user/account",
            url: format!("http://{addr}/api/v1/user/account"),
            headers: vec![("X-User-ID", &user), ("X-Forwarded-For", "192.0.2.1")],
        },
    ];
    let runs = interleaved(&targets, ROUNDS, SECONDS, CONNECTIONS)?;
    println!(
        "({ROUNDS} interleaved rounds of {SECONDS}s per target, median shown; {CONNECTIONS} connections, wrk on the same cores)"
    );
    galaxy_bench::print_vs_bare(&runs);
    println!("target: lookup and account GET >= 80% of the bare server's req/s");
    stop.cancel();
    serving.await??;
    Ok(())
}

/// Migrates the scratch database and seeds it with set-based SQL; returns
/// one active session id and one user id to query.
async fn seed(dsn: &str) -> anyhow::Result<(Uuid, Uuid)> {
    let pool = galaxy_bench::seeding_pool(dsn, Duration::from_secs(600)).await?;
    let key = ed25519_public_key();
    sqlx::query(
        "INSERT INTO accounts (user_id, email, user_name, declared_country)
         SELECT gen_random_uuid(), 'user' || g || '@bench.invalid', 'bench-user-' || g, 'DE'
         FROM generate_series(1, $1) AS g",
    )
    .bind(ACCOUNTS)
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO device_sessions (id, user_id, public_key, device_name, platform)
         SELECT gen_random_uuid(), a.user_id, $1, 'bench device ' || s, 'bench'
         FROM accounts a CROSS JOIN generate_series(1, $2) AS s",
    )
    .bind(key.as_slice())
    .bind(SESSIONS_PER_ACCOUNT)
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    let row: (Uuid, Uuid) =
        sqlx::query_as("SELECT id, user_id FROM device_sessions ORDER BY id LIMIT 1")
            .fetch_one(&pool)
            .await?;
    pool.close().await;
    Ok(row)
}

/// The Ed25519 public key of the RFC 8032 test vector 1 (a valid point).
fn ed25519_public_key() -> [u8; 32] {
    [
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07,
        0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07,
        0x51, 0x1a,
    ]
}

/// A `/proc/self/status` memory figure in MiB.
fn rss_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
