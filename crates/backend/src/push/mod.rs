//! The gRPC push stream to the gateway (spec §7).
//!
//! Producers hand [`PushService`] a typed [`Event`]; the service marshals it
//! at publish time, assigns a cursor and fans it out to every subscribed
//! gateway. (Skeleton: the stream, ring buffer and subscribers arrive with
//! the push work; the producer-facing API below is the contract.)

use std::fmt;

use uuid::Uuid;

use crate::auth::SessionsRevoked;

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

/// A position in the push sequence: zero-padded decimal `u64` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(pub u64);

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:020}", self.0)
    }
}

/// Publishing into the push stream. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PushService {}

impl PushService {
    /// Marshals `event` and publishes it as a `ClientEvent`; never blocks on
    /// subscribers.
    pub fn publish_client_event(
        &self,
        target: ClientTarget,
        correlation: Correlation,
        event: &dyn Event,
    ) -> Result<Cursor, MarshalError> {
        let _ = (target, correlation, event.marshal()?);
        Ok(Cursor(0))
    }

    /// Publishes a `SessionInvalidation` for revoked device sessions.
    pub fn publish_session_invalidation(&self, revoked: &SessionsRevoked) -> Cursor {
        let _ = revoked;
        Cursor(0)
    }
}
