//! What the gateway remembers about device sessions: the sessions the push
//! stream invalidated (refused at once, before any lookup) and a short
//! cache of lookup answers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use uuid::Uuid;

/// At most this many invalidated sessions are remembered; past it the
/// oldest go first (the backend's lookup refuses them anyway).
const MAX_REVOKED: usize = 100_000;
/// At most this many lookup answers are cached.
const MAX_CACHED: usize = 10_000;

/// The backend's answer to a device session lookup (the fields used here).
#[derive(Clone, Debug, Deserialize)]
pub struct SessionLookup {
    /// The session's user.
    pub user_id: Uuid,
    /// The device's Ed25519 public key, base64.
    pub public_key: String,
}

/// A resolved session as the request path uses it: the public key parsed
/// once, when the lookup answered.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub user_id: Uuid,
    pub key: ed25519_dalek::VerifyingKey,
}

/// Invalidated sessions and cached lookups, shared by the request path and
/// the push subscriber.
pub struct Sessions {
    revoked: Mutex<HashMap<Uuid, Instant>>,
    /// How long an invalidated session is remembered: the freshness window
    /// plus the cache TTL, after which the backend's lookup alone refuses it.
    revoked_ttl: Duration,
    cache: Mutex<HashMap<Uuid, (Resolved, Instant)>>,
    cache_ttl: Duration,
}

impl Sessions {
    /// `freshness` is `DEVGATE_FRESHNESS`, `cache_ttl` `DEVGATE_LOOKUP_CACHE`
    /// (zero: no cache).
    pub fn new(freshness: Duration, cache_ttl: Duration) -> Self {
        Self {
            revoked: Mutex::default(),
            revoked_ttl: freshness + cache_ttl,
            cache: Mutex::default(),
            cache_ttl,
        }
    }

    /// Whether the push stream invalidated `session` (recently enough).
    pub fn is_revoked(&self, session: Uuid) -> bool {
        let revoked = self.revoked.lock().expect("revoked sessions");
        revoked
            .get(&session)
            .is_some_and(|at| at.elapsed() < self.revoked_ttl)
    }

    /// Records invalidated sessions and forgets their cached lookups.
    pub fn revoke(&self, sessions: &[Uuid]) {
        let now = Instant::now();
        {
            let mut revoked = self.revoked.lock().expect("revoked sessions");
            for &session in sessions {
                if revoked.len() >= MAX_REVOKED {
                    revoked.retain(|_, at| now.duration_since(*at) < self.revoked_ttl);
                }
                if revoked.len() >= MAX_REVOKED
                    && let Some(oldest) =
                        revoked.iter().min_by_key(|(_, at)| **at).map(|(id, _)| *id)
                {
                    revoked.remove(&oldest);
                }
                revoked.insert(session, now);
            }
        }
        let mut cache = self.cache.lock().expect("lookup cache");
        for session in sessions {
            cache.remove(session);
        }
    }

    /// A cached lookup answer younger than the cache TTL.
    pub fn cached(&self, session: Uuid) -> Option<Resolved> {
        let cache = self.cache.lock().expect("lookup cache");
        cache
            .get(&session)
            .filter(|(_, at)| at.elapsed() < self.cache_ttl)
            .map(|(found, _)| found.clone())
    }

    /// Caches a lookup answer (no-op with the cache off).
    pub fn remember(&self, session: Uuid, found: &Resolved) {
        if self.cache_ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut cache = self.cache.lock().expect("lookup cache");
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, (_, at)| now.duration_since(*at) < self.cache_ttl);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(session, (found.clone(), now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Resolved {
        Resolved {
            user_id: Uuid::new_v4(),
            key: ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key(),
        }
    }

    #[test]
    fn a_revoked_session_is_refused_and_forgotten_by_the_cache() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60));
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        sessions.remember(a, &found());
        sessions.remember(b, &found());
        assert!(sessions.cached(a).is_some());
        sessions.revoke(&[a]);
        assert!(sessions.is_revoked(a));
        assert!(!sessions.is_revoked(b));
        assert!(sessions.cached(a).is_none());
        assert!(sessions.cached(b).is_some());
    }

    #[test]
    fn a_zero_ttl_turns_the_cache_off() {
        let sessions = Sessions::new(Duration::ZERO, Duration::ZERO);
        let a = Uuid::new_v4();
        sessions.remember(a, &found());
        assert!(sessions.cached(a).is_none());
        // Entries age out after the freshness window plus the cache TTL.
        sessions.revoke(&[a]);
        assert!(!sessions.is_revoked(a));
    }
}
