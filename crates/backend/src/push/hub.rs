//! The fan-out: the ring buffer and the subscribers, behind one short lock.
//! Frames arrive in cursor order (from the reader, which reads every
//! instance's events back from PostgreSQL; or, in memory, from
//! [`Hub::publish_local`]). Delivering appends the shared frame to the ring
//! and to every subscriber's queue (each with its own lock), so nothing
//! waits for a gateway. Subscribing computes the resume point and registers
//! the queue in the same critical section, so a replay and the live events
//! that follow it have neither gaps nor duplicates.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use opentelemetry::KeyValue;
use prost::bytes::{Bytes, BytesMut};
use tokio::sync::watch;

use super::metrics::PushMetrics;
use super::queue::{Gap, Popped, Pushed, Queue};
use super::ring::Ring;
use super::{Cursor, Frame, PushSettings, wire};

/// Where a new stream starts; sent to the gateway as `push-resume`
/// (and `push-resume-reason`) response metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// No cursor: live from the next event.
    Live,
    /// The cursor is inside the buffer: `events` are replayed first.
    Replay { events: usize },
    /// The cursor cannot be resumed from; live from the next event, and
    /// events may have been missed.
    Reset(ResetReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetReason {
    /// Older than every buffered event (TTL or capacity eviction), or
    /// from before the cursors were global (an upgraded installation).
    AgedOut,
    /// Ahead of every cursor issued (after waiting briefly for this
    /// instance to catch up).
    Unknown,
    /// Events after the cursor may be missing: an instance died before
    /// writing what it had published (a gap in the cursors marks it), or
    /// they were pruned before this instance read them.
    Lost,
}

impl Resume {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Replay { .. } => "replay",
            Self::Reset(_) => "reset",
        }
    }

    pub const fn reason(self) -> Option<&'static str> {
        match self {
            Self::Reset(ResetReason::AgedOut) => Some("aged_out"),
            Self::Reset(ResetReason::Unknown) => Some("unknown"),
            Self::Reset(ResetReason::Lost) => Some("lost"),
            _ => None,
        }
    }
}

/// Why a subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    #[error("gateway_client_id is required")]
    MissingClientId,
    #[error("the backend is shutting down")]
    ShuttingDown,
}

/// What a subscription yields next.
#[derive(Debug)]
pub enum Delivery {
    /// An encoded `PushEvent`.
    Event(Bytes),
    /// A newer stream with the same gateway id took over (→ `Aborted`).
    Replaced,
    /// Shutdown: everything queued was delivered; the stream ends.
    Ended,
}

struct Subscriber {
    gateway_client_id: String,
    queue: Queue,
    dropped_label: [KeyValue; 1],
}

struct State {
    /// The last cursor delivered (0: none yet).
    last: Cursor,
    ring: Ring,
    subscribers: HashMap<String, Arc<Subscriber>>,
    closed: bool,
    /// A resume from a cursor below this one answers `reset` / `lost`:
    /// events before it may be missing (a gap in the cursors).
    lost_before: Cursor,
}

pub(crate) struct Hub {
    settings: PushSettings,
    metrics: PushMetrics,
    state: Mutex<State>,
    /// The last cursor delivered, for those waiting to see one.
    delivered: watch::Sender<Cursor>,
}

impl Hub {
    /// An empty hub whose next frame follows `last`.
    pub(crate) fn new(last: Cursor, settings: PushSettings, metrics: PushMetrics) -> Self {
        Self {
            delivered: watch::Sender::new(last),
            state: Mutex::new(State {
                last,
                ring: Ring::new(settings.buffer_capacity, settings.freshness_window),
                subscribers: HashMap::new(),
                closed: false,
                lost_before: Cursor(0),
            }),
            settings,
            metrics,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The last cursor delivered (`None`: none yet).
    pub(crate) fn last_cursor(&self) -> Option<Cursor> {
        let last = self.lock().last;
        (last.0 > 0).then_some(last)
    }

    pub(crate) fn delivered(&self) -> watch::Receiver<Cursor> {
        self.delivered.subscribe()
    }

    pub(crate) fn subscriber_count(&self) -> usize {
        self.lock().subscribers.len()
    }

    /// In memory (no PostgreSQL): takes the next cursor, completes `body`
    /// (an encoded `kind` oneof) with it and fans the frame out.
    pub(crate) fn publish_local(&self, mut body: BytesMut) -> Cursor {
        let mut state = self.lock();
        let cursor = Cursor(state.last.0 + 1);
        wire::append_cursor(&mut body, cursor);
        let frame = Frame {
            cursor,
            at: Instant::now(),
            bytes: body.freeze(),
        };
        self.fan_out(&mut state, Arc::new(frame));
        cursor
    }

    /// Fans out a frame read back from PostgreSQL. Frames come in cursor
    /// order; one at or below the last delivered is ignored. A jump (the
    /// events in between were pruned before this instance read them) empties
    /// the ring, so no resume claims to replay across it.
    pub(crate) fn deliver(&self, frame: Frame) {
        let mut state = self.lock();
        if frame.cursor <= state.last {
            return;
        }
        if frame.cursor.0 != state.last.0 + 1 && state.last.0 > 0 {
            tracing::warn!(
                last = %state.last,
                next = %frame.cursor,
                "push: events were pruned before this instance read them; gateways miss them"
            );
            state.ring.clear();
            state.lost_before = Cursor(frame.cursor.0 - 1);
        }
        self.fan_out(&mut state, Arc::new(frame));
    }

    /// Events before `cursor` may be missing (an instance died with events
    /// unwritten): a resume from below it answers `reset` / `lost`.
    pub(crate) fn mark_lost_before(&self, cursor: Cursor) {
        let mut state = self.lock();
        state.lost_before = state.lost_before.max(cursor);
    }

    /// Fills the ring with the resumable tail at startup (the frames follow
    /// `last`, in order) — before anyone subscribes.
    pub(crate) fn preload(&self, frames: Vec<Frame>) {
        let mut state = self.lock();
        for frame in frames {
            state.ring.push(Arc::new(frame));
        }
    }

    fn fan_out(&self, state: &mut MutexGuard<'_, State>, frame: Arc<Frame>) {
        let cursor = frame.cursor;
        state.last = cursor;
        state.ring.evict_expired(Instant::now());
        state.ring.push(Arc::clone(&frame));
        for sub in state.subscribers.values() {
            if let Pushed::DroppedOldest {
                dropped,
                gap_started,
            } = sub.queue.push(Arc::clone(&frame))
            {
                self.metrics.record_dropped(&sub.dropped_label);
                if gap_started {
                    tracing::warn!(
                        gateway_client_id = %sub.gateway_client_id,
                        first_dropped_cursor = %dropped,
                        queue = self.settings.subscriber_queue,
                        "push: gateway reads too slowly; dropping its oldest queued events"
                    );
                }
            }
        }
        self.delivered.send_replace(cursor);
    }

    /// Registers a stream for `gateway_client_id`, replacing (and aborting)
    /// an earlier one with the same id.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        gateway_client_id: &str,
        cursor: Option<Cursor>,
    ) -> Result<Subscription, SubscribeError> {
        if gateway_client_id.is_empty() {
            return Err(SubscribeError::MissingClientId);
        }
        let mut state = self.lock();
        if state.closed {
            return Err(SubscribeError::ShuttingDown);
        }
        let (resume, replay) = self.resume_point(&mut state, cursor);
        let sub = Arc::new(Subscriber {
            gateway_client_id: gateway_client_id.to_owned(),
            queue: Queue::new(self.settings.subscriber_queue),
            dropped_label: PushMetrics::gateway_label(gateway_client_id),
        });
        let replaced = state
            .subscribers
            .insert(gateway_client_id.to_owned(), Arc::clone(&sub));
        drop(state);
        match replaced {
            Some(old) => {
                old.queue.replace();
                tracing::info!(
                    gateway_client_id,
                    "push: gateway stream replaced by a reconnect"
                );
            }
            None => self.metrics.subscriber_added(),
        }
        tracing::info!(
            gateway_client_id,
            cursor = ?cursor.map(|c| c.to_string()),
            resume = resume.as_str(),
            reason = resume.reason(),
            replay = replay.len(),
            "push: gateway subscribed"
        );
        Ok(Subscription {
            hub: Arc::clone(self),
            sub,
            replay,
            resume,
            finished: false,
        })
    }

    fn resume_point(
        &self,
        state: &mut State,
        cursor: Option<Cursor>,
    ) -> (Resume, VecDeque<Arc<Frame>>) {
        let Some(cursor) = cursor else {
            return (Resume::Live, VecDeque::new());
        };
        let last = state.last;
        if cursor > last {
            return (Resume::Reset(ResetReason::Unknown), VecDeque::new());
        }
        if cursor < state.lost_before {
            return (Resume::Reset(ResetReason::Lost), VecDeque::new());
        }
        state.ring.evict_expired(Instant::now());
        // Cursors are consecutive: the buffer covers `cursor`
        // when it still holds the event right after it.
        let covered = cursor == last
            || state
                .ring
                .first()
                .is_some_and(|first| first.0 <= cursor.0 + 1);
        if !covered {
            return (Resume::Reset(ResetReason::AgedOut), VecDeque::new());
        }
        let replay: VecDeque<_> = state.ring.after(cursor).cloned().collect();
        (
            Resume::Replay {
                events: replay.len(),
            },
            replay,
        )
    }

    fn unregister(&self, sub: &Arc<Subscriber>) {
        let mut state = self.lock();
        let current = state
            .subscribers
            .get(&sub.gateway_client_id)
            .is_some_and(|s| Arc::ptr_eq(s, sub));
        if current {
            state.subscribers.remove(&sub.gateway_client_id);
            drop(state);
            self.metrics.subscriber_removed();
        }
    }

    /// Shutdown: refuse new streams; each open stream delivers what is
    /// queued and then ends.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        for sub in state.subscribers.values() {
            sub.queue.close();
        }
    }
}

/// One gateway's stream. Dropping it (the gateway went away) unregisters it.
pub struct Subscription {
    hub: Arc<Hub>,
    sub: Arc<Subscriber>,
    replay: VecDeque<Arc<Frame>>,
    resume: Resume,
    finished: bool,
}

impl Subscription {
    pub fn resume(&self) -> Resume {
        self.resume
    }

    /// The next encoded event, waiting for one if needed.
    pub async fn next(&mut self) -> Delivery {
        if self.finished {
            return Delivery::Ended;
        }
        if !self.replay.is_empty() {
            if self.sub.queue.is_replaced() {
                self.finished = true;
                return Delivery::Replaced;
            }
            if let Some(frame) = self.replay.pop_front() {
                return Delivery::Event(frame.bytes.clone());
            }
        }
        loop {
            match self.sub.queue.pop() {
                Popped::Frame(frame, gap) => {
                    if let Some(gap) = gap {
                        self.log_gap(gap);
                    }
                    return Delivery::Event(frame.bytes.clone());
                }
                Popped::Empty => self.sub.queue.wait().await,
                Popped::Replaced => {
                    self.finished = true;
                    return Delivery::Replaced;
                }
                Popped::Drained => {
                    self.finished = true;
                    return Delivery::Ended;
                }
            }
        }
    }

    fn log_gap(&self, gap: Gap) {
        tracing::warn!(
            gateway_client_id = %self.sub.gateway_client_id,
            first_cursor = %gap.first,
            last_cursor = %gap.last,
            dropped = gap.count,
            "push: events dropped for a slow gateway"
        );
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(gap) = self.sub.queue.take_gap() {
            self.log_gap(gap);
        }
        self.hub.unregister(&self.sub);
        tracing::info!(gateway_client_id = %self.sub.gateway_client_id, "push: gateway stream ended");
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("gateway_client_id", &self.sub.gateway_client_id)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}
