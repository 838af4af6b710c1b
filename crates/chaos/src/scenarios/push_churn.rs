//! **Push under churn.** Three gateways hold `SubscribePush` streams of the
//! real backend binary and resume with their last cursor whenever a stream
//! ends; meanwhile a producer makes push events (a fresh login whose device
//! session is then revoked: one `SessionInvalidation` each), the backend is
//! SIGKILLed and restarted 5 times, and each gateway also drops its own
//! stream 3 times while the backend lives (a resume within one process).
//! Every event must either arrive or be covered by the `reset` resume
//! signal: within a stream and after a `replay` resume, cursors must be
//! consecutive — a gap without `reset` is a silent skip, and fails.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use galaxy_backend::push::Cursor;
use galaxy_backend::push::pb::push_client::PushClient;
use galaxy_backend::push::pb::{GatewaySubscribeRequest, push_event};
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};

use crate::Outcome;

const GATEWAYS: usize = 3;
const KILLS: usize = 5;
const DROPS_PER_GATEWAY: u32 = 3;

/// What one gateway saw.
#[derive(Default)]
struct Seen {
    sessions: HashSet<String>,
    resets: u32,
    replays: u32,
    silent_gaps: u32,
    drops_left: u32,
}

pub async fn run(seed: u64) -> anyhow::Result<Outcome> {
    let crate::Stack {
        smtp, mut backend, ..
    } = crate::Stack::new(
        "push",
        &[
            ("BACKEND_LOGGING_LEVEL", "warn"),
            ("BACKEND_TRUSTED_PROXIES", "127.0.0.1/32"),
            ("BACKEND_AUTH_CHALLENGE_THROTTLE_MAX", "100000"),
            ("BACKEND_AUTH_CHALLENGE_SOURCE_MAX", "100000"),
            ("BACKEND_MAIL_WORKER_INTERVAL", "100ms"),
        ],
    )
    .await?;
    backend.start_ready().await?;
    let (base, grpc) = (backend.url(), backend.grpc_url());

    let stop = Arc::new(AtomicBool::new(false));
    let mut gateways = Vec::new();
    for g in 0..GATEWAYS {
        let seen = Arc::new(Mutex::new(Seen {
            drops_left: DROPS_PER_GATEWAY,
            ..Seen::default()
        }));
        let task = tokio::spawn(gateway(g, grpc.clone(), seen.clone(), stop.clone()));
        gateways.push((seen, task));
    }

    // The producer: one invalidation per login; the revoked sessions are
    // the events every gateway should account for.
    let produced = Arc::new(Mutex::new(Vec::<String>::new()));
    let failures = Arc::new(AtomicU32::new(0));
    let producer = {
        let (produced, failures, stop, base) = (
            produced.clone(),
            failures.clone(),
            stop.clone(),
            base.clone(),
        );
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let email = format!("churn{i}@chaos.invalid");
                let source = format!("10.9.{}.{}", i / 250 % 250, i % 250);
                let revoked = async {
                    let (user, session) =
                        crate::login(&http, &base, &smtp, &email, &source).await?;
                    let r = http
                        .post(format!("{base}/api/v1/user/sessions/{session}/revoke"))
                        .header("x-user-id", &user)
                        .send()
                        .await?;
                    anyhow::ensure!(r.status().is_success(), "revoke answered {}", r.status());
                    Ok::<_, anyhow::Error>(session)
                }
                .await;
                match revoked {
                    Ok(session) => produced.lock().unwrap().push(session),
                    // The backend is down or restarting: try again.
                    Err(_) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        })
    };

    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1000..3000))).await;
        backend.kill9()?;
        backend.start()?;
        backend.wait_ready(Duration::from_secs(60)).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let _ = producer.await;
    // Let the gateways read what is queued, then end them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (_, task) in &gateways {
        task.abort();
    }
    let exit = backend.terminate(Duration::from_secs(30)).await?;

    let produced = produced.lock().unwrap().clone();
    let mut lines = Vec::new();
    let mut passed = exit == Some(0) && !produced.is_empty();
    for (g, (seen, _)) in gateways.iter().enumerate() {
        let seen = seen.lock().unwrap();
        let missed = produced
            .iter()
            .filter(|s| !seen.sessions.contains(*s))
            .count();
        // A missed event is fine only when a reset told the gateway so.
        passed &= seen.silent_gaps == 0 && (missed == 0 || seen.resets > 0);
        lines.push(format!(
            "gw{g}: {} received, {missed} missed, {} resets, {} replays, {} silent gaps",
            produced.len() - missed,
            seen.resets,
            seen.replays,
            seen.silent_gaps
        ));
    }
    Ok(Outcome {
        passed,
        figures: format!(
            "{} events over {KILLS} SIGKILLs ({} producer retries); {}; exit {exit:?}",
            produced.len(),
            failures.load(Ordering::Relaxed),
            lines.join("; ")
        ),
    })
}

/// One gateway: subscribe with the last cursor, check the resume signal
/// and the cursor sequence, drop its own stream now and then, and resume.
async fn gateway(g: usize, grpc: String, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let mut last: Option<Cursor> = None;
    let mut received_in_stream = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let stream = async {
            let channel = tonic::transport::Endpoint::from_shared(grpc.clone())?
                .connect()
                .await?;
            let response = PushClient::new(channel)
                .subscribe_push(GatewaySubscribeRequest {
                    gateway_client_id: format!("chaos-gw-{g}"),
                    cursor: last.map(|c| c.to_string()).unwrap_or_default(),
                })
                .await?;
            Ok::<_, anyhow::Error>(response)
        }
        .await;
        let Ok(response) = stream else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let resume = response
            .metadata()
            .get("push-resume")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        // After `replay` the next cursor must follow `last`; after `reset`
        // (or `live`, the first time) anything may come next.
        let mut expect = match resume.as_str() {
            "replay" => {
                seen.lock().unwrap().replays += 1;
                last.map(|c| c.0 + 1)
            }
            "reset" => {
                seen.lock().unwrap().resets += 1;
                None
            }
            _ => None,
        };
        let mut stream = response.into_inner();
        let started = Instant::now();
        while let Ok(Some(event)) = stream.message().await {
            let Ok(cursor) = event.cursor.parse::<Cursor>() else {
                continue;
            };
            let mut s = seen.lock().unwrap();
            if expect.is_some_and(|want| want != cursor.0) {
                s.silent_gaps += 1;
            }
            if let Some(push_event::Kind::SessionInvalidation(inv)) = event.kind {
                s.sessions.extend(inv.device_session_ids);
            }
            last = Some(cursor);
            expect = Some(cursor.0 + 1);
            received_in_stream += 1;
            // Now and then, drop the stream on purpose (the backend lives on).
            if s.drops_left > 0
                && received_in_stream.is_multiple_of(40)
                && started.elapsed().as_millis() > 200
            {
                s.drops_left -= 1;
                break;
            }
        }
    }
}
