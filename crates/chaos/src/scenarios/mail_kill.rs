//! **kill -9 under mail load.** 1,000 deliveries are enqueued; the real
//! backend binary drains them and is SIGKILLed 20 times at random moments
//! while it sends (after 1–40 further mails reached the relay) and started
//! again. Then one last run
//! drains the rest. Every delivery must reach the SMTP server (by
//! Message-ID) and none may be left pending or dead-lettered.
//!
//! Duplicates: the outbox is at-least-once. A worker records its sends' answers
//! as they come (a recorder writes each lot that arrived while its previous
//! write ran), so what a kill sends again, once the lease runs out, is what
//! was in flight or answered but not yet written: at most a batch
//! (`BACKEND_MAIL_BATCH_SIZE`, 100), in practice about the send concurrency
//! (16) or fewer. The scenario holds the batch bound and prints whether the
//! tighter aim of issue #20 (at most one duplicate per kill, which only one
//! send at a time could promise) was met.

use std::time::{Duration, Instant};

use anyhow::bail;
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};

use crate::Outcome;

const DELIVERIES: usize = 1_000;
const KILLS: usize = 20;
const BATCH: usize = 100;

pub async fn run(seed: u64) -> anyhow::Result<Outcome> {
    let crate::Stack {
        smtp,
        pool,
        mut backend,
    } = crate::Stack::new(
        "mail",
        &[
            ("BACKEND_LOGGING_LEVEL", "warn"),
            // Short leases so a killed worker's batch comes back quickly.
            ("BACKEND_MAIL_LEASE", "2s"),
            ("BACKEND_MAIL_WORKER_INTERVAL", "200ms"),
            ("BACKEND_MAIL_BATCH_SIZE", "100"),
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
    let passed = delivered == DELIVERIES
        && duplicates <= KILLS * BATCH
        && open == 0
        && dead == 0
        && exit == Some(0);
    let aim = if duplicates <= KILLS {
        "met"
    } else {
        "not met"
    };
    if delivered > DELIVERIES {
        bail!("more distinct Message-IDs ({delivered}) than deliveries");
    }
    Ok(Outcome {
        passed,
        figures: format!(
            "{DELIVERIES} deliveries, {KILLS} SIGKILLs ({mid_drain} mid-drain): delivered {delivered}, \
             duplicates {duplicates} (bound {} = kills x batch; the aim of <= {KILLS}: {aim}), left pending {open}, dead-lettered {dead}, \
             all in {:.1} s, final SIGTERM exit {exit:?}",
            KILLS * BATCH,
            drained.as_secs_f64()
        ),
    })
}
