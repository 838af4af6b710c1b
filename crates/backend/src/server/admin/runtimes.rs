//! `/api/v1/admin/runtimes/*` (spec §12): operators list the games' engines,
//! inspect one (record, container, engine status, last operations), and
//! start, stop, restart or patch it. Actions are queued as runtime
//! operations (`202` with the operation) and audited; an action with
//! nothing to do answers `200` with the runtime as it is.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ids::GameId;
use crate::runtime::model::Requester;
use crate::runtime::{OpKind, Requested};
use crate::server::admin::auth::AdminUser;
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::{ApiError, AppState, Json, Path};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Admin)
        .route("/runtimes", get(list_runtimes))
        .route("/runtimes/{game_id}", get(inspect_runtime))
        .route(
            "/runtimes/{game_id}/operations",
            get(list_runtime_operations),
        )
        .route("/runtimes/{game_id}/start", post(start_runtime))
        .route("/runtimes/{game_id}/stop", post(stop_runtime))
        .route("/runtimes/{game_id}/restart", post(restart_runtime))
        .route("/runtimes/{game_id}/patch", post(patch_runtime))
        .route("/runtimes/{game_id}/force-next-turn", post(force_next_turn))
        .route("/runtimes/{game_id}/resume", post(resume_runtime))
}

async fn list_runtimes(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "items": state.runtime.records().await? })))
}

async fn inspect_runtime(
    State(state): State<AppState>,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.runtime.inspect(game_id).await?)))
}

async fn list_runtime_operations(
    State(state): State<AppState>,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    let items = state.runtime.operations(game_id, 100).await?;
    Ok(Json(json!({ "items": items })))
}

async fn act(
    state: AppState,
    admin: AdminUser,
    game_id: GameId,
    op: OpKind,
    params: Value,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let answer = match state
        .runtime
        .request(admin.username.as_str(), game_id, op, params)
        .await?
    {
        Requested::Queued(operation) => (
            StatusCode::ACCEPTED,
            Json(
                json!({ "runtime": state.runtime.record(game_id).await?, "operation": operation }),
            ),
        ),
        Requested::AlreadyDone(record) => (
            StatusCode::OK,
            Json(json!({ "runtime": record, "operation": null })),
        ),
    };
    Ok(answer)
}

async fn start_runtime(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
) -> Result<impl IntoResponse, ApiError> {
    act(state, admin, game_id, OpKind::Start, json!({})).await
}

async fn stop_runtime(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
) -> Result<impl IntoResponse, ApiError> {
    act(state, admin, game_id, OpKind::Stop, json!({})).await
}

async fn restart_runtime(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
) -> Result<impl IntoResponse, ApiError> {
    act(state, admin, game_id, OpKind::Restart, json!({})).await
}

/// `POST /runtimes/{game_id}/patch`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    engine_version: String,
    /// Skip the shadow check's refusal (the admin accepts changed results).
    #[serde(default, deserialize_with = "crate::json_fields::non_null")]
    force: Option<bool>,
}

async fn patch_runtime(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
    Json(body): Json<PatchBody>,
) -> Result<impl IntoResponse, ApiError> {
    let params =
        json!({ "engine_version": body.engine_version, "force": body.force.unwrap_or(false) });
    act(state, admin, game_id, OpKind::Patch, params).await
}

async fn force_next_turn(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    let record = state
        .runtime
        .force_next_turn(admin.username.as_str(), game_id)
        .await?;
    Ok(Json(json!(record)))
}

async fn resume_runtime(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    let record = state
        .runtime
        .resume(Requester::Admin(admin.username.to_string()), game_id)
        .await?;
    Ok(Json(json!(record)))
}
