//! **kill -9 under mail load.** 1,000 deliveries are enqueued; the real
//! backend binary drains them and is SIGKILLed 20 times at random moments
//! (100–700 ms after each start) and started again. Then one last run
//! drains the rest. Every delivery must reach the SMTP server (by
//! Message-ID), with at most one duplicate per kill (the outbox is
//! at-least-once: a send the relay accepted just before the kill is sent
//! again once its lease runs out), and none may be left pending.

use std::time::{Duration, Instant};

use anyhow::bail;
use galaxy_bench::{bench_vars, fresh_database};
use galaxy_devstack::smtp::{SmtpServer, SmtpServerOptions};
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};

use crate::{Backend, Outcome};

const DELIVERIES: usize = 1_000;
const KILLS: usize = 20;
const DATABASE: &str = "galaxy_chaos_mail";

pub async fn run(seed: u64) -> anyhow::Result<Outcome> {
    let smtp = SmtpServer::start(SmtpServerOptions::default()).await?;
    let scratch = std::env::temp_dir().join("galaxy-chaos-mail");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database(DATABASE).await?;
    let port = smtp.port().to_string();
    let env = bench_vars(
        &dsn,
        &scratch,
        &[
            ("BACKEND_SMTP_PORT", &port),
            ("BACKEND_LOGGING_LEVEL", "warn"),
            // Short leases so a killed worker's batch comes back quickly.
            ("BACKEND_MAIL_LEASE", "2s"),
            ("BACKEND_MAIL_WORKER_INTERVAL", "200ms"),
        ],
    )?;
    let pool = crate::migrated(&env).await?;
    crate::enqueue_mail(&pool, "pilot", DELIVERIES).await?;

    let mut rng = StdRng::seed_from_u64(seed);
    let mut backend = Backend::new(env, scratch.join("backend.log"))?;
    let started = Instant::now();
    let mut mid_drain = 0;
    for _ in 0..KILLS {
        backend.start()?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..700))).await;
        backend.kill9()?;
        let delivered = crate::by_message_id(&smtp).len();
        if delivered > 0 && delivered < DELIVERIES {
            mid_drain += 1;
        }
    }
    backend.start()?;
    backend.wait_ready(Duration::from_secs(60)).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let open = loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM mail_deliveries WHERE state IN ('pending', 'retrying')",
        )
        .fetch_one(&pool)
        .await?;
        if (open == 0 && crate::by_message_id(&smtp).len() >= DELIVERIES)
            || Instant::now() > deadline
        {
            break open;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let drained = started.elapsed();
    let exit = backend.terminate(Duration::from_secs(30)).await?;
    let dead: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_deliveries WHERE state = 'dead_lettered'")
            .fetch_one(&pool)
            .await?;
    pool.close().await;

    let counts = crate::by_message_id(&smtp);
    let delivered = counts.len();
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    let passed =
        delivered == DELIVERIES && duplicates <= KILLS && open == 0 && dead == 0 && exit == Some(0);
    if delivered > DELIVERIES {
        bail!("more distinct Message-IDs ({delivered}) than deliveries");
    }
    Ok(Outcome {
        passed,
        figures: format!(
            "{DELIVERIES} deliveries, {KILLS} SIGKILLs ({mid_drain} mid-drain): delivered {delivered}, \
             duplicates {duplicates} (limit {KILLS}), left pending {open}, dead-lettered {dead}, \
             all in {:.1} s, final SIGTERM exit {exit:?}",
            drained.as_secs_f64()
        ),
    })
}
