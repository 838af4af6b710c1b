//! `/api/v1/admin/admin-accounts/*` and `/api/v1/admin/audit`: managing
//! admins and reading the audit trail. The group's middleware has already
//! authenticated the caller ([`AdminUser`]).

use crate::ids::AdminId;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admin::{AdminAccount, AdminError, AuditEntry, Password, Username};
use crate::server::admin::auth::AdminUser;
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::paging::{Page, PageRequest};
use crate::server::{ApiError, AppState, Json, Path};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Admin)
        .route(
            "/admin-accounts",
            get(list_admin_accounts).post(create_admin_account),
        )
        .route(
            "/admin-accounts/{username}",
            get(get_admin_account).delete(delete_admin_account),
        )
        .route(
            "/admin-accounts/{username}/password",
            post(change_admin_password),
        )
        .route(
            "/admin-accounts/{username}/disable",
            post(disable_admin_account),
        )
        .route(
            "/admin-accounts/{username}/enable",
            post(enable_admin_account),
        )
        .route("/audit", get(list_audit_entries))
}

/// An admin account as the API shows it (never the hash).
#[derive(Debug, Serialize)]
struct AdminAccountView {
    id: AdminId,
    username: String,
    enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    password_changed_at: DateTime<Utc>,
}

impl From<&AdminAccount> for AdminAccountView {
    fn from(a: &AdminAccount) -> Self {
        Self {
            id: a.id,
            username: a.username.to_string(),
            enabled: a.enabled,
            created_at: a.created_at,
            updated_at: a.updated_at,
            password_changed_at: a.password_changed_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAdminAccount {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    password: String,
}

/// A username from the path; one that breaks the rules names no account.
fn target(raw: &str) -> Result<Username, ApiError> {
    Username::parse(raw).map_err(|_| AdminError::NotFound(raw.to_owned()).into())
}

/// `GET /admin-accounts`: every admin, by username.
async fn list_admin_accounts(
    State(state): State<AppState>,
    page: PageRequest,
) -> Result<Json<Page<AdminAccountView>>, ApiError> {
    let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let (accounts, total) = state.admin.list(offset, page.limit() as usize).await?;
    let items = accounts
        .iter()
        .map(|a| AdminAccountView::from(a.as_ref()))
        .collect();
    Ok(Json(page.page(items, total as u64)))
}

/// `POST /admin-accounts`: a new, enabled admin.
async fn create_admin_account(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(body): Json<CreateAdminAccount>,
) -> Result<impl IntoResponse, ApiError> {
    let username = Username::parse(&body.username).map_err(AdminError::from)?;
    let password = Password::parse(body.password).map_err(AdminError::from)?;
    let account = state
        .admin
        .create(&admin.principal(), username, password)
        .await?;
    let location = format!(
        "{}/admin-accounts/{}",
        RouteGroup::Admin.prefix(),
        account.username
    );
    let location = HeaderValue::from_str(&location).map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(AdminAccountView::from(account.as_ref())),
    ))
}

/// `GET /admin-accounts/{username}`.
async fn get_admin_account(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let account = state.admin.get(&target(&username)?).await?;
    Ok(Json(AdminAccountView::from(account.as_ref())))
}

/// `POST /admin-accounts/{username}/password`: the caller's own password or
/// another admin's. Credentials cached for the account stop working at once.
async fn change_admin_password(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(username): Path<String>,
    Json(body): Json<ChangePassword>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let username = target(&username)?;
    let password = Password::parse(body.password).map_err(AdminError::from)?;
    let account = state
        .admin
        .change_password(&admin.principal(), &username, password)
        .await?;
    Ok(Json(AdminAccountView::from(account.as_ref())))
}

/// `POST /admin-accounts/{username}/disable`: 409 for the last enabled admin.
async fn disable_admin_account(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(username): Path<String>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let account = state
        .admin
        .set_enabled(&admin.principal(), &target(&username)?, false)
        .await?;
    Ok(Json(AdminAccountView::from(account.as_ref())))
}

/// `POST /admin-accounts/{username}/enable`.
async fn enable_admin_account(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(username): Path<String>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let account = state
        .admin
        .set_enabled(&admin.principal(), &target(&username)?, true)
        .await?;
    Ok(Json(AdminAccountView::from(account.as_ref())))
}

/// `DELETE /admin-accounts/{username}`: 409 for the last enabled admin.
async fn delete_admin_account(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete(&admin.principal(), &target(&username)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /audit`: the audit trail, newest first.
async fn list_audit_entries(
    State(state): State<AppState>,
    page: PageRequest,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let (entries, total) = state.admin.audit_log(page.offset(), page.limit()).await?;
    Ok(Json(page.page(entries, total)))
}
