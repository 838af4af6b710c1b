//! HTTP stack overhead: `wrk` against a bare axum hello-world and against the
//! full backend (`/healthz`, and a user-group route through every middleware:
//! request id, tracing span, metrics, error normalisation, timeouts, body
//! limit, `X-User-ID` check), in the same run. Target: full stack ≥ 80 % of
//! the bare server's req/s. The user-group route is measured twice: with
//! metrics off (as every other figure here) and with the Prometheus
//! exporter recording the HTTP metrics (a second backend in this process).

use std::time::Duration;

use galaxy_bench::{Target, bench_config, fresh_database, interleaved, start_backend};

const ROUNDS: u32 = 5;
const SECONDS: u32 = 3;
const CONNECTIONS: u32 = 32;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bare_addr = galaxy_bench::serve_bare("127.0.0.1:0").await?;

    let scratch = std::env::temp_dir().join("galaxy-bench-http");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database("galaxy_bench_http").await?;
    let (addr, app) = start_backend(bench_config(&dsn, &scratch, &[])?).await?;
    let stop = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());
    let dsn_metered = fresh_database("galaxy_bench_http_metered").await?;
    let (metered_addr, metered) = start_backend(bench_config(
        &dsn_metered,
        &scratch,
        &[
            ("BACKEND_OTEL_METRICS_EXPORTER", "prometheus"),
            ("BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR", "127.0.0.1:0"),
        ],
    )?)
    .await?;
    let stop_metered = metered.shutdown_token();
    let serving_metered = tokio::spawn(metered.run_until_stopped());
    tokio::time::sleep(Duration::from_millis(200)).await;

    let user = uuid::Uuid::new_v4().to_string();
    let targets = [
        galaxy_bench::bare_target(bare_addr),
        Target {
            name: "GET /healthz (full stack)",
            url: format!("http://{addr}/healthz"),
            headers: vec![],
        },
        Target {
            name: "GET /api/v1/user/session (full stack)",
            url: format!("http://{addr}/api/v1/user/session"),
            headers: vec![("X-User-ID", &user)],
        },
        Target {
            name: "  same, Prometheus metrics recorded",
            url: format!("http://{metered_addr}/api/v1/user/session"),
            headers: vec![("X-User-ID", &user)],
        },
    ];
    let runs = interleaved(&targets, ROUNDS, SECONDS, CONNECTIONS)?;
    println!(
        "\n== HTTP stack ({ROUNDS} interleaved rounds of {SECONDS}s per target, median shown; {CONNECTIONS} connections, wrk on the same 2 cores) =="
    );
    galaxy_bench::print_vs_bare(&runs);
    println!("target: full stack >= 80% of the bare server's req/s");
    stop.cancel();
    stop_metered.cancel();
    serving.await??;
    serving_metered.await??;
    Ok(())
}
