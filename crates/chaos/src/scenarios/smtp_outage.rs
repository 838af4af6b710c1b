//! **SMTP outage.** Three relay failures against the real backend binary:
//!
//! 1. the relay answers `451` for a minute: every delivery is retried on the
//!    backoff schedule (every gap between two attempts within the jitter
//!    band: half to all of the scheduled delay, plus at most one worker scan
//!    interval) and delivered once the relay accepts again;
//! 2. the relay answers `550`: every delivery is dead-lettered after exactly
//!    one attempt;
//! 3. the relay is down (connections refused) for 20 s: deliveries are
//!    retried, and the backend stays idle meanwhile (CPU under 5 % of a core:
//!    no busy loop); they go out once it is back.

use std::time::{Duration, Instant};

use galaxy_devstack::smtp::Behaviour;

use crate::Outcome;

const RETRY_BASE: Duration = Duration::from_secs(4);
const RETRY_MAX: Duration = Duration::from_secs(16);
const TRANSIENT_FOR: Duration = Duration::from_secs(60);
const DOWN_FOR: Duration = Duration::from_secs(20);
const PER_PHASE: usize = 50;
/// The worker's scan interval: a retry may wait this much past its due time.
const POLL: Duration = Duration::from_secs(2);

pub async fn run(_seed: u64) -> anyhow::Result<Outcome> {
    let base = format!("{}s", RETRY_BASE.as_secs());
    let max = format!("{}s", RETRY_MAX.as_secs());
    let crate::Stack {
        smtp,
        pool,
        mut backend,
    } = crate::Stack::new(
        "smtp",
        &[
            ("BACKEND_LOGGING_LEVEL", "warn"),
            ("BACKEND_MAIL_RETRY_BASE", &base),
            ("BACKEND_MAIL_RETRY_MAX", &max),
            ("BACKEND_MAIL_MAX_ATTEMPTS", "50"),
            ("BACKEND_MAIL_WORKER_INTERVAL", "2s"),
        ],
    )
    .await?;
    backend.start_ready().await?;

    // 1. 451 for a minute, then accept.
    smtp.set_behaviour(Behaviour::TransientReject).await?;
    crate::enqueue_mail(&pool, "transient", PER_PHASE).await?;
    tokio::time::sleep(TRANSIENT_FOR).await;
    smtp.set_behaviour(Behaviour::Accept).await?;
    let recovered = Instant::now();
    let all_sent = wait_sent(&pool, PER_PHASE as i64, RETRY_MAX * 3).await?;
    let recovery = recovered.elapsed();
    let (attempts_min, attempts_max, shortest_gap, longest_gap): (i64, i64, f64, f64) =
        sqlx::query_as(
            "WITH gaps AS (
             SELECT delivery_id, attempt_no,
                    extract(epoch FROM started_at - lag(started_at) OVER w)::float8 AS gap
             FROM mail_attempts WINDOW w AS (PARTITION BY delivery_id ORDER BY attempt_no))
         SELECT (SELECT min(attempt_count)::int8 FROM mail_deliveries),
                (SELECT max(attempt_count)::int8 FROM mail_deliveries),
                coalesce(min(gap / least($1 * 2 ^ (attempt_no - 2), $2)), 1)::float8,
                coalesce(max((gap - $3) / least($1 * 2 ^ (attempt_no - 2), $2)), 1)::float8
         FROM gaps WHERE gap IS NOT NULL",
        )
        .bind(RETRY_BASE.as_secs_f64())
        .bind(RETRY_MAX.as_secs_f64())
        .bind(POLL.as_secs_f64())
        .fetch_one(&pool)
        .await?;
    let transient_ok = all_sent && shortest_gap >= 0.5 && longest_gap <= 1.05 && attempts_min >= 2;

    // 2. 550: dead-lettered after one attempt.
    smtp.set_behaviour(Behaviour::PermanentReject).await?;
    crate::enqueue_mail(&pool, "permanent", PER_PHASE).await?;
    let dead = wait_count(
        &pool,
        "SELECT count(*) FROM mail_deliveries WHERE state = 'dead_lettered' AND attempt_count = 1",
        PER_PHASE as i64,
        Duration::from_secs(30),
    )
    .await?;
    let permanent_ok = dead == PER_PHASE as i64;

    // 3. Relay down: retried without a busy loop, delivered once it is back.
    smtp.set_behaviour(Behaviour::Down).await?;
    crate::enqueue_mail(&pool, "down", PER_PHASE).await?;
    let cpu_before = backend.cpu_seconds()?;
    tokio::time::sleep(DOWN_FOR).await;
    let cpu_share = (backend.cpu_seconds()? - cpu_before) / DOWN_FOR.as_secs_f64();
    smtp.set_behaviour(Behaviour::Accept).await?;
    let down_sent = wait_sent(&pool, 2 * PER_PHASE as i64, RETRY_MAX * 3).await?;
    let down_ok = down_sent && cpu_share < 0.05;
    let exit = backend.terminate(Duration::from_secs(30)).await?;
    pool.close().await;

    Ok(Outcome {
        passed: transient_ok && permanent_ok && down_ok && exit == Some(0),
        figures: format!(
            "451 for {}s: {PER_PHASE} delivered {:.1} s after recovery, {attempts_min}-{attempts_max} attempts each, \
             gaps {:.2}-{:.2}x the schedule (0.5-1.05, less the {}s scan); 550: {dead}/{PER_PHASE} dead-lettered after 1 attempt; \
             relay down {}s: backend CPU {:.1} % of a core (< 5), all delivered after: {down_sent}; exit {exit:?}",
            TRANSIENT_FOR.as_secs(),
            recovery.as_secs_f64(),
            shortest_gap,
            longest_gap,
            POLL.as_secs(),
            DOWN_FOR.as_secs(),
            cpu_share * 100.0,
        ),
    })
}

/// Waits until `want` deliveries are `sent`; false when `limit` ran out.
async fn wait_sent(pool: &sqlx::PgPool, want: i64, limit: Duration) -> anyhow::Result<bool> {
    let sent = wait_count(
        pool,
        "SELECT count(*) FROM mail_deliveries WHERE state = 'sent'",
        want,
        limit,
    )
    .await?;
    Ok(sent >= want)
}

/// Polls `count_sql` until it reaches `want` or `limit` runs out; returns
/// the last count.
async fn wait_count(
    pool: &sqlx::PgPool,
    count_sql: &'static str,
    want: i64,
    limit: Duration,
) -> anyhow::Result<i64> {
    let deadline = Instant::now() + limit;
    loop {
        let n: i64 = sqlx::query_scalar(count_sql).fetch_one(pool).await?;
        if n >= want || Instant::now() > deadline {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
