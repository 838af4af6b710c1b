//! Extractors whose rejections use the JSON error shape: `Json`, `Query`,
//! `Path`, and the user identity injected by the gateway (`X-User-ID`).

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, MissingJsonContentType};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, header};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::ids::UserId;

use super::error::ApiError;

/// `axum::Json` with errors in the JSON error shape (400/413/415/422). Every
/// request body of the contract is a JSON object: a top-level array is
/// refused (422 `invalid_body`), although serde would read a struct from
/// one (`[null, null]` as `{"locale": null, "time_zone": null}`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(JsonRejection::from(MissingJsonContentType::default()).into());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(JsonRejection::from)?;
        if bytes.trim_ascii_start().first() == Some(&b'[') {
            return Err(ApiError::unprocessable(
                "invalid_body",
                "the body must be a JSON object",
            ));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Self(value))
    }
}

/// `application/json` or `application/*+json`, as `axum::Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype
                .rsplit_once('+')
                .is_some_and(|(_, suffix)| suffix.eq_ignore_ascii_case("json")))
}

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

/// For `#[serde(default, deserialize_with = "non_null")]` on an optional
/// field the contract types as not nullable: absent → `None`, a value →
/// `Some`, `null` → an error (plain `Option` would take `null` as absent).
pub fn non_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

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
