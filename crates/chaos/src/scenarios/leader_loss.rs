//! **Leader loss.** Two real backend processes on one database, both
//! draining one mail outbox of 1,000 deliveries. The leader is SIGKILLed
//! five times while they drain (and started again, as a standby); each
//! time the standby must lead within one election interval. Then a device
//! session is revoked on one instance and the gateway lookup of the other
//! must answer `404` within one second.
//!
//! Then a game (`engine_faults::leader_mid_turn`): two backends with the
//! docker driver, a turn forced through the standby, the leader SIGKILLed
//! while the engine holds the turn: the standby leads, completes the tick
//! once, and the turn runs exactly once on the orders sent before.
//!
//! Checks: every delivery reaches the relay, duplicates stay within the
//! outbox's at-least-once bound (what a killed instance's send slots held
//! comes back when its lease runs out: kills x send concurrency), none is
//! left pending; every
//! take-over within one interval; exactly one leader at the end; the
//! revocation seen by both.

use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _, rngs::StdRng};

use crate::{Backend, Outcome};

const DELIVERIES: usize = 1_000;
const KILLS: usize = 5;
/// `BACKEND_MAIL_SEND_CONCURRENCY` (the default, set here explicitly).
const SENDS: usize = 16;
const INTERVAL: Duration = Duration::from_millis(500);

pub async fn run(seed: u64) -> anyhow::Result<Outcome> {
    let crate::Stack {
        smtp,
        pool,
        backend: first,
    } = crate::Stack::new(
        "leader",
        &[
            ("BACKEND_LOGGING_LEVEL", "warn"),
            ("BACKEND_LEADER_ELECTION_INTERVAL", "500ms"),
            ("BACKEND_MAIL_LEASE", "2s"),
            ("BACKEND_MAIL_WORKER_INTERVAL", "200ms"),
            ("BACKEND_MAIL_BATCH_SIZE", "100"),
            ("BACKEND_MAIL_SEND_CONCURRENCY", &SENDS.to_string()),
        ],
    )
    .await?;
    let scratch = std::env::temp_dir().join("galaxy-chaos-leader");
    let second = first.sibling(scratch.join("backend-2.log"))?;
    let mut pair = [first, second];
    let http = reqwest::Client::new();
    for b in &mut pair {
        b.start_ready().await?;
    }
    let mut leader = wait_for_leader(&pair, &http, Duration::from_secs(10)).await?;

    crate::enqueue_mail(&pool, "pilot", DELIVERIES).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut takeovers: Vec<Duration> = Vec::new();
    let mut slow_takeovers = 0;
    for _ in 0..KILLS {
        // Kill the leader once a random number (1–60) of further mails
        // reached the relay (or after 2 s).
        let before = smtp.messages().len();
        let _ = smtp
            .wait_for_messages(before + rng.random_range(1..=60), Duration::from_secs(2))
            .await;
        pair[leader].kill9()?;
        let killed_at = Instant::now();
        let standby = 1 - leader;
        let took = loop {
            if pair[standby].role(&http).await.as_deref() == Some("leader") {
                break killed_at.elapsed();
            }
            if killed_at.elapsed() > Duration::from_secs(30) {
                anyhow::bail!("no take-over within 30 s of the leader's SIGKILL");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        if took > INTERVAL {
            slow_takeovers += 1;
        }
        takeovers.push(took);
        // The killed instance comes back as a standby.
        pair[leader].start_ready().await?;
        leader = standby;
    }

    // Both drain what is left.
    let open = crate::wait_drained(&pool, &smtp, DELIVERIES, Duration::from_secs(120)).await?;
    let drained = started.elapsed();

    // Exactly one leader, named alike by both.
    let roles = [pair[0].role(&http).await, pair[1].role(&http).await];
    let one_leader = roles
        .iter()
        .filter(|r| r.as_deref() == Some("leader"))
        .count()
        == 1;

    // A revocation on one instance, seen by the other's gateway lookup.
    let revocation = revocation_seen_by_both(&pair, &http, &smtp).await;

    let mut exits = Vec::new();
    for b in &mut pair {
        exits.push(b.terminate(Duration::from_secs(30)).await?);
    }
    let dead: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_deliveries WHERE state = 'dead_lettered'")
            .fetch_one(&pool)
            .await?;
    pool.close().await;

    // The outbox's deliveries (the login mail of the revocation check aside).
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for m in smtp.messages() {
        if m.to.iter().any(|to| to.starts_with("pilot"))
            && let Some(id) = m.header("Message-ID")
        {
            *counts.entry(id.trim().to_owned()).or_insert(0) += 1;
        }
    }
    let delivered = counts.len();
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    let slowest = takeovers.iter().max().copied().unwrap_or_default();
    let mean = takeovers.iter().sum::<Duration>() / takeovers.len().max(1) as u32;
    let (revoked_ok, revoked_after) = match &revocation {
        Ok(after) => (*after <= Duration::from_secs(1), format!("{after:?}")),
        Err(e) => (false, format!("failed: {e}")),
    };
    // The game part: the leader killed mid-turn.
    let game = match super::engine_faults::leader_mid_turn().await {
        Ok(outcome) => outcome,
        Err(e) => Outcome::failed(format!("game part could not run: {e:#}")),
    };
    let passed = game.passed
        && delivered == DELIVERIES
        && duplicates <= KILLS * SENDS
        && open == 0
        && dead == 0
        && slow_takeovers == 0
        && one_leader
        && revoked_ok
        && exits.iter().all(|e| *e == Some(0));
    Ok(Outcome {
        passed,
        figures: format!(
            "2 instances, {DELIVERIES} deliveries, {KILLS} leader SIGKILLs: take-over mean {:.0} ms, \
             slowest {:.0} ms (limit {} ms = one interval; {slow_takeovers} over), delivered {delivered}, \
             duplicates {duplicates} (bound {}), pending {open}, dead {dead}, drained in {:.1} s; \
             one leader at the end: {one_leader}; revocation seen by the other instance after {revoked_after}; \
             SIGTERM exits {exits:?}; {}",
            mean.as_secs_f64() * 1e3,
            slowest.as_secs_f64() * 1e3,
            INTERVAL.as_millis(),
            KILLS * SENDS,
            drained.as_secs_f64(),
            game.figures
        ),
    })
}

/// The index of the instance that leads, once exactly one does.
async fn wait_for_leader(
    pair: &[Backend; 2],
    http: &reqwest::Client,
    limit: Duration,
) -> anyhow::Result<usize> {
    let started = Instant::now();
    loop {
        let roles = [pair[0].role(http).await, pair[1].role(http).await];
        let leaders: Vec<usize> = (0..2)
            .filter(|i| roles[*i].as_deref() == Some("leader"))
            .collect();
        if let [one] = leaders[..] {
            return Ok(one);
        }
        if started.elapsed() > limit {
            anyhow::bail!("no single leader within {limit:?}: {roles:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Logs in on instance 0, checks instance 1 resolves the session, revokes
/// it on instance 0 and returns how long instance 1's lookup took to
/// answer 404.
async fn revocation_seen_by_both(
    pair: &[Backend; 2],
    http: &reqwest::Client,
    smtp: &galaxy_devstack::smtp::SmtpServer,
) -> anyhow::Result<Duration> {
    let (a, b) = (pair[0].url(), pair[1].url());
    let (user, session) =
        crate::login(http, &a, smtp, "leader-loss@chaos.invalid", "10.9.9.9").await?;
    let lookup = |base: &str| {
        http.get(format!("{base}/api/v1/internal/device-sessions/{session}"))
            .timeout(Duration::from_secs(2))
            .send()
    };
    // The new session reaches the other instance's cache.
    let started = Instant::now();
    while lookup(&b).await?.status() != 200 {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(5),
            "the other instance never resolved the new session"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = http
        .post(format!("{a}/api/v1/user/sessions/{session}/revoke"))
        .header("x-user-id", &user)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "revoke answered {}", r.status());
    let revoked_at = Instant::now();
    anyhow::ensure!(
        lookup(&a).await?.status() == 404,
        "the revoking instance still resolves it"
    );
    loop {
        if lookup(&b).await?.status() == 404 {
            return Ok(revoked_at.elapsed());
        }
        anyhow::ensure!(
            revoked_at.elapsed() < Duration::from_secs(10),
            "the other instance still resolves the revoked session after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
