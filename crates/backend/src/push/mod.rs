//! The gRPC push stream to the gateway (spec §7; operator notes in
//! `docs/push.md`, cursor design in `docs/decisions/0006-push-cursors.md`).
//!
//! Producers hand [`PushService`] a typed [`Event`]; the service marshals it
//! at publish time, encodes the `PushEvent` once, assigns the next
//! [`Cursor`] and fans the shared frame out to every subscribed gateway.
//!
//! - `hub` — cursors, the subscribers, resume points ([`Resume`]);
//! - `ring` — recent events for resuming gateways (TTL + capacity);
//! - `queue` — one gateway's bounded drop-oldest queue;
//! - `wire` — the encoded `PushEvent` the generated server streams;
//! - [`pb`] — the generated messages and client (tests, benches, gateway);
//! - `metrics` — `grpc_push_subscribers`, `grpc_push_events_total{kind}`,
//!   `grpc_push_dropped_total{gateway_client_id}`;
//! - `store` — the cursor epoch taken at startup.
//!
//! The gRPC handler is `server::grpc`; revocations arrive through
//! [`crate::session::SessionEvents`] (wired in `app.rs`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use prost::bytes::Bytes;
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::Config;
use crate::session::SessionsRevoked;
use crate::telemetry::Metrics;

mod hub;
pub mod metrics;
mod queue;
mod ring;
pub mod store;
pub mod wire;

use hub::Hub;
pub use hub::{Delivery, ResetReason, Resume, SubscribeError, Subscription};
use metrics::PushMetrics;

/// The generated `galaxy.push.v1` messages and the client.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/push_client/galaxy.push.v1.rs"));
}

/// The generated server; `PushEvent` is [`wire::EncodedPushEvent`].
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub(crate) mod server_pb {
    include!(concat!(env!("OUT_DIR"), "/push_server/galaxy.push.v1.rs"));
}

pub(crate) use server_pb::push_server::{Push, PushServer};

/// The encoded descriptor of `push.proto`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/push_descriptor.bin"));

/// A typed client event. `marshal` runs at publish time.
pub trait Event: Send + Sync {
    /// The notification kind, e.g. `lobby.invite.received`.
    fn kind(&self) -> &str;
    /// The wire payload (FlatBuffers per kind; JSON for [`JsonEvent`]).
    fn marshal(&self) -> Result<Vec<u8>, MarshalError>;
}

/// The safety net for a kind without a schema: the payload as JSON.
#[derive(Debug, Clone)]
pub struct JsonEvent {
    pub kind: String,
    pub payload: serde_json::Value,
}

impl Event for JsonEvent {
    fn kind(&self) -> &str {
        &self.kind
    }

    fn marshal(&self) -> Result<Vec<u8>, MarshalError> {
        serde_json::to_vec(&self.payload).map_err(|e| MarshalError(e.to_string()))
    }
}

/// An event could not be encoded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot marshal the push event: {0}")]
pub struct MarshalError(pub String);

/// Who a client event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTarget {
    pub user_id: Uuid,
    /// `None`: every device of the user.
    pub device_session_id: Option<Uuid>,
}

/// Correlation strings the gateway re-emits unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Correlation {
    /// The notification route id.
    pub event_id: String,
    /// The intent's idempotency key.
    pub request_id: String,
    /// The active trace id (may be empty).
    pub trace_id: String,
}

/// Bits of a cursor holding the per-process counter; the bits above hold
/// the process's epoch (`push_epochs`).
pub const COUNTER_BITS: u32 = 40;
/// The largest counter value of one epoch.
pub const COUNTER_MASK: u64 = (1 << COUNTER_BITS) - 1;

/// A position in the push sequence: zero-padded decimal `u64` on the wire,
/// `epoch << 40 | counter`. Cursors of one process are consecutive; a later
/// process's cursors are all larger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(pub u64);

impl Cursor {
    /// The epoch of the process that issued this cursor.
    pub const fn epoch(self) -> u64 {
        self.0 >> COUNTER_BITS
    }

    /// The position within that process (1 = its first event).
    pub const fn counter(self) -> u64 {
        self.0 & COUNTER_MASK
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:020}", self.0)
    }
}

/// A cursor string that is not a decimal `u64`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a push cursor is a decimal uint64")]
pub struct InvalidCursor;

impl FromStr for Cursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidCursor);
        }
        s.parse().map(Cursor).map_err(|_| InvalidCursor)
    }
}

/// Tuning of the stream. Built from [`Config`] ([`PushSettings::from_config`]).
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

/// One published event: the encoded `PushEvent`, shared by the ring buffer
/// and every subscriber queue.
#[derive(Debug)]
pub(crate) struct Frame {
    pub cursor: Cursor,
    pub at: Instant,
    pub bytes: Bytes,
}

/// Publishing into and subscribing to the push stream. Cheap to clone;
/// clones share one stream.
#[derive(Clone)]
pub struct PushService {
    hub: Arc<Hub>,
}

impl PushService {
    /// Takes this process's cursor epoch from PostgreSQL (so its cursors are
    /// above every cursor an earlier process issued) and starts an empty
    /// stream.
    pub async fn start(
        db: &PgPool,
        settings: PushSettings,
        metrics: &Metrics,
    ) -> anyhow::Result<Self> {
        let epoch = store::next_epoch(db)
            .await
            .context("cannot take a push cursor epoch (sequence push_epochs)")?;
        tracing::info!(epoch, "push: cursor epoch taken");
        Ok(Self::with_epoch(epoch, settings, metrics))
    }

    /// A stream with a given epoch (unit tests, benches).
    pub fn with_epoch(epoch: u64, settings: PushSettings, metrics: &Metrics) -> Self {
        Self {
            hub: Arc::new(Hub::new(epoch, settings, PushMetrics::new(metrics))),
        }
    }

    /// This process's epoch (the high bits of its cursors).
    pub fn epoch(&self) -> u64 {
        self.hub.epoch()
    }

    /// The last cursor issued, if any.
    pub fn last_cursor(&self) -> Option<Cursor> {
        self.hub.last_cursor()
    }

    /// Open gateway streams.
    pub fn subscriber_count(&self) -> usize {
        self.hub.subscriber_count()
    }

    /// Marshals `event` and publishes it as a `ClientEvent`; never blocks on
    /// subscribers.
    pub fn publish_client_event(
        &self,
        target: ClientTarget,
        correlation: Correlation,
        event: &dyn Event,
    ) -> Result<Cursor, MarshalError> {
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
        Ok(self.hub.publish(event.kind(), body))
    }

    /// Publishes a `SessionInvalidation` for revoked device sessions.
    pub fn publish_session_invalidation(&self, revoked: &SessionsRevoked) -> Cursor {
        let message = server_pb::SessionInvalidation {
            user_id: revoked.user_id.to_string(),
            device_session_ids: revoked
                .device_session_ids
                .iter()
                .map(Uuid::to_string)
                .collect(),
            reason: revoked.reason.as_str().to_owned(),
        };
        let body = wire::encode_kind(wire::SESSION_INVALIDATION, &message);
        self.hub.publish("session_invalidation", body)
    }

    /// Opens a gateway's stream: `cursor` is the last one it consumed
    /// (`None`: live from now). Replaces an open stream with the same id.
    pub fn subscribe(
        &self,
        gateway_client_id: &str,
        cursor: Option<Cursor>,
    ) -> Result<Subscription, SubscribeError> {
        self.hub.subscribe(gateway_client_id, cursor)
    }

    /// Shutdown: refuse new streams; open streams deliver what is queued for
    /// them, then end.
    pub fn close(&self) {
        self.hub.close();
    }
}

impl Default for PushService {
    /// An in-memory stream with epoch 0 and the default settings, recording
    /// no metrics (unit tests of producers).
    fn default() -> Self {
        Self::with_epoch(0, PushSettings::default(), &Metrics::noop())
    }
}

impl fmt::Debug for PushService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushService")
            .field("epoch", &self.hub.epoch())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;

/// Every revocation reaches the gateway as a `SessionInvalidation`
/// (publishing never blocks the revoking request).
impl crate::session::OnSessionsRevoked for PushService {
    fn on_sessions_revoked(&self, event: &SessionsRevoked) {
        self.publish_session_invalidation(event);
    }
}
