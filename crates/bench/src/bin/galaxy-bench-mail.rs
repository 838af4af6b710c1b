//! Mail outbox throughput: seeds 10,000 pending deliveries, drains them with
//! the worker step (as the worker loop runs it) into the local SMTP server
//! (`galaxy-devstack`, in this process, on loopback), and prints
//! deliveries/s and the p50/p99 enqueue→accepted latency. Then, in the same
//! run, pgbench replays the worker's own claim-and-mark SQL
//! (`galaxy_backend::mail::store::{CLAIM_DUE_SQL, RECORD_RESULTS_SQL}`) on
//! the same 10,000 rows, to show how much of the budget PostgreSQL takes.
//! Target: ≥ 2,000 deliveries/s on a 2-core machine. Figures only; nothing
//! here asserts a timing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use galaxy_backend::app::Application;
use galaxy_backend::mail::{self, Mail, store};
use galaxy_bench::{PgbenchRun, bench_config, fresh_database};
use galaxy_devstack::smtp::{SmtpServer, SmtpServerOptions};

const DELIVERIES: usize = 10_000;
const ENQUEUE_CHUNK: usize = 500;
const DATABASE: &str = "galaxy_bench_mail";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = SmtpServer::start(SmtpServerOptions::default()).await?;
    let scratch = std::env::temp_dir().join("galaxy-bench-mail");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database(DATABASE).await?;
    let port = server.port().to_string();
    let config = bench_config(
        &dsn,
        &scratch,
        &[
            ("BACKEND_SMTP_PORT", &port),
            // The bench drives the worker step itself, to time it.
            ("BACKEND_MAIL_WORKER_ENABLED", "false"),
            ("BACKEND_POSTGRES_MAX_CONNS", "16"),
        ],
    )?;
    let app = Application::build(config).await?;
    let outbox: Mail = app.state().mail.clone();
    let db = app.state().db.clone();
    let settings = outbox.settings().clone();

    // Seed: producers' transactions of 500 enqueues each.
    let started = Instant::now();
    for chunk in 0..DELIVERIES / ENQUEUE_CHUNK {
        let mut tx = db.begin().await?;
        for n in 0..ENQUEUE_CHUNK {
            let i = chunk * ENQUEUE_CHUNK + n;
            mail::enqueue_login_code(
                &mut tx,
                &format!("pilot{i}@bench.invalid"),
                &format!("{:06}", i % 1_000_000),
                Duration::from_secs(600),
            )
            .await?;
        }
        tx.commit().await?;
    }
    let seeded = started.elapsed();

    // Drain: one worker loop, stepping again at once while batches are full.
    let worker = outbox.worker();
    let started = Instant::now();
    let mut sent = 0;
    let mut steps = 0;
    while sent < DELIVERIES {
        let report = worker.tick_report().await?;
        steps += 1;
        if report.claimed == 0 {
            bail!("the outbox ran dry after {sent} of {DELIVERIES} deliveries");
        }
        if report.sent != report.claimed {
            bail!("unexpected failures: {report:?}");
        }
        sent += report.sent;
    }
    let drained = started.elapsed();
    let messages = server
        .wait_for_messages(DELIVERIES, Duration::from_secs(30))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // Enqueue → accepted by the relay, per delivery (Message-ID = delivery id).
    let created: Vec<(uuid::Uuid, f64)> = sqlx::query_as(
        "SELECT delivery_id, extract(epoch FROM created_at)::float8 FROM mail_deliveries",
    )
    .fetch_all(&db)
    .await?;
    let created: HashMap<String, f64> = created
        .into_iter()
        .map(|(id, at)| (id.to_string(), at))
        .collect();
    let mut latencies_ms: Vec<f64> = messages
        .iter()
        .filter_map(|m| {
            let id = m.header("Message-ID")?;
            let id = id
                .trim()
                .trim_start_matches('<')
                .split('@')
                .next()?
                .to_owned();
            let enqueued = created.get(&id)?;
            Some((m.received_at.timestamp_micros() as f64 / 1e6 - enqueued) * 1000.0)
        })
        .collect();
    if latencies_ms.len() != DELIVERIES {
        bail!(
            "matched {} of {DELIVERIES} messages to deliveries",
            latencies_ms.len()
        );
    }
    latencies_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies_ms[((latencies_ms.len() as f64 - 1.0) * p).round() as usize];

    println!(
        "mail outbox ({DELIVERIES} deliveries, batch {}, {} concurrent sends, 1 worker loop)",
        settings.batch_size, settings.send_concurrency
    );
    println!(
        "  enqueue (500 per transaction)  {:>9.0} deliveries/s  ({:.2} s)",
        DELIVERIES as f64 / seeded.as_secs_f64(),
        seeded.as_secs_f64()
    );
    println!(
        "  drain into SMTP                {:>9.0} deliveries/s  ({:.2} s, {steps} steps)  target ≥ 2000",
        DELIVERIES as f64 / drained.as_secs_f64(),
        drained.as_secs_f64()
    );
    println!(
        "  enqueue → accepted             p50 {:.0} ms   p99 {:.0} ms   (all {DELIVERIES} enqueued up front: queueing dominates)",
        pct(0.50),
        pct(0.99)
    );

    // The same SQL through pgbench, on the same rows made due again.
    sqlx::query("UPDATE mail_deliveries SET state = 'pending', cycle_attempts = 0, next_attempt_at = now(), sent_at = NULL")
        .execute(&db)
        .await?;
    // As autovacuum would after such a mass update; keeps runs comparable.
    sqlx::query("VACUUM ANALYZE mail_deliveries")
        .execute(&db)
        .await?;
    let batch = settings.batch_size as usize;
    let script = scratch.join("claim_and_mark.sql");
    std::fs::write(
        &script,
        pgbench_script(batch, settings.lease.as_secs(), settings.max_attempts)?,
    )?;
    let clients = 2;
    let transactions = DELIVERIES / batch / clients;
    let pgbench = galaxy_bench::pgbench(
        DATABASE,
        &script,
        clients,
        PgbenchRun::TransactionsPerClient(transactions),
    )?;
    let marked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_deliveries WHERE state = 'sent'")
            .fetch_one(&db)
            .await?;
    println!(
        "  pgbench claim+mark SQL         {:>9.0} deliveries/s  ({:.0} tps × {batch} rows, {clients} clients, {:.1} ms/transaction, {marked} rows marked)",
        pgbench.tps * batch as f64,
        pgbench.tps,
        pgbench.latency_ms
    );

    drop(app);
    Ok(())
}

/// The worker's two statements as a pgbench script: the claim with a fresh
/// lease token (its result reduced to the claimed ids, as the worker keeps
/// them), then the record marking every claimed row `sent`.
fn pgbench_script(batch: usize, lease_seconds: u64, max_attempts: u32) -> anyhow::Result<String> {
    const CLAIM_RESULT: &str = "SELECT * FROM claimed";
    if !store::CLAIM_DUE_SQL.ends_with(CLAIM_RESULT) {
        bail!("CLAIM_DUE_SQL no longer ends with `{CLAIM_RESULT}`: update the pgbench script");
    }
    let claim = store::CLAIM_DUE_SQL
        .trim_end_matches(CLAIM_RESULT)
        .replace("$1", ":token")
        .replace("$2", &lease_seconds.to_string())
        .replace("$3", &batch.to_string());
    let filled = |sql: &str| format!("array_fill({sql}, ARRAY[{batch}])");
    let record = store::RECORD_RESULTS_SQL
        .replace("$9", &filled("0::float8"))
        .replace("$8", &filled("now()"))
        .replace("$7", &filled("now()"))
        .replace("$6", &filled("NULL::text"))
        .replace("$5", &filled("NULL::int2"))
        .replace("$4", &filled("'sent'::text"))
        .replace("$3", ":ids")
        .replace("$2", &max_attempts.to_string())
        .replace("$1", ":token");
    Ok(format!(
        "SELECT gen_random_uuid() AS token \\gset\n{claim}SELECT coalesce(array_agg(delivery_id), '{{}}')::text AS ids FROM claimed \\gset\n{record};\n"
    ))
}
