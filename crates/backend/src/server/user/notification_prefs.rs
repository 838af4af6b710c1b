//! `/api/v1/user/notification-preferences`: a user switches the email
//! channel off (or on again) per notification kind; push stays on.

use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::notification::Preference;
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::{ApiError, AppState, AuthUser, Json};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::User).route(
        "/notification-preferences",
        get(get_notification_preferences).put(put_notification_preferences),
    )
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Preferences {
    items: Vec<Preference>,
}

/// `GET /notification-preferences`: every kind with an email channel.
async fn get_notification_preferences(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Preferences>, ApiError> {
    let items = state.notification.preferences(user.user_id).await?;
    Ok(Json(Preferences { items }))
}

/// `PUT /notification-preferences`: changes the listed kinds only; answers
/// the full list. An unknown kind (422 `unknown_notification_kind`), one
/// without email (422 `email_not_configurable`) or a kind listed twice
/// (422 `duplicate_notification_kind`) changes nothing.
async fn put_notification_preferences(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<Preferences>,
) -> Result<Json<Preferences>, ApiError> {
    let items = state
        .notification
        .set_preferences(user.user_id, &body.items)
        .await?;
    Ok(Json(Preferences { items }))
}
