//! The HTTP accept loop: hyper-util with a header read timeout
//! (`BACKEND_HTTP_READ_TIMEOUT`, on each connection's own
//! [`ConnectionTimer`]), the peer address available to handlers as
//! `ConnectInfo<SocketAddr>`, and a graceful drain bounded by
//! `BACKEND_HTTP_SHUTDOWN_TIMEOUT`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::conn_timer::ConnectionTimer;

/// Serves `router` on `listener` until `shutdown` fires, then stops
/// accepting and waits up to `drain` for in-flight requests. Returns
/// `false` if the drain budget ran out with connections still open.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    read_timeout: Duration,
    shutdown: CancellationToken,
    drain: Duration,
) -> bool {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().header_read_timeout(read_timeout);
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Typically EMFILE; back off briefly instead of spinning.
                    tracing::warn!(error = %err, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
        let mut builder = builder.clone();
        builder.http1().timer(ConnectionTimer::new());
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, "http connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutdown: HTTP listener closed, draining in-flight requests");
    tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_ok()
}
