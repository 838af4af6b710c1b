//! A plain TCP forwarder: every connection accepted on one address is
//! piped to another, both ways, until either side closes.
//!
//! What it is for: containers cannot reach services that listen on the
//! host's loopback only (PostgreSQL on 127.0.0.1:5432 here). A forwarder
//! listening on the host's address on a Docker bridge network (the
//! network's gateway) lets the backend in a container reach them without
//! changing the service's configuration. The integration suite
//! (`crates/e2e`) starts one in-process; `galaxy-dev-forward` runs the same
//! for `deploy/compose.host-db.yaml`.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running forwarder. Dropping it stops accepting and closes every
/// forwarded connection.
pub struct Forwarder {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Forwarder {
    /// Listens on `listen` (port 0 picks a free one) and forwards each
    /// connection to `target`, on the current tokio runtime.
    pub async fn start(listen: SocketAddr, target: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, target));
        Ok(Self { addr, task })
    }

    /// The bound address (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    connections.spawn(pipe(client, target));
                }
                // Out of descriptors and the like: keep serving the others.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn pipe(mut client: TcpStream, target: SocketAddr) {
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
