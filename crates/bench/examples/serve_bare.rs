//! Serves the bare axum hello-world of `galaxy-bench-http` on
//! 127.0.0.1:18081 for 40 s, for profiling it beside `serve_full_stack`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    galaxy_bench::serve_bare("127.0.0.1:18081").await?;
    tokio::time::sleep(std::time::Duration::from_secs(40)).await;
    Ok(())
}
