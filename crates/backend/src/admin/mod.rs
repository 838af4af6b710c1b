//! Administration: the accounts that may use `/api/v1/admin/*`, how their
//! HTTP Basic credentials are checked, and the audit trail's reading side
//! (entries are written through [`crate::audit`]).
//!
//! - [`model`]: validated [`Username`] and [`Password`], the cached [`AdminAccount`].
//! - [`password`]: bcrypt (cost 12), always off the async runtime.
//! - [`credentials`]: recently verified credentials, keyed by an HMAC-SHA256
//!   digest under a per-process random key (never the password).
//! - [`throttle`]: sliding windows of failed attempts per username and per
//!   source address, checked before any bcrypt work.
//! - [`service`]: [`AdminService`] — the cache (warmed at startup,
//!   write-through after commit), bootstrap, account management, the
//!   last-enabled-admin guard.
//! - [`store`]: the SQL.
//!
//! Uses: [`crate::audit`] only.
//!
//! Operator notes: `docs/admin.md`.

pub mod credentials;
pub mod error;
pub mod model;
pub mod password;
pub mod service;
mod store;
pub mod throttle;

pub use crate::audit::AuditEntry;
pub use error::{AdminError, AuthError};
pub use model::{AdminAccount, AdminPrincipal, Password, PasswordHash, Username};
pub use service::{AdminService, AdminSettings, BootstrapOutcome};

/// The admin domain's install step: the service, the bootstrap admin
/// (idempotent) and the account-cache warm-up.
pub async fn install(
    asm: &mut crate::assembly::Assembly,
    config: &crate::config::Config,
) -> anyhow::Result<AdminService> {
    use anyhow::Context as _;
    let admin = AdminService::new(asm.db.clone(), &AdminSettings::from_config(config));
    if let (Some(user), Some(password)) = (
        &config.admin.bootstrap_user,
        &config.admin.bootstrap_password,
    ) {
        let outcome = admin.bootstrap(user, password.expose()).await.context(
            "cannot bootstrap the admin account (BACKEND_ADMIN_BOOTSTRAP_USER / _PASSWORD)",
        )?;
        tracing::info!(outcome = ?outcome, "admin bootstrap");
    }
    asm.warm(admin.warmup());
    asm.caches.register(std::sync::Arc::new(admin.clone()));
    Ok(admin)
}
