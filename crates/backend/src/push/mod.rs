//! The gRPC push stream to the gateway (spec §7; operator notes in
//! `docs/push.md`, design in `docs/decisions/0010-push-through-postgres.md`).
//!
//! Producers hand [`PushService`] a typed [`Event`]; the service marshals it
//! at publish time and queues the encoded `PushEvent` body for PostgreSQL.
//! Every instance sharing the database writes its events to `push_events`
//! (one global [`Cursor`] sequence) and reads everybody's back in cursor
//! order, fanning the shared frame out to its subscribed gateways
//! (`docs/decisions/0010-push-through-postgres.md`).
//!
//! - `outbox` — this instance's unwritten events and the writer;
//! - `reader` — reads every instance's events into the hub;
//! - `hub` — the subscribers, resume points ([`Resume`]);
//! - `ring` — recent events for resuming gateways (TTL + capacity);
//! - `queue` — one gateway's bounded drop-oldest queue;
//! - `wire` — the encoded `PushEvent` the generated server streams;
//! - [`pb`] — the generated messages and client (tests, benches, gateway);
//! - `metrics` — `grpc_push_subscribers`, `grpc_push_events_total{kind}`,
//!   `grpc_push_dropped_total{gateway_client_id}`;
//! - `model` — events, targets, cursors; `service` — [`PushService`];
//! - `store` — the SQL (`push_head`, `push_events`).
//!
//! Uses: PostgreSQL (the events, `LISTEN galaxy_push`) and
//! [`crate::session`]'s revocation event.
//! The gRPC handler is `server::grpc`; revocations arrive through
//! [`crate::session::SessionEvents`] (wired in `app.rs`).

mod hub;
pub mod metrics;
pub mod model;
mod outbox;
mod queue;
mod reader;
mod ring;
pub mod service;
pub mod store;
pub mod wire;

pub use hub::{Delivery, ResetReason, Resume, SubscribeError, Subscription};
pub(crate) use model::Frame;
pub use model::{ClientTarget, Correlation, Cursor, Event, InvalidCursor, JsonEvent, MarshalError};
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
