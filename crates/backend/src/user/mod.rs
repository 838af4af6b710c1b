//! Accounts, settings, entitlements, sanctions and soft delete (spec §2, §6).
//!
//! - [`model`]: validated [`UserName`], [`Locale`], [`TimeZone`]; tiers and
//!   [`EntitlementSnapshot`]s; [`Sanction`]s; the cached [`UserRecord`].
//! - [`service`]: [`UserService`] — the accounts cache (warmed at startup,
//!   write-through after commit), the user-group guard's checks
//!   ([`UserService::authorize`], [`UserService::active_login_ban`]), own
//!   account changes, admin sanctions/limits, and the soft delete.
//! - [`hooks`]: [`OnUserDeleted`], which later domains register with so a
//!   soft delete reaches them inside the deleting transaction.
//! - [`store`]: the SQL (`user_settings`, `user_entitlements`,
//!   `user_sanctions`, and the user-domain columns of `accounts`).
//!
//! Uses: [`crate::session`] (revokes sessions on a login ban or a soft
//! delete) and [`crate::audit`]. The notification domain reads account
//! emails with [`email_of`].
//!
//! Operator notes: `docs/users.md`.

pub mod emails;
pub mod error;
pub mod hooks;
pub mod model;
pub mod service;
pub mod store;

pub use emails::email_of;
pub use error::UserError;
pub use hooks::{OnUserDeleted, UserDeletedHooks};
pub use model::{
    Account, EntitlementSnapshot, Locale, Sanction, SanctionKind, Settings, Tier, TimeZone,
    UserName, UserRecord,
};
pub use service::{DeletedBy, EntitlementChange, UserService};

/// The user domain's install step: the service with the soft-delete hooks
/// of the domains above it, the accounts-cache warm-up and its registration
/// for other instances' writes.
pub fn install(
    asm: &mut crate::assembly::Assembly,
    sessions: crate::session::SessionService,
    on_deleted: Vec<std::sync::Arc<dyn OnUserDeleted>>,
) -> UserService {
    let users = UserService::new(asm.db.clone(), sessions, UserDeletedHooks::new(on_deleted));
    asm.warm(users.warmup());
    asm.caches.register(std::sync::Arc::new(users.clone()));
    users.announce_to(asm.caches.clone());
    users
}
