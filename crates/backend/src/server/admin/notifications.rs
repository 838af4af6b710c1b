//! `/api/v1/admin/notifications/*`: operators inspect intents, their routes
//! and statuses, and dead-lettered routes. The group's middleware has
//! already authenticated the caller.

use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;

use crate::ids::UserId;

use crate::notification::{DeadLetter, IntentFilter, IntentView, RouteStatus};
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::paging::{Page, PageRequest};
use crate::server::{ApiError, AppState, Json, Path, Query};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Admin)
        .route("/notifications/intents", get(list_notification_intents))
        .route(
            "/notifications/intents/{intent_id}",
            get(get_notification_intent),
        )
        .route(
            "/notifications/dead-letters",
            get(list_notification_dead_letters),
        )
}

#[derive(Debug, Deserialize)]
struct IntentQuery {
    kind: Option<String>,
    user_id: Option<UserId>,
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
    // A kind outside the catalog (the contract's enum) is a bad query, not
    // an empty result (PostgreSQL cannot even compare some such strings).
    if let Some(kind) = &query.kind
        && crate::notification::catalog::lookup(kind).is_none()
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            "`kind` is a notification kind of the catalog",
        ));
    }
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
    let intent_id: crate::ids::IntentId = raw
        .parse()
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
