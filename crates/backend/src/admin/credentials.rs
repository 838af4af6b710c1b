//! Recently verified credentials, so an admin request does not pay a full
//! bcrypt verification each time.
//!
//! Nothing here holds a password: an entry is keyed by
//! `HMAC-SHA256(key, username ‖ 0x00 ‖ password)` under a random key drawn
//! when the process starts (and never stored), and maps to the account and
//! password version it was verified against, until it expires. A hit is only
//! trusted after the caller has checked that the account still exists, is
//! enabled and still has that password version; password changes, disables
//! and deletes also drop the account's entries outright.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use hmac::{KeyInit as _, Mac as _};

use crate::ids::AdminId;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A keyed digest of one (username, password) pair.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialDigest([u8; 32]);

impl std::fmt::Debug for CredentialDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialDigest(…)")
    }
}

/// What a verified credential proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedCredential {
    pub account_id: AdminId,
    pub password_version: i64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    verified: VerifiedCredential,
    expires_at: Instant,
}

/// Expired entries are swept when the map grows past this size.
const SWEEP_AT: usize = 1024;

pub struct CredentialCache {
    key: [u8; 32],
    ttl: Duration,
    entries: RwLock<HashMap<CredentialDigest, Entry>>,
}

impl CredentialCache {
    /// A cache whose entries live `ttl`; `Duration::ZERO` disables it.
    pub fn new(ttl: Duration) -> Self {
        Self {
            key: rand::random(),
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub fn digest(&self, username: &str, password: &str) -> CredentialDigest {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(username.as_bytes());
        // The separator keeps ("ab", "c") and ("a", "bc") apart; a username
        // never contains a NUL byte.
        mac.update(&[0]);
        mac.update(password.as_bytes());
        CredentialDigest(mac.finalize().into_bytes().into())
    }

    /// The unexpired entry for `digest`, if any.
    pub fn get(&self, digest: &CredentialDigest, now: Instant) -> Option<VerifiedCredential> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(digest)
            .filter(|e| e.expires_at > now)
            .map(|e| e.verified)
    }

    pub fn insert(&self, digest: CredentialDigest, verified: VerifiedCredential, now: Instant) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, e| e.expires_at > now);
        }
        entries.insert(
            digest,
            Entry {
                verified,
                expires_at: now + self.ttl,
            },
        );
    }

    /// Drops every entry of `account_id` (password changed, disabled, deleted).
    pub fn forget_account(&self, account_id: AdminId) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, e| e.verified.account_id != account_id);
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn verified(id: Uuid) -> VerifiedCredential {
        VerifiedCredential {
            account_id: id.into(),
            password_version: 1,
        }
    }

    #[test]
    fn digests_depend_on_both_parts_and_the_key() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        let d = cache.digest("alice", "password-one");
        assert_eq!(d, cache.digest("alice", "password-one"));
        assert_ne!(d, cache.digest("alice", "password-two"));
        assert_ne!(cache.digest("ab", "c"), cache.digest("a", "bc"));
        let other_process = CredentialCache::new(Duration::from_secs(60));
        assert_ne!(
            d,
            other_process.digest("alice", "password-one"),
            "the key is per process"
        );
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        let now = Instant::now();
        let id = Uuid::now_v7();
        let d = cache.digest("alice", "password-one");
        cache.insert(d, verified(id), now);
        assert_eq!(
            cache.get(&d, now + Duration::from_secs(59)),
            Some(verified(id))
        );
        assert_eq!(cache.get(&d, now + Duration::from_secs(60)), None);
    }

    #[test]
    fn forgetting_an_account_drops_only_its_entries() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        let now = Instant::now();
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let (da, db) = (
            cache.digest("alice", "pw-alice-123"),
            cache.digest("bob", "pw-bob-12345"),
        );
        cache.insert(da, verified(alice), now);
        cache.insert(db, verified(bob), now);
        cache.forget_account(alice.into());
        assert_eq!(cache.get(&da, now), None);
        assert_eq!(cache.get(&db, now), Some(verified(bob)));
    }

    #[test]
    fn a_zero_ttl_disables_the_cache() {
        let cache = CredentialCache::new(Duration::ZERO);
        let now = Instant::now();
        let d = cache.digest("alice", "password-one");
        cache.insert(d, verified(Uuid::now_v7()), now);
        assert!(cache.is_empty());
        assert_eq!(cache.get(&d, now), None);
    }

    #[test]
    fn expired_entries_are_swept_when_the_map_grows() {
        let cache = CredentialCache::new(Duration::from_secs(1));
        let now = Instant::now();
        for i in 0..SWEEP_AT {
            cache.insert(
                cache.digest("alice", &format!("password-{i}")),
                verified(Uuid::nil()),
                now,
            );
        }
        cache.insert(
            cache.digest("bob", "password-bob"),
            verified(Uuid::nil()),
            now + Duration::from_secs(2),
        );
        assert_eq!(cache.len(), 1);
    }
}
