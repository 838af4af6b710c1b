//! The user domain's errors and their mapping onto the API's error shape.

use super::model::{LocaleError, TimeZoneError, UserNameError};
use crate::server::ApiError;

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
    SanctionNotFound(uuid::Uuid),
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

impl From<UserError> for ApiError {
    fn from(err: UserError) -> Self {
        let message = err.to_string();
        match err {
            UserError::InvalidUserName(_) => ApiError::unprocessable("invalid_user_name", message),
            UserError::UserNameTaken(_) => ApiError::conflict("user_name_taken", message),
            UserError::InvalidLocale(_) => ApiError::unprocessable("invalid_locale", message),
            UserError::InvalidTimeZone(_) => ApiError::unprocessable("invalid_time_zone", message),
            UserError::InvalidSanction(_) => ApiError::unprocessable("invalid_sanction", message),
            UserError::InvalidLimits(_) => ApiError::unprocessable("invalid_limits", message),
            UserError::NotFound(_) | UserError::SanctionNotFound(_) => ApiError::not_found(message),
            UserError::SanctionAlreadyLifted => {
                ApiError::conflict("sanction_already_lifted", message)
            }
            UserError::AccountDeleted => ApiError::forbidden("account_deleted", message),
            UserError::AlreadyDeleted => ApiError::conflict("account_already_deleted", message),
            UserError::LoginBanned { expires_at } => ApiError::forbidden("login_banned", message)
                .with_details(serde_json::json!({ "expires_at": expires_at })),
            UserError::Sessions(e) | UserError::Hook(e) => ApiError::internal(format!("{e:#}")),
            UserError::Database(e) => e.into(),
        }
    }
}
