//! `/api/v1/user/*` handlers. The group's middleware has already checked
//! `X-User-ID`; handlers receive it as [`AuthUser`].

use axum::Router;
use axum::routing::get;
use serde::Serialize;
use uuid::Uuid;

use super::{AppState, AuthUser, Json};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/user/session", get(get_session))
}

#[derive(Serialize)]
struct SessionView {
    user_id: Uuid,
}

/// `GET /api/v1/user/session`: who the gateway says is calling.
async fn get_session(user: AuthUser) -> Json<SessionView> {
    Json(SessionView {
        user_id: user.user_id,
    })
}
