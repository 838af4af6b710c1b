//! Cache coherence across the instances sharing one database
//! (docs/decisions/0009-cache-coherence.md).
//!
//! Every in-memory cache of database state registers a [`CoherentCache`]
//! with the [`CacheBus`] at assembly. Triggers on the rarely written cached
//! tables (migration 0019) send
//! `pg_notify('galaxy_cache', '<cache>|<key>|<application_name>')` for every
//! row written; PostgreSQL delivers at commit, and only then, and folds
//! duplicates within a transaction. Hot tables have no trigger (a notifying
//! commit holds a database-wide lock through its WAL flush): their writers
//! call [`CacheBus::announce`] after the commit, and the bus sends the same
//! payload outside any write transaction. One task per instance `LISTEN`s:
//! a notification from another instance's connection makes the named
//! cache re-read that key ([`CoherentCache::refresh`]); this instance's own
//! writes are skipped (its caches were written through in-process).
//!
//! Notifications sent while the listening connection is down are lost, so
//! every reconnect reloads every cache in full ([`CoherentCache::reload_all`]).
//! The first connect needs none: the warm-ups wait until the `LISTEN` is in
//! place ([`CacheBus::listening`]), so nothing committed between a warm-up's
//! read and the `LISTEN` is missed. A burst of notifications for one cache
//! (a bulk write) is folded into one full reload, and a cache whose refresh
//! failed is reloaded until that succeeds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::telemetry::Metrics;
use crate::telemetry::names::{self, label};

/// The channel every cache trigger notifies.
pub const CHANNEL: &str = "galaxy_cache";

/// More distinct keys than this for one cache in one batch of received
/// notifications: reload it in full rather than key by key.
pub const BURST_RELOAD_THRESHOLD: usize = 512;

/// How long the listener waits before reconnecting, and before retrying a
/// cache whose refresh or reload failed.
const RETRY: Duration = Duration::from_secs(1);

/// An in-memory cache of database state that another instance's writes
/// must reach.
pub trait CoherentCache: Send + Sync + 'static {
    /// The cache's name as the triggers send it (and the `cache` label of
    /// the metrics).
    fn name(&self) -> &'static str;

    /// Re-reads `key` from the database and replaces it in memory, or
    /// removes it when the database no longer has it (or it no longer
    /// belongs in the cache). Derived indexes follow.
    fn refresh<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Re-reads everything (after notifications may have been missed).
    fn reload_all(&self) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// One received notification, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation<'a> {
    pub cache: &'a str,
    pub key: &'a str,
    /// The `application_name` of the connection that wrote the row.
    pub origin: &'a str,
}

impl<'a> Invalidation<'a> {
    /// `<cache>|<key>|<application_name>`: neither cache names nor keys
    /// contain `|`; an application name may (it comes last).
    pub fn parse(payload: &'a str) -> Option<Self> {
        let mut parts = payload.splitn(3, '|');
        let cache = parts.next().filter(|c| !c.is_empty())?;
        let key = parts.next()?;
        let origin = parts.next()?;
        Some(Self { cache, key, origin })
    }
}

/// The registry of coherent caches and the listener feeding them. Cheap to
/// clone.
#[derive(Clone)]
pub struct CacheBus {
    inner: Arc<Inner>,
}

struct Inner {
    /// This instance's connections' `application_name`.
    own: String,
    /// Announcements of this instance's writes to tables without a
    /// trigger ([`CacheBus::announce`]), sent by the listener task.
    announce_tx: mpsc::UnboundedSender<String>,
    announce_rx: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    caches: RwLock<BTreeMap<&'static str, Arc<dyn CoherentCache>>>,
    listening: watch::Sender<bool>,
    invalidations: Counter<u64>,
    reloads: Counter<u64>,
}

/// What the connection task hands the processing task.
enum Event {
    /// `LISTEN` is (again) in place; `first`: the process's first connect.
    Connected {
        first: bool,
    },
    Notification(String),
}

impl CacheBus {
    /// A bus for the instance whose connections are named `own_application_name`.
    pub fn new(own_application_name: String, metrics: &Metrics) -> Self {
        let meter = metrics.meter();
        let (announce_tx, announce_rx) = mpsc::unbounded_channel();
        Self {
            inner: Arc::new(Inner {
                own: own_application_name,
                announce_tx,
                announce_rx: Mutex::new(Some(announce_rx)),
                caches: RwLock::new(BTreeMap::new()),
                listening: watch::Sender::new(false),
                invalidations: meter
                    .u64_counter(names::CACHE_INVALIDATIONS_TOTAL)
                    .with_description(
                        "Cache entries re-read because another instance wrote them, by cache.",
                    )
                    .build(),
                reloads: meter
                    .u64_counter(names::CACHE_RELOADS_TOTAL)
                    .with_description(
                        "Full cache reloads after the cache listener (re)connected, a burst of notifications or a failed refresh, by cache.",
                    )
                    .build(),
            }),
        }
    }

    /// Registers `cache` (a domain's install step does).
    pub fn register(&self, cache: Arc<dyn CoherentCache>) {
        let mut caches = self
            .inner
            .caches
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let name = cache.name();
        assert!(
            caches.insert(name, cache).is_none(),
            "cache {name} registered twice"
        );
    }

    /// Tells the other instances that this one committed a change to
    /// `key` of `cache` in a table whose writes are too frequent for a
    /// notifying trigger (a transaction that notifies holds a
    /// database-wide lock through its WAL flush, serialising every such
    /// commit). Call it after the commit; the listener task sends it as
    /// `pg_notify` outside any write transaction (no WAL, no flush under
    /// the lock). An instance that dies between the commit and the send
    /// leaves the others stale until their next full reload.
    pub fn announce(&self, cache: &'static str, key: impl std::fmt::Display) {
        let payload = format!("{cache}|{key}|{}", self.inner.own);
        // Closed only once the listener task has stopped (shutdown).
        let _ = self.inner.announce_tx.send(payload);
    }

    /// The registered caches' names.
    pub fn names(&self) -> Vec<&'static str> {
        self.caches().keys().copied().collect()
    }

    fn caches(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, BTreeMap<&'static str, Arc<dyn CoherentCache>>> {
        self.inner
            .caches
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cache(&self, name: &str) -> Option<Arc<dyn CoherentCache>> {
        self.caches().get(name).cloned()
    }

    /// Resolves once the listener's first `LISTEN` is in place (or the
    /// listener has stopped): warm-ups wait for it, so no write committed
    /// after their read goes unnoticed.
    pub fn listening(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.listening.subscribe();
        async move {
            let _ = rx.wait_for(|listening| *listening).await;
        }
    }

    /// The listener: `LISTEN`s on [`CHANNEL`] until `stop`, reconnecting
    /// after a lost connection, and dispatches what it hears.
    pub async fn run(self, pool: PgPool, stop: CancellationToken) {
        let (tx, rx) = mpsc::unbounded_channel();
        let announcements = self
            .inner
            .announce_rx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let (sender_pool, sender_stop) = (pool.clone(), stop.clone());
        let sending = async move {
            if let Some(rx) = announcements {
                send_announcements(sender_pool, rx, sender_stop).await;
            }
        };
        let connection = connect_loop(pool.clone(), tx, stop.clone(), self.inner.listening.clone());
        let processing = self.process(rx, stop);
        tokio::join!(connection, processing, sending);
    }

    /// Applies events in order; notifications already queued are handled
    /// as one batch (each key once, a burst as a full reload).
    async fn process(self, mut rx: mpsc::UnboundedReceiver<Event>, stop: CancellationToken) {
        // Caches whose refresh or reload failed: reloaded until it works.
        let mut dirty: BTreeSet<&'static str> = BTreeSet::new();
        loop {
            let first = tokio::select! {
                () = stop.cancelled() => return,
                event = rx.recv() => match event {
                    Some(event) => event,
                    None => return,
                },
                () = tokio::time::sleep(RETRY), if !dirty.is_empty() => {
                    self.reload(&mut dirty, None).await;
                    continue;
                }
            };
            let mut batch = vec![first];
            while let Ok(event) = rx.try_recv() {
                batch.push(event);
            }
            // A reconnect supersedes everything heard before it.
            let reconnected = batch
                .iter()
                .rposition(|e| matches!(e, Event::Connected { first: false }));
            if let Some(at) = reconnected {
                batch.drain(..=at);
                let all: BTreeSet<&'static str> = self.caches().keys().copied().collect();
                dirty.extend(all);
                tracing::info!("cache listener reconnected: reloading every cache");
            }
            let mut keys: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
            for event in &batch {
                let Event::Notification(payload) = event else {
                    continue;
                };
                let Some(inv) = Invalidation::parse(payload) else {
                    tracing::warn!("malformed cache notification ignored");
                    continue;
                };
                if inv.origin == self.inner.own {
                    continue;
                }
                let Some(cache) = self.cache(inv.cache) else {
                    tracing::debug!(cache = inv.cache, "notification for an unknown cache");
                    continue;
                };
                let name = cache.name();
                self.inner
                    .invalidations
                    .add(1, &[KeyValue::new(label::CACHE, name)]);
                keys.entry(name).or_default().insert(inv.key.to_owned());
            }
            for (name, keys) in keys {
                if keys.len() > BURST_RELOAD_THRESHOLD {
                    dirty.insert(name);
                }
                if dirty.contains(name) {
                    continue;
                }
                let Some(cache) = self.cache(name) else {
                    continue;
                };
                for key in &keys {
                    if let Err(err) = cache.refresh(key).await {
                        tracing::warn!(cache = name, error = %err, "cache refresh failed; reloading it");
                        dirty.insert(name);
                        break;
                    }
                }
            }
            self.reload(&mut dirty, Some(&stop)).await;
        }
    }

    /// Reloads every cache in `dirty`; those that fail stay there.
    async fn reload(&self, dirty: &mut BTreeSet<&'static str>, stop: Option<&CancellationToken>) {
        for name in std::mem::take(dirty) {
            if stop.is_some_and(CancellationToken::is_cancelled) {
                return;
            }
            let Some(cache) = self.cache(name) else {
                continue;
            };
            self.inner
                .reloads
                .add(1, &[KeyValue::new(label::CACHE, name)]);
            match cache.reload_all().await {
                Ok(()) => tracing::debug!(cache = name, "cache reloaded"),
                Err(err) => {
                    tracing::warn!(cache = name, error = %err, "cache reload failed; retrying");
                    dirty.insert(name);
                }
            }
        }
    }
}

/// Sends queued announcements as notifications, a batch per statement,
/// each in its own (write-free) transaction.
async fn send_announcements(
    pool: PgPool,
    mut rx: mpsc::UnboundedReceiver<String>,
    stop: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            () = stop.cancelled() => return,
            payload = rx.recv() => match payload {
                Some(payload) => payload,
                None => return,
            },
        };
        let mut batch = vec![first];
        while batch.len() < 1000
            && let Ok(payload) = rx.try_recv()
        {
            batch.push(payload);
        }
        batch.sort_unstable();
        batch.dedup();
        let sent = sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .bind(CHANNEL)
            .bind(&batch)
            .execute(&pool)
            .await;
        if let Err(err) = sent {
            tracing::warn!(error = %err, count = batch.len(), "cannot announce cache changes to the other instances");
        }
    }
}

/// Keeps a `LISTEN` connection, forwarding notifications to `tx`; after
/// each (re)connect it sends [`Event::Connected`] first.
async fn connect_loop(
    pool: PgPool,
    tx: mpsc::UnboundedSender<Event>,
    stop: CancellationToken,
    listening: watch::Sender<bool>,
) {
    let mut first = true;
    let forward = |heard: crate::postgres::Heard<'_>| match heard {
        crate::postgres::Heard::Connected => {
            let open = tx.send(Event::Connected { first }).is_ok();
            if first {
                first = false;
                listening.send_replace(true);
            }
            open
        }
        crate::postgres::Heard::Notification(payload) => {
            tx.send(Event::Notification(payload.to_owned())).is_ok()
        }
    };
    crate::postgres::listen(&pool, CHANNEL, RETRY, &stop, "cache listener", forward).await;
    // Warm-ups waiting for the first LISTEN go ahead at shutdown.
    listening.send_replace(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_into_cache_key_and_origin() {
        assert_eq!(
            Invalidation::parse("lobby|game:1|galaxy-backend/h-1-ab|cd"),
            Some(Invalidation {
                cache: "lobby",
                key: "game:1",
                origin: "galaxy-backend/h-1-ab|cd",
            })
        );
        assert_eq!(
            Invalidation::parse("users|u||").map(|i| i.origin),
            Some("|")
        );
        assert_eq!(Invalidation::parse("users|u|").map(|i| i.origin), Some(""));
        assert_eq!(Invalidation::parse("users|u"), None);
        assert_eq!(Invalidation::parse("|u|x"), None);
    }
}
