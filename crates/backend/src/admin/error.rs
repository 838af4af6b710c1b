//! The admin domain's errors (their HTTP answers: `server/errors/admin.rs`).

use std::time::Duration;

use super::model::{PasswordError, UsernameError};
use super::password::HashError;

/// Why an admin operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid username: {0}")]
    InvalidUsername(#[from] UsernameError),
    #[error("invalid password: {0}")]
    InvalidPassword(#[from] PasswordError),
    #[error("no admin account `{0}`")]
    NotFound(String),
    #[error("an admin account `{0}` already exists")]
    UsernameTaken(String),
    #[error("`{0}` is the last enabled admin account")]
    LastEnabledAdmin(String),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Why a request could not be authenticated. Unknown username, wrong
/// password and disabled account are deliberately one case.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("HTTP Basic credentials are required")]
    MissingCredentials,
    #[error("the credentials are not valid")]
    InvalidCredentials,
    #[error("too many failed attempts")]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
