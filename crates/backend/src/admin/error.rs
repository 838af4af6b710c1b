//! The admin domain's errors and their mapping onto the API's error shape.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};

use super::model::{PasswordError, UsernameError};
use super::password::HashError;
use crate::server::ApiError;

/// The realm sent in `WWW-Authenticate` with every 401 of the admin group.
pub const REALM: &str = "galaxy-admin";
/// The `WWW-Authenticate` value of that 401 (spec §12).
pub const CHALLENGE: &str = "Basic realm=\"galaxy-admin\"";

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

impl From<AdminError> for ApiError {
    fn from(err: AdminError) -> Self {
        let message = err.to_string();
        match err {
            AdminError::InvalidUsername(_) => ApiError::unprocessable("invalid_username", message),
            AdminError::InvalidPassword(_) => ApiError::unprocessable("invalid_password", message),
            AdminError::NotFound(_) => ApiError::not_found(message),
            AdminError::UsernameTaken(_) => ApiError::conflict("admin_account_exists", message),
            AdminError::LastEnabledAdmin(_) => ApiError::conflict(
                "last_enabled_admin",
                format!("{message}; enable or create another admin first"),
            ),
            AdminError::Hash(e) => ApiError::internal(e),
            AdminError::Database(e) => e.into(),
        }
    }
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

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let with_challenge = |e: ApiError| {
            e.with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(CHALLENGE),
            )
        };
        match err {
            AuthError::MissingCredentials => with_challenge(ApiError::unauthorized(
                "missing_credentials",
                "HTTP Basic credentials are required",
            )),
            AuthError::InvalidCredentials => with_challenge(ApiError::unauthorized(
                "invalid_credentials",
                "the username or password is not valid",
            )),
            AuthError::Throttled { retry_after } => {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    "too many failed sign-in attempts; retry later",
                )
                .with_details(serde_json::json!({ "retry_after_seconds": seconds }))
                .with_header(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)))
            }
            AuthError::Hash(e) => ApiError::internal(e),
            AuthError::Database(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    #[test]
    fn a_401_carries_the_basic_challenge_with_the_realm() {
        let response = ApiError::from(AuthError::InvalidCredentials).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert_eq!(challenge, format!("Basic realm=\"{REALM}\""));
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let response = ApiError::from(AuthError::Throttled {
            retry_after: Duration::from_millis(1500),
        })
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let response = ApiError::from(AuthError::Throttled {
            retry_after: Duration::from_millis(1),
        })
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
