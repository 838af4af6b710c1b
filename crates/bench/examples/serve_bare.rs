//! Serves the bare axum hello-world of `galaxy-bench-http` on
//! 127.0.0.1:18081 for 40 s, for profiling it beside `serve_full_stack`.
use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:18081").await?;
    let app = Router::new().route("/", get(|| async { "hello" }));
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    tokio::time::sleep(std::time::Duration::from_secs(40)).await;
    serving.abort();
    Ok(())
}
