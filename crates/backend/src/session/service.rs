//! [`SessionService`]: device sessions and the in-memory cache of the
//! ACTIVE ones, by id — what the gateway lookup is served from.
//!
//! The cache is warmed once at startup (`/readyz` waits for it) and
//! updated only after the writing transaction committed, so a failed
//! commit leaves it as the database is. Revocations are durable first,
//! then removed from the cache, then announced as [`SessionsRevoked`].
//!
//! Races between a committed write and its cache update are closed with
//! tombstones: a revocation that finds its session absent from the cache
//! (its creation committed but was not cached yet, or the warm-up is still
//! loading it) leaves a tombstone, and neither the late insert nor the
//! warm-up brings the session back.
//!
//! Other instances' writes (a session created, revoked or expired there)
//! reach the cache through [`SessionService::refresh`] and, after the
//! cache listener reconnects, [`SessionService::reload`]
//! (`crate::cluster::caches`). Both re-read PostgreSQL without a lock held,
//! so while one runs the cache records which ids left it meanwhile and
//! which entries were added after the read began: a stale read neither
//! brings back a revoked session nor drops a new one.
//!
//! Sessions end ([`SessionLimits`], OWASP ASVS 3.3): the lookup refuses a
//! session past its idle timeout or absolute lifetime at once, and
//! [`SessionService::expire`] (run by the auth pruning step) writes the
//! last-use times back, revokes such sessions with reason `expired` and
//! announces them like any revocation.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::ids::{DeviceSessionId, UserId};

use super::events::{RevocationReason, SessionEvents, SessionsRevoked};
use super::model::{DevicePublicKey, DeviceSession};
use super::store::{self, RevokeOne};

/// The name `/readyz` reports while the session cache warms.
pub const CACHE_NAME: &str = "device_sessions";

/// The gateway lookup's body (see `openapi.yaml`, `DeviceSessionLookup`).
#[derive(Serialize)]
struct LookupBody<'a> {
    device_session_id: DeviceSessionId,
    user_id: UserId,
    public_key: &'a str,
    status: &'static str,
}

/// What the cache holds for an active session: the gateway lookup's JSON
/// body, rendered once when cached (the only thing a lookup needs).
fn lookup_body(id: DeviceSessionId, user_id: UserId, public_key: DevicePublicKey) -> Bytes {
    let body = LookupBody {
        device_session_id: id,
        user_id,
        public_key: &public_key.to_base64(),
        status: "active",
    };
    Bytes::from(serde_json::to_vec(&body).expect("plain struct serialises"))
}

/// How long device sessions live (`BACKEND_SESSION_IDLE_TIMEOUT`,
/// `BACKEND_SESSION_MAX_LIFETIME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Not looked up by the gateway for this long → expired.
    pub idle_timeout: Duration,
    /// This long after login → expired, used or not.
    pub max_lifetime: Duration,
}

impl Default for SessionLimits {
    /// The variables' defaults: 30 days idle, 365 days in all.
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 24 * 3600),
            max_lifetime: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

impl SessionLimits {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            idle_timeout: config.session.idle_timeout,
            max_lifetime: config.session.max_lifetime,
        }
    }
}

/// A lookup moves a session's in-memory last use forward only when it is
/// older than this, so busy sessions do not write a shared word per request.
const TOUCH_GRANULARITY_SECS: i64 = 60;

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A cached active session: its pre-rendered lookup body and what expiry
/// needs (Unix seconds).
struct Entry {
    body: Bytes,
    /// When it entered the cache ([`Cache::seq`]).
    seq: u64,
    created: i64,
    /// The last gateway lookup (or the login).
    last_seen: AtomicI64,
    /// The `last_seen` value PostgreSQL holds.
    flushed: AtomicI64,
}

impl Entry {
    fn new(body: Bytes, created: DateTime<Utc>, last_seen: DateTime<Utc>) -> Self {
        Self {
            body,
            seq: 0,
            created: created.timestamp(),
            last_seen: AtomicI64::new(last_seen.timestamp()),
            flushed: AtomicI64::new(last_seen.timestamp()),
        }
    }

    fn alive(&self, now: i64, limits: &SessionLimits) -> bool {
        now.saturating_sub(self.created) < secs(limits.max_lifetime)
            && now.saturating_sub(self.last_seen.load(Ordering::Relaxed))
                < secs(limits.idle_timeout)
    }

    /// Another instance's (flushed) last use moves this one forward.
    fn seen_elsewhere(&self, last_seen: DateTime<Utc>) {
        let at = last_seen.timestamp();
        self.last_seen.fetch_max(at, Ordering::Relaxed);
        self.flushed.fetch_max(at, Ordering::Relaxed);
    }

    fn touch(&self, now: i64) {
        if now - self.last_seen.load(Ordering::Relaxed) >= TOUCH_GRANULARITY_SECS {
            self.last_seen.fetch_max(now, Ordering::Relaxed);
        }
    }
}

/// What revoking one session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked,
    /// It was revoked before; nothing changed and nothing was announced.
    AlreadyRevoked,
    /// No such session of this user.
    NotFound,
}

#[derive(Default)]
struct Cache {
    warm: bool,
    /// Active sessions by id → their gateway lookup body and ages.
    /// foldhash, not SipHash: read on every gateway lookup.
    active: foldhash::HashMap<DeviceSessionId, Entry>,
    tombstones: HashSet<DeviceSessionId>,
    /// Counts insertions; an entry carries the value of its own.
    seq: u64,
    /// Re-reads of PostgreSQL in progress ([`SessionService::refresh`],
    /// [`SessionService::reload`]).
    rereads: usize,
    /// Ids revoked while a re-read was in progress (kept out by it).
    removed: HashSet<DeviceSessionId>,
}

impl Cache {
    fn insert(&mut self, id: DeviceSessionId, mut entry: Entry) {
        self.seq += 1;
        entry.seq = self.seq;
        self.active.insert(id, entry);
    }

    /// Removes a revoked session; false if it was not cached.
    fn remove(&mut self, id: &DeviceSessionId) -> bool {
        if self.rereads > 0 {
            self.removed.insert(*id);
        }
        self.active.remove(id).is_some()
    }
}

/// A re-read of PostgreSQL in progress, from the insertion count `start`.
struct Reread<'a> {
    service: &'a SessionService,
    start: u64,
}

impl<'a> Reread<'a> {
    fn begin(service: &'a SessionService) -> Self {
        let mut cache = service.write();
        cache.rereads += 1;
        Self {
            service,
            start: cache.seq,
        }
    }
}

impl Drop for Reread<'_> {
    fn drop(&mut self) {
        let mut cache = self.service.write();
        cache.rereads -= 1;
        if cache.rereads == 0 {
            cache.removed.clear();
        }
    }
}

struct Inner {
    db: PgPool,
    events: SessionEvents,
    limits: SessionLimits,
    /// Read on every gateway lookup: a sharded lock, so readers on
    /// different threads touch different lock words.
    cache: ShardedLock<Cache>,
    /// Where new sessions are announced to the other instances.
    bus: std::sync::OnceLock<crate::cluster::CacheBus>,
    /// Lookups that missed the cache and may ask PostgreSQL right now
    /// ([`SessionService::lookup_body_or_load`]); more misses answer "not
    /// found" without a query.
    miss_reads: tokio::sync::Semaphore,
}

/// At most this many cache-missing gateway lookups read PostgreSQL at once.
const MISS_READS: usize = 4;

/// Device sessions and their cache. Cheap to clone.
#[derive(Clone)]
pub struct SessionService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SessionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService").finish_non_exhaustive()
    }
}

impl SessionService {
    /// A service with a cold cache (run [`warmup`](Self::warmup)).
    pub fn new(db: PgPool, events: SessionEvents, limits: SessionLimits) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                events,
                limits,
                cache: ShardedLock::new(Cache::default()),
                bus: std::sync::OnceLock::new(),
                miss_reads: tokio::sync::Semaphore::new(MISS_READS),
            }),
        }
    }

    /// Announces this instance's after-commit cache updates to the others
    /// (the install step sets it; unset in unit tests).
    pub fn announce_to(&self, bus: crate::cluster::CacheBus) {
        let _ = self.inner.bus.set(bus);
    }

    fn read(&self) -> ShardedLockReadGuard<'_, Cache> {
        self.inner
            .cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> ShardedLockWriteGuard<'_, Cache> {
        self.inner
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The startup warm-up of the cache, for `/readyz` to wait on.
    pub fn warmup(&self) -> crate::readiness::Warmup {
        let service = self.clone();
        crate::readiness::Warmup::new(CACHE_NAME, async move { service.warm_up().await })
    }

    /// Loads every active session. Merges with what was cached meanwhile
    /// (sessions created while warming stay; tombstoned ones stay out).
    #[tracing::instrument(name = "sessions.warm_up", skip_all)]
    pub async fn warm_up(&self) -> Result<(), sqlx::Error> {
        self.reload_cache(true).await?;
        tracing::info!(
            active_sessions = self.cached_count(),
            "session cache warmed"
        );
        Ok(())
    }

    /// Re-reads every active session (after notifications of other
    /// instances' writes may have been missed): sessions no longer active
    /// leave the cache, missing ones enter it. Sessions cached or revoked
    /// here while it read stay as they are.
    #[tracing::instrument(name = "sessions.reload", skip_all)]
    pub async fn reload(&self) -> Result<(), sqlx::Error> {
        self.reload_cache(false).await
    }

    async fn reload_cache(&self, warming: bool) -> Result<(), sqlx::Error> {
        let reread = Reread::begin(self);
        let mut conn = self.inner.db.acquire().await?;
        let loaded = store::all_active(&mut conn).await?;
        drop(conn);
        let mut ids = HashSet::with_capacity(loaded.len());
        let entries: Vec<(DeviceSessionId, Entry, DateTime<Utc>)> = loaded
            .into_iter()
            .map(|s| {
                ids.insert(s.id);
                let body = lookup_body(s.id, s.user_id, s.public_key);
                let entry = Entry::new(body, s.created_at, s.last_seen_at);
                (s.id, entry, s.last_seen_at)
            })
            .collect();
        let mut cache = self.write();
        cache.active.reserve(entries.len());
        for (id, session, last_seen) in entries {
            if cache.tombstones.remove(&id) || cache.removed.contains(&id) {
                continue;
            }
            match cache.active.get(&id) {
                Some(held) => held.seen_elsewhere(last_seen),
                None => cache.insert(id, session),
            }
        }
        // Cached before the read began and no longer active: ended elsewhere.
        let start = reread.start;
        cache
            .active
            .retain(|id, entry| entry.seq > start || ids.contains(id));
        if warming {
            cache.warm = true;
        }
        drop(cache);
        drop(reread);
        Ok(())
    }

    /// Re-reads one session after another instance wrote it: an active one
    /// enters the cache (a cached one keeps its entry, its last use moved
    /// forward), a revoked or unknown one leaves it. Nothing is announced
    /// (the writing instance did).
    pub async fn refresh(&self, id: DeviceSessionId) -> Result<(), sqlx::Error> {
        let reread = Reread::begin(self);
        let mut conn = self.inner.db.acquire().await?;
        let loaded = store::active_one(&mut conn, id).await?;
        drop(conn);
        let mut cache = self.write();
        match loaded {
            Some(s) => {
                let kept_out = cache.removed.contains(&id) || cache.tombstones.contains(&id);
                match cache.active.get(&id) {
                    Some(held) => held.seen_elsewhere(s.last_seen_at),
                    None if kept_out => {}
                    None => {
                        let body = lookup_body(s.id, s.user_id, s.public_key);
                        cache.insert(id, Entry::new(body, s.created_at, s.last_seen_at));
                    }
                }
            }
            None => {
                // An entry added after the read began is newer than it.
                if cache.active.get(&id).is_some_and(|e| e.seq <= reread.start) {
                    cache.remove(&id);
                }
            }
        }
        drop(cache);
        drop(reread);
        Ok(())
    }

    /// The gateway's question — is `id` an active session, whose, with which
    /// key? — answered with the cached lookup body (never PostgreSQL):
    /// `Err(false)` while the cache still warms, `Err(true)` for an unknown,
    /// revoked or expired session. One read of this thread's lock shard and
    /// a copy of ~150 bytes: a copy rather than a reference count that every
    /// thread serving the same session would have to update. The session's
    /// last use moves forward (at most once a minute).
    pub fn lookup_body(&self, id: &DeviceSessionId) -> Result<Bytes, bool> {
        let now = Utc::now().timestamp();
        let cache = self.read();
        match cache.active.get(id) {
            Some(entry) if entry.alive(now, &self.inner.limits) => {
                entry.touch(now);
                Ok(Bytes::copy_from_slice(&entry.body))
            }
            Some(_) => Err(true),
            None => Err(cache.warm),
        }
    }

    /// [`lookup_body`](Self::lookup_body), and on a miss one read of that
    /// session from PostgreSQL: another instance may have created it a
    /// moment ago, before its announcement arrived. A revoked or expired
    /// session stays refused. At most [`MISS_READS`] such reads run at
    /// once; beyond that a miss is answered as unknown without a query, so
    /// a flood of made-up ids costs the database little.
    pub async fn lookup_body_or_load(&self, id: &DeviceSessionId) -> Result<Bytes, bool> {
        match self.lookup_body(id) {
            Err(true) => {}
            answer => return answer,
        }
        let Ok(_permit) = self.inner.miss_reads.try_acquire() else {
            return Err(true);
        };
        if let Err(err) = self.refresh(*id).await {
            tracing::warn!(error = %err, "a session lookup that missed the cache could not read PostgreSQL");
            return Err(true);
        }
        self.lookup_body(id)
    }

    /// How many sessions the cache holds.
    pub fn cached_count(&self) -> usize {
        self.read().active.len()
    }

    /// Caches a session whose creating transaction has committed, and
    /// announces it to the other instances (inserts have no notifying
    /// trigger: a login must not serialise on the notify lock).
    pub fn after_commit_created(&self, session: &DeviceSession) {
        if session.revoked_at.is_some() {
            return;
        }
        if let Some(bus) = self.inner.bus.get() {
            bus.announce(CACHE_NAME, session.id);
        }
        let body = lookup_body(session.id, session.user_id, session.public_key);
        let entry = Entry::new(body, session.created_at, session.created_at);
        let mut cache = self.write();
        if cache.tombstones.remove(&session.id) {
            return;
        }
        cache.insert(session.id, entry);
    }

    /// Creates a session on `conn` (the caller's transaction); call
    /// [`after_commit_created`](Self::after_commit_created) once it commits.
    pub async fn create_in_tx(
        &self,
        conn: &mut PgConnection,
        user_id: UserId,
        public_key: &DevicePublicKey,
        device_name: &str,
        platform: &str,
    ) -> Result<DeviceSession, sqlx::Error> {
        store::insert_session(
            conn,
            DeviceSessionId::new_random(),
            user_id,
            public_key,
            device_name,
            platform,
        )
        .await
    }

    /// Marks every active session of `user_id` revoked inside the caller's
    /// transaction and returns their ids. The cache is not touched: after
    /// the commit, call [`after_commit_revoked`](Self::after_commit_revoked).
    pub async fn revoke_all_in_tx(
        &self,
        conn: &mut PgConnection,
        user_id: UserId,
        reason: RevocationReason,
    ) -> Result<Vec<DeviceSessionId>, sqlx::Error> {
        store::revoke_all(conn, user_id, reason).await
    }

    /// Removes committed revocations from the cache, then announces them
    /// ([`SessionEvents::emit`]; nothing is emitted for an empty list).
    pub fn after_commit_revoked(&self, event: SessionsRevoked) {
        {
            let mut cache = self.write();
            for id in &event.device_session_ids {
                if !cache.remove(id) {
                    cache.tombstones.insert(*id);
                }
            }
        }
        self.inner.events.emit(&event);
    }

    /// Revokes every active session of `user_id` in its own transaction,
    /// then updates the cache and announces it. Returns the revoked ids.
    #[tracing::instrument(name = "sessions.revoke_all", skip(self))]
    pub async fn revoke_all(
        &self,
        user_id: UserId,
        reason: RevocationReason,
    ) -> Result<Vec<DeviceSessionId>, sqlx::Error> {
        let mut tx = self.inner.db.begin().await?;
        let ids = self.revoke_all_in_tx(&mut tx, user_id, reason).await?;
        tx.commit().await?;
        self.after_commit_revoked(SessionsRevoked {
            user_id,
            device_session_ids: ids.clone(),
            reason,
        });
        Ok(ids)
    }

    /// Revokes one session of `user_id`.
    #[tracing::instrument(name = "sessions.revoke", skip(self))]
    pub async fn revoke(
        &self,
        user_id: UserId,
        device_session_id: DeviceSessionId,
        reason: RevocationReason,
    ) -> Result<RevokeOutcome, sqlx::Error> {
        let mut tx = self.inner.db.begin().await?;
        let outcome = store::revoke_one(&mut tx, user_id, device_session_id, reason).await?;
        tx.commit().await?;
        Ok(match outcome {
            RevokeOne::Revoked => {
                self.after_commit_revoked(SessionsRevoked {
                    user_id,
                    device_session_ids: vec![device_session_id],
                    reason,
                });
                RevokeOutcome::Revoked
            }
            RevokeOne::AlreadyRevoked => RevokeOutcome::AlreadyRevoked,
            RevokeOne::NotFound => RevokeOutcome::NotFound,
        })
    }

    /// Ends sessions past their idle timeout or absolute lifetime (the auth
    /// pruning step runs it): writes the cached last-use times back, revokes
    /// up to `limit` expired sessions with reason `expired`, removes them
    /// from the cache and announces them per user. Returns how many ended.
    #[tracing::instrument(name = "sessions.expire", skip(self))]
    pub async fn expire(&self, limit: i64) -> Result<u64, sqlx::Error> {
        let seen = self.unflushed();
        let mut tx = self.inner.db.begin().await?;
        store::write_last_seen(&mut tx, &seen).await?;
        let limits = &self.inner.limits;
        let expired =
            store::expire(&mut tx, limits.idle_timeout, limits.max_lifetime, limit).await?;
        tx.commit().await?;
        self.mark_flushed(&seen);
        let ended = expired.len() as u64;
        let mut by_user: BTreeMap<UserId, Vec<DeviceSessionId>> = BTreeMap::new();
        for (id, user_id) in expired {
            by_user.entry(user_id).or_default().push(id);
        }
        for (user_id, device_session_ids) in by_user {
            self.after_commit_revoked(SessionsRevoked {
                user_id,
                device_session_ids,
                reason: RevocationReason::Expired,
            });
        }
        if ended > 0 {
            tracing::info!(ended, "device sessions expired");
        }
        Ok(ended)
    }

    /// Writes the cached last-use times PostgreSQL does not hold yet back
    /// (never moving one back). Every instance runs it (the
    /// `session_last_seen` loop): each one sees only the lookups it served,
    /// and the leader's [`expire`](Self::expire) judges by what
    /// PostgreSQL holds. Returns how many sessions were written.
    ///
    /// Then it reads back the last uses other instances wrote since
    /// `since` (the previous step's start), so this instance's idle check
    /// counts their lookups too.
    #[tracing::instrument(name = "sessions.flush_last_seen", skip(self))]
    pub async fn flush_last_seen(&self, since: DateTime<Utc>) -> Result<usize, sqlx::Error> {
        let seen = self.unflushed();
        let mut conn = self.inner.db.acquire().await?;
        if !seen.is_empty() {
            store::write_last_seen(&mut conn, &seen).await?;
        }
        let elsewhere = store::seen_since(&mut conn, since).await?;
        drop(conn);
        self.mark_flushed(&seen);
        let cache = self.read();
        for (id, at) in elsewhere {
            if let Some(entry) = cache.active.get(&id) {
                entry.seen_elsewhere(at);
            }
        }
        Ok(seen.len())
    }

    /// Cached last uses newer than what PostgreSQL holds.
    fn unflushed(&self) -> Vec<(DeviceSessionId, i64)> {
        self.read()
            .active
            .iter()
            .filter_map(|(id, e)| {
                let last = e.last_seen.load(Ordering::Relaxed);
                (last > e.flushed.load(Ordering::Relaxed)).then_some((*id, last))
            })
            .collect()
    }

    fn mark_flushed(&self, seen: &[(DeviceSessionId, i64)]) {
        let cache = self.read();
        for (id, last) in seen {
            if let Some(entry) = cache.active.get(id) {
                entry.flushed.fetch_max(*last, Ordering::Relaxed);
            }
        }
    }

    /// The user's active sessions, newest first (from PostgreSQL: the list
    /// shows device names and dates the cache does not hold).
    pub async fn list_active(&self, user_id: UserId) -> Result<Vec<DeviceSession>, sqlx::Error> {
        let mut conn = self.inner.db.acquire().await?;
        store::active_of_user(&mut conn, user_id).await
    }
}

/// Other instances' writes reach the cache: keys are session ids.
impl crate::cluster::CoherentCache for SessionService {
    fn name(&self) -> &'static str {
        CACHE_NAME
    }

    fn refresh<'a>(&'a self, key: &'a str) -> futures::future::BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let id: DeviceSessionId = key
                .parse()
                .map_err(|_| anyhow::anyhow!("not a device session id: {key}"))?;
            Ok(SessionService::refresh(self, id).await?)
        })
    }

    fn reload_all(&self) -> futures::future::BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { Ok(self.reload().await?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> SessionService {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .expect("lazy pool");
        SessionService::new(pool, SessionEvents::default(), SessionLimits::default())
    }

    fn session(user_id: UserId, seed: u8) -> DeviceSession {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key();
        DeviceSession {
            id: DeviceSessionId::new_random(),
            user_id,
            public_key: DevicePublicKey::from_slice(key.as_bytes()).unwrap(),
            device_name: "d".into(),
            platform: "p".into(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
            revoke_reason: None,
        }
    }

    fn revoked(user_id: UserId, ids: Vec<DeviceSessionId>) -> SessionsRevoked {
        SessionsRevoked {
            user_id,
            device_session_ids: ids,
            reason: RevocationReason::UserRevoked,
        }
    }

    #[tokio::test]
    async fn the_lookup_body_is_rendered_once_and_matches_the_contract() {
        let service = service();
        let s = session(UserId::new_random(), 3);
        service.after_commit_created(&s);
        let body = service.lookup_body(&s.id).expect("cached");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["device_session_id"], s.id.to_string());
        assert_eq!(v["user_id"], s.user_id.to_string());
        assert_eq!(v["public_key"], s.public_key.to_base64());
        assert_eq!(v["status"], "active");
        assert_eq!(v.as_object().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn the_lookup_refuses_sessions_past_either_bound_and_moves_last_use() {
        let service = service();
        let user = UserId::new_random();
        let day = chrono::Duration::days(1);
        let mut old = session(user, 4);
        old.created_at = chrono::Utc::now() - day * 366;
        service.after_commit_created(&old);
        assert_eq!(service.lookup_body(&old.id), Err(true), "past the lifetime");

        let mut idle = session(user, 5);
        idle.created_at = chrono::Utc::now() - day * 31;
        service.after_commit_created(&idle);
        assert_eq!(service.lookup_body(&idle.id), Err(true), "idle since login");

        let mut used = session(user, 6);
        used.created_at = chrono::Utc::now() - day * 29;
        service.after_commit_created(&used);
        assert!(service.lookup_body(&used.id).is_ok());
        let cache = service.read();
        let entry = cache.active.get(&used.id).unwrap();
        assert!(entry.last_seen.load(Ordering::Relaxed) > entry.flushed.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn a_cold_cache_says_so_instead_of_missing() {
        let service = service();
        assert_eq!(
            service.lookup_body(&DeviceSessionId::new_random()),
            Err(false)
        );
        service.write().warm = true;
        assert_eq!(
            service.lookup_body(&DeviceSessionId::new_random()),
            Err(true)
        );
    }

    #[tokio::test]
    async fn a_revocation_that_overtakes_the_cache_insert_keeps_the_session_out() {
        let service = service();
        let user = UserId::new_random();
        let s = session(user, 1);
        // The revoking transaction committed before the creating request
        // reached its cache insert.
        service.after_commit_revoked(revoked(user, vec![s.id]));
        service.after_commit_created(&s);
        assert!(service.lookup_body(&s.id).is_err());
        assert_eq!(service.cached_count(), 0);
        assert!(
            service.read().tombstones.is_empty(),
            "the tombstone is used up"
        );
    }

    #[tokio::test]
    async fn revocations_leave_the_cache_before_listeners_hear_of_them() {
        let observer = Arc::new(std::sync::OnceLock::<SessionService>::new());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (sink, watching) = (seen.clone(), observer.clone());
        let listener = move |e: &SessionsRevoked| {
            // The cache already agrees with the event.
            let service = watching.get().expect("service built");
            for id in &e.device_session_ids {
                assert!(service.lookup_body(id).is_err());
            }
            sink.lock().unwrap().push(e.clone());
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .expect("lazy pool");
        let service = SessionService::new(
            pool,
            SessionEvents::new(vec![Arc::new(listener)]),
            SessionLimits::default(),
        );
        observer.set(service.clone()).ok();
        let user = UserId::new_random();
        let (a, b) = (session(user, 1), session(user, 2));
        service.after_commit_created(&a);
        service.after_commit_created(&b);
        service.after_commit_revoked(revoked(user, vec![a.id]));
        assert!(service.lookup_body(&b.id).is_ok());
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(service.read().tombstones.is_empty());
    }
}
