//! The safety net that keeps every error in the JSON error shape, whoever
//! produced it: axum's 405 (its `Allow` header is kept) and its extractor
//! rejections that bypass [`ApiError`], and panics caught by the HTTP edge
//! layer.

use std::any::Any;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Rewrites any non-JSON 4xx/5xx response into the error shape (the HTTP
/// edge layer's response hook). Messages name the route template, never the
/// raw path (unmatched paths are answered in the shape by the fallback).
pub(in crate::server) fn error_shape(
    method: &Method,
    route: &'static str,
    response: Response,
) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, _) = response.into_parts();
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "method_not_allowed",
            format!("{method} is not allowed on {route}"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
        StatusCode::REQUEST_TIMEOUT => ApiError::request_timeout(),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::timeout(),
        StatusCode::NOT_FOUND => ApiError::not_found(format!("nothing found for {method} {route}")),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new(status, "unsupported_media_type", "unsupported content type")
        }
        s if s.is_server_error() => ApiError::new(s, "internal", "internal server error"),
        s => ApiError::new(s, "bad_request", "the request could not be processed"),
    };
    let mut shaped = error.into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A panic becomes a 500 in the error shape; the panic message is logged, never sent.
pub(in crate::server) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    let mut response = ApiError::internal(format!("handler panicked: {detail}")).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
