//! The ring buffer of recent events that resuming gateways replay from:
//! evicted by age (`BACKEND_FRESHNESS_WINDOW`) and by a fixed capacity
//! (`BACKEND_PUSH_BUFFER_CAPACITY`). Frames are kept in cursor order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Cursor, Frame};

#[derive(Debug)]
pub(crate) struct Ring {
    frames: VecDeque<Arc<Frame>>,
    capacity: usize,
    ttl: Duration,
}

impl Ring {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        let capacity = capacity.max(1);
        Self {
            // Grows on demand; a large ceiling costs nothing while idle.
            frames: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            ttl,
        }
    }

    /// Appends `frame` (its cursor is above every kept one), evicting the
    /// oldest frame when full.
    pub(crate) fn push(&mut self, frame: Arc<Frame>) {
        debug_assert!(self.frames.back().is_none_or(|b| b.cursor < frame.cursor));
        if self.frames.len() == self.capacity {
            self.frames.pop_front();
        }
        self.frames.push_back(frame);
    }

    /// Drops every frame published `ttl` or longer before `now`.
    pub(crate) fn evict_expired(&mut self, now: Instant) {
        while let Some(front) = self.frames.front() {
            if now.saturating_duration_since(front.at) < self.ttl {
                break;
            }
            self.frames.pop_front();
        }
    }

    /// Forgets every frame.
    pub(crate) fn clear(&mut self) {
        self.frames.clear();
    }

    /// The oldest kept cursor.
    pub(crate) fn first(&self) -> Option<Cursor> {
        self.frames.front().map(|f| f.cursor)
    }

    /// Every kept frame with a cursor above `cursor`, in order.
    pub(crate) fn after(&self, cursor: Cursor) -> impl Iterator<Item = &Arc<Frame>> {
        let start = self.frames.partition_point(|f| f.cursor <= cursor);
        self.frames.range(start..)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }
}

#[cfg(test)]
mod tests {
    use prost::bytes::Bytes;

    use super::*;

    fn frame(n: u64, at: Instant) -> Arc<Frame> {
        Arc::new(Frame {
            cursor: Cursor(n),
            at,
            bytes: Bytes::new(),
        })
    }

    fn cursors<'a>(it: impl Iterator<Item = &'a Arc<Frame>>) -> Vec<u64> {
        it.map(|f| f.cursor.0).collect()
    }

    #[test]
    fn capacity_evicts_the_oldest() {
        let now = Instant::now();
        let mut ring = Ring::new(3, Duration::from_secs(60));
        for n in 1..=5 {
            ring.push(frame(n, now));
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.first(), Some(Cursor(3)));
        assert_eq!(cursors(ring.after(Cursor(0))), [3, 4, 5]);
    }

    #[test]
    fn age_evicts_frames_at_or_past_the_ttl() {
        let start = Instant::now();
        let ttl = Duration::from_secs(10);
        let mut ring = Ring::new(100, ttl);
        ring.push(frame(1, start));
        ring.push(frame(2, start + Duration::from_secs(5)));
        ring.push(frame(3, start + Duration::from_secs(9)));
        ring.evict_expired(start + Duration::from_secs(9));
        assert_eq!(ring.first(), Some(Cursor(1)));
        ring.evict_expired(start + ttl);
        assert_eq!(ring.first(), Some(Cursor(2)));
        ring.evict_expired(start + Duration::from_secs(30));
        assert_eq!(ring.first(), None);
        assert_eq!(cursors(ring.after(Cursor(0))), Vec::<u64>::new());
    }

    #[test]
    fn after_returns_exactly_the_later_frames() {
        let now = Instant::now();
        let mut ring = Ring::new(10, Duration::from_secs(60));
        for n in 10..15 {
            ring.push(frame(n, now));
        }
        assert_eq!(cursors(ring.after(Cursor(9))), [10, 11, 12, 13, 14]);
        assert_eq!(cursors(ring.after(Cursor(12))), [13, 14]);
        assert_eq!(cursors(ring.after(Cursor(14))), Vec::<u64>::new());
        assert_eq!(cursors(ring.after(Cursor(99))), Vec::<u64>::new());
    }
}
