//! One subscriber's bounded queue (`BACKEND_PUSH_SUBSCRIBER_QUEUE`).
//!
//! The publisher never waits: [`Queue::push`] appends and, when the queue is
//! full, drops the oldest queued frame, remembering the dropped cursor range
//! (the [`Gap`]) until the consumer next takes a frame. One consumer waits
//! on the queue's [`Notify`] (`notify_one` keeps a permit, so a wake-up
//! between "queue empty" and "wait" is never lost).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use super::{Cursor, Frame};

/// Consecutive frames dropped for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gap {
    pub first: Cursor,
    pub last: Cursor,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// The queue was full: its oldest frame (`dropped`) was discarded.
    /// `gap_started`: the first drop since the consumer last took a frame.
    DroppedOldest {
        dropped: Cursor,
        gap_started: bool,
    },
}

#[derive(Debug)]
pub(crate) enum Popped {
    /// The next frame, with the frames dropped right before it, if any.
    Frame(Arc<Frame>, Option<Gap>),
    /// Nothing queued; wait with [`Queue::wait`].
    Empty,
    /// A newer subscription with the same gateway id took over.
    Replaced,
    /// Closing and everything queued was taken: the stream ends.
    Drained,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Closing,
    Replaced,
}

#[derive(Debug)]
struct Inner {
    frames: VecDeque<Arc<Frame>>,
    gap: Option<Gap>,
    state: State,
}

#[derive(Debug)]
pub(crate) struct Queue {
    inner: Mutex<Inner>,
    notify: Notify,
    capacity: usize,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            inner: Mutex::new(Inner {
                frames: VecDeque::with_capacity(capacity.min(1024)),
                gap: None,
                state: State::Open,
            }),
            notify: Notify::new(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `frame`; never blocks beyond the queue's short lock.
    pub(crate) fn push(&self, frame: Arc<Frame>) -> Pushed {
        let mut inner = self.lock();
        if inner.state == State::Replaced {
            return Pushed::Queued;
        }
        inner.frames.push_back(frame);
        let mut pushed = Pushed::Queued;
        if inner.frames.len() > self.capacity
            && let Some(old) = inner.frames.pop_front()
        {
            let gap_started = match &mut inner.gap {
                Some(gap) => {
                    gap.last = old.cursor;
                    gap.count += 1;
                    false
                }
                None => {
                    inner.gap = Some(Gap {
                        first: old.cursor,
                        last: old.cursor,
                        count: 1,
                    });
                    true
                }
            };
            pushed = Pushed::DroppedOldest {
                dropped: old.cursor,
                gap_started,
            };
        }
        drop(inner);
        self.notify.notify_one();
        pushed
    }

    pub(crate) fn pop(&self) -> Popped {
        let mut inner = self.lock();
        if inner.state == State::Replaced {
            return Popped::Replaced;
        }
        match inner.frames.pop_front() {
            Some(frame) => Popped::Frame(frame, inner.gap.take()),
            None if inner.state == State::Closing => Popped::Drained,
            None => Popped::Empty,
        }
    }

    pub(crate) fn is_replaced(&self) -> bool {
        self.lock().state == State::Replaced
    }

    /// Waits for the next push, replacement or close.
    pub(crate) async fn wait(&self) {
        self.notify.notified().await;
    }

    /// Ends the consumer at once (with `Aborted`); queued frames are dropped.
    pub(crate) fn replace(&self) {
        let mut inner = self.lock();
        inner.state = State::Replaced;
        inner.frames.clear();
        drop(inner);
        self.notify.notify_one();
    }

    /// Lets the consumer take what is queued, then end.
    pub(crate) fn close(&self) {
        let mut inner = self.lock();
        if inner.state == State::Open {
            inner.state = State::Closing;
        }
        drop(inner);
        self.notify.notify_one();
    }

    /// A gap no frame followed (for the log line when the stream ends).
    pub(crate) fn take_gap(&self) -> Option<Gap> {
        self.lock().gap.take()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use prost::bytes::Bytes;

    use super::*;

    fn frame(n: u64) -> Arc<Frame> {
        Arc::new(Frame {
            cursor: Cursor(n),
            at: Instant::now(),
            bytes: Bytes::new(),
        })
    }

    fn take(queue: &Queue) -> (u64, Option<Gap>) {
        match queue.pop() {
            Popped::Frame(f, gap) => (f.cursor.0, gap),
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[test]
    fn overflow_drops_the_oldest_and_reports_one_gap() {
        let queue = Queue::new(2);
        assert_eq!(queue.push(frame(1)), Pushed::Queued);
        assert_eq!(queue.push(frame(2)), Pushed::Queued);
        assert_eq!(
            queue.push(frame(3)),
            Pushed::DroppedOldest {
                dropped: Cursor(1),
                gap_started: true
            }
        );
        assert_eq!(
            queue.push(frame(4)),
            Pushed::DroppedOldest {
                dropped: Cursor(2),
                gap_started: false
            }
        );
        let gap = Gap {
            first: Cursor(1),
            last: Cursor(2),
            count: 2,
        };
        assert_eq!(take(&queue), (3, Some(gap)));
        assert_eq!(take(&queue), (4, None));
        assert!(matches!(queue.pop(), Popped::Empty));
        // A later overflow starts a new gap.
        for n in 5..=8 {
            queue.push(frame(n));
        }
        let gap = Gap {
            first: Cursor(5),
            last: Cursor(6),
            count: 2,
        };
        assert_eq!(take(&queue), (7, Some(gap)));
    }

    #[test]
    fn close_drains_then_ends_and_replace_ends_at_once() {
        let queue = Queue::new(8);
        queue.push(frame(1));
        queue.push(frame(2));
        queue.close();
        assert_eq!(take(&queue).0, 1);
        assert_eq!(take(&queue).0, 2);
        assert!(matches!(queue.pop(), Popped::Drained));

        let queue = Queue::new(8);
        queue.push(frame(1));
        queue.replace();
        assert!(queue.is_replaced());
        assert!(matches!(queue.pop(), Popped::Replaced));
        assert_eq!(queue.push(frame(2)), Pushed::Queued);
        assert!(matches!(queue.pop(), Popped::Replaced));
    }

    #[tokio::test]
    async fn a_push_before_the_wait_is_not_lost() {
        let queue = Arc::new(Queue::new(8));
        assert!(matches!(queue.pop(), Popped::Empty));
        queue.push(frame(1));
        // The permit stored by notify_one completes this wait at once.
        tokio::time::timeout(std::time::Duration::from_secs(5), queue.wait())
            .await
            .expect("woken");
        assert_eq!(take(&queue).0, 1);

        let waiter = {
            let queue = queue.clone();
            tokio::spawn(async move {
                loop {
                    match queue.pop() {
                        Popped::Frame(f, _) => return f.cursor.0,
                        Popped::Empty => queue.wait().await,
                        other => panic!("{other:?}"),
                    }
                }
            })
        };
        tokio::task::yield_now().await;
        queue.push(frame(2));
        assert_eq!(waiter.await.unwrap(), 2);
    }
}
