//! HTTP stack overhead: `wrk` against a bare axum hello-world and against the
//! full backend (`/healthz`, and a user-group route through every middleware:
//! request id, tracing span, metrics, error normalisation, timeouts, body
//! limit, `X-User-ID` check), in the same run. Target: full stack ≥ 80 % of
//! the bare server's req/s.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use galaxy_bench::{LoadFigures, bench_config, fresh_database, start_backend, wrk};

const SECONDS: u32 = 5;
const CONNECTIONS: u32 = 32;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bare = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_addr = bare.local_addr()?;
    tokio::spawn(async move {
        let app = Router::new().route("/", get(|| async { "hello" }));
        axum::serve(bare, app).await
    });

    let scratch = std::env::temp_dir().join("galaxy-bench-http");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database("galaxy_bench_http").await?;
    let (addr, app) = start_backend(bench_config(&dsn, &scratch, &[])?).await?;
    let stop = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());
    tokio::time::sleep(Duration::from_millis(200)).await;

    let user = uuid::Uuid::new_v4().to_string();
    let runs: Vec<(&str, LoadFigures)> = vec![
        (
            "bare axum hello-world",
            wrk(&format!("http://{bare_addr}/"), SECONDS, CONNECTIONS, &[])?,
        ),
        (
            "GET /healthz (full stack)",
            wrk(&format!("http://{addr}/healthz"), SECONDS, CONNECTIONS, &[])?,
        ),
        (
            "GET /api/v1/user/session (full stack)",
            wrk(
                &format!("http://{addr}/api/v1/user/session"),
                SECONDS,
                CONNECTIONS,
                &[("X-User-ID", &user)],
            )?,
        ),
    ];
    let baseline = runs[0].1.requests_per_second;
    println!(
        "\n== HTTP stack ({SECONDS}s each, {CONNECTIONS} connections, wrk on the same 2 cores) =="
    );
    println!(
        "{:<42} {:>12} {:>10} {:>10} {:>9}",
        "target", "req/s", "p50 ms", "p99 ms", "vs bare"
    );
    for (name, f) in &runs {
        println!(
            "{:<42} {:>12.0} {:>10.3} {:>10.3} {:>8.1}%{}",
            name,
            f.requests_per_second,
            f.p50_ms,
            f.p99_ms,
            100.0 * f.requests_per_second / baseline,
            if f.non_2xx > 0 {
                format!("  ({} non-2xx!)", f.non_2xx)
            } else {
                String::new()
            }
        );
    }
    println!("target: full stack >= 80% of the bare server's req/s");
    stop.cancel();
    serving.await??;
    Ok(())
}
