//! `/api/v1/admin/notifications/*`: operators inspect intents, their routes
//! and statuses, and dead-lettered routes. The group's middleware has
//! already authenticated the caller.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use uuid::Uuid;

use super::paging::{Page, PageRequest};
use super::{ApiError, AppState, Json, Path, Query};
use crate::notification::{DeadLetter, IntentFilter, IntentView, RouteStatus};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/admin/notifications/intents",
            get(list_notification_intents),
        )
        .route(
            "/api/v1/admin/notifications/intents/{intent_id}",
            get(get_notification_intent),
        )
        .route(
            "/api/v1/admin/notifications/dead-letters",
            get(list_notification_dead_letters),
        )
}

#[derive(Debug, Deserialize)]
struct IntentQuery {
    kind: Option<String>,
    user_id: Option<Uuid>,
    status: Option<RouteStatus>,
}

/// `GET /notifications/intents?kind=&user_id=&status=&page=&per_page=`:
/// newest first, each with its routes; `status` keeps intents with a route
/// in that status.
async fn list_notification_intents(
    State(state): State<AppState>,
    Query(query): Query<IntentQuery>,
    page: PageRequest,
) -> Result<Json<Page<IntentView>>, ApiError> {
    let filter = IntentFilter {
        kind: query.kind,
        user_id: query.user_id,
        status: query.status,
    };
    let listing = state
        .notification
        .list_intents(&filter, page.offset(), page.limit())
        .await?;
    Ok(Json(page.page(listing.items, listing.total.max(0) as u64)))
}

/// `GET /notifications/intents/{intent_id}`: the intent with its routes.
async fn get_notification_intent(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<IntentView>, ApiError> {
    let intent_id = Uuid::parse_str(&raw)
        .map_err(|_| ApiError::not_found(format!("notification intent {raw} does not exist")))?;
    Ok(Json(state.notification.intent(intent_id).await?))
}

/// `GET /notifications/dead-letters?page=&per_page=`: dead-lettered routes,
/// most recent first.
async fn list_notification_dead_letters(
    State(state): State<AppState>,
    page: PageRequest,
) -> Result<Json<Page<DeadLetter>>, ApiError> {
    let listing = state
        .notification
        .dead_letters(page.offset(), page.limit())
        .await?;
    Ok(Json(page.page(listing.items, listing.total.max(0) as u64)))
}
