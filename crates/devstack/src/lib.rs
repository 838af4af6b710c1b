//! The local development stack of the Galaxy backend.
//!
//! - [`smtp`]: a real SMTP server on loopback that tests start in-process and
//!   steer (accept, 4xx, 5xx, dropped connection, down; plain, STARTTLS or
//!   implicit TLS; optional AUTH). The `galaxy-dev-smtp` binary runs the same
//!   server for `make run` and shows every message on the console and in a
//!   small web inbox ([`inbox`]).
//! - [`geoip`]: a small synthetic GeoLite2-Country database for tests and
//!   `make run` (binary `galaxy-geoip-fixture`).
//! - [`forward`]: a TCP forwarder, so containers reach services listening
//!   on the host's loopback (binary `galaxy-dev-forward`).
//!
//! Decisions and the reasons behind them: `docs/decisions/0004-local-stack.md`.

pub mod forward;
pub mod geoip;
pub mod inbox;
pub mod smtp;

/// Resolves at the first SIGINT or SIGTERM (the dev binaries' shutdown;
/// SIGTERM is what `docker stop` sends).
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
