//! Login by email code and device sessions (spec §2, §6).
//!
//! - [`model`]: validated values — [`EmailAddress`], [`DevicePublicKey`]
//!   (Ed25519, weak keys refused), [`DeviceInfo`], the 6-digit
//!   [`LoginCode`] and its stored HMAC, the placeholder user-name generator.
//! - [`service`]: [`AuthService`] — request a code, confirm it.
//! - [`sessions`]: [`SessionService`] — device sessions and the cache of
//!   active ones the gateway lookup is served from.
//! - [`events`]: the revocation event other domains subscribe to (push
//!   turns it into `SessionInvalidation` for the gateway).
//! - [`error`]: [`AuthError`] and its API mapping; [`store`]: the SQL.
//!
//! Operator notes and the gateway-facing contract: `docs/auth.md`.

pub mod error;
pub mod events;
pub mod model;
pub mod service;
pub mod sessions;
mod store;

pub use error::AuthError;
pub use events::{RevocationReason, SessionEvents, SessionsRevoked};
pub use model::{DeviceInfo, DevicePublicKey, DeviceSession, EmailAddress, LoginCode};
pub use service::{AuthService, AuthSettings, ChallengeIssued, ConfirmRequest, LoggedIn};
pub use sessions::{RevokeOutcome, SessionService};
