//! Device sessions (spec §2, §6): a session binds a device's Ed25519 public
//! key to a user. The identity domain creates them at login; the user
//! domain lists and revokes them (and revokes them all on a login ban or a
//! soft delete); the gateway resolves them on every request through the
//! cache of ACTIVE sessions.
//!
//! - [`model`]: [`DevicePublicKey`] (weak keys refused), [`DeviceInfo`],
//!   the stored [`DeviceSession`].
//! - [`service`]: [`SessionService`] — create and revoke inside the
//!   caller's transaction, the cache after commit, the gateway lookup body.
//! - [`events`]: the revocation event ([`SessionsRevoked`]); the push
//!   domain turns it into `SessionInvalidation` for the gateway (wired in
//!   `app.rs`).
//! - [`store`]: the SQL of `device_sessions`.
//!
//! Uses: PostgreSQL and the readiness registry only; it sits below
//! `auth` and `user`, which both call it.

pub mod events;
pub mod model;
pub mod service;
mod store;

pub use events::{OnSessionsRevoked, RevocationReason, SessionEvents, SessionsRevoked};
pub use model::{DeviceInfo, DevicePublicKey, DeviceSession, InvalidDevice, InvalidPublicKey};
pub use service::{RevokeOutcome, SessionLimits, SessionService};

/// The session domain's install step: the service with the reactions to
/// revocations, the active-session cache warm-up, and the cache's
/// registration for other instances' writes.
pub fn install(
    asm: &mut crate::assembly::Assembly,
    limits: SessionLimits,
    on_revoked: Vec<std::sync::Arc<dyn OnSessionsRevoked>>,
) -> SessionService {
    let sessions = SessionService::new(asm.db.clone(), SessionEvents::new(on_revoked), limits);
    asm.warm(sessions.warmup());
    asm.caches.register(std::sync::Arc::new(sessions.clone()));
    sessions.announce_to(asm.caches.clone());
    sessions
}
