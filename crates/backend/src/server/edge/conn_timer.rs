//! hyper's timer for one HTTP connection: the header read timeout
//! (`BACKEND_HTTP_READ_TIMEOUT`) without a timer registration per request.
//!
//! hyper arms the header read timeout each time a keep-alive connection
//! starts waiting for the next request head, and drops it once the head is
//! parsed. With a plain Tokio sleep that is one insertion into and one
//! removal from the runtime's timer wheel per request, under a lock both
//! worker threads take — measured as lock spinning (`sched_yield`) under
//! load. Here every sleep hyper asks of one connection shares that
//! connection's single Tokio sleep:
//!
//! * a sleep hyper drops leaves the shared one armed;
//! * a sleep that is polled (the connection waits for bytes) keeps the
//!   shared one armed no later than its own deadline; when the shared one
//!   fires for an earlier, abandoned deadline, it is re-armed for the
//!   current one.
//!
//! So a busy connection re-arms about once per timeout period instead of
//! twice per request, and the timeout itself behaves exactly as hyper's:
//! a head not complete `timeout` after the connection started waiting for
//! it closes the connection (idle keep-alive connections included). An
//! abandoned deadline costs at most one spurious wake-up of its connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The timer of one connection (give each connection its own).
#[derive(Clone, Default)]
pub struct ConnectionTimer {
    shared: Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>,
}

impl ConnectionTimer {
    pub fn new() -> Self {
        Self::default()
    }
}

impl hyper::rt::Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    /// Tokio's clock (the same instant in production; paused in tests).
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(ConnectionSleep {
            deadline: deadline.into(),
            shared: self.shared.clone(),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<ConnectionSleep>() {
            Some(mine) => mine.get_mut().deadline = new_deadline.into(),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// One sleep hyper asked for, backed by the connection's shared sleep.
struct ConnectionSleep {
    deadline: tokio::time::Instant,
    shared: Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>,
}

impl hyper::rt::Sleep for ConnectionSleep {}

impl Future for ConnectionSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        // One task drives a connection: the lock is never contended.
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let timer = shared.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() > deadline {
            timer.as_mut().reset(deadline);
        }
        loop {
            match timer.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                // Armed no later than `deadline`: fired at or after it means it passed.
                Poll::Ready(()) if timer.deadline() >= deadline => return Poll::Ready(()),
                // It fired for an earlier deadline nobody waits for any more.
                Poll::Ready(()) => timer.as_mut().reset(deadline),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use hyper::rt::Timer as _;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_sleep_ends_at_its_deadline() {
        let timer = ConnectionTimer::new();
        let start = tokio::time::Instant::now();
        timer.sleep(Duration::from_secs(30)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_earlier_deadline_does_not_end_a_later_sleep() {
        let timer = ConnectionTimer::new();
        let start = tokio::time::Instant::now();
        // Armed for 10 s, then dropped (a request head arrived in time).
        let first = timer.sleep(Duration::from_secs(10));
        assert!(futures::poll!(first).is_pending());
        tokio::time::advance(Duration::from_secs(5)).await;
        // The next wait starts at 5 s: its deadline is 15 s.
        timer.sleep(Duration::from_secs(10)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }

    #[tokio::test(start_paused = true)]
    async fn reset_moves_the_deadline_both_ways() {
        let timer = ConnectionTimer::new();
        let start = tokio::time::Instant::now();
        let mut sleep = timer.sleep(Duration::from_secs(10));
        assert!(futures::poll!(sleep.as_mut()).is_pending());
        timer.reset(&mut sleep, timer.now() + Duration::from_secs(3));
        sleep.as_mut().await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        let mut sleep = timer.sleep(Duration::from_secs(2));
        timer.reset(&mut sleep, timer.now() + Duration::from_secs(20));
        sleep.await;
        assert_eq!(start.elapsed(), Duration::from_secs(23));
    }
}
