//! Push fan-out: 100 gateways subscribed over gRPC on loopback (one HTTP/2
//! connection each, tonic clients), events published in-process through
//! `PushService` (the way the notification worker publishes). Each payload
//! carries its publish instant, so every delivery yields a publish→receive
//! latency. Three runs:
//!
//! 1. throughput — the publisher runs as fast as the slowest gateway allows
//!    (at most `WINDOW` events ahead of it, so nothing is dropped): aggregate
//!    events/s delivered (target ≥ 200,000/s);
//! 2. paced — 200 events/s published to 100 gateways = 20,000 events/s
//!    delivered: p50/p99 latency (target p99 < 10 ms);
//! 3. the same with one gateway stalled (it stops reading): the other 99's
//!    p50/p99 (target within 10 % of run 2) and the stalled one's drops.
//!
//! Bounded in count and time; prints a table. Figures only: nothing here
//! asserts a timing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use galaxy_backend::app::Application;
use galaxy_backend::push::pb::push_client::PushClient;
use galaxy_backend::push::pb::{GatewaySubscribeRequest, push_event};
use galaxy_backend::push::{ClientTarget, Correlation, Cursor, Event, MarshalError, PushService};
use galaxy_bench::{bench_config, fresh_database};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const SUBSCRIBERS: usize = 100;
const QUEUE: &str = "1024";
/// Run 1: events published, and how far the publisher may run ahead.
const THROUGHPUT_EVENTS: u64 = 20_000;
const WINDOW: u64 = 512;
/// Runs 2 and 3: publish rate and duration.
const PACED_PER_SECOND: u64 = 200;
const PACED_SECONDS: u64 = 10;
/// Payload size (phase, publish instant, padding): a typical FlatBuffers event.
const PAYLOAD_BYTES: usize = 256;
/// Upper bound of any wait.
const WAIT: Duration = Duration::from_secs(60);
const DATABASE: &str = "galaxy_bench_push";

/// The bench's typed event: `[phase][publish nanos since base][padding]`.
struct Tick {
    phase: u8,
    nanos: u64,
}

impl Event for Tick {
    fn kind(&self) -> &str {
        "bench.tick"
    }

    fn marshal(&self) -> Result<Vec<u8>, MarshalError> {
        let mut out = Vec::with_capacity(PAYLOAD_BYTES);
        out.push(self.phase);
        out.extend_from_slice(&self.nanos.to_le_bytes());
        out.resize(PAYLOAD_BYTES, 0);
        Ok(out)
    }
}

/// One gateway: counts, the last cursor and per-phase latencies (µs).
struct Receiver {
    received: AtomicU64,
    last_counter: AtomicU64,
}

struct Samples {
    latencies_us: [Vec<u32>; 4],
    gaps: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let scratch = std::env::temp_dir().join("galaxy-bench-push");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database(DATABASE).await?;
    let config = bench_config(
        &dsn,
        &scratch,
        &[
            ("BACKEND_MAIL_WORKER_ENABLED", "false"),
            ("BACKEND_PUSH_SUBSCRIBER_QUEUE", QUEUE),
        ],
    )?;
    let app = Application::build(config).await?;
    let grpc = app.grpc_addr();
    let push: PushService = app.state().push.clone();
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());

    let base = Instant::now();
    let mut receivers = Vec::with_capacity(SUBSCRIBERS);
    let mut tasks: Vec<JoinHandle<anyhow::Result<Samples>>> = Vec::with_capacity(SUBSCRIBERS);
    let (stall_tx, stall_rx) = watch::channel(false);
    for i in 0..SUBSCRIBERS {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))?
            .connect()
            .await
            .context("connect to the gRPC listener")?;
        let mut stream = PushClient::new(channel)
            .subscribe_push(GatewaySubscribeRequest {
                gateway_client_id: format!("bench-gw-{i}"),
                cursor: String::new(),
            })
            .await?
            .into_inner();
        let receiver = Arc::new(Receiver {
            received: AtomicU64::new(0),
            last_counter: AtomicU64::new(0),
        });
        receivers.push(Arc::clone(&receiver));
        // Gateway 0 stops reading while the stall flag is up.
        let mut stall = (i == 0).then(|| stall_rx.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples {
                latencies_us: Default::default(),
                gaps: 0,
            };
            loop {
                if let Some(stall) = &mut stall {
                    stall.wait_for(|stalled| !stalled).await?;
                }
                let Some(event) = stream.message().await? else {
                    return Ok(samples);
                };
                let now = base.elapsed().as_nanos() as u64;
                let cursor: Cursor = event.cursor.parse()?;
                let Some(push_event::Kind::ClientEvent(client)) = event.kind else {
                    bail!("unexpected frame {event:?}");
                };
                let phase = client.payload[0] as usize;
                let sent = u64::from_le_bytes(client.payload[1..9].try_into()?);
                let previous = receiver.last_counter.swap(cursor.0, Ordering::Relaxed);
                if previous != 0 && cursor.0 != previous + 1 {
                    samples.gaps += cursor.0 - previous - 1;
                }
                samples.latencies_us[phase].push(((now - sent) / 1_000) as u32);
                receiver.received.fetch_add(1, Ordering::Release);
            }
        }));
    }
    let publish = |phase: u8| {
        push.publish_client_event(
            ClientTarget {
                user_id: galaxy_backend::ids::UserId(uuid::Uuid::nil()),
                device_session_id: None,
            },
            Correlation::default(),
            &Tick {
                phase,
                nanos: base.elapsed().as_nanos() as u64,
            },
        )
        .expect("marshal")
    };
    let min_received = |skip_first: bool| -> u64 {
        receivers
            .iter()
            .skip(usize::from(skip_first))
            .map(|r| r.received.load(Ordering::Acquire))
            .min()
            .unwrap_or(0)
    };
    let wait_all = |target: u64, skip_first: bool| {
        let min_received = &min_received;
        async move {
            let deadline = Instant::now() + WAIT;
            while min_received(skip_first) < target {
                if Instant::now() > deadline {
                    bail!("gateways did not receive {target} events within {WAIT:?}");
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(())
        }
    };

    // 1. Throughput, lossless: the publisher stays within WINDOW of the slowest.
    let mut published = 0u64;
    let run1 = Instant::now();
    while published < THROUGHPUT_EVENTS {
        while published - min_received(false) >= WINDOW {
            tokio::task::yield_now().await;
        }
        publish(1);
        published += 1;
    }
    wait_all(published, false).await?;
    let run1 = run1.elapsed();

    // 2. Paced, everyone reading.
    let paced = PACED_PER_SECOND * PACED_SECONDS;
    pace(paced, || publish(2)).await;
    wait_all(published + paced, false).await?;
    published += paced;

    // 3. Paced, gateway 0 stalled.
    stall_tx.send(true)?;
    // Gateway 0 takes at most one more frame before it stalls.
    pace(paced, || publish(3)).await;
    wait_all(published + paced, true).await?;
    let stalled_before_release = receivers[0].received.load(Ordering::Acquire);
    stall_tx.send(false)?;
    let last = push.flush().await.context("published")?;
    let deadline = Instant::now() + WAIT;
    while receivers[0].last_counter.load(Ordering::Relaxed) < last.0 {
        if Instant::now() > deadline {
            bail!("the stalled gateway did not catch up");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    shutdown.cancel();
    let mut all: Vec<Samples> = Vec::with_capacity(SUBSCRIBERS);
    for task in tasks {
        all.push(task.await??);
    }
    server.await??;

    let delivered1: usize = all.iter().map(|s| s.latencies_us[1].len()).sum();
    println!(
        "{SUBSCRIBERS} gateways over gRPC on loopback, {PAYLOAD_BYTES}-byte payloads, queue {QUEUE} per gateway"
    );
    println!();
    println!("| run | published | delivered | delivered/s | p50 ms | p99 ms | max ms | dropped |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    row(
        "throughput (lossless, publisher ≤ 512 ahead)",
        THROUGHPUT_EVENTS,
        &all,
        1,
        0..SUBSCRIBERS,
        Some(delivered1 as f64 / run1.as_secs_f64()),
    );
    row(
        &format!(
            "paced {PACED_PER_SECOND}/s × {SUBSCRIBERS} = {}/s delivered",
            PACED_PER_SECOND * SUBSCRIBERS as u64
        ),
        paced,
        &all,
        2,
        0..SUBSCRIBERS,
        None,
    );
    row(
        "same, gateway 0 stalled (others)",
        paced,
        &all,
        3,
        1..SUBSCRIBERS,
        None,
    );
    let stalled = &all[0];
    println!();
    println!(
        "stalled gateway: {} of {paced} run-3 events delivered after it resumed ({} while stalled), {} dropped (cursor gaps)",
        stalled.latencies_us[3].len(),
        stalled_before_release.saturating_sub(THROUGHPUT_EVENTS + paced),
        stalled.gaps
    );
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Publishes `count` events at `PACED_PER_SECOND`, on an absolute schedule.
async fn pace(count: u64, mut publish: impl FnMut()) {
    let start = tokio::time::Instant::now();
    let step = Duration::from_nanos(1_000_000_000 / PACED_PER_SECOND);
    for i in 0..count {
        tokio::time::sleep_until(start + step * i as u32).await;
        publish();
    }
}

fn row(
    name: &str,
    published: u64,
    all: &[Samples],
    phase: usize,
    who: std::ops::Range<usize>,
    rate: Option<f64>,
) {
    let mut lat: Vec<u32> = all[who.clone()]
        .iter()
        .flat_map(|s| s.latencies_us[phase].iter().copied())
        .collect();
    lat.sort_unstable();
    let expected = published * who.len() as u64;
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .map_or(f64::NAN, |us| f64::from(*us) / 1000.0)
    };
    println!(
        "| {name} | {published} | {} | {} | {:.2} | {:.2} | {:.2} | {} |",
        lat.len(),
        rate.map_or_else(|| "—".to_owned(), |r| format!("{r:.0}")),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        expected.saturating_sub(lat.len() as u64),
    );
}
