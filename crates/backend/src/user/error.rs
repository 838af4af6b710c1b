//! The user domain's errors (their HTTP answers: `server/errors/user.rs`).

use super::model::{LocaleError, TimeZoneError, UserNameError};

/// Why a user operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("invalid user name: {0}")]
    InvalidUserName(#[from] UserNameError),
    #[error("the user name `{0}` is taken")]
    UserNameTaken(String),
    #[error("invalid locale: {0}")]
    InvalidLocale(#[from] LocaleError),
    #[error("invalid time zone: {0}")]
    InvalidTimeZone(#[from] TimeZoneError),
    #[error("invalid sanction: {0}")]
    InvalidSanction(&'static str),
    #[error("invalid limits: {0}")]
    InvalidLimits(&'static str),
    #[error("no account {0}")]
    NotFound(String),
    #[error("no sanction {0} for this user")]
    SanctionNotFound(crate::ids::SanctionId),
    #[error("the sanction was already lifted")]
    SanctionAlreadyLifted,
    /// The caller's account is soft-deleted (user group).
    #[error("the account is deleted")]
    AccountDeleted,
    /// An admin acted on a soft-deleted account.
    #[error("the account is already deleted")]
    AlreadyDeleted,
    /// The caller has an active login ban (user group).
    #[error("the account is banned from logging in")]
    LoginBanned {
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    #[error("revoking sessions failed: {0}")]
    Sessions(#[source] anyhow::Error),
    #[error("an OnUserDeleted hook failed: {0:#}")]
    Hook(#[source] anyhow::Error),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
