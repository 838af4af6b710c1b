//! Extractors whose rejections use the JSON error shape: `Json`, `Query`,
//! `Path`, and the user identity injected by the gateway (`X-User-ID`).
//!
//! Rejection messages speak the client's language: serde's and axum's texts
//! name Rust types (`expected struct RequestCode`, `u32`, `uuid::Uuid`); they
//! are rewritten into JSON and URL terms, and input they echo back is cut
//! to [`ECHO_MAX_CHARS`] characters.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{
    JsonRejection, MissingJsonContentType, PathRejection, QueryRejection,
};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use serde::de::DeserializeOwned;
use tower_http::timeout::TimeoutError;
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

/// [`Json`] for bodies read into types whose integer fields refuse a whole
/// number spelled as a float (`1.0`): the engine's order types. JSON Schema's
/// `integer` admits `1.0`, so every whole float of the body is read as the
/// integer it is before the body is decoded (a fractional number stays as
/// it is and is refused where an integer is wanted).
#[derive(Debug, Clone, Copy, Default)]
pub struct WholeJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for WholeJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(mut value) = Json::<serde_json::Value>::from_request(req, state).await?;
        integral_floats(&mut value);
        let bytes = serde_json::to_vec(&value).map_err(ApiError::internal)?;
        let axum::Json(body) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Self(body))
    }
}

/// Rewrites every whole-valued float of `value` (`3.0`) as an integer.
fn integral_floats(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(whole) = crate::json_fields::whole(n) {
                *value = Value::from(whole);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats),
        _ => {}
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

pub use crate::json_fields::non_null;

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
    /// Parses `X-User-ID`; missing or malformed → 401 in the error shape,
    /// sent more than once → 400 (which one the gateway meant is unknown).
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Result<Self, ApiError> {
        let mut values = headers.get_all(&USER_ID_HEADER).iter();
        let raw = values.next().ok_or_else(|| {
            ApiError::unauthorized("missing_user_id", "the X-User-ID header is required")
        })?;
        if values.next().is_some() {
            return Err(ApiError::bad_request(
                "duplicate_user_id",
                "the X-User-ID header must be sent once",
            ));
        }
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

/// Longest piece of client input an error message quotes back.
pub const ECHO_MAX_CHARS: usize = 64;

/// Longest error message built from a rejection.
const MESSAGE_MAX_CHARS: usize = 300;

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected `Content-Type: application/json`",
            ),
            JsonRejection::JsonSyntaxError(e) => Self::bad_request(
                "malformed_json",
                format!(
                    "the body is not valid JSON: {}",
                    client_terms(&e.body_text())
                ),
            ),
            JsonRejection::JsonDataError(e) => Self::unprocessable(
                "invalid_body",
                format!(
                    "the body does not match the schema: {}",
                    client_terms(&e.body_text())
                ),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::payload_too_large()
            }
            JsonRejection::BytesRejection(e) if caused_by::<TimeoutError>(&e) => {
                Self::request_timeout()
            }
            _ => Self::bad_request("invalid_body", "the request body could not be read"),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(
            "invalid_query",
            format!(
                "the query string is not valid: {}",
                client_terms(&rejection.body_text())
            ),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        let message = match &rejection {
            PathRejection::FailedToDeserializePathParams(e) => path_problem(e.kind()),
            _ => "the URL path is not valid".to_owned(),
        };
        Self::bad_request("invalid_path", message)
    }
}

/// Whether `error` or one of its sources is an `E`.
fn caused_by<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<E>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// What was wrong with a path parameter, naming the parameter and what it
/// must be, with the value cut short.
fn path_problem(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ParseErrorAtKey {
            key,
            value,
            expected_type,
        } => format!(
            "path parameter `{key}` must be {}, got `{}`",
            type_in_client_terms(expected_type),
            echo(value)
        ),
        ErrorKind::DeserializeError {
            key,
            value,
            message,
        } => format!(
            "path parameter `{key}` is not valid ({}), got `{}`",
            client_terms(message),
            echo(value)
        ),
        ErrorKind::ParseError {
            value,
            expected_type,
        }
        | ErrorKind::ParseErrorAtIndex {
            value,
            expected_type,
            ..
        } => format!(
            "a path parameter must be {}, got `{}`",
            type_in_client_terms(expected_type),
            echo(value)
        ),
        ErrorKind::InvalidUtf8InPathParam { key } => {
            format!("path parameter `{key}` is not valid UTF-8")
        }
        ErrorKind::Message(message) => client_terms(message),
        _ => "the URL path is not valid".to_owned(),
    }
}

/// `value` cut to [`ECHO_MAX_CHARS`] characters (then `…`).
pub fn echo(value: &str) -> Cow<'_, str> {
    echo_at(value, ECHO_MAX_CHARS)
}

/// A Rust type name (`u32`, `uuid::Uuid`, `alloc::string::String`) as the
/// kind of value a client sends.
fn type_in_client_terms(type_name: &str) -> &'static str {
    let short = type_name.rsplit("::").next().unwrap_or(type_name);
    match short {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative whole number",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "bool" => "`true` or `false`",
        "Uuid" => "a UUID",
        "String" | "str" | "char" => "text",
        _ => "a valid value",
    }
}

/// Rewrites a serde / axum rejection text into client terms: drops axum's
/// prefixes, names JSON kinds instead of Rust types, and cuts every quoted
/// piece of input to [`ECHO_MAX_CHARS`] characters.
pub fn client_terms(text: &str) -> String {
    const PREFIXES: &[&str] = &[
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to parse the request body as JSON: ",
        "Failed to deserialize query string: ",
        "Invalid URL: ",
    ];
    let text = PREFIXES
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(text);
    // A field path (`a.b[0]: `) stays; the rest is serde's message.
    let (path, message) = split_field_path(text);
    let message = if message.contains("UUID parsing failed") {
        "expected a UUID".to_owned()
    } else {
        serde_message(message)
    };
    let out = match path {
        Some(path) => format!("`{path}`: {message}"),
        None => message,
    };
    cap_echoes(&out).into_owned()
}

/// Splits `path: message` when the text starts with a field path as
/// serde_path_to_error writes it (identifiers, dots, `[n]`).
fn split_field_path(text: &str) -> (Option<&str>, &str) {
    if let Some((head, rest)) = text.split_once(": ") {
        let is_path = !head.is_empty()
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]?".contains(c));
        let is_message_word = matches!(
            head,
            "invalid type" | "invalid value" | "invalid length" | "unknown variant"
        );
        if is_path && !is_message_word {
            return (Some(head), rest);
        }
    }
    (None, text)
}

/// serde's wording with Rust type names replaced.
fn serde_message(message: &str) -> String {
    let mut out = message
        .replace("invalid type: map", "invalid type: object")
        .replace("invalid type: sequence", "invalid type: array")
        .replace("invalid type: unit value", "invalid type: null")
        .replace("invalid type: floating point", "invalid type: number")
        .replace("invalid digit found in string", "expected a whole number")
        .replace(
            "cannot parse integer from empty string",
            "expected a whole number, got nothing",
        )
        .replace(
            "number too large to fit in target type",
            "the number is too large",
        )
        .replace(
            "number too small to fit in target type",
            "the number is too small",
        );
    if let Some(at) = out.rfind("expected ") {
        let (head, tail) = out.split_at(at + "expected ".len());
        // The expectation may be followed by a position (`at line 1 column 9`).
        let (what, position) = match tail.find(" at line ") {
            Some(i) => tail.split_at(i),
            None => (tail, ""),
        };
        out = format!("{head}{}{position}", expectation(what));
    }
    out
}

/// serde's `expected …` clause in JSON terms.
fn expectation(what: &str) -> Cow<'_, str> {
    let phrase = match what {
        "a sequence" => "an array",
        "a map" => "a JSON object",
        "option" => "a value or null",
        "unit" => "null",
        "a boolean" | "bool" => "`true` or `false`",
        "variant identifier" => "one of the documented values",
        "field identifier" => "a known field name",
        "a string" | "a borrowed string" | "char" => "a string",
        w if w.starts_with("struct ")
            || w.starts_with("tuple struct ")
            || w.starts_with("unit struct ") =>
        {
            if w.starts_with("struct ") {
                "a JSON object"
            } else {
                "a valid value"
            }
        }
        w if w.starts_with("enum ") => "one of the documented values",
        w => match type_in_client_terms(w) {
            "a valid value" => return Cow::Borrowed(what),
            phrase => phrase,
        },
    };
    Cow::Borrowed(phrase)
}

/// The safety net every error message passes ([`ApiError`]'s response):
/// whatever a handler or domain quoted back from the request, a piece of
/// input longer than [`ECHO_MAX_CHARS`] (quoted, or one unbroken word) is
/// cut, and the message to [`MESSAGE_MAX_CHARS`]. Borrowed when nothing
/// is cut, which is almost always.
pub fn cap_echoes(message: &str) -> Cow<'_, str> {
    // A piece already cut keeps its quotes, its `…` and a punctuation mark.
    const WORD_MAX: usize = ECHO_MAX_CHARS + 4;
    let too_long = |word: &str| word.chars().nth(WORD_MAX).is_some();
    if !message.split_whitespace().any(too_long) && message.chars().nth(MESSAGE_MAX_CHARS).is_none()
    {
        return Cow::Borrowed(message);
    }
    let quoted = cap_quoted(message);
    let words: Vec<Cow<'_, str>> = quoted
        .split(' ')
        .map(|word| {
            if too_long(word) {
                echo(word)
            } else {
                Cow::Borrowed(word)
            }
        })
        .collect();
    Cow::Owned(echo_at(&words.join(" "), MESSAGE_MAX_CHARS).into_owned())
}

/// Cuts every `` `…` `` or `"…"` quoted piece longer than
/// [`ECHO_MAX_CHARS`].
fn cap_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MESSAGE_MAX_CHARS + 8));
    let mut rest = text;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = rest[open..].chars().next().unwrap_or('`');
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let close = rest.find(quote).unwrap_or(rest.len());
        out.push_str(&echo(&rest[..close]));
        rest = &rest[close..];
        if let Some(stripped) = rest.strip_prefix(quote) {
            out.push(quote);
            rest = stripped;
        }
    }
    out.push_str(rest);
    out
}

/// `value` cut to `max` characters (then `…`).
fn echo_at(value: &str, max: usize) -> Cow<'_, str> {
    match value.char_indices().nth(max) {
        None => Cow::Borrowed(value),
        Some((end, _)) => Cow::Owned(format!("{}…", &value[..end])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_type_names_become_json_terms() {
        assert_eq!(
            client_terms(
                "Failed to deserialize the JSON body into the target type: invalid type: integer `5`, expected struct RequestCode at line 1 column 1"
            ),
            "invalid type: integer `5`, expected a JSON object at line 1 column 1"
        );
        assert_eq!(
            client_terms(
                "Failed to deserialize the JSON body into the target type: email: invalid type: map, expected a string at line 1 column 10"
            ),
            "`email`: invalid type: object, expected a string at line 1 column 10"
        );
        assert_eq!(
            client_terms(
                "Failed to deserialize query string: limit: invalid digit found in string"
            ),
            "`limit`: expected a whole number"
        );
        assert_eq!(
            client_terms("page_size: invalid type: string \"x\", expected u32"),
            "`page_size`: invalid type: string \"x\", expected a non-negative whole number"
        );
        assert_eq!(
            client_terms("kind: unknown variant `x`, expected one of `a`, `b`"),
            "`kind`: unknown variant `x`, expected one of `a`, `b`"
        );
        assert_eq!(
            client_terms("missing field `email` at line 1 column 2"),
            "missing field `email` at line 1 column 2"
        );
        assert_eq!(
            client_terms(
                "user_id: UUID parsing failed: invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `x` at 1"
            ),
            "`user_id`: expected a UUID"
        );
    }

    #[test]
    fn no_message_names_a_rust_type() {
        for text in [
            "invalid type: integer `5`, expected struct RequestCode",
            "invalid type: string \"x\", expected enum Kind",
            "invalid type: null, expected a sequence",
            "invalid type: string \"x\", expected i64",
            "invalid type: string \"x\", expected tuple struct UserName",
        ] {
            let out = client_terms(text);
            for rust in ["struct", "enum", "sequence", "i64", "u32", "Uuid"] {
                assert!(!out.contains(rust), "{out:?} names {rust}");
            }
        }
    }

    #[test]
    fn echoed_input_is_cut_to_64_characters() {
        let long = "é".repeat(5_000);
        let out = client_terms(&format!(
            "invalid value: string \"{long}\", expected a UUID"
        ));
        assert!(out.chars().count() < 140, "{out}");
        assert!(out.contains(&format!("\"{}…\"", "é".repeat(64))), "{out}");
        assert_eq!(echo("short"), "short");
        assert_eq!(echo(&"x".repeat(65)), format!("{}…", "x".repeat(64)));
    }

    #[test]
    fn any_message_is_cut_where_it_echoes_long_input() {
        assert!(matches!(
            cap_echoes("no admin account `root`"),
            Cow::Borrowed(_)
        ));
        let raw = "x".repeat(5_000);
        let message = format!("mail delivery {raw} does not exist");
        let capped = cap_echoes(&message);
        assert_eq!(
            capped,
            format!("mail delivery {}… does not exist", "x".repeat(64))
        );
        let message = format!("no admin account `{raw}`");
        let capped = cap_echoes(&message);
        assert_eq!(capped, format!("no admin account `{}…`", "x".repeat(64)));
        let many = "word ".repeat(200);
        assert!(cap_echoes(&many).chars().count() <= MESSAGE_MAX_CHARS + 1);
    }

    #[test]
    fn path_problems_name_the_parameter_and_cut_the_value() {
        let value = "a".repeat(5_000);
        let message = path_problem(&ErrorKind::ParseErrorAtKey {
            key: "user_id".into(),
            value: value.clone(),
            expected_type: "uuid::Uuid",
        });
        assert_eq!(
            message,
            format!(
                "path parameter `user_id` must be a UUID, got `{}…`",
                "a".repeat(64)
            )
        );
        let message = path_problem(&ErrorKind::DeserializeError {
            key: "delivery_id".into(),
            value,
            message: "UUID parsing failed: invalid length: expected length 32 for simple format, found 5000".into(),
        });
        assert!(
            message.starts_with(
                "path parameter `delivery_id` is not valid (expected a UUID), got `aaa"
            ),
            "{message}"
        );
        assert!(message.chars().count() < 160, "{message}");
    }
}
