//! `/api/v1/user/sessions*`: the caller's device sessions — list the
//! active ones, revoke one, revoke all. Every revocation is announced as
//! `SessionsRevoked` after it commits.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::DeviceSessionId;

use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::{ApiError, AppState, AuthUser, Json, Path};
use crate::session::{DeviceSession, RevocationReason, RevokeOutcome};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::User)
        .route("/sessions", get(list_sessions))
        .route("/sessions/revoke-all", post(revoke_all_sessions))
        .route("/sessions/{device_session_id}/revoke", post(revoke_session))
}

#[derive(Serialize)]
struct SessionView {
    device_session_id: DeviceSessionId,
    device_name: String,
    platform: String,
    public_key: String,
    created_at: DateTime<Utc>,
}

impl From<DeviceSession> for SessionView {
    fn from(s: DeviceSession) -> Self {
        Self {
            device_session_id: s.id,
            public_key: s.public_key.to_base64(),
            device_name: s.device_name,
            platform: s.platform,
            created_at: s.created_at,
        }
    }
}

#[derive(Serialize)]
struct SessionList {
    items: Vec<SessionView>,
}

/// `GET /api/v1/user/sessions`: the active sessions, newest first.
async fn list_sessions(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<SessionList>, ApiError> {
    let sessions = state.sessions.list_active(user.user_id).await?;
    Ok(Json(SessionList {
        items: sessions.into_iter().map(SessionView::from).collect(),
    }))
}

/// `POST /api/v1/user/sessions/{id}/revoke`: 204, also when it was already
/// revoked; 404 when the user has no such session.
async fn revoke_session(
    State(state): State<AppState>,
    user: AuthUser,
    Path(device_session_id): Path<DeviceSessionId>,
) -> Result<StatusCode, ApiError> {
    match state
        .sessions
        .revoke(
            user.user_id,
            device_session_id,
            RevocationReason::UserRevoked,
        )
        .await?
    {
        RevokeOutcome::Revoked | RevokeOutcome::AlreadyRevoked => Ok(StatusCode::NO_CONTENT),
        RevokeOutcome::NotFound => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "device_session_not_found",
            "no such device session",
        )),
    }
}

#[derive(Serialize)]
struct Revoked {
    device_session_ids: Vec<DeviceSessionId>,
}

/// `POST /api/v1/user/sessions/revoke-all`: revokes every active session
/// (the calling device's included) and lists what was revoked.
async fn revoke_all_sessions(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<impl IntoResponse, ApiError> {
    let ids = state
        .sessions
        .revoke_all(user.user_id, RevocationReason::UserRevoked)
        .await?;
    Ok(Json(Revoked {
        device_session_ids: ids,
    }))
}
