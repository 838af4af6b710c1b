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
pub(super) fn error_shape(method: &Method, route: &'static str, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, _) = response.into_parts();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            format!("{method} is not allowed on {route}"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("payload_too_large", "request body is too large".to_owned())
        }
        StatusCode::REQUEST_TIMEOUT => (
            "request_timeout",
            "the request body was not received in time".to_owned(),
        ),
        StatusCode::SERVICE_UNAVAILABLE => {
            ("timeout", "the request took too long to process".to_owned())
        }
        StatusCode::NOT_FOUND => ("not_found", format!("nothing found for {method} {route}")),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "unsupported content type".to_owned(),
        ),
        s if s.is_server_error() => ("internal", "internal server error".to_owned()),
        _ => (
            "bad_request",
            "the request could not be processed".to_owned(),
        ),
    };
    let mut shaped = ApiError::new(status, code, message).into_response();
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
pub(super) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
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
