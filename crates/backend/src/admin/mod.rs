//! Administration: the accounts that may use `/api/v1/admin/*`, how their
//! HTTP Basic credentials are checked, and the audit trail of admin actions.
//!
//! - [`model`]: validated [`Username`] and [`Password`], the cached [`AdminAccount`].
//! - [`password`]: bcrypt (cost 12), always off the async runtime.
//! - [`credentials`]: recently verified credentials, keyed by an HMAC-SHA256
//!   digest under a per-process random key (never the password).
//! - [`throttle`]: sliding windows of failed attempts per username and per
//!   source address, checked before any bcrypt work.
//! - [`audit`]: `admin_audit_log`; other domains record their admin actions
//!   with [`audit::record`] inside their own transaction.
//! - [`service`]: [`AdminService`] — the cache (warmed at startup,
//!   write-through after commit), bootstrap, account management, the
//!   last-enabled-admin guard.
//! - [`store`]: the SQL.
//!
//! Operator notes: `docs/admin.md`.

pub mod audit;
pub mod credentials;
pub mod error;
pub mod model;
pub mod password;
pub mod service;
mod store;
pub mod throttle;

pub use audit::AuditEntry;
pub use error::{AdminError, AuthError};
pub use model::{AdminAccount, AdminPrincipal, Password, PasswordHash, Username};
pub use service::{AdminService, AdminSettings, BootstrapOutcome};
