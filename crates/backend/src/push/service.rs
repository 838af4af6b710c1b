//! [`PushService`]: publish events, subscribe gateways, close at shutdown.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::PgPool;

use super::hub::{Hub, SubscribeError, Subscription};
use super::metrics::PushMetrics;
use super::model::{ClientTarget, Correlation, Cursor, Event, MarshalError};
use super::{server_pb, store, wire};
use crate::config::Config;
use crate::ids::DeviceSessionId;
use crate::session::SessionsRevoked;
use crate::telemetry::Metrics;

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
                .map(DeviceSessionId::to_string)
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

/// Every revocation reaches the gateway as a `SessionInvalidation`
/// (publishing never blocks the revoking request).
impl crate::session::OnSessionsRevoked for PushService {
    fn on_sessions_revoked(&self, event: &SessionsRevoked) {
        self.publish_session_invalidation(event);
    }
}
