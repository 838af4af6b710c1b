//! `/api/v1/admin/mail/*`: operators inspect the outbox and resend
//! deliveries. The group's middleware has already authenticated the caller.

use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::mail::{Attempt, DeadLetter, Delivery, DeliveryId, DeliveryState};
use crate::server::admin::auth::AdminUser;
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::paging::{Page, PageRequest};
use crate::server::{ApiError, AppState, Json, Path, Query};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Admin)
        .route("/mail/deliveries", get(list_mail_deliveries))
        .route("/mail/deliveries/{delivery_id}", get(get_mail_delivery))
        .route(
            "/mail/deliveries/{delivery_id}/attempts",
            get(list_mail_attempts),
        )
        .route(
            "/mail/deliveries/{delivery_id}/resend",
            post(resend_mail_delivery),
        )
        .route("/mail/dead-letters", get(list_mail_dead_letters))
}

#[derive(Debug, Deserialize)]
struct DeliveryFilter {
    state: Option<DeliveryState>,
}

#[derive(Debug, Serialize)]
struct AttemptList {
    delivery_id: DeliveryId,
    items: Vec<Attempt>,
}

/// A delivery id from the path; one that is not a UUID names no delivery.
fn delivery_id(raw: &str) -> Result<DeliveryId, ApiError> {
    Uuid::parse_str(raw)
        .map(DeliveryId)
        .map_err(|_| ApiError::not_found(format!("mail delivery {raw} does not exist")))
}

/// `GET /mail/deliveries?state=&page=&per_page=`: newest first.
async fn list_mail_deliveries(
    State(state): State<AppState>,
    Query(filter): Query<DeliveryFilter>,
    page: PageRequest,
) -> Result<Json<Page<Delivery>>, ApiError> {
    let listing = state
        .mail
        .list_deliveries(filter.state, page.offset(), page.limit())
        .await?;
    Ok(Json(page.page(listing.items, listing.total.max(0) as u64)))
}

/// `GET /mail/deliveries/{delivery_id}`.
async fn get_mail_delivery(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Delivery>, ApiError> {
    Ok(Json(state.mail.delivery(delivery_id(&raw)?).await?))
}

/// `GET /mail/deliveries/{delivery_id}/attempts`: the whole attempt log,
/// oldest first.
async fn list_mail_attempts(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<AttemptList>, ApiError> {
    let id = delivery_id(&raw)?;
    let items = state.mail.attempts(id).await?;
    Ok(Json(AttemptList {
        delivery_id: id,
        items,
    }))
}

/// `POST /mail/deliveries/{delivery_id}/resend`: a new attempt cycle for a
/// `pending`, `retrying` or `dead_lettered` delivery; 409 when `sent`.
async fn resend_mail_delivery(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(raw): Path<String>,
) -> Result<Json<Delivery>, ApiError> {
    let id = delivery_id(&raw)?;
    let delivery = state
        .mail
        .resend(admin.principal().username.as_str(), id)
        .await?;
    Ok(Json(delivery))
}

/// `GET /mail/dead-letters?page=&per_page=`: current dead letters, most
/// recent first.
async fn list_mail_dead_letters(
    State(state): State<AppState>,
    page: PageRequest,
) -> Result<Json<Page<DeadLetter>>, ApiError> {
    let listing = state.mail.dead_letters(page.offset(), page.limit()).await?;
    Ok(Json(page.page(listing.items, listing.total.max(0) as u64)))
}
