//! **PostgreSQL restart.** The machine's PostgreSQL is restarted with
//! `pg_ctlcluster <version> main restart -m immediate` while 8 clients ask
//! for login codes against the real backend (mail worker on, relay up).
//! Then the same crash is held for 3 s (`stop -m immediate`, `start`).
//! `/readyz` must answer 200 after the first and turn 503 during the
//! second, coming back to 200 by itself; every `202`
//! must have its challenge and outbox row, mail enqueued after the restart
//! must be delivered without restarting the backend, and no request may
//! take longer than the handler timeout (`BACKEND_HTTP_WRITE_TIMEOUT`, set
//! to 10 s here) plus a second. A request the database fails is answered
//! `503 database_unavailable`, never another 5xx.
//!
//! A request cut off by the restart may have committed although its client
//! got an error (PostgreSQL wrote the commit but its answer was lost): such
//! rows are allowed — their mails go out like any other — but never more
//! of them than the requests that got no `202`.
//!
//! It restarts the shared server: run it alone (`make chaos` does).

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::Outcome;

const CLIENTS: usize = 8;
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the second fault keeps the server down: longer than a
/// readiness probe waits for a connection (2 s).
const OUTAGE: Duration = Duration::from_secs(3);

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
    let readyz = format!("{}/readyz", backend.url());
    // 1. The restart an operator runs. `/readyz` may not catch its gap of
    //    about a second (a probe waits up to 2 s for a connection, and the
    //    server may be back by then); it must answer 200 after it.
    let restart = {
        let version = version.clone();
        through_fault(&readyz, move || {
            pg_ctl(&version, &["restart", "-m", "immediate"])
        })
        .await?
    };
    // 2. The same crash held for longer than a probe waits: `/readyz` must
    //    turn 503, and 200 again by itself once the server is back.
    let outage = through_fault(&readyz, move || {
        pg_ctl(&version, &["stop", "-m", "immediate"])?;
        std::thread::sleep(OUTAGE);
        pg_ctl(&version, &["start"])
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tally = load.stop().await;
    // Workers resume: everything accepted reaches the relay.
    let accepted = tally.accepted();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_deliveries")
        .fetch_one(&pool)
        .await?;
    let delivered = smtp
        .wait_for_messages(rows as usize, Duration::from_secs(60))
        .await
        .map(|m| m.len())
        .unwrap_or_else(|e| e.received.len());
    let accepted_emails = tally.accepted_emails.lock().expect("tally").clone();
    let accepted_kept: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT address) FROM mail_recipients WHERE address = ANY($1)",
    )
    .bind(&accepted_emails)
    .fetch_one(&pool)
    .await?;
    // One request, one address: an address with two rows would be a
    // request written twice, not a lost answer.
    let doubled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT address FROM mail_recipients
         GROUP BY address HAVING count(*) > 1) AS twice",
    )
    .fetch_one(&pool)
    .await?;
    let uncertain = tally.unavailable.load(Ordering::Relaxed)
        + tally.server_errors()
        + tally.connection_errors.load(Ordering::Relaxed);
    let committed_unanswered = (rows as usize).saturating_sub(accepted);
    let exit = backend.terminate(Duration::from_secs(30)).await?;
    pool.close().await;

    let slowest = Duration::from_millis(tally.slowest_ms.load(Ordering::Relaxed));
    let passed = restart.ready_again.is_some()
        && outage.unready_seen
        && outage.ready_again.is_some()
        && accepted_kept as usize == accepted
        && committed_unanswered <= uncertain
        && doubled == 0
        && tally.server_errors() == 0
        && delivered >= rows as usize
        && slowest <= WRITE_TIMEOUT + Duration::from_secs(1)
        && exit == Some(0);
    Ok(Outcome {
        passed,
        figures: format!(
            "restart -m immediate: /readyz {}; held down {} s: /readyz {}; {accepted} accepted, {} answered 503, \
             {} other {:?}, {} connection errors; outbox rows {rows}: every 202's ({accepted_kept}) + {committed_unanswered} \
             committed whose answer was lost (at most the {uncertain} not answered 202), {doubled} addresses twice, \
             delivered {delivered}; slowest request {:.1} s (limit {} s); exit {exit:?}",
            restart.describe(),
            OUTAGE.as_secs(),
            outage.describe(),
            tally.unavailable.load(Ordering::Relaxed),
            tally.other() + tally.server_errors(),
            tally.other_statuses.lock().expect("tally"),
            tally.connection_errors.load(Ordering::Relaxed),
            slowest.as_secs_f64(),
            WRITE_TIMEOUT.as_secs() + 1,
        ),
    })
}

/// What `/readyz` said through one fault.
struct Readiness {
    unready_seen: bool,
    /// From the first 503 (or, with none seen, from the fault's end) to
    /// the first 200 after the fault.
    ready_again: Option<Duration>,
    /// From the server being back (the fault's command returned) to that 200.
    after_back: Option<Duration>,
}

impl Readiness {
    fn describe(&self) -> String {
        let back = match (self.ready_again, self.after_back) {
            (Some(again), Some(after)) => format!(
                "{:.1} s later ({:.1} s after the server was back)",
                again.as_secs_f64(),
                after.as_secs_f64()
            ),
            _ => "never".to_owned(),
        };
        if self.unready_seen {
            format!("503 then 200 {back}")
        } else {
            format!("no 503 caught, 200 {back}")
        }
    }
}

/// Probes `readyz` every 20 ms while `fault` runs (it blocks until the
/// server is back) and until the first 200 after it, within a minute.
async fn through_fault(
    readyz: &str,
    fault: impl FnOnce() -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<Readiness> {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let (readyz, done) = (readyz.to_owned(), done.clone());
        tokio::spawn(async move {
            let probe = reqwest::Client::new();
            let started = Instant::now();
            let mut unready_at = None;
            let mut done_at = None;
            while started.elapsed() < Duration::from_secs(60) {
                let code = probe
                    .get(&readyz)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                if done_at.is_none() && done.load(Ordering::Relaxed) {
                    done_at = Some(started.elapsed());
                }
                match (code, done_at) {
                    (503, _) => {
                        unready_at.get_or_insert(started.elapsed());
                    }
                    (200, Some(done_at)) => {
                        let from = unready_at.unwrap_or(done_at);
                        return Readiness {
                            unready_seen: unready_at.is_some(),
                            ready_again: Some(started.elapsed().saturating_sub(from)),
                            after_back: Some(started.elapsed().saturating_sub(done_at)),
                        };
                    }
                    _ => {}
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Readiness {
                unready_seen: unready_at.is_some(),
                ready_again: None,
                after_back: None,
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ran = tokio::task::spawn_blocking(fault).await?;
    done.store(true, Ordering::Relaxed);
    let readiness = prober.await?;
    ran?;
    Ok(readiness)
}

/// `pg_ctlcluster <version> main <args…>`.
fn pg_ctl(version: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, "main"])
        .args(args)
        .status()?;
    if !status.success() {
        bail!("pg_ctlcluster {} failed: {status}", args.join(" "));
    }
    Ok(())
}
