//! A small async HTTP client for the Galaxy API as players and operators
//! reach it: unsigned `public_*` calls and device-signed `user_*` calls
//! through the gateway (the request signature of `galaxy_wire::signature`,
//! docs/auth.md "Reference gateway"), and HTTP Basic `admin_*` calls straight
//! to the backend (the gateway does not forward the admin group).
//!
//! Every call answers the response body as JSON ([`Value::Null`] for an empty
//! body) or a [`ClientError`]; an error answer of the API is parsed from its
//! one shape `{"error": {"code", "message", "details"}}` into [`ApiError`].

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use reqwest::{Method, RequestBuilder, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use galaxy_wire::signature::{self, SESSION_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// An error answer of the API: the HTTP status and the documented error
/// shape's `code`, `message` and optional `details`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Stable machine-readable code (`turn_already_closed`, …).
    pub code: String,
    /// Human-readable message from the server.
    pub message: String,
    /// Code-specific details, when the server sent any.
    pub details: Option<Value>,
}

impl ApiError {
    /// Parses an error answer; a body that is not the error shape becomes
    /// `http_<status>` with the body's start as the message.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Shape {
            error: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            code: String,
            #[serde(default)]
            message: String,
            #[serde(default)]
            details: Option<Value>,
        }
        match serde_json::from_slice::<Shape>(body) {
            Ok(Shape { error }) => Self {
                status,
                code: error.code,
                message: error.message,
                details: error.details,
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.trim().chars().take(200).collect();
                Self {
                    status,
                    code: format!("http_{status}"),
                    message: if text.is_empty() {
                        format!("the server answered {status}")
                    } else {
                        text
                    },
                    details: None,
                }
            }
        }
    }

    /// A detail field, when present.
    pub fn detail(&self, name: &str) -> Option<&Value> {
        self.details.as_ref().and_then(|d| d.get(name))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Why a call did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The API answered with an error.
    #[error("{0}")]
    Api(ApiError),
    /// The server could not be reached (connection refused, DNS, timeout).
    #[error("cannot reach {what} at {url}: {reason}")]
    Unreachable {
        /// `the gateway` or `the backend`.
        what: &'static str,
        /// The base URL tried.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// A signed call without a device session (not logged in).
    #[error("not logged in")]
    NotLoggedIn,
    /// An admin call without admin credentials.
    #[error("no admin credentials")]
    NoAdminCredentials,
    /// The answer could not be read as expected.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl From<ApiError> for ClientError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

/// A logged-in device: its Ed25519 key and the device session id the
/// backend bound to the key's public half.
#[derive(Clone)]
pub struct Device {
    /// The device's signing key.
    pub key: SigningKey,
    /// The device session id (a UUID) from login.
    pub session_id: String,
}

impl Device {
    /// Base64 (standard) of the 32-byte public key, as login sends it.
    pub fn public_key_b64(key: &SigningKey) -> String {
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes())
    }
}

/// Admin credentials for HTTP Basic.
#[derive(Clone)]
pub struct AdminCredentials {
    /// Admin username.
    pub user: String,
    /// Admin password.
    pub password: String,
}

/// `202` answer of a login code request.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct LoginChallenge {
    /// The challenge to confirm.
    pub challenge_id: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
}

/// Answer of a confirmed login.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct LoggedIn {
    /// The account.
    pub user_id: String,
    /// The new device session.
    pub device_session_id: String,
    /// Whether the account was created by this login.
    pub account_created: bool,
}

/// The API client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    gateway: String,
    backend: String,
    device: Option<Device>,
    admin: Option<AdminCredentials>,
}

/// Where a call goes.
#[derive(Clone, Copy)]
enum Target {
    Gateway,
    Backend,
}

impl Client {
    /// A client for the gateway at `gateway_url` (public and user calls) and
    /// the backend at `backend_url` (admin calls); trailing slashes are
    /// ignored.
    pub fn new(gateway_url: &str, backend_url: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| ClientError::Decode(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            gateway: gateway_url.trim_end_matches('/').to_owned(),
            backend: backend_url.trim_end_matches('/').to_owned(),
            device: None,
            admin: None,
        })
    }

    /// The same client signing user calls as `device`.
    pub fn with_device(mut self, device: Device) -> Self {
        self.device = Some(device);
        self
    }

    /// The same client sending `credentials` on admin calls.
    pub fn with_admin(mut self, credentials: AdminCredentials) -> Self {
        self.admin = Some(credentials);
        self
    }

    /// The device user calls are signed with, if any.
    pub fn device(&self) -> Option<&Device> {
        self.device.as_ref()
    }

    /// The gateway's base URL.
    pub fn gateway_url(&self) -> &str {
        &self.gateway
    }

    /// The backend's base URL.
    pub fn backend_url(&self) -> &str {
        &self.backend
    }

    // ---- public group (gateway, unsigned) ----

    /// `GET` a public route.
    pub async fn public_get(&self, path: &str) -> Result<Value, ClientError> {
        let call = self.http.get(self.url(Target::Gateway, path));
        json_of(self.send(Target::Gateway, call).await?).await
    }

    /// `POST` a JSON body to a public route.
    pub async fn public_post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let call = self.http.post(self.url(Target::Gateway, path)).json(body);
        json_of(self.send(Target::Gateway, call).await?).await
    }

    /// Requests a login code for `email` (mailed by the backend).
    pub async fn request_login_code(&self, email: &str) -> Result<LoginChallenge, ClientError> {
        let v = self
            .public_post(
                "/api/v1/public/auth/challenges",
                &serde_json::json!({ "email": email }),
            )
            .await?;
        decode(v)
    }

    /// Confirms a login code, binding a new device session to `key`.
    pub async fn confirm_login_code(
        &self,
        challenge_id: &str,
        code: &str,
        key: &SigningKey,
        device_name: &str,
        platform: &str,
    ) -> Result<LoggedIn, ClientError> {
        let v = self
            .public_post(
                &format!("/api/v1/public/auth/challenges/{challenge_id}/confirm"),
                &serde_json::json!({
                    "code": code,
                    "public_key": Device::public_key_b64(key),
                    "device_name": device_name,
                    "platform": platform,
                }),
            )
            .await?;
        decode(v)
    }

    // ---- user group (gateway, signed) ----

    /// `GET` a user route (path with its query), answered as JSON.
    pub async fn user_get(&self, path: &str) -> Result<Value, ClientError> {
        json_of(self.user_request(Method::GET, path, None).await?).await
    }

    /// `GET` a user route answered as text (e.g. `report?format=text`).
    pub async fn user_get_text(&self, path: &str) -> Result<String, ClientError> {
        let response = self.user_request(Method::GET, path, None).await?;
        response
            .text()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// `POST` to a user route, with a JSON body or none.
    pub async fn user_post(&self, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        json_of(self.user_request(Method::POST, path, body).await?).await
    }

    /// `PUT` a JSON body to a user route.
    pub async fn user_put(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        json_of(self.user_request(Method::PUT, path, Some(body)).await?).await
    }

    /// `PATCH` a JSON body to a user route.
    pub async fn user_patch(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        json_of(self.user_request(Method::PATCH, path, Some(body)).await?).await
    }

    /// A signed user request; answers the successful response unread (for
    /// streams such as `/api/v1/user/events`), or the API's error.
    pub async fn user_request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, ClientError> {
        self.user_request_with(method, path, body, &[]).await
    }

    /// [`Client::user_request`] with extra headers (e.g. `Last-Event-ID`).
    pub async fn user_request_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Response, ClientError> {
        let device = self.device.as_ref().ok_or(ClientError::NotLoggedIn)?;
        let bytes = match body {
            Some(v) => serde_json::to_vec(v).map_err(|e| ClientError::Decode(e.to_string()))?,
            None => Vec::new(),
        };
        let ts = unix_now();
        let sig = signature::sign(&device.key, method.as_str(), path, &bytes, ts);
        let mut call = self
            .http
            .request(method, self.url(Target::Gateway, path))
            .header(SESSION_HEADER, &device.session_id)
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, sig);
        for (name, value) in headers {
            call = call.header(*name, *value);
        }
        if body.is_some() {
            call = call.header("content-type", "application/json").body(bytes);
        }
        self.send(Target::Gateway, call).await
    }

    // ---- admin group (backend, Basic) ----

    /// `GET` an admin route.
    pub async fn admin_get(&self, path: &str) -> Result<Value, ClientError> {
        json_of(self.admin_request(Method::GET, path, None).await?).await
    }

    /// `POST` to an admin route, with a JSON body or none.
    pub async fn admin_post(&self, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        json_of(self.admin_request(Method::POST, path, body).await?).await
    }

    /// An admin request with HTTP Basic; answers the successful response.
    pub async fn admin_request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, ClientError> {
        let admin = self.admin.as_ref().ok_or(ClientError::NoAdminCredentials)?;
        let mut call = self
            .http
            .request(method, self.url(Target::Backend, path))
            .basic_auth(&admin.user, Some(&admin.password));
        if let Some(body) = body {
            call = call.json(body);
        }
        self.send(Target::Backend, call).await
    }

    // ---- plumbing ----

    fn url(&self, target: Target, path: &str) -> String {
        match target {
            Target::Gateway => format!("{}{path}", self.gateway),
            Target::Backend => format!("{}{path}", self.backend),
        }
    }

    /// Sends; a transport failure becomes [`ClientError::Unreachable`] and
    /// an error status the parsed [`ApiError`].
    async fn send(&self, target: Target, call: RequestBuilder) -> Result<Response, ClientError> {
        let response = call.send().await.map_err(|e| {
            let (what, url) = match target {
                Target::Gateway => ("the gateway", self.gateway.clone()),
                Target::Backend => ("the backend", self.backend.clone()),
            };
            ClientError::Unreachable {
                what,
                url,
                reason: transport_reason(&e),
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(ApiError::from_body(status.as_u16(), &body).into())
    }
}

/// The innermost cause of a transport error, in one line.
fn transport_reason(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    if e.is_timeout() {
        "timed out".to_owned()
    } else {
        source.to_string()
    }
}

/// The body as JSON; an empty body is `null`.
async fn json_of(response: Response) -> Result<Value, ClientError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ClientError::Decode(e.to_string()))?;
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
}

/// A JSON answer as a typed struct.
pub fn decode<T: DeserializeOwned>(v: Value) -> Result<T, ClientError> {
    serde_json::from_value(v).map_err(|e| ClientError::Decode(e.to_string()))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_shape_is_parsed_with_its_details() {
        let body = br#"{"error":{"code":"turn_already_closed","message":"closed","details":{"turn":7,"current_turn":8}}}"#;
        let e = ApiError::from_body(409, body);
        assert_eq!(e.code, "turn_already_closed");
        assert_eq!(e.message, "closed");
        assert_eq!(e.detail("current_turn"), Some(&Value::from(8)));
    }

    #[test]
    fn a_body_that_is_not_the_error_shape_keeps_the_status() {
        let e = ApiError::from_body(502, b"Bad Gateway");
        assert_eq!(e.code, "http_502");
        assert_eq!(e.message, "Bad Gateway");
        let e = ApiError::from_body(500, b"");
        assert_eq!(e.message, "the server answered 500");
    }
}
