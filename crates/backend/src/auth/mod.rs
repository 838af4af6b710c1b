//! Login by email code and device sessions (spec §2, §6).
//!
//! - [`events`]: the revocation event other domains subscribe to (push
//!   turns it into `SessionInvalidation` for the gateway).

pub mod events;

pub use events::{RevocationReason, SessionEvents, SessionsRevoked};
