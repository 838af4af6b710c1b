//! The gateway's refusals, in the backend's JSON error shape
//! (`{"error": {"code", "message"}}`).

use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// Why the gateway answered itself instead of forwarding.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the request carries no device session id, timestamp or signature")]
    MissingSignature,
    #[error("the device session id is not a UUID")]
    BadSession,
    #[error("the timestamp is not Unix seconds")]
    BadTimestamp,
    #[error("the timestamp is outside the freshness window")]
    StaleTimestamp,
    #[error("the signature does not match the request")]
    BadSignature,
    #[error("the device session is unknown, revoked or expired")]
    UnknownSession,
    #[error("the device session was revoked")]
    SessionRevoked,
    #[error("the route is not served by the gateway")]
    NotFound,
    #[error("the request body is too large")]
    TooLarge,
    #[error("the backend is not available")]
    BackendUnavailable,
    #[error("the event stream is not available (push is off or the gateway is stopping)")]
    PushUnavailable,
}

impl GatewayError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::MissingSignature => (StatusCode::UNAUTHORIZED, "missing_signature"),
            Self::BadSession => (StatusCode::UNAUTHORIZED, "unknown_session"),
            Self::BadTimestamp => (StatusCode::UNAUTHORIZED, "bad_timestamp"),
            Self::StaleTimestamp => (StatusCode::UNAUTHORIZED, "stale_timestamp"),
            Self::BadSignature => (StatusCode::UNAUTHORIZED, "bad_signature"),
            Self::UnknownSession => (StatusCode::UNAUTHORIZED, "unknown_session"),
            Self::SessionRevoked => (StatusCode::UNAUTHORIZED, "session_revoked"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::BackendUnavailable => (StatusCode::BAD_GATEWAY, "backend_unavailable"),
            Self::PushUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "push_unavailable"),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = serde_json::json!({ "error": { "code": code, "message": self.to_string() } });
        (status, axum::Json(body)).into_response()
    }
}
