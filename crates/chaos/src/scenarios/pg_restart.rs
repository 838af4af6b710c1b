//! **PostgreSQL restart.** The machine's PostgreSQL is restarted with
//! `pg_ctlcluster <version> main restart -m immediate` while 8 clients ask
//! for login codes against the real backend (mail worker on, relay up).
//! `/readyz` must turn 503 and come back to 200 by itself, every `202`
//! must have its challenge and outbox row, mail enqueued after the restart
//! must be delivered without restarting the backend, and no request may
//! take longer than the handler timeout (`BACKEND_HTTP_WRITE_TIMEOUT`, set
//! to 10 s here) plus a second.
//!
//! It restarts the shared server: run it alone (`make chaos` does).

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::Outcome;

const CLIENTS: usize = 8;
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(_seed: u64) -> anyhow::Result<Outcome> {
    let timeout = format!("{}s", WRITE_TIMEOUT.as_secs());
    let crate::Stack {
        smtp,
        pool,
        mut backend,
    } = crate::Stack::new(
        "pg",
        &[
            ("BACKEND_LOGGING_LEVEL", "warn"),
            ("BACKEND_HTTP_WRITE_TIMEOUT", &timeout),
            ("BACKEND_MAIL_WORKER_INTERVAL", "500ms"),
        ],
    )
    .await?;
    backend.start_ready().await?;

    let load = crate::CodeLoad::start(
        &backend.url(),
        CLIENTS,
        Duration::from_millis(20),
        WRITE_TIMEOUT * 3,
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    let version = std::fs::read_dir("/etc/postgresql")
        .context("no /etc/postgresql: this scenario needs the Debian cluster tools")?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .next()
        .context("no PostgreSQL cluster in /etc/postgresql")?;
    // /readyz is probed from before the restart (pg_ctlcluster returns once
    // the server is back): 503 seen, then 200 again, by itself.
    let readyz = format!("{}/readyz", backend.url());
    let prober = tokio::spawn(async move {
        let probe = reqwest::Client::new();
        let started = Instant::now();
        let mut unready_at = None;
        while started.elapsed() < Duration::from_secs(60) {
            let code = probe
                .get(&readyz)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            match (code, unready_at) {
                (503, None) => unready_at = Some(started.elapsed()),
                (200, Some(at)) => return (true, Some(started.elapsed() - at)),
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (unready_at.is_some(), None)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            &version,
            "main",
            "restart",
            "-m",
            "immediate",
        ])
        .status()?;
    if !status.success() {
        bail!("pg_ctlcluster restart failed: {status}");
    }
    let (saw_unready, ready_again) = prober.await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tally = load.stop().await;
    // Workers resume: everything accepted reaches the relay.
    let accepted = tally.accepted.load(Ordering::Relaxed);
    let delivered = smtp
        .wait_for_messages(accepted, Duration::from_secs(60))
        .await
        .map(|m| m.len())
        .unwrap_or_else(|e| e.received.len());
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_deliveries")
        .fetch_one(&pool)
        .await?;
    let exit = backend.terminate(Duration::from_secs(30)).await?;
    pool.close().await;

    let slowest = Duration::from_millis(tally.slowest_ms.load(Ordering::Relaxed));
    let passed = saw_unready
        && ready_again.is_some()
        && rows as usize == accepted
        && delivered >= accepted
        && slowest <= WRITE_TIMEOUT + Duration::from_secs(1)
        && exit == Some(0);
    Ok(Outcome {
        passed,
        figures: format!(
            "/readyz 503 seen: {saw_unready}, 200 again {} later; {accepted} accepted, {} answered 503, \
             {} other, {} connection errors; outbox rows {rows} (= accepted), delivered {delivered}; \
             slowest request {:.1} s (limit {} s); exit {exit:?}",
            ready_again.map_or("never".to_owned(), |d| format!("{:.1} s", d.as_secs_f64())),
            tally.unavailable.load(Ordering::Relaxed),
            tally.other.load(Ordering::Relaxed) + tally.server_errors.load(Ordering::Relaxed),
            tally.connection_errors.load(Ordering::Relaxed),
            slowest.as_secs_f64(),
            WRITE_TIMEOUT.as_secs() + 1,
        ),
    })
}
