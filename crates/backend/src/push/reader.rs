//! The reader: every instance reads every instance's events back from
//! PostgreSQL in cursor order and hands them to its hub, exactly as a local
//! publish used to. It reads when woken — by a `NOTIFY galaxy_push` (a
//! batch committed anywhere), by this instance's writer, or by a resuming
//! gateway whose cursor is ahead — and at least every `poll` (the fallback
//! while the `LISTEN` connection is down).

use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::bytes::{BufMut as _, BytesMut};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::hub::Hub;
use super::store::{self, StoredEvent};
use super::{Cursor, Frame, wire};

/// Most events read per query.
const READ_BATCH: i64 = 1024;

/// Rebuilds the frame of a stored event: its body plus the cursor field.
pub(crate) fn frame(event: StoredEvent, now: Instant) -> Frame {
    let mut bytes = BytesMut::with_capacity(event.body.len() + wire::CURSOR_FIELD_LEN);
    bytes.put_slice(&event.body);
    wire::append_cursor(&mut bytes, event.cursor);
    Frame {
        cursor: event.cursor,
        at: now.checked_sub(event.age).unwrap_or(now),
        bytes: bytes.freeze(),
    }
}

/// Reads every event after the hub's last one, in batches, until none is
/// left. Returns how many were delivered.
pub(crate) async fn step(hub: &Hub, db: &PgPool) -> Result<usize, sqlx::Error> {
    let mut delivered = 0;
    loop {
        let after = hub.last_cursor().unwrap_or(Cursor(0));
        let events = store::after(db, after, READ_BATCH).await?;
        let n = events.len();
        let now = Instant::now();
        for event in events {
            hub.deliver(frame(event, now));
        }
        delivered += n;
        if n < READ_BATCH as usize {
            return Ok(delivered);
        }
    }
}

/// Runs [`step`] when woken and every `poll`, until `stop`.
pub(crate) async fn run(
    hub: Arc<Hub>,
    db: PgPool,
    wake: Arc<Notify>,
    poll: Duration,
    stop: CancellationToken,
) {
    let mut failing = false;
    loop {
        match step(&hub, &db).await {
            Ok(_) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("push: reading events from PostgreSQL again");
                }
            }
            Err(err) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %err, "push: cannot read events from PostgreSQL; retrying");
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}
