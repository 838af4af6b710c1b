//! The admin group's guard: HTTP Basic credentials checked against
//! `admin_accounts` by [`AdminService::authenticate`](crate::admin::AdminService::authenticate),
//! throttled per username and per source address. Failures answer 401 with
//! `WWW-Authenticate: Basic realm="galaxy-admin"` (or 429 with
//! `Retry-After`), in the error shape; on success the handler receives the
//! caller as [`AdminUser`].
//!
//! The source address is the TCP peer, or, when the peer is one of
//! `BACKEND_TRUSTED_PROXIES`, the client it forwarded for
//! ([`admin_source_ip`](crate::server::source_ip::admin_source_ip)): a
//! caller cannot choose its throttle key with `X-Forwarded-For`.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;

use crate::ids::AdminId;

use crate::admin::{AdminPrincipal, AuthError, Username};
use crate::server::{ApiError, AppState};

/// The admin a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    pub account_id: AdminId,
    pub username: Username,
}

impl From<AdminPrincipal> for AdminUser {
    fn from(p: AdminPrincipal) -> Self {
        Self {
            account_id: p.account_id,
            username: p.username,
        }
    }
}

impl AdminUser {
    pub fn principal(&self) -> AdminPrincipal {
        AdminPrincipal {
            account_id: self.account_id,
            username: self.username.clone(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AdminUser>()
            .cloned()
            // Only reachable if a handler is mounted outside the admin group.
            .ok_or_else(|| ApiError::from(AuthError::MissingCredentials))
    }
}

/// `route_layer` middleware of the whole admin group.
pub async fn require_admin(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (username, password) = basic_credentials(req.headers())?;
    let source = crate::server::source_ip::admin_source_ip(
        req.headers(),
        crate::server::source_ip::peer(),
        &state.config.security.trusted_proxies,
    );
    let principal = state
        .admin
        .authenticate(&username, &password, source)
        .await?;
    req.extensions_mut().insert(AdminUser::from(principal));
    Ok(next.run(req).await)
}

/// `Authorization: Basic base64(username:password)`. Missing → 401
/// `missing_credentials`; present but unreadable → 401 `invalid_credentials`.
pub fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), AuthError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::MissingCredentials)?;
    let value = value.to_str().map_err(|_| AuthError::InvalidCredentials)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(AuthError::InvalidCredentials)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::MissingCredentials);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| AuthError::InvalidCredentials)?;
    let text = String::from_utf8(decoded).map_err(|_| AuthError::InvalidCredentials)?;
    let (username, password) = text.split_once(':').ok_or(AuthError::InvalidCredentials)?;
    Ok((username.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn basic_credentials_are_decoded_and_split_at_the_first_colon() {
        let token = base64::engine::general_purpose::STANDARD.encode("alice:pass:word");
        let h = headers(&[("authorization", &format!("basic {token}"))]);
        assert_eq!(
            basic_credentials(&h).unwrap(),
            ("alice".into(), "pass:word".into())
        );
    }

    #[test]
    fn missing_or_malformed_credentials_are_refused() {
        assert!(matches!(
            basic_credentials(&HeaderMap::new()),
            Err(AuthError::MissingCredentials)
        ));
        let bearer = headers(&[("authorization", "Bearer abc")]);
        assert!(matches!(
            basic_credentials(&bearer),
            Err(AuthError::MissingCredentials)
        ));
        let garbage = headers(&[("authorization", "Basic !!!")]);
        assert!(matches!(
            basic_credentials(&garbage),
            Err(AuthError::InvalidCredentials)
        ));
        let no_colon = headers(&[("authorization", "Basic YWxpY2U=")]);
        assert!(matches!(
            basic_credentials(&no_colon),
            Err(AuthError::InvalidCredentials)
        ));
    }
}
