//! Job queue throughput (`galaxy_backend::jobs`, the shared `jobs` table):
//! bulk enqueue of a 20,000-job backlog of no-op jobs, then its drain by
//! runner loops as the worker runs them — one job at a time, and in
//! batches — printed next to graphile-worker 0.17.3's figures measured on
//! this machine kind. Target: drain ahead of graphile-worker's batched
//! figure. Figures only; nothing here asserts a timing.

use std::time::{Duration, Instant};

use anyhow::bail;
use galaxy_backend::jobs::{self, Job, JobFailure, Runner, RunnerSettings};
use galaxy_backend::telemetry::Metrics;
use galaxy_bench::{bench_config, fresh_database};
use serde::{Deserialize, Serialize};

const BACKLOG: usize = 20_000;
const ENQUEUE_CHUNK: usize = 5_000;
const DATABASE: &str = "galaxy_bench_jobs";

/// graphile-worker 0.17.3 on this machine kind (issue 13).
const GRAPHILE_ONE_AT_A_TIME: f64 = 3_600.0;
const GRAPHILE_BATCHED: f64 = 43_500.0;
const GRAPHILE_BULK_ENQUEUE: f64 = 66_000.0;

#[derive(Serialize, Deserialize)]
struct Noop {
    n: u32,
}

impl Job for Noop {
    const KIND: &'static str = "bench.noop";
    type Context = ();

    async fn run(self, _ctx: ()) -> Result<(), JobFailure> {
        std::hint::black_box(self.n);
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join("galaxy-bench-jobs");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database(DATABASE).await?;
    let config = bench_config(&dsn, &scratch, &[])?;
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_with(galaxy_backend::postgres::connect_options(&config.postgres)?)
        .await?;
    galaxy_backend::postgres::migrate(&db).await?;

    println!(
        "job queue ({BACKLOG} no-op jobs, shared jobs table; graphile-worker 0.17.3 on this machine kind for comparison)"
    );
    let enqueue = enqueue_backlog(&db).await?;
    println!(
        "  bulk enqueue ({ENQUEUE_CHUNK} per statement)  {:>9.0} jobs/s  ({:.2} s)   graphile-worker ~{GRAPHILE_BULK_ENQUEUE:.0}",
        BACKLOG as f64 / enqueue.as_secs_f64(),
        enqueue.as_secs_f64()
    );

    // Each job claimed and recorded on its own: two commits per job, so
    // the figure is bound by the commit flush; several loops share flushes.
    let loops = 8;
    let one = drain(&db, loops, 1, 1).await?;
    println!(
        "  drain, one job at a time         {:>9.0} jobs/s  ({:.2} s, {loops} runners, batch 1)   graphile-worker {GRAPHILE_ONE_AT_A_TIME:.0}",
        BACKLOG as f64 / one.as_secs_f64(),
        one.as_secs_f64()
    );

    enqueue_backlog(&db).await?;
    let (runners, batch) = (2, 1_000);
    let batched = drain(&db, runners, batch, 64).await?;
    let rate = BACKLOG as f64 / batched.as_secs_f64();
    println!(
        "  drain, batched                   {rate:>9.0} jobs/s  ({:.2} s, {runners} runners, batch {batch})   graphile-worker {GRAPHILE_BATCHED:.0} (target: ahead, {:.0} %)",
        batched.as_secs_f64(),
        rate / GRAPHILE_BATCHED * 100.0
    );
    Ok(())
}

async fn enqueue_backlog(db: &sqlx::PgPool) -> anyhow::Result<Duration> {
    // As autovacuum would between runs; keeps the two drains comparable.
    sqlx::query("VACUUM ANALYZE jobs").execute(db).await?;
    let started = Instant::now();
    for chunk in 0..BACKLOG / ENQUEUE_CHUNK {
        let jobs: Vec<Noop> = (0..ENQUEUE_CHUNK)
            .map(|n| Noop {
                n: (chunk * ENQUEUE_CHUNK + n) as u32,
            })
            .collect();
        let mut tx = db.begin().await?;
        jobs::enqueue_many(&mut tx, &jobs).await?;
        tx.commit().await?;
    }
    let took = started.elapsed();
    sqlx::query("ANALYZE jobs").execute(db).await?;
    Ok(took)
}

/// Drains the backlog with `runners` loops stepping back to back, as the
/// worker loop does while batches come back full.
async fn drain(
    db: &sqlx::PgPool,
    runners: usize,
    batch: u32,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    let runner = Runner::builder(
        db.clone(),
        RunnerSettings {
            batch_size: batch,
            concurrency,
            ..RunnerSettings::default()
        },
        &Metrics::noop(),
    )
    .register::<Noop>(())
    .build();
    let started = Instant::now();
    let loops: Vec<_> = (0..runners)
        .map(|_| {
            let runner = runner.clone();
            tokio::spawn(async move {
                let mut done = 0;
                loop {
                    let report = runner.tick_report().await?;
                    if report.claimed == 0 {
                        return Ok::<_, sqlx::Error>(done);
                    }
                    done += report.succeeded;
                }
            })
        })
        .collect();
    let mut done = 0;
    for task in loops {
        done += task.await??;
    }
    let took = started.elapsed();
    if done != BACKLOG {
        bail!("drained {done} of {BACKLOG} jobs");
    }
    Ok(took)
}
