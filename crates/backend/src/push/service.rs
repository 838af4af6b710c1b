//! [`PushService`]: publish events, subscribe gateways, close at shutdown.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use prost::bytes::BytesMut;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::hub::{Hub, SubscribeError, Subscription};
use super::metrics::PushMetrics;
use super::model::{ClientTarget, Correlation, Cursor, Event, MarshalError};
use super::outbox::Outbox;
use super::{reader, server_pb, store, wire};
use crate::config::Config;
use crate::ids::DeviceSessionId;
use crate::jobs::Wake;
use crate::session::SessionsRevoked;
use crate::telemetry::Metrics;
use crate::worker::{StepOutcome, Workers};

/// The reader's fallback poll while the `LISTEN` connection is down.
const POLL: Duration = Duration::from_secs(1);
/// How long a resuming gateway whose cursor is ahead of this instance (but
/// issued) waits for the reader to catch up.
const CATCH_UP: Duration = Duration::from_secs(5);
/// The smallest outbox (events kept while PostgreSQL is unreachable); a
/// larger `BACKEND_PUSH_BUFFER_CAPACITY` raises it.
const OUTBOX_MIN: usize = 65_536;
/// How often and how much the prune loop deletes.
const PRUNE_INTERVAL: Duration = Duration::from_secs(30);
const PRUNE_BATCH: i64 = 5_000;
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// `BACKEND_FRESHNESS_WINDOW`: how long events stay resumable.
    pub freshness_window: Duration,
    /// `BACKEND_PUSH_BUFFER_CAPACITY` (added): most events kept for resuming.
    pub buffer_capacity: usize,
    /// `BACKEND_PUSH_SUBSCRIBER_QUEUE` (added): events queued per gateway.
    pub subscriber_queue: usize,
}

impl PushSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            freshness_window: config.freshness_window,
            buffer_capacity: config.grpc.push_buffer_capacity as usize,
            subscriber_queue: config.grpc.push_subscriber_queue as usize,
        }
    }
}

impl Default for PushSettings {
    /// The documented defaults (`5m`, `65536`, `4096`).
    fn default() -> Self {
        Self {
            freshness_window: Duration::from_secs(300),
            buffer_capacity: 65_536,
            subscriber_queue: 4_096,
        }
    }
}

/// Publishing into and subscribing to the push stream. Cheap to clone;
/// clones share one stream.
#[derive(Clone)]
pub struct PushService {
    hub: Arc<Hub>,
    metrics: PushMetrics,
    /// `None`: in memory only (unit tests, benches of the fan-out).
    cluster: Option<Arc<Cluster>>,
}

/// The PostgreSQL side: the outbox and its writer, the reader, their stop.
struct Cluster {
    db: PgPool,
    outbox: Arc<Outbox>,
    /// Wakes the reader (`NOTIFY`, this instance's writer, a catch-up).
    read: Arc<Notify>,
    stop: CancellationToken,
}

impl PushService {
    /// Loads the resumable tail from PostgreSQL (events within
    /// `BACKEND_FRESHNESS_WINDOW`, at most `BACKEND_PUSH_BUFFER_CAPACITY`)
    /// into the ring, then starts this instance's writer, reader and its
    /// `LISTEN` connection. They run until [`PushService::close`].
    pub async fn start(
        db: &PgPool,
        settings: PushSettings,
        metrics: &Metrics,
    ) -> anyhow::Result<Self> {
        let gap = store::register_writer(db)
            .await
            .context("cannot register as a push writer (table push_writers)")?;
        let head = store::head(db)
            .await
            .context("cannot read the push cursor head (table push_head)")?;
        let tail = store::tail(
            db,
            head,
            settings.buffer_capacity,
            settings.freshness_window,
        )
        .await
        .context("cannot load the recent push events (table push_events)")?;
        let loaded = tail.len();
        let metrics = PushMetrics::new(metrics);
        let hub = Arc::new(Hub::new(head, settings.clone(), metrics.clone()));
        let now = std::time::Instant::now();
        hub.preload(tail.into_iter().map(|e| reader::frame(e, now)).collect());
        if gap {
            // Events of the dead instance may be missing before the head.
            hub.mark_lost_before(head);
        }
        tracing::info!(head = %head, loaded, "push: resumable events loaded");

        let wake = Wake::new(store::CHANNEL);
        let cluster = Arc::new(Cluster {
            db: db.clone(),
            outbox: Arc::new(Outbox::new(
                settings.buffer_capacity.max(OUTBOX_MIN),
                metrics.clone(),
            )),
            read: wake.signal(),
            stop: CancellationToken::new(),
        });
        // LISTEN holds a connection of its own (Wake::listen).
        tokio::spawn(wake.listen(db.clone(), POLL, cluster.stop.clone()));
        tokio::spawn(reader::run(
            Arc::clone(&hub),
            db.clone(),
            Arc::clone(&cluster.read),
            POLL,
            cluster.stop.clone(),
        ));
        tokio::spawn(Arc::clone(&cluster.outbox).run(
            db.clone(),
            Arc::clone(&cluster.read),
            cluster.stop.clone(),
        ));
        Ok(Self {
            hub,
            metrics,
            cluster: Some(cluster),
        })
    }

    /// A stream in memory only: publishing delivers at once, cursors count
    /// from 1 (unit tests, benches of the fan-out, fuzzing).
    pub fn in_memory(settings: PushSettings, metrics: &Metrics) -> Self {
        let metrics = PushMetrics::new(metrics);
        Self {
            hub: Arc::new(Hub::new(Cursor(0), settings, metrics.clone())),
            metrics,
            cluster: None,
        }
    }

    /// Registers the `push-prune` loop on `workers`: it deletes stored
    /// events older than the freshness window or beyond the buffer
    /// capacity, a bounded batch per step (idempotent: every instance runs
    /// it).
    pub fn spawn_pruner(&self, workers: &mut Workers, settings: &PushSettings) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let db = cluster.db.clone();
        let (capacity, window) = (settings.buffer_capacity, settings.freshness_window);
        workers.spawn_loop("push-prune", PRUNE_INTERVAL, move || {
            let db = db.clone();
            async move {
                let mut conn = db.acquire().await?;
                store::reap_dead_writers(&mut conn).await?;
                drop(conn);
                let deleted = store::prune(&db, capacity, window, PRUNE_BATCH).await?;
                Ok::<_, sqlx::Error>(if deleted == PRUNE_BATCH as u64 {
                    StepOutcome::MoreWork
                } else {
                    StepOutcome::Idle
                })
            }
        });
    }

    /// The last cursor this instance delivered to its gateways, if any.
    pub fn last_cursor(&self) -> Option<Cursor> {
        self.hub.last_cursor()
    }

    /// Waits until every event this instance published before the call is
    /// written to PostgreSQL (or dropped) and delivered to this instance's
    /// gateways; returns the last cursor this instance wrote (in memory:
    /// the last cursor). Unbounded while PostgreSQL is down: callers bound it.
    pub async fn flush(&self) -> Option<Cursor> {
        let Some(cluster) = &self.cluster else {
            return self.last_cursor();
        };
        let target = cluster.outbox.last_seq();
        let mut progress = cluster.outbox.progress();
        let written = progress
            .wait_for(|p| p.done >= target)
            .await
            .ok()
            .and_then(|p| p.cursor)?;
        cluster.read.notify_one();
        let mut delivered = self.hub.delivered();
        delivered.wait_for(|c| *c >= written).await.ok()?;
        Some(written)
    }

    /// Open gateway streams.
    pub fn subscriber_count(&self) -> usize {
        self.hub.subscriber_count()
    }

    /// Marshals `event` and publishes it as a `ClientEvent`; never blocks
    /// (it is queued for PostgreSQL; [`PushService::flush`] waits for it).
    pub fn publish_client_event(
        &self,
        target: ClientTarget,
        correlation: Correlation,
        event: &dyn Event,
    ) -> Result<(), MarshalError> {
        let message = server_pb::ClientEvent {
            user_id: target.user_id.to_string(),
            device_session_id: target
                .device_session_id
                .map(|d| d.to_string())
                .unwrap_or_default(),
            kind: event.kind().to_owned(),
            payload: event.marshal()?,
            event_id: correlation.event_id,
            request_id: correlation.request_id,
            trace_id: correlation.trace_id,
        };
        let body = wire::encode_kind(wire::CLIENT_EVENT, &message);
        self.publish(event.kind(), body);
        Ok(())
    }

    /// Publishes a `SessionInvalidation` for revoked device sessions.
    pub fn publish_session_invalidation(&self, revoked: &SessionsRevoked) {
        let message = server_pb::SessionInvalidation {
            user_id: revoked.user_id.to_string(),
            device_session_ids: revoked
                .device_session_ids
                .iter()
                .map(DeviceSessionId::to_string)
                .collect(),
            reason: revoked.reason.as_str().to_owned(),
        };
        let body = wire::encode_kind(wire::SESSION_INVALIDATION, &message);
        self.publish("session_invalidation", body);
    }

    fn publish(&self, kind: &str, body: BytesMut) {
        match &self.cluster {
            Some(cluster) => cluster.outbox.push(kind, body.freeze()),
            None => {
                self.hub.publish_local(body);
            }
        }
        self.metrics.record_event(kind);
    }

    /// Opens a gateway's stream: `cursor` is the last one it consumed
    /// (`None`: live from now). Replaces an open stream with the same id.
    /// First this instance catches up with what is already committed (up to
    /// the cursor, or the head for a live stream; at most 5 s), so a cursor
    /// another instance issued replays, and "live" starts after every event
    /// committed before the call.
    pub async fn subscribe(
        &self,
        gateway_client_id: &str,
        cursor: Option<Cursor>,
    ) -> Result<Subscription, SubscribeError> {
        if let Some(cluster) = &self.cluster
            && let Ok(head) = store::head(&cluster.db).await
        {
            let target = cursor.map_or(head, |c| c.min(head));
            if self.last_cursor().unwrap_or(Cursor(0)) < target {
                cluster.read.notify_one();
                let mut delivered = self.hub.delivered();
                let caught_up = delivered.wait_for(|c| *c >= target);
                let _ = tokio::time::timeout(CATCH_UP, caught_up).await;
            }
        }
        self.hub.subscribe(gateway_client_id, cursor)
    }

    /// Shutdown: writes what this instance queued and delivers it to its
    /// gateways (bounded by `budget`; what is still unwritten then is lost
    /// and logged), stops the writer and reader, refuses new streams; open
    /// streams deliver what is queued for them, then end.
    pub async fn close(&self, budget: Duration) {
        if let Some(cluster) = &self.cluster {
            if tokio::time::timeout(budget, self.flush()).await.is_err() {
                tracing::warn!(
                    unwritten = cluster.outbox.len(),
                    "push: shutdown budget spent before every queued event was written; they are lost"
                );
            }
            cluster.stop.cancel();
            if cluster.outbox.len() == 0
                && let Err(err) = store::deregister_writer(&cluster.db).await
            {
                tracing::warn!(error = %err, "push: cannot deregister as a writer; the next start will reset resuming gateways");
            }
        }
        self.hub.close();
    }
}

impl Default for PushService {
    /// An in-memory stream with the default settings, recording no metrics
    /// (unit tests of producers).
    fn default() -> Self {
        Self::in_memory(PushSettings::default(), &Metrics::noop())
    }
}

impl fmt::Debug for PushService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushService")
            .field("last_cursor", &self.last_cursor())
            .field("in_memory", &self.cluster.is_none())
            .finish_non_exhaustive()
    }
}

/// Every revocation reaches the gateway as a `SessionInvalidation`
/// (publishing never blocks the revoking request).
impl crate::session::OnSessionsRevoked for PushService {
    fn on_sessions_revoked(&self, event: &SessionsRevoked) {
        self.publish_session_invalidation(event);
    }
}
