//! Push fan-out: the gateway's one `SubscribePush` stream to the backend
//! ([`subscriber`]), the routing of its events to the open client streams
//! with a buffer for client resume ([`hub`]), and the client streams' wire
//! format, server-sent events ([`sse`]).

pub mod hub;
pub mod sse;
pub mod subscriber;

pub use hub::{ClientStream, Hub, HubSettings, Resume};
pub use subscriber::Subscriber;

/// The client of `galaxy.push.v1.Push`, generated from the backend's proto.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("galaxy.push.v1");
}

/// The upstream subscription, as the gateway sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushStatus {
    /// A stream to the backend is open now.
    pub connected: bool,
    /// Streams opened since the gateway started (the first one included).
    pub subscriptions: u64,
}
