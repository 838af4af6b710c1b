//! The events this instance published and has not yet written to
//! PostgreSQL, and the writer task that writes them.
//!
//! Publishing only appends to the bounded in-process queue (never waits on
//! the database). One writer per instance takes up to [`BATCH`] events and
//! appends them in one statement ([`store::append`]); only when that
//! commits are they removed from the queue, so a failed write is retried
//! with the same events (exponential backoff, no busy loop). While
//! PostgreSQL is unreachable the queue keeps at most `capacity` events and
//! drops the oldest (counted in `grpc_push_outbox_dropped_total`, logged
//! once per outage).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use prost::bytes::Bytes;
use sqlx::PgPool;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::metrics::PushMetrics;
use super::{Cursor, store};

/// Most events written in one statement.
pub(crate) const BATCH: usize = 512;
/// The first retry delay after a failed write; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One event waiting to be written.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// This instance's publish sequence number (1, 2, …).
    seq: u64,
    kind: Arc<str>,
    /// The encoded `PushEvent.kind` oneof, without the cursor.
    body: Bytes,
}

/// How far the writer got: every event with `seq <= done` was written or
/// dropped; `cursor` is the last cursor this instance wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    pub done: u64,
    pub cursor: Option<Cursor>,
}

#[derive(Debug, Default)]
struct Inner {
    queue: VecDeque<Pending>,
    /// The last sequence number handed out.
    seq: u64,
    /// The sequence number of the last event dropped (queue full).
    dropped_through: u64,
    /// Dropping has started and no write succeeded since (one warning).
    dropping: bool,
}

pub(crate) struct Outbox {
    inner: Mutex<Inner>,
    capacity: usize,
    wake: Notify,
    progress: watch::Sender<Progress>,
    metrics: PushMetrics,
}

impl Outbox {
    pub(crate) fn new(capacity: usize, metrics: PushMetrics) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            wake: Notify::new(),
            progress: watch::Sender::new(Progress::default()),
            metrics,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues an event; drops the oldest queued one when full.
    pub(crate) fn push(&self, kind: &str, body: Bytes) {
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        inner.queue.push_back(Pending {
            seq,
            kind: Arc::from(kind),
            body,
        });
        let mut dropped = None;
        if inner.queue.len() > self.capacity
            && let Some(old) = inner.queue.pop_front()
        {
            inner.dropped_through = old.seq;
            dropped = Some(!std::mem::replace(&mut inner.dropping, true));
        }
        drop(inner);
        if let Some(first) = dropped {
            self.metrics.record_outbox_dropped();
            if first {
                tracing::warn!(
                    capacity = self.capacity,
                    "push: events cannot be written to PostgreSQL and the outbox is full; dropping the oldest"
                );
            }
            self.advance(None);
        }
        self.wake.notify_one();
    }

    /// The sequence number of the last event queued.
    pub(crate) fn last_seq(&self) -> u64 {
        self.lock().seq
    }

    /// Events queued and not yet written.
    pub(crate) fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub(crate) fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// A copy of the oldest queued events (at most [`BATCH`]).
    fn peek(&self) -> Vec<Pending> {
        self.lock().queue.iter().take(BATCH).cloned().collect()
    }

    /// `through` and everything before it was written, the last one as
    /// `cursor`.
    fn written(&self, through: u64, cursor: Cursor) {
        let mut inner = self.lock();
        while inner.queue.front().is_some_and(|p| p.seq <= through) {
            inner.queue.pop_front();
        }
        inner.dropping = false;
        drop(inner);
        self.advance(Some(cursor));
    }

    /// Publishes how far the writer got.
    fn advance(&self, cursor: Option<Cursor>) {
        let inner = self.lock();
        let done = inner
            .queue
            .front()
            .map_or(inner.seq, |p| p.seq.saturating_sub(1));
        drop(inner);
        self.progress.send_modify(|p| {
            p.done = p.done.max(done);
            if cursor.is_some() {
                p.cursor = cursor;
            }
        });
    }

    /// Writes batches until `stop` (the shutdown flushes first, within its
    /// budget; once stopped, a failed write is not retried). `written` is
    /// notified after every commit.
    pub(crate) async fn run(
        self: Arc<Self>,
        db: PgPool,
        written: Arc<Notify>,
        stop: CancellationToken,
    ) {
        let mut backoff = MIN_BACKOFF;
        let mut failing = false;
        loop {
            let batch = self.peek();
            if batch.is_empty() {
                if stop.is_cancelled() {
                    return;
                }
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = stop.cancelled() => {}
                }
                continue;
            }
            let kinds: Vec<&str> = batch.iter().map(|p| &*p.kind).collect();
            let bodies: Vec<&[u8]> = batch.iter().map(|p| &p.body[..]).collect();
            let through = batch.last().map_or(0, |p| p.seq);
            match store::append(&db, &kinds, &bodies).await {
                Ok(cursor) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!("push: writing events to PostgreSQL again");
                    }
                    backoff = MIN_BACKOFF;
                    self.written(through, cursor);
                    written.notify_one();
                }
                Err(err) => {
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(
                            error = %err,
                            queued = self.len(),
                            "push: cannot write events to PostgreSQL; retrying with backoff"
                        );
                    }
                    // Stopped: the shutdown's budget for writing is spent.
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = stop.cancelled() => return,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::Metrics;

    #[test]
    fn a_full_outbox_drops_the_oldest_and_counts_them_as_done() {
        let outbox = Outbox::new(2, PushMetrics::new(&Metrics::noop()));
        for _ in 0..3 {
            outbox.push("k", Bytes::from_static(b"x"));
        }
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox.last_seq(), 3);
        assert_eq!(outbox.progress().borrow().done, 1);
        let batch = outbox.peek();
        assert_eq!(batch.iter().map(|p| p.seq).collect::<Vec<_>>(), [2, 3]);
        outbox.written(3, Cursor(9));
        assert_eq!(outbox.len(), 0);
        assert_eq!(
            *outbox.progress().borrow(),
            Progress {
                done: 3,
                cursor: Some(Cursor(9))
            }
        );
    }
}
