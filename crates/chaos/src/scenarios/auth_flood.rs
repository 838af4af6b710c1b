//! **Auth floods** against the real backend binary.
//!
//! 1. 10,000 wrong login codes for one known address, across as many
//!    challenges as it takes (a burned challenge is replaced), from one
//!    source: at most `BACKEND_AUTH_CONFIRM_FAILURE_LIMIT` (100) wrong codes
//!    are counted in the hour, then every answer is `429`. The same flood
//!    for an address without an account must get the same answers (status
//!    and error code, in the same order) in about the same time.
//! 2. Wrong admin passwords for `root` from one source, 2,000 a second from
//!    8 clients:
//!    another admin from another source and `root` from another source still
//!    sign in, and the p99 of user-group requests during the flood stays
//!    within 2x of the p99 without it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::Outcome;

const WRONG_CODES: usize = 10_000;
const FAILURE_LIMIT: i64 = 100;
const ROOT_PASSWORD: &str = "chaos-root-password";
const OPS_PASSWORD: &str = "chaos-ops-password";
/// The admin password flood: 8 clients at 250 wrong passwords/s each
/// (2,000/s from one source), as many as this 2-core machine can send
/// while it also serves them; an unpaced flood measures the shared CPU,
/// not the throttle.
const FLOODERS: usize = 8;
const FLOOD_PER_CLIENT: u32 = 250;

pub async fn run(_seed: u64) -> anyhow::Result<Outcome> {
    let crate::Stack {
        smtp,
        pool,
        mut backend,
    } = crate::Stack::new(
        "auth",
        &[
            ("BACKEND_LOGGING_LEVEL", "error"),
            // Sources are told apart by X-Forwarded-For from loopback.
            ("BACKEND_TRUSTED_PROXIES", "127.0.0.1/32"),
            // The flood may open as many challenges as it burns.
            ("BACKEND_AUTH_CHALLENGE_THROTTLE_MAX", "100000"),
            ("BACKEND_AUTH_CHALLENGE_SOURCE_MAX", "100000"),
            ("BACKEND_ADMIN_BOOTSTRAP_USER", "root"),
            ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ROOT_PASSWORD),
        ],
    )
    .await?;
    backend.start_ready().await?;
    let base = backend.url();
    let http = reqwest::Client::new();

    let (user_id, _) = crate::login(&http, &base, &smtp, "known@chaos.invalid", "10.0.0.1").await?;
    let known = flood_codes(&http, &base, "known@chaos.invalid", "10.1.0.1").await?;
    let unknown = flood_codes(&http, &base, "nobody@chaos.invalid", "10.1.0.2").await?;
    let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_failed_confirmations")
        .fetch_one(&pool)
        .await?;
    let wrong = known.count("400 wrong_code");
    let throttled = known.count("429 too_many_attempts");
    let same_answers = known.answers == unknown.answers;
    let (p50_known, p50_unknown) = (known.p50_ms(), unknown.p50_ms());
    let timing_ratio = p50_unknown / p50_known;
    let codes_ok = counted <= 2 * FAILURE_LIMIT
        && wrong as i64 <= FAILURE_LIMIT
        && throttled >= WRONG_CODES - 2 * FAILURE_LIMIT as usize
        && same_answers
        && (0.67..=1.5).contains(&timing_ratio);

    // Admin flood.
    admin(&http, &base, "root", ROOT_PASSWORD, "10.2.0.1")
        .json(&json!({ "username": "ops", "password": OPS_PASSWORD }))
        .send()
        .await?
        .error_for_status()
        .context("create the second admin")?;
    let user_get = format!("{base}/api/v1/user/account");
    let quiet_p99 = user_p99(&http, &user_get, &user_id).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut flooders = Vec::new();
    for _ in 0..FLOODERS {
        let (http, base, stop) = (http.clone(), base.clone(), stop.clone());
        flooders.push(tokio::spawn(async move {
            let mut sent = 0usize;
            let mut pace = tokio::time::interval(Duration::from_secs(1) / FLOOD_PER_CLIENT);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while !stop.load(Ordering::Relaxed) {
                pace.tick().await;
                let _ = admin(&http, &base, "root", "wrong-password!", "10.3.0.1")
                    .send()
                    .await;
                sent += 1;
            }
            sent
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flood_p99 = user_p99(&http, &user_get, &user_id).await?;
    let ops = admin_status(&http, &base, "ops", OPS_PASSWORD, "10.4.0.1").await?;
    let root_elsewhere = admin_status(&http, &base, "root", ROOT_PASSWORD, "10.5.0.1").await?;
    let root_flooded = admin_status(&http, &base, "root", ROOT_PASSWORD, "10.3.0.1").await?;
    stop.store(true, Ordering::Relaxed);
    let mut flood_requests = 0;
    for f in flooders {
        flood_requests += f.await.unwrap_or(0);
    }
    let exit = backend.terminate(Duration::from_secs(30)).await?;
    pool.close().await;
    let p99_ratio = flood_p99 / quiet_p99;
    let admin_ok = ops == 200 && root_elsewhere == 200 && root_flooded == 429 && p99_ratio <= 2.0;

    Ok(Outcome {
        passed: codes_ok && admin_ok && exit == Some(0),
        figures: format!(
            "{WRONG_CODES} wrong codes for one address: {wrong} counted as wrong_code, {throttled} answered 429, \
             {counted} failures stored for both addresses (limit {FAILURE_LIMIT} each); unknown address answered \
             the same: {same_answers}, p50 {p50_known:.2} vs {p50_unknown:.2} ms (ratio {timing_ratio:.2}); \
             admin flood ({flood_requests} wrong passwords from one source): other admin {ops}, root from \
             another source {root_elsewhere}, root from the flooding source {root_flooded}; user-group p99 \
             {quiet_p99:.2} -> {flood_p99:.2} ms ({p99_ratio:.2}x, limit 2x); exit {exit:?}"
        ),
    })
}

/// The answers of one code flood, in order, and their latencies.
struct Flood {
    answers: Vec<String>,
    latencies_ms: Vec<f64>,
}

impl Flood {
    fn count(&self, answer: &str) -> usize {
        self.answers.iter().filter(|a| *a == answer).count()
    }

    fn p50_ms(&self) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    }
}

/// Sends [`WRONG_CODES`] wrong codes for `email` from `source`, opening a
/// new challenge whenever the current one is burned.
async fn flood_codes(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    source: &str,
) -> anyhow::Result<Flood> {
    let mut flood = Flood {
        answers: Vec::with_capacity(WRONG_CODES),
        latencies_ms: Vec::with_capacity(WRONG_CODES),
    };
    let mut challenge = open_challenge(http, base, email, source).await?;
    while flood.answers.len() < WRONG_CODES {
        let started = Instant::now();
        let r = http
            .post(format!(
                "{base}/api/v1/public/auth/challenges/{challenge}/confirm"
            ))
            .header("x-forwarded-for", source)
            .json(&json!({
                "code": "000000",
                "public_key": crate::public_key(),
                "device_name": "chaos",
                "platform": "test",
            }))
            .send()
            .await?;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        flood
            .latencies_ms
            .push(started.elapsed().as_secs_f64() * 1000.0);
        let code = body["error"]["code"].as_str().unwrap_or("-").to_owned();
        if code == "challenge_burned" {
            challenge = open_challenge(http, base, email, source).await?;
            continue;
        }
        flood.answers.push(format!("{status} {code}"));
    }
    Ok(flood)
}

pub(crate) async fn open_challenge(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    source: &str,
) -> anyhow::Result<String> {
    let r: Value = http
        .post(format!("{base}/api/v1/public/auth/challenges"))
        .header("x-forwarded-for", source)
        .json(&json!({ "email": email }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    r["challenge_id"]
        .as_str()
        .map(str::to_owned)
        .context("no challenge_id")
}

/// A request to the admin accounts route as `user` from `source`.
fn admin(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    source: &str,
) -> reqwest::RequestBuilder {
    http.post(format!("{base}/api/v1/admin/admin-accounts"))
        .basic_auth(user, Some(password))
        .header("x-forwarded-for", source)
}

/// The status of an admin sign-in (a read of the admin accounts).
async fn admin_status(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    source: &str,
) -> anyhow::Result<u16> {
    Ok(http
        .get(format!("{base}/api/v1/admin/admin-accounts"))
        .basic_auth(user, Some(password))
        .header("x-forwarded-for", source)
        .send()
        .await?
        .status()
        .as_u16())
}

/// The p99 (ms) of 2,000 own-account reads from 4 clients.
async fn user_p99(http: &reqwest::Client, url: &str, user_id: &str) -> anyhow::Result<f64> {
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (http, url, user_id) = (http.clone(), url.to_owned(), user_id.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(500);
            for _ in 0..500 {
                let started = Instant::now();
                let r = http.get(&url).header("x-user-id", &user_id).send().await?;
                if !r.status().is_success() {
                    bail!("own account answered {}", r.status());
                }
                out.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by(f64::total_cmp);
    Ok(all[all.len() * 99 / 100])
}
