//! `/api/v1/user/*` handlers. The group's middleware has already checked
//! `X-User-ID`; handlers receive it as [`AuthUser`].

use axum::routing::get;
use serde::Serialize;

use crate::ids::UserId;

use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::{AuthUser, Json};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::User).route("/session", get(get_session))
}

#[derive(Serialize)]
struct SessionView {
    user_id: UserId,
}

/// `GET /api/v1/user/session`: who the gateway says is calling.
async fn get_session(user: AuthUser) -> Json<SessionView> {
    Json(SessionView {
        user_id: user.user_id,
    })
}
