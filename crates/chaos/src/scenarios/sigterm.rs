//! **SIGTERM under load.** 16 clients keep asking for login codes (each a
//! transaction that writes a challenge and its outbox row) when the real
//! backend gets SIGTERM. Requests in flight must finish without a 5xx (new
//! connections are refused once the listener closes, which a client sees
//! as a connection error, not an answer), every `202` must have its
//! outbox row, and the process must exit 0 within the shutdown budget.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::Outcome;

const CLIENTS: usize = 16;
const LOAD_BEFORE: Duration = Duration::from_secs(3);
const BUDGET: Duration = Duration::from_secs(20);

pub async fn run(_seed: u64) -> anyhow::Result<Outcome> {
    let crate::Stack {
        pool, mut backend, ..
    } = crate::Stack::new(
        "sigterm",
        &[
            ("BACKEND_LOGGING_LEVEL", "warn"),
            // No relay: deliveries stay in the outbox, where they are counted.
            ("BACKEND_MAIL_WORKER_ENABLED", "false"),
            ("BACKEND_HTTP_SHUTDOWN_TIMEOUT", "10s"),
        ],
    )
    .await?;
    backend.start_ready().await?;

    let load = crate::CodeLoad::start(
        &backend.url(),
        CLIENTS,
        Duration::ZERO,
        Duration::from_secs(30),
    );
    tokio::time::sleep(LOAD_BEFORE).await;
    let before = load.tally.accepted();
    let signalled = Instant::now();
    let exit = backend.terminate(BUDGET).await;
    let took = signalled.elapsed();
    let tally = load.stop().await;
    let exit = exit?;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_deliveries")
        .fetch_one(&pool)
        .await?;
    pool.close().await;

    let accepted = tally.accepted();
    let server_errors = tally.server_errors();
    let other = tally.other() + tally.unavailable.load(Ordering::Relaxed);
    let refused = tally.connection_errors.load(Ordering::Relaxed);
    Ok(Outcome {
        passed: server_errors == 0 && rows as usize == accepted && exit == Some(0) && other == 0,
        figures: format!(
            "{CLIENTS} clients, {accepted} login codes accepted ({} after SIGTERM), 5xx {server_errors}, \
             other answers {other}, refused after close {refused}; outbox rows {rows} (= accepted); \
             exit {exit:?} in {:.2} s (budget {} s)",
            accepted - before,
            took.as_secs_f64(),
            BUDGET.as_secs()
        ),
    })
}
