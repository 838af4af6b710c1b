//! What the push stream carries: typed events, their targets and
//! correlation, and the cursors gateways resume from.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use prost::bytes::Bytes;

use crate::ids::{DeviceSessionId, UserId};

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
    pub user_id: UserId,
    /// `None`: every device of the user.
    pub device_session_id: Option<DeviceSessionId>,
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
/// Cursors are global — one sequence for every instance sharing the
/// database (`push_head`, migration `0020_push_events.sql`) — consecutive,
/// and keep increasing across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(pub u64);

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

/// One published event: the encoded `PushEvent`, shared by the ring buffer
/// and every subscriber queue.
#[derive(Debug)]
pub(crate) struct Frame {
    pub cursor: Cursor,
    pub at: Instant,
    pub bytes: Bytes,
}
