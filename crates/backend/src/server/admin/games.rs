//! `/api/v1/admin/games/*` (spec §12): operators list, create (public
//! games), inspect, open and close enrollment, approve or reject
//! applications, force a start or a stop, and ban members. Every change is
//! audited by the lobby inside its own transaction.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use crate::ids::{ApplicationId, GameId, UserId};
use crate::lobby::{
    Actor, Application, ApplicationStatus, CreateGame, GameFilter, GameStatus, Member, Transition,
    Visibility,
};
use crate::server::admin::auth::AdminUser;
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::lobby_bodies::{OptionalReasonBody, ReasonBody};
use crate::server::paging::{Page, PageRequest};
use crate::server::{ApiError, AppState, Json, Path, Query};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Admin)
        .route("/games", get(list_games).post(create_game))
        .route("/games/{game_id}", get(inspect_game))
        .route("/games/{game_id}/open-enrollment", post(open_enrollment))
        .route("/games/{game_id}/close-enrollment", post(close_enrollment))
        .route("/games/{game_id}/force-start", post(force_start))
        .route("/games/{game_id}/force-stop", post(force_stop))
        .route("/games/{game_id}/applications", get(list_applications))
        .route(
            "/games/{game_id}/applications/{application_id}/approve",
            post(approve_application),
        )
        .route(
            "/games/{game_id}/applications/{application_id}/reject",
            post(reject_application),
        )
        .route("/games/{game_id}/members/{user_id}/ban", post(ban_member))
}

fn actor(admin: &AdminUser) -> Actor {
    Actor::Admin(admin.username.as_str().to_owned())
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<GameStatus>,
    visibility: Option<Visibility>,
    engine_version: Option<String>,
    owner_user_id: Option<UserId>,
}

async fn list_games(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
    page: PageRequest,
) -> Result<Response, ApiError> {
    let filter = GameFilter {
        status: query.status,
        visibility: query.visibility,
        engine_version: query.engine_version,
        owner_user_id: query.owner_user_id,
    };
    let (games, total) = state
        .lobby
        .list_games(&filter, page.limit() as usize, page.offset() as usize)
        .await?;
    Ok(page.page_of_json(games.iter().map(|g| g.game_json_text()), total as u64))
}

async fn create_game(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(body): Json<CreateGame>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let entry = state.lobby.create_game(&actor(&admin), body).await?;
    Ok((StatusCode::CREATED, Json(entry.detail_json(true, None))))
}

async fn inspect_game(
    State(state): State<AppState>,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.lobby.inspect(game_id).await?.json()))
}

async fn transition(
    state: &AppState,
    admin: &AdminUser,
    game_id: GameId,
    transition: Transition,
) -> Result<Json<Value>, ApiError> {
    let entry = state
        .lobby
        .transition(&actor(admin), game_id, transition)
        .await?;
    Ok(Json(entry.game_json()))
}

async fn open_enrollment(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    transition(&state, &admin, game_id, Transition::OpenEnrollment).await
}

async fn close_enrollment(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    transition(&state, &admin, game_id, Transition::CloseEnrollment).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ForceStart {
    #[serde(default)]
    force: bool,
}

async fn force_start(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
    Json(body): Json<ForceStart>,
) -> Result<Json<Value>, ApiError> {
    let force = body.force;
    transition(&state, &admin, game_id, Transition::Start { force }).await
}

async fn force_stop(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<Value>, ApiError> {
    let reason = crate::lobby::model::reason(&body.reason)?;
    transition(&state, &admin, game_id, Transition::Cancel { reason }).await
}

#[derive(Deserialize)]
struct ApplicationsQuery {
    status: Option<ApplicationStatus>,
}

async fn list_applications(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(game_id): Path<GameId>,
    Query(query): Query<ApplicationsQuery>,
    page: PageRequest,
) -> Result<Json<Page<Application>>, ApiError> {
    let (items, total) = state
        .lobby
        .game_applications(
            &actor(&admin),
            game_id,
            query.status,
            page.limit() as usize,
            page.offset() as usize,
        )
        .await?;
    Ok(Json(page.page(items, total as u64)))
}

async fn approve_application(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((game_id, application_id)): Path<(GameId, ApplicationId)>,
) -> Result<Json<Application>, ApiError> {
    Ok(Json(
        state
            .lobby
            .approve(&actor(&admin), game_id, application_id)
            .await?,
    ))
}

async fn reject_application(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((game_id, application_id)): Path<(GameId, ApplicationId)>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<Application>, ApiError> {
    Ok(Json(
        state
            .lobby
            .reject(&actor(&admin), game_id, application_id, &body.reason)
            .await?,
    ))
}

async fn ban_member(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((game_id, member)): Path<(GameId, UserId)>,
    Json(body): Json<OptionalReasonBody>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(
        state
            .lobby
            .remove_member(
                &actor(&admin),
                game_id,
                member,
                true,
                body.reason.as_deref(),
            )
            .await?,
    ))
}
