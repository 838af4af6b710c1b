//! `/api/v1/admin/users/*`: operators list and look up end-user accounts,
//! read their sanctions, entitlements and country counters, and sanction,
//! lift, set limits, soft-delete and revoke sessions. Every change is
//! recorded in the audit trail inside its own transaction. The group's
//! middleware has already authenticated the caller.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::ids::{SanctionId, UserId};

use crate::geo::CountryCounter;
use crate::server::admin::auth::AdminUser;
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::paging::{Page, PageRequest};
use crate::server::{ApiError, AppState, Json, Path, Query};
use crate::user::store::ListFilter;
use crate::user::{
    Account, DeletedBy, EntitlementChange, EntitlementSnapshot, Sanction, SanctionKind, Settings,
    Tier, UserError, UserRecord,
};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Admin)
        .route("/users", get(list_users))
        .route("/users/lookup", get(lookup_user))
        .route("/users/{user_id}", get(get_user))
        .route(
            "/users/{user_id}/sanctions",
            get(list_user_sanctions).post(apply_user_sanction),
        )
        .route(
            "/users/{user_id}/sanctions/{sanction_id}/lift",
            post(lift_user_sanction),
        )
        .route(
            "/users/{user_id}/entitlements",
            get(get_user_entitlements).post(set_user_entitlements),
        )
        .route("/users/{user_id}/delete", post(delete_user))
        .route(
            "/users/{user_id}/revoke-sessions",
            post(revoke_user_sessions),
        )
}

/// `active` or `deleted`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Status {
    Active,
    Deleted,
}

impl Status {
    fn of(account: &Account) -> Self {
        if account.deleted_at.is_some() {
            Self::Deleted
        } else {
            Self::Active
        }
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<Status>,
    declared_country: Option<String>,
    sanction: Option<SanctionKind>,
    q: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LookupQuery {
    user_id: Option<String>,
    email: Option<String>,
    user_name: Option<String>,
}

/// One account in a listing. A deleted account's email is not shown.
#[derive(Debug, Serialize)]
struct UserSummary {
    user_id: UserId,
    email: Option<String>,
    user_name: String,
    declared_country: Option<String>,
    status: Status,
    created_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

impl From<Account> for UserSummary {
    fn from(a: Account) -> Self {
        let status = Status::of(&a);
        Self {
            user_id: a.user_id,
            email: (status == Status::Active).then_some(a.email),
            user_name: a.user_name,
            declared_country: a.declared_country,
            status,
            created_at: a.created_at,
            deleted_at: a.deleted_at,
        }
    }
}

/// A sanction with whether it is in force now.
#[derive(Debug, Serialize)]
struct SanctionView {
    #[serde(flatten)]
    sanction: Sanction,
    active: bool,
}

impl SanctionView {
    fn new(sanction: Sanction, now: DateTime<Utc>) -> Self {
        let active = sanction.is_active_at(now);
        Self { sanction, active }
    }
}

/// Everything an operator sees about one account. The email stays visible
/// here after a soft delete (audit), never in listings.
#[derive(Debug, Serialize)]
struct UserDetail<'a> {
    user_id: UserId,
    email: &'a str,
    user_name: &'a str,
    declared_country: Option<&'a str>,
    status: Status,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    settings: &'a Settings,
    entitlements: &'a EntitlementSnapshot,
    active_sanctions: Vec<SanctionView>,
    country_counters: Vec<CountryCounter>,
}

#[derive(Debug, Serialize)]
struct SanctionList {
    user_id: UserId,
    items: Vec<SanctionView>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplySanction {
    kind: SanctionKind,
    reason: String,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetEntitlements {
    tier: Option<Tier>,
    #[serde(default, deserialize_with = "present")]
    max_concurrent_games: Option<Option<i32>>,
    #[serde(default, deserialize_with = "present")]
    max_registered_race_names: Option<Option<i32>>,
}

/// A field that is present (`Some`, possibly `null`) versus absent (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i32>>, D::Error> {
    Option::<i32>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize)]
struct RevokedSessions {
    user_id: UserId,
    revoked: usize,
}

/// A user id from the path; one that is not a UUID names no account.
fn user_id(raw: &str) -> Result<UserId, ApiError> {
    raw.parse()
        .map_err(|_| UserError::NotFound(raw.to_owned()).into())
}

async fn detail(state: &AppState, record: &UserRecord) -> Result<Response, ApiError> {
    let now = Utc::now();
    let counters = state.geo.country_counters(record.account.user_id).await?;
    let a = &record.account;
    let body = serde_json::to_vec(&UserDetail {
        user_id: a.user_id,
        email: &a.email,
        user_name: &a.user_name,
        declared_country: a.declared_country.as_deref(),
        status: Status::of(a),
        created_at: a.created_at,
        updated_at: a.updated_at,
        deleted_at: a.deleted_at,
        settings: &record.settings,
        entitlements: &record.entitlements,
        active_sanctions: record
            .sanctions
            .iter()
            .filter(|s| s.is_active_at(now))
            .cloned()
            .map(|s| SanctionView::new(s, now))
            .collect(),
        country_counters: counters,
    })
    .map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// `GET /users?status=&declared_country=&sanction=&q=&page=&per_page=`:
/// newest first.
async fn list_users(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
    page: PageRequest,
) -> Result<Json<Page<UserSummary>>, ApiError> {
    let declared_country = match query.declared_country {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(c.to_ascii_uppercase())
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "`declared_country` is a two-letter ISO country code",
            ));
        }
        None => None,
    };
    let filter = ListFilter {
        deleted: query.status.map(|s| s == Status::Deleted),
        declared_country,
        sanction: query.sanction,
        user_name_contains: query.q.filter(|q| !q.is_empty()),
    };
    let (items, total) = state
        .users
        .list(&filter, page.offset(), page.limit())
        .await?;
    Ok(Json(page.page(
        items.into_iter().map(UserSummary::from).collect(),
        total,
    )))
}

/// `GET /users/lookup?user_id=|email=|user_name=`: exactly one key. Email
/// finds live accounts only; user names match case-insensitively.
async fn lookup_user(
    State(state): State<AppState>,
    Query(query): Query<LookupQuery>,
) -> Result<Response, ApiError> {
    let record = match (query.user_id, query.email, query.user_name) {
        (Some(id), None, None) => state.users.get(user_id(&id)?).await?,
        (None, Some(email), None) => state.users.find_by_email(&email).await?,
        (None, None, Some(name)) => state.users.find_by_user_name(&name).await?,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give exactly one of `user_id`, `email`, `user_name`",
            ));
        }
    };
    detail(&state, &record).await
}

/// `GET /users/{user_id}`.
async fn get_user(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.users.get(user_id(&raw)?).await?;
    detail(&state, &record).await
}

/// `GET /users/{user_id}/sanctions`: every sanction, newest first.
async fn list_user_sanctions(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<SanctionList>, ApiError> {
    let id = user_id(&raw)?;
    let now = Utc::now();
    let items = state
        .users
        .sanctions(id)
        .await?
        .into_iter()
        .map(|s| SanctionView::new(s, now))
        .collect();
    Ok(Json(SanctionList { user_id: id, items }))
}

/// `POST /users/{user_id}/sanctions`: a login ban revokes every session.
async fn apply_user_sanction(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(raw): Path<String>,
    Json(body): Json<ApplySanction>,
) -> Result<impl IntoResponse, ApiError> {
    let id = user_id(&raw)?;
    let sanction = state
        .users
        .apply_sanction(
            admin.username.as_str(),
            id,
            body.kind,
            &body.reason,
            body.expires_at,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SanctionView::new(sanction, Utc::now())),
    ))
}

/// `POST /users/{user_id}/sanctions/{sanction_id}/lift`.
async fn lift_user_sanction(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((raw_user, raw_sanction)): Path<(String, String)>,
) -> Result<Json<SanctionView>, ApiError> {
    let id = user_id(&raw_user)?;
    let sanction_id: SanctionId = raw_sanction
        .parse()
        .map_err(|_| ApiError::not_found(format!("no sanction {raw_sanction}")))?;
    let sanction = state
        .users
        .lift_sanction(admin.username.as_str(), id, sanction_id)
        .await?;
    Ok(Json(SanctionView::new(sanction, Utc::now())))
}

/// `GET /users/{user_id}/entitlements`.
async fn get_user_entitlements(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<EntitlementSnapshot>, ApiError> {
    let record = state.users.get(user_id(&raw)?).await?;
    Ok(Json(record.entitlements.clone()))
}

/// `POST /users/{user_id}/entitlements`: tier and/or limit overrides
/// (`null` clears an override).
async fn set_user_entitlements(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(raw): Path<String>,
    Json(body): Json<SetEntitlements>,
) -> Result<Json<EntitlementSnapshot>, ApiError> {
    let id = user_id(&raw)?;
    let snapshot = state
        .users
        .set_entitlements(
            admin.username.as_str(),
            id,
            EntitlementChange {
                tier: body.tier,
                max_concurrent_games: body.max_concurrent_games,
                max_registered_race_names: body.max_registered_race_names,
            },
        )
        .await?;
    Ok(Json(snapshot))
}

/// `POST /users/{user_id}/delete`: soft delete (409 when already deleted).
async fn delete_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = user_id(&raw)?;
    let record = state
        .users
        .soft_delete(id, DeletedBy::Admin(admin.username.as_str()))
        .await?;
    detail(&state, &record).await
}

/// `POST /users/{user_id}/revoke-sessions`: every device session.
async fn revoke_user_sessions(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(raw): Path<String>,
) -> Result<Json<RevokedSessions>, ApiError> {
    let id = user_id(&raw)?;
    let revoked = state
        .users
        .revoke_sessions(admin.username.as_str(), id)
        .await?;
    Ok(Json(RevokedSessions {
        user_id: id,
        revoked,
    }))
}
