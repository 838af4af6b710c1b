//! The HTTP accept loop: hyper-util with a header read timeout
//! (`BACKEND_HTTP_READ_TIMEOUT`, on each connection's own
//! [`ConnectionTimer`]), the peer address available to handlers through
//! [`source_ip::peer`], and a graceful drain bounded by
//! `BACKEND_HTTP_SHUTDOWN_TIMEOUT`.
//!
//! Each connection owns a handle on the router, taken once: handing every
//! request a fresh clone would have both worker threads write the router's
//! one shared reference count per request.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::Service as _;

use super::conn_timer::ConnectionTimer;
use super::source_ip;

/// Serves `router` on `listener` until `shutdown` fires, then stops
/// accepting and waits up to `drain` for in-flight requests. Returns
/// `false` if the drain budget ran out with connections still open.
/// `name` tells the listeners apart in the shutdown log (`HTTP`, `metrics`).
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    read_timeout: Duration,
    shutdown: CancellationToken,
    drain: Duration,
) -> bool {
    let graceful = GracefulShutdown::new();
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
        // Routing is synchronous and one task drives an HTTP/1 connection:
        // the lock is held for the routing step only and not contended.
        let router = Mutex::new(router.clone());
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                router
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .call(req.map(axum::body::Body::new))
            });
        let mut builder = Builder::new(PeerExecutor(peer));
        builder
            .http1()
            .timer(ConnectionTimer::new())
            .header_read_timeout(read_timeout);
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(source_ip::with_peer(peer, async move {
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, "http connection ended with an error");
            }
        }));
    }
    drop(listener);
    tracing::info!("shutdown: {name} listener closed, draining in-flight requests");
    tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_ok()
}

/// Spawns the tasks of one connection (HTTP/2 streams) with its peer
/// address, as the connection's own task has it.
#[derive(Clone, Copy)]
struct PeerExecutor(SocketAddr);

impl<F> hyper::rt::Executor<F> for PeerExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        tokio::spawn(source_ip::with_peer(self.0, future));
    }
}

#[cfg(test)]
mod tests {
    use hyper::rt::Executor as _;

    use super::*;

    #[tokio::test]
    async fn tasks_a_connection_spawns_see_its_peer() {
        let addr: SocketAddr = "198.51.100.7:40000".parse().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        PeerExecutor(addr).execute(async move {
            let _ = tx.send(source_ip::peer());
        });
        assert_eq!(rx.await.unwrap(), Some(addr));
    }
}
