//! Failed-login throttling: a sliding window of failures per source
//! address and per (username, source address), checked before any bcrypt
//! work is done. There is no window per username alone: failures from
//! other sources never block an admin's correct password (no lockout by
//! strangers, OWASP ASVS 2.2.1); one source is bounded on every username.
//!
//! An attempt that will run bcrypt first *reserves* a place in both windows
//! (as if it had failed) and gives it back when it succeeds, so a burst of
//! concurrent guesses cannot slip past the limit while their hashes are
//! still being verified. When either window is full the attempt is refused
//! with the time until the oldest counted failure leaves it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a window is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The username as sent (lower-cased, at most 64 characters), whether or
    /// not such an account exists — only when the source is unknown.
    Username(String),
    Source(IpAddr),
    /// A username (as in [`ThrottleKey::Username`]) tried from one source.
    UserAtSource(String, IpAddr),
}

fn normalised(raw: &str) -> String {
    raw.chars().take(64).collect::<String>().to_lowercase()
}

impl ThrottleKey {
    pub fn username(raw: &str) -> Self {
        Self::Username(normalised(raw))
    }

    /// The windows one sign-in attempt counts in: its source, and the
    /// username from that source (the username alone when the source is
    /// unknown).
    pub fn for_attempt(username: &str, source: Option<IpAddr>) -> Vec<Self> {
        match source {
            Some(ip) => vec![
                Self::Source(ip),
                Self::UserAtSource(normalised(username), ip),
            ],
            None => vec![Self::username(username)],
        }
    }
}

/// The sweep of idle windows runs at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

pub struct Throttle {
    limit: usize,
    window: Duration,
    state: Mutex<State>,
}

struct State {
    windows: HashMap<ThrottleKey, VecDeque<Instant>>,
    last_sweep: Instant,
}

/// A reserved place in the windows; give it back with [`Throttle::release`]
/// when the attempt succeeds, drop it when it fails.
#[must_use]
#[derive(Debug)]
pub struct Reservation {
    keys: Vec<ThrottleKey>,
    at: Instant,
}

impl Throttle {
    /// At most `limit` failures per key within `window`. A `limit` of 0
    /// disables throttling.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit as usize,
            window,
            state: Mutex::new(State {
                windows: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    fn enabled(&self) -> bool {
        self.limit > 0 && !self.window.is_zero()
    }

    /// `Err(retry_after)` when any key's window is full.
    pub fn check(&self, keys: &[ThrottleKey], now: Instant) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let mut state = self.lock();
        self.refused(&mut state, keys, now).map_or(Ok(()), Err)
    }

    /// Like [`check`](Self::check), and when allowed counts the attempt as a
    /// failure in every key's window until it is released.
    pub fn reserve(&self, keys: Vec<ThrottleKey>, now: Instant) -> Result<Reservation, Duration> {
        if !self.enabled() {
            return Ok(Reservation {
                keys: Vec::new(),
                at: now,
            });
        }
        let mut state = self.lock();
        if let Some(retry_after) = self.refused(&mut state, &keys, now) {
            return Err(retry_after);
        }
        for key in &keys {
            state.windows.entry(key.clone()).or_default().push_back(now);
        }
        if now.saturating_duration_since(state.last_sweep) >= SWEEP_EVERY {
            let window = self.window;
            state.windows.retain(|_, w| {
                w.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
            });
            state.last_sweep = now;
        }
        Ok(Reservation { keys, at: now })
    }

    /// The attempt succeeded: it no longer counts as a failure.
    pub fn release(&self, reservation: Reservation) {
        if reservation.keys.is_empty() {
            return;
        }
        let mut state = self.lock();
        for key in &reservation.keys {
            if let Some(window) = state.windows.get_mut(key) {
                if let Some(pos) = window.iter().position(|t| *t == reservation.at) {
                    window.remove(pos);
                }
                if window.is_empty() {
                    state.windows.remove(key);
                }
            }
        }
    }

    /// The longest wait among the keys whose window is full, after dropping
    /// failures that have left the window.
    fn refused(&self, state: &mut State, keys: &[ThrottleKey], now: Instant) -> Option<Duration> {
        let mut retry_after: Option<Duration> = None;
        for key in keys {
            let Some(window) = state.windows.get_mut(key) else {
                continue;
            };
            while window
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
            {
                window.pop_front();
            }
            if window.len() >= self.limit {
                // Room returns when the failure `len - limit` (oldest first) expires.
                let frees_at = window[window.len() - self.limit] + self.window;
                let wait = frees_at
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1));
                retry_after = Some(retry_after.map_or(wait, |w| w.max(wait)));
            }
        }
        retry_after
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> ThrottleKey {
        ThrottleKey::username(name)
    }

    fn ip(last: u8) -> ThrottleKey {
        ThrottleKey::Source(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn the_limit_plus_one_failure_is_refused_until_the_oldest_leaves_the_window() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..3 {
            let _failed = t
                .reserve(vec![user("alice"), ip(1)], start + Duration::from_secs(i))
                .unwrap();
        }
        let wait = t
            .reserve(vec![user("alice"), ip(2)], start + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(
            t.check(&[user("bob"), ip(1)], start + Duration::from_secs(10))
                .is_err(),
            "the source is full too"
        );
        assert!(
            t.check(&[user("bob"), ip(2)], start + Duration::from_secs(10))
                .is_ok()
        );
        assert!(
            t.check(&[user("alice")], start + Duration::from_secs(60))
                .is_ok(),
            "the first failure has left"
        );
    }

    #[test]
    fn a_released_reservation_does_not_count() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let now = Instant::now();
        for i in 0..5 {
            let r = t
                .reserve(vec![user("alice"), ip(1)], now + Duration::from_millis(i))
                .unwrap();
            t.release(r);
        }
        assert!(
            t.check(&[user("alice"), ip(1)], now + Duration::from_secs(1))
                .is_ok()
        );
    }

    #[test]
    fn usernames_are_compared_case_insensitively() {
        let t = Throttle::new(1, Duration::from_secs(60));
        let now = Instant::now();
        let _failed = t.reserve(vec![user("Alice")], now).unwrap();
        assert!(t.check(&[user("alice")], now).is_err());
    }

    #[test]
    fn failures_from_other_sources_do_not_block_a_username() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let now = Instant::now();
        for i in 0..10 {
            let keys = ThrottleKey::for_attempt("Root", Some(IpAddr::from([10, 0, 0, i])));
            if let Ok(r) = t.reserve(keys, now) {
                drop(r);
            }
        }
        let fresh = ThrottleKey::for_attempt("root", Some(IpAddr::from([10, 0, 1, 1])));
        assert!(t.check(&fresh, now).is_ok());
        let sprayer = IpAddr::from([10, 0, 2, 2]);
        let _a = t
            .reserve(ThrottleKey::for_attempt("a", Some(sprayer)), now)
            .unwrap();
        let _b = t
            .reserve(ThrottleKey::for_attempt("b", Some(sprayer)), now)
            .unwrap();
        assert!(
            t.check(&ThrottleKey::for_attempt("c", Some(sprayer)), now)
                .is_err(),
            "one source is bounded across usernames"
        );
    }

    #[test]
    fn a_zero_limit_disables_throttling() {
        let t = Throttle::new(0, Duration::from_secs(60));
        let now = Instant::now();
        for _ in 0..100 {
            let _ = t.reserve(vec![user("alice")], now).unwrap();
        }
        assert!(t.check(&[user("alice")], now).is_ok());
    }

    #[test]
    fn idle_windows_are_swept() {
        let t = Throttle::new(5, Duration::from_secs(1));
        let now = Instant::now();
        for i in 0..100u8 {
            let _ = t.reserve(vec![ip(i)], now).unwrap();
        }
        let _ = t.reserve(vec![ip(200)], now + SWEEP_EVERY).unwrap();
        assert_eq!(t.lock().windows.len(), 1);
    }
}
