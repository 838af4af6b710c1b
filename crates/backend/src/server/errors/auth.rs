//! HTTP answers of the identity domain's errors. Codes are stable;
//! `openapi.yaml` lists them per route.

use axum::http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::auth::AuthError;
use crate::server::ApiError;

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
                too_many("too_many_attempts", message, retry_after)
            }
            AuthError::TooManyRequests { retry_after } => {
                too_many("too_many_requests", message, retry_after)
            }
            AuthError::LoginBanned { until } => ApiError::forbidden("login_banned", message)
                .with_details(json!({ "expires_at": until })),
            AuthError::AccountDeleted => ApiError::forbidden("account_deleted", message),
            AuthError::UserNameExhausted(_) => ApiError::internal(message),
            // The outbox's database failing is the database failing (503).
            AuthError::Mail(crate::mail::MailError::Database(e)) => e.into(),
            AuthError::Mail(e) => ApiError::internal(e),
            AuthError::Database(e) => e.into(),
        }
    }
}

/// 429 with `Retry-After` (whole seconds, rounded up) and the same number
/// in `details.retry_after_seconds`.
fn too_many(code: &'static str, message: String, retry_after: std::time::Duration) -> ApiError {
    let seconds = (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1);
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        .with_details(json!({ "retry_after_seconds": seconds }))
        .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;
    use std::time::Duration;

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
