//! **SIGTERM under load.** 16 clients keep asking for login codes (each a
//! transaction that writes a challenge and its outbox row) when the real
//! backend gets SIGTERM. Requests in flight must finish without a 5xx (new
//! connections are refused once the listener closes, which a client sees
//! as a connection error, not an answer), every `202` must have its
//! outbox row, and the process must exit 0 within the shutdown budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::Outcome;

const CLIENTS: usize = 16;
const LOAD_BEFORE: Duration = Duration::from_secs(3);
const BUDGET: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Tally {
    accepted: AtomicUsize,
    other_4xx: AtomicUsize,
    server_errors: AtomicUsize,
    connection_errors: AtomicUsize,
}

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

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let url = format!("{}/api/v1/public/auth/challenges", backend.url());
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (tally, stop, url) = (tally.clone(), stop.clone(), url.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                // One address and one source per request: no throttle applies.
                let sent = http
                    .post(&url)
                    .header(
                        "x-forwarded-for",
                        format!("10.{c}.{}.{}", i / 250 % 250, i % 250),
                    )
                    .json(&serde_json::json!({ "email": format!("c{c}-{i}@chaos.invalid") }))
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let counter = match sent.map(|r| r.status().as_u16()) {
                    Ok(202) => &tally.accepted,
                    Ok(s) if s >= 500 => &tally.server_errors,
                    Ok(_) => &tally.other_4xx,
                    Err(_) => {
                        tally.connection_errors.fetch_add(1, Ordering::Relaxed);
                        // The listener is closed: stop rather than spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(LOAD_BEFORE).await;
    let before = tally.accepted.load(Ordering::Relaxed);
    let signalled = Instant::now();
    let exit = backend.terminate(BUDGET).await;
    let took = signalled.elapsed();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let _ = client.await;
    }
    let exit = exit?;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_deliveries")
        .fetch_one(&pool)
        .await?;
    pool.close().await;

    let accepted = tally.accepted.load(Ordering::Relaxed);
    let server_errors = tally.server_errors.load(Ordering::Relaxed);
    let other = tally.other_4xx.load(Ordering::Relaxed);
    let refused = tally.connection_errors.load(Ordering::Relaxed);
    Ok(Outcome {
        passed: server_errors == 0 && rows as usize == accepted && exit == Some(0) && other == 0,
        figures: format!(
            "{CLIENTS} clients, {accepted} login codes accepted ({} after SIGTERM), 5xx {server_errors}, \
             other 4xx {other}, refused after close {refused}; outbox rows {rows} (= accepted); \
             exit {exit:?} in {:.2} s (budget {} s)",
            accepted - before,
            took.as_secs_f64(),
            BUDGET.as_secs()
        ),
    })
}
