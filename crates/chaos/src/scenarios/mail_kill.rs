//! **kill -9 under mail load.** 1,000 deliveries are enqueued; the real
//! backend binary drains them and is SIGKILLed 20 times at random moments
//! while it sends (after 1–40 further mails reached the relay) and started
//! again. Then one last run drains the rest. Every delivery must reach the
//! SMTP server (by Message-ID) and none may be left pending or
//! dead-lettered.
//!
//! Duplicates: the outbox is at-least-once. A send keeps its concurrency
//! slot until the recorder has written its answer, so what a kill sends
//! again, once the lease runs out, is at most what the slots held:
//! `BACKEND_MAIL_SEND_CONCURRENCY` mails per kill. The scenario runs twice
//! on fresh databases: as shipped (16 at a time, the drain's throughput
//! setting; duplicates ≤ kills × 16) and with one send at a time, the
//! setting for an operator who wants issue #20's bound of at most one
//! duplicate per kill (duplicates ≤ kills).

use std::time::{Duration, Instant};

use anyhow::bail;
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};

use crate::Outcome;

const DELIVERIES: usize = 1_000;
const KILLS: usize = 20;

pub async fn run(seed: u64) -> anyhow::Result<Outcome> {
    let shipped = run_part(seed, "mail", 16).await?;
    let one = run_part(seed, "mail1", 1).await?;
    Ok(Outcome {
        passed: shipped.passed && one.passed,
        figures: format!(
            "{DELIVERIES} deliveries, {KILLS} SIGKILLs each part; 16 at a time: {}; one at a time: {}",
            shipped.figures, one.figures
        ),
    })
}

/// One drain under kills with `concurrency` sends at a time, on its own
/// database `galaxy_chaos_<name>`.
async fn run_part(seed: u64, name: &str, concurrency: usize) -> anyhow::Result<Outcome> {
    let concurrency_var = concurrency.to_string();
    let crate::Stack {
        smtp,
        pool,
        mut backend,
    } = crate::Stack::new(
        name,
        &[
            ("BACKEND_LOGGING_LEVEL", "warn"),
            // Short leases so a killed worker's batch comes back quickly.
            ("BACKEND_MAIL_LEASE", "2s"),
            ("BACKEND_MAIL_WORKER_INTERVAL", "200ms"),
            ("BACKEND_MAIL_BATCH_SIZE", "100"),
            ("BACKEND_MAIL_SEND_CONCURRENCY", &concurrency_var),
        ],
    )
    .await?;
    crate::enqueue_mail(&pool, "pilot", DELIVERIES).await?;

    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut mid_drain = 0;
    for _ in 0..KILLS {
        // Kill while it sends: once a random number (1–40) of further mails
        // reached the relay since this start (or after 2 s).
        let before = smtp.messages().len();
        let after = rng.random_range(1..=40);
        backend.start()?;
        let _ = smtp
            .wait_for_messages(before + after, Duration::from_secs(2))
            .await;
        backend.kill9()?;
        let delivered = crate::by_message_id(&smtp).len();
        if delivered < DELIVERIES {
            mid_drain += 1;
        }
    }
    backend.start_ready().await?;
    let open = crate::wait_drained(&pool, &smtp, DELIVERIES, Duration::from_secs(120)).await?;
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
    let bound = KILLS * concurrency;
    let passed =
        delivered == DELIVERIES && duplicates <= bound && open == 0 && dead == 0 && exit == Some(0);
    if delivered > DELIVERIES {
        bail!("more distinct Message-IDs ({delivered}) than deliveries");
    }
    Ok(Outcome {
        passed,
        figures: format!(
            "{mid_drain} kills mid-drain, delivered {delivered}, duplicates {duplicates} \
             (bound {bound} = kills x {concurrency}), left pending {open}, dead-lettered {dead}, \
             all in {:.1} s, final SIGTERM exit {exit:?}",
            drained.as_secs_f64()
        ),
    })
}
