//! `/api/v1/admin/engine-versions/*`: operators list, register and change
//! engine versions and pick the default. Every change is audited by the
//! registry inside its own transaction.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::runtime::versions::{CreateEngineVersion, UpdateEngineVersion};
use crate::server::admin::auth::AdminUser;
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::{ApiError, AppState, Json, Path};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Admin)
        .route(
            "/engine-versions",
            get(list_engine_versions).post(create_engine_version),
        )
        .route(
            "/engine-versions/{label}",
            get(get_engine_version).patch(update_engine_version),
        )
        .route(
            "/engine-versions/{label}/default",
            post(set_default_engine_version),
        )
}

async fn list_engine_versions(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let items = state.engine_versions.list().await?;
    Ok(Json(json!({ "items": items })))
}

async fn create_engine_version(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(body): Json<CreateEngineVersion>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state
        .engine_versions
        .create(admin.username.as_str(), body)
        .await?;
    let location = format!("/api/v1/admin/engine-versions/{}", created.label);
    let location = HeaderValue::from_str(&location).map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json!(created)),
    ))
}

async fn get_engine_version(
    State(state): State<AppState>,
    Path(label): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.engine_versions.get(&label).await?)))
}

async fn update_engine_version(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(label): Path<String>,
    Json(body): Json<UpdateEngineVersion>,
) -> Result<Json<Value>, ApiError> {
    let updated = state
        .engine_versions
        .update(admin.username.as_str(), &label, body)
        .await?;
    Ok(Json(json!(updated)))
}

async fn set_default_engine_version(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(label): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let updated = state
        .engine_versions
        .set_default(admin.username.as_str(), &label)
        .await?;
    Ok(Json(json!(updated)))
}
