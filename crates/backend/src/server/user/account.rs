//! `/api/v1/user/account*`: the caller's own profile, user name, settings,
//! entitlements and soft delete. The group's guard ([`super::require_user`])
//! has already rejected deleted and login-banned accounts and placed the
//! caller's cached [`UserRecord`] in the request extensions.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::Deserialize;

use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::{ApiError, AppState, AuthUser, Json};
use crate::user::{DeletedBy, EntitlementSnapshot, UserError, UserRecord};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::User)
        .route("/account", get(get_account).patch(update_account))
        .route("/account/settings", patch(update_settings))
        .route("/account/entitlements", get(get_entitlements))
        .route("/account/delete", post(delete_account))
}

/// The caller's cached record (the user guard has already refused deleted
/// and banned accounts); an `X-User-ID` with no account → 404.
pub(super) struct Me(pub Arc<UserRecord>);

impl FromRequestParts<AppState> for Me {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        state
            .users
            .cached(user.user_id)
            .map(Me)
            .ok_or_else(|| ApiError::not_found("no account for this user"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateAccount {
    user_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateSettings {
    locale: Option<String>,
    time_zone: Option<String>,
}

/// The serialised profile of a record, as a JSON response.
fn profile(record: &UserRecord) -> Response {
    json_body(record.profile_json())
}

fn json_body(body: axum::body::Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// `GET /account`: from the accounts cache (no PostgreSQL; the body is
/// serialised once per record version and copied out).
async fn get_account(State(state): State<AppState>, user: AuthUser) -> Result<Response, ApiError> {
    let body = state
        .users
        .profile_json(user.user_id)
        .ok_or_else(|| ApiError::not_found("no account for this user"))?;
    Ok(json_body(body))
}

/// `PATCH /account`: a new user name.
async fn update_account(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<UpdateAccount>,
) -> Result<Response, ApiError> {
    let record = state
        .users
        .change_user_name(user.user_id, &body.user_name)
        .await?;
    Ok(profile(&record))
}

/// `PATCH /account/settings`: locale and/or time zone.
async fn update_settings(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<UpdateSettings>,
) -> Result<Response, ApiError> {
    let record = state
        .users
        .update_settings(
            user.user_id,
            body.locale.as_deref(),
            body.time_zone.as_deref(),
        )
        .await?;
    Ok(profile(&record))
}

/// `GET /account/entitlements`.
async fn get_entitlements(Me(record): Me) -> Json<EntitlementSnapshot> {
    Json(record.entitlements.clone())
}

/// `POST /account/delete`: soft-deletes the caller's account; its sessions
/// are revoked and later requests answer 403 `account_deleted`.
async fn delete_account(
    State(state): State<AppState>,
    Me(record): Me,
) -> Result<StatusCode, ApiError> {
    state
        .users
        .soft_delete(record.account.user_id, DeletedBy::User)
        .await
        .map_err(|e| match e {
            UserError::NotFound(_) => ApiError::not_found("no account for this user"),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
