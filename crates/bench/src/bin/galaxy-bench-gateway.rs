//! The reference gateway (`galaxy-devgate`) in front of the backend, both
//! in-process on loopback:
//!
//! 1. a signed `GET /api/v1/user/account` through the gateway — with a
//!    session lookup per request and with the 1 s lookup cache — next to
//!    the same GET straight to the backend with `X-User-ID`, measured in the
//!    same run ([`REQUESTS`] each, one client at a time — the latency a
//!    player sees — and then 8 concurrent clients, where the 2 cores are
//!    saturated and every row also pays for the others' CPU): p50/p99 and
//!    the gateway's own cost at p50 as a share of the direct p50 (target
//!    < 30 %);
//! 2. push latency backend → gateway → SSE client: events published
//!    through `PushService` at 1,000/s for 5 s, each stamped with its
//!    publish instant, read by one client of the gateway's event stream:
//!    p50/p99.
//!
//! Bounded in count and time; prints a table. Figures only: nothing here
//! asserts a timing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use galaxy_backend::app::Application;
use galaxy_backend::push::{ClientTarget, Correlation, JsonEvent, PushService};
use galaxy_bench::runtime::{CLIENTS, bounded_on, pct};
use galaxy_bench::{bench_config, fresh_database, wait_ready};
use galaxy_devgate::push::PushStatus;
use galaxy_devgate::signature::{self, SESSION_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use galaxy_devgate::{Config, Gateway};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Measured requests per target, after [`WARMUP`] unmeasured ones.
const REQUESTS: usize = 2000;
const WARMUP: usize = 200;
const ACCOUNT: &str = "/api/v1/user/account";
const EVENTS: &str = "/api/v1/user/events";
const EVENTS_PER_SECOND: u32 = 1000;
const EVENT_SECONDS: u32 = 5;
/// Upper bound of any wait.
const WAIT: Duration = Duration::from_secs(60);
const DATABASE: &str = "galaxy_bench_gateway";

/// The seeded device: its key, session and user.
#[derive(Clone)]
struct Device {
    key: SigningKey,
    session: Uuid,
    user: Uuid,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join("galaxy-bench-gateway");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database(DATABASE).await?;
    let device = seed(&dsn).await?;
    let config = bench_config(&dsn, &scratch, &[("BACKEND_MAIL_WORKER_ENABLED", "false")])?;
    let app = Application::build(config).await?;
    let (backend, grpc) = (app.http_addr(), app.grpc_addr());
    let push = app.state().push.clone();
    let backend_stop = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());
    wait_ready(backend).await?;

    let gateway_stop = CancellationToken::new();
    let uncached = start_gateway(&gateway_stop, backend, None, "0").await?;
    let cached = start_gateway(&gateway_stop, backend, Some(grpc), "1").await?;

    let client = reqwest::Client::new();
    let direct = {
        let (client, user) = (client.clone(), device.user.to_string());
        let url = format!("http://{backend}{ACCOUNT}");
        move |_| client.get(&url).header("x-user-id", &user)
    };
    let through = |gateway: &Running| {
        let (client, device) = (client.clone(), device.clone());
        let url = format!("{}{ACCOUNT}", gateway.url);
        move |_| signed(&client, &device, &url, ACCOUNT)
    };
    let (uncached_through, cached_through) = (through(&uncached), through(&cached));
    let mut rows = Vec::new();
    for clients in [1, CLIENTS] {
        rows.push((
            clients,
            [
                latencies(clients, direct.clone()).await?,
                latencies(clients, uncached_through.clone()).await?,
                latencies(clients, cached_through.clone()).await?,
            ],
        ));
    }

    let mut status = cached.status.clone();
    tokio::time::timeout(WAIT, status.wait_for(|s| s.connected))
        .await
        .context("the gateway subscribes")??;
    let events_url = format!("{}{EVENTS}", cached.url);
    let push_latencies = push_latency(&push, &client, &device, &events_url).await?;

    gateway_stop.cancel();
    for gateway in [uncached, cached] {
        gateway.task.await??;
    }
    backend_stop.cancel();
    serving.await??;

    println!(
        "galaxy-devgate and the backend in one process on loopback; {REQUESTS} requests per row"
    );
    for (clients, [direct, per_request, with_cache]) in &rows {
        println!();
        println!("| GET {ACCOUNT}, {clients} client(s) | p50 ms | p99 ms | gateway cost at p50 |");
        println!("|---|---:|---:|---:|");
        let direct_p50 = pct(direct, 0.5).unwrap_or(0);
        for (name, samples) in [
            ("straight to the backend (X-User-ID)", direct),
            ("through the gateway, lookup per request", per_request),
            ("through the gateway, 1 s lookup cache", with_cache),
        ] {
            let p50 = pct(samples, 0.5).unwrap_or(0);
            let cost = if std::ptr::eq(samples, direct) {
                "—".to_owned()
            } else {
                format!(
                    "{:+.3} ms = {:.0} % of direct",
                    ms(p50) - ms(direct_p50),
                    (p50 as f64 - direct_p50 as f64) * 100.0 / direct_p50.max(1) as f64
                )
            };
            println!(
                "| {name} | {:.3} | {:.3} | {cost} |",
                ms(p50),
                ms(pct(samples, 0.99).unwrap_or(0))
            );
        }
    }
    let floor = verify_cost(&device.key);
    let direct_p50 = rows
        .first()
        .map_or(0, |(_, [direct, ..])| pct(direct, 0.5).unwrap_or(0));
    println!();
    println!(
        "the signature check alone (Ed25519 verify_strict of a signed GET, {REQUESTS} in a row, one core): {:.1} µs each = {:.0} % of the 1-client direct p50",
        floor,
        floor * 100.0 / direct_p50.max(1) as f64
    );
    println!();
    println!(
        "push backend → gateway → SSE client: {} events at {EVENTS_PER_SECOND}/s: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        push_latencies.len(),
        ms(pct(&push_latencies, 0.5).unwrap_or(0)),
        ms(pct(&push_latencies, 0.99).unwrap_or(0)),
        ms(push_latencies.last().copied().unwrap_or(0)),
    );
    Ok(())
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// One account with one device session whose key the bench holds.
async fn seed(dsn: &str) -> anyhow::Result<Device> {
    let pool = galaxy_bench::seeding_pool(dsn, Duration::from_secs(60)).await?;
    let key = SigningKey::from_bytes(&[7; 32]);
    let user: Uuid = sqlx::query_scalar(
        "INSERT INTO accounts (user_id, email, user_name, declared_country)
         VALUES (gen_random_uuid(), 'gateway@bench.invalid', 'bench-gateway', 'DE')
         RETURNING user_id",
    )
    .fetch_one(&pool)
    .await?;
    let session: Uuid = sqlx::query_scalar(
        "INSERT INTO device_sessions (id, user_id, public_key, device_name, platform)
         VALUES (gen_random_uuid(), $1, $2, 'bench device', 'bench') RETURNING id",
    )
    .bind(user)
    .bind(key.verifying_key().as_bytes().as_slice())
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    Ok(Device { key, session, user })
}

/// A serving gateway.
struct Running {
    url: String,
    status: watch::Receiver<PushStatus>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Starts a gateway in front of `backend` (push from `grpc` when given)
/// with a lookup cache of `cache_seconds`, serving until `stop`.
async fn start_gateway(
    stop: &CancellationToken,
    backend: SocketAddr,
    grpc: Option<SocketAddr>,
    cache_seconds: &str,
) -> anyhow::Result<Running> {
    let mut vars = vec![
        ("DEVGATE_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("DEVGATE_BACKEND_URL", format!("http://{backend}")),
        ("DEVGATE_LOOKUP_CACHE", cache_seconds.to_owned()),
        ("DEVGATE_CLIENT_ID", format!("bench-{cache_seconds}")),
    ];
    if let Some(grpc) = grpc {
        vars.push(("DEVGATE_PUSH_URL", format!("http://{grpc}")));
    }
    let gateway = Gateway::bind(Config::from_vars(
        vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    )?)
    .await?;
    let url = format!("http://{}", gateway.local_addr());
    let status = gateway.push_status();
    let stop = stop.clone();
    let task = tokio::spawn(gateway.run_until(async move { stop.cancelled().await }));
    Ok(Running { url, status, task })
}

/// The mean cost in µs of the check every gateway request needs at least:
/// verifying one request signature with an already parsed key.
fn verify_cost(key: &SigningKey) -> f64 {
    let public = key.verifying_key();
    let sig = signature::sign(key, "GET", ACCOUNT, b"", 1_700_000_000);
    let started = Instant::now();
    for _ in 0..REQUESTS {
        signature::verify_with_key(&public, &sig, "GET", ACCOUNT, b"", 1_700_000_000)
            .expect("the bench's own signature verifies");
    }
    started.elapsed().as_secs_f64() * 1e6 / REQUESTS as f64
}

/// A signed `GET path` to `url` from `device`, signed now.
fn signed(
    client: &reqwest::Client,
    device: &Device,
    url: &str,
    path: &str,
) -> reqwest::RequestBuilder {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    client
        .get(url)
        .header(SESSION_HEADER, device.session.to_string())
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(
            SIGNATURE_HEADER,
            signature::sign(&device.key, "GET", path, b"", ts),
        )
}

/// Sends [`WARMUP`] and then [`REQUESTS`] requests built by `request` (built,
/// and signed, before the clock starts) on `clients` concurrent clients;
/// returns the measured latencies in µs, sorted.
async fn latencies<F>(clients: usize, request: F) -> anyhow::Result<Vec<u64>>
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let run = |count: usize| {
        let request = Arc::clone(&request);
        bounded_on(clients, count, move |i| {
            let call = request(i);
            async move {
                let started = Instant::now();
                let response = call.send().await?;
                let status = response.status();
                response.bytes().await?;
                if !status.is_success() {
                    bail!("GET {ACCOUNT} answered {status}");
                }
                Ok(started.elapsed().as_micros() as u64)
            }
        })
    };
    run(WARMUP).await?;
    let mut measured = run(REQUESTS).await?;
    measured.sort_unstable();
    Ok(measured)
}

/// Publishes [`EVENTS_PER_SECOND`] × [`EVENT_SECONDS`] events for `device`'s
/// user, each stamped with its publish instant, and reads them from the
/// gateway's event stream at `url`; returns the latencies in µs, sorted.
async fn push_latency(
    push: &PushService,
    client: &reqwest::Client,
    device: &Device,
    url: &str,
) -> anyhow::Result<Vec<u64>> {
    let total = (EVENTS_PER_SECOND * EVENT_SECONDS) as usize;
    let mut response = signed(client, device, url, EVENTS).send().await?;
    if response.status() != 200 {
        bail!("the event stream answered {}", response.status());
    }
    let base = Instant::now();
    let reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        let mut received = Vec::with_capacity(total);
        while received.len() < total {
            let Some(chunk) = response.chunk().await? else {
                bail!("the event stream ended after {} events", received.len());
            };
            let now = base.elapsed().as_micros() as u64;
            buf.extend_from_slice(&chunk);
            while let Some(at) = buf.windows(2).position(|w| w == b"\n\n") {
                let frame: Vec<u8> = buf.drain(..at + 2).collect();
                if let Some(sent) = publish_stamp(&frame) {
                    received.push(now.saturating_sub(sent));
                }
            }
        }
        received.sort_unstable();
        Ok(received)
    });
    let mut tick = tokio::time::interval(Duration::from_secs(1) / EVENTS_PER_SECOND);
    for _ in 0..total {
        tick.tick().await;
        push.publish_client_event(
            ClientTarget {
                user_id: device.user.into(),
                device_session_id: None,
            },
            Correlation::default(),
            &JsonEvent {
                kind: "bench.tick".into(),
                payload: serde_json::json!({ "t": base.elapsed().as_micros() as u64 }),
            },
        )?;
    }
    tokio::time::timeout(WAIT, reader)
        .await
        .context("the events did not all arrive")??
}

/// The publish stamp of a `bench.tick` frame.
fn publish_stamp(frame: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(frame).ok()?;
    let data = text.lines().find_map(|l| l.strip_prefix("data: "))?;
    let data: serde_json::Value = serde_json::from_str(data).ok()?;
    if data["kind"] != "bench.tick" {
        return None;
    }
    data["payload"]["t"].as_u64()
}
