//! Waking workers when work is committed: producers `NOTIFY` a queue's
//! channel inside their transaction (PostgreSQL delivers it at commit, and
//! only then), and a `LISTEN`ing task turns it into a [`Notify`] that ends
//! the worker loop's idle wait. A lost connection only means polling at the
//! worker interval until the listener reconnects.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::worker::{StepOutcome, Workers};

/// A queue's wake-up channel and the in-process signal it feeds.
#[derive(Clone)]
pub struct Wake {
    channel: &'static str,
    notify: Arc<Notify>,
}

impl Wake {
    pub fn new(channel: &'static str) -> Self {
        Self {
            channel,
            notify: Arc::new(Notify::new()),
        }
    }

    pub fn channel(&self) -> &'static str {
        self.channel
    }

    /// Notified when a transaction that queued work commits.
    pub fn signal(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    /// Registers the listener and a loop running `step` every `interval` —
    /// and at once when woken — on `workers`.
    pub fn spawn_worker<F, Fut, E>(
        &self,
        workers: &mut Workers,
        name: &'static str,
        pool: &PgPool,
        interval: Duration,
        step: F,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<StepOutcome, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        workers.spawn(
            self.clone()
                .listen(pool.clone(), interval, workers.stop_token()),
        );
        workers.spawn_loop_with_wake(name, interval, self.signal(), step);
    }

    /// `LISTEN`s to the channel until `stop`, reconnecting after `retry`,
    /// on a connection of its own (not one of `pool`'s).
    pub async fn listen(self, pool: PgPool, retry: Duration, stop: CancellationToken) {
        // A (re)connect may follow a missed wake-up: wake then too.
        let wake = |_: crate::postgres::Heard<'_>| {
            self.notify.notify_one();
            true
        };
        crate::postgres::listen(
            &pool,
            self.channel,
            retry,
            &stop,
            "job wake-up listener",
            wake,
        )
        .await;
    }
}

/// Queues a wake-up on `channel`; PostgreSQL delivers it when `conn`'s
/// transaction commits (several in one transaction are delivered once).
pub async fn notify(conn: &mut PgConnection, channel: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(conn)
        .await?;
    Ok(())
}
