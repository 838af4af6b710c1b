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
//! - `model` — events, targets, cursors; `service` — [`PushService`];
//! - `store` — the cursor epoch taken at startup.
//!
//! Uses: PostgreSQL (the epoch) and [`crate::session`]'s revocation event.
//! The gRPC handler is `server::grpc`; revocations arrive through
//! [`crate::session::SessionEvents`] (wired in `app.rs`).

mod hub;
pub mod metrics;
pub mod model;
mod queue;
mod ring;
pub mod service;
pub mod store;
pub mod wire;

pub use hub::{Delivery, ResetReason, Resume, SubscribeError, Subscription};
pub(crate) use model::Frame;
pub use model::{
    COUNTER_BITS, COUNTER_MASK, ClientTarget, Correlation, Cursor, Event, InvalidCursor, JsonEvent,
    MarshalError,
};
pub use service::{PushService, PushSettings};

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

#[cfg(test)]
mod tests;
