//! HTTP answers of the admin domain's errors.

use axum::http::{HeaderValue, StatusCode, header};

use crate::admin::{AdminError, AuthError};
use crate::server::ApiError;

/// The `WWW-Authenticate` value of every 401 of the admin group (spec §12).
const CHALLENGE: &str = "Basic realm=\"galaxy-admin\"";

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
    use std::time::Duration;

    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn a_401_carries_the_basic_challenge_with_the_realm() {
        let response = ApiError::from(AuthError::InvalidCredentials).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert_eq!(challenge, "Basic realm=\"galaxy-admin\"");
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
