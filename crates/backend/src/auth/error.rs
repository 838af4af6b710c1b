//! The identity domain's errors and their mapping onto the API's error
//! shape. Codes are stable; `openapi.yaml` lists them per route.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::model::{InvalidDevice, InvalidEmail, InvalidPublicKey};
use crate::mail::MailError;
use crate::server::ApiError;

/// Why requesting or confirming a login code failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the email address is not valid")]
    InvalidEmail(#[from] InvalidEmail),
    #[error("{0}")]
    InvalidPublicKey(#[from] InvalidPublicKey),
    #[error("{0}")]
    InvalidDevice(#[from] InvalidDevice),
    #[error("no such login challenge")]
    ChallengeNotFound,
    #[error("the login code has expired; request a new one")]
    ChallengeExpired,
    #[error("too many wrong codes were entered for this challenge; request a new one")]
    ChallengeBurned,
    #[error("this login code was already used; request a new one")]
    ChallengeConsumed,
    #[error("the code is wrong")]
    WrongCode { attempts_left: u32 },
    #[error("too many failed confirmations for this address; retry later")]
    TooManyAttempts { retry_after: Duration },
    #[error("this account is banned from logging in")]
    LoginBanned { until: Option<DateTime<Utc>> },
    #[error("this account was deleted")]
    AccountDeleted,
    #[error("no unique placeholder user name after {0} attempts")]
    UserNameExhausted(u32),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let message = err.to_string();
        match err {
            AuthError::InvalidEmail(_) => ApiError::unprocessable("invalid_email", message),
            AuthError::InvalidPublicKey(_) => {
                ApiError::unprocessable("invalid_public_key", message)
            }
            AuthError::InvalidDevice(_) => ApiError::unprocessable("invalid_device", message),
            AuthError::ChallengeNotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "challenge_not_found", message)
            }
            AuthError::ChallengeExpired => {
                ApiError::new(StatusCode::GONE, "challenge_expired", message)
            }
            AuthError::ChallengeBurned => {
                ApiError::new(StatusCode::GONE, "challenge_burned", message)
            }
            AuthError::ChallengeConsumed => ApiError::conflict("challenge_consumed", message),
            AuthError::WrongCode { attempts_left } => ApiError::bad_request("wrong_code", message)
                .with_details(json!({ "attempts_left": attempts_left })),
            AuthError::TooManyAttempts { retry_after } => {
                let seconds =
                    (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1);
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message)
                    .with_details(json!({ "retry_after_seconds": seconds }))
                    .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
            }
            AuthError::LoginBanned { until } => ApiError::forbidden("login_banned", message)
                .with_details(json!({ "expires_at": until })),
            AuthError::AccountDeleted => ApiError::forbidden("account_deleted", message),
            AuthError::UserNameExhausted(_) => ApiError::internal(message),
            AuthError::Mail(e) => ApiError::internal(e),
            AuthError::Database(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn throttled_confirmations_carry_retry_after_in_whole_seconds() {
        let r = ApiError::from(AuthError::TooManyAttempts {
            retry_after: Duration::from_millis(2500),
        })
        .into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "3");
    }
}
