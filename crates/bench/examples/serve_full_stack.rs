//! Serves the full backend on 127.0.0.1:18080 for a fixed time, for
//! profiling the HTTP stack under an external load generator.
use galaxy_bench::{bench_config, fresh_database, start_backend};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join("galaxy-profile-http");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database("galaxy_profile_http").await?;
    let (_, app) = start_backend(bench_config(
        &dsn,
        &scratch,
        &[("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:18080")],
    )?)
    .await?;
    let stop = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());
    tokio::time::sleep(std::time::Duration::from_secs(40)).await;
    stop.cancel();
    serving.await??;
    Ok(())
}
