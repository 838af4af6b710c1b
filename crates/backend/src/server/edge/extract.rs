//! Extractors whose rejections use the JSON error shape: `Json`, `Query`,
//! `Path`, and the user identity injected by the gateway (`X-User-ID`).

use axum::extract::FromRequestParts;
use axum::http::HeaderName;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::ids::UserId;

use super::error::ApiError;

/// `axum::Json` with errors in the JSON error shape (400/413/415/422).
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with errors in the JSON error shape.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` with errors in the JSON error shape.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The header the gateway uses to pass the authenticated user.
/// A `HeaderName`, not a `&str`: a lookup by string parses the name first.
pub const USER_ID_HEADER: HeaderName = HeaderName::from_static("x-user-id");

/// The end user of a `/api/v1/user/*` request, as asserted by the gateway
/// (the user-group guard has already refused a missing or malformed header,
/// and a deleted or banned account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: UserId,
}

impl AuthUser {
    /// Parses `X-User-ID`; missing or malformed → 401 in the error shape.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Result<Self, ApiError> {
        let raw = headers.get(&USER_ID_HEADER).ok_or_else(|| {
            ApiError::unauthorized("missing_user_id", "the X-User-ID header is required")
        })?;
        Uuid::try_parse_ascii(raw.as_bytes().trim_ascii())
            .ok()
            .map(|id| Self {
                user_id: UserId(id),
            })
            .ok_or_else(|| {
                ApiError::unauthorized("invalid_user_id", "the X-User-ID header must be a UUID")
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers)
    }
}
