//! `/api/v1/user/games*`, `/applications`, `/invites*`: players browse and
//! create games, apply, invite, accept, leave, and owners run their private
//! games. Thin: the lobby decides who may do what.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::ids::{ApplicationId, GameId, InviteId, UserId};
use crate::lobby::{Actor, Application, CreateGame, GameStatus, Invite, Member, Transition};
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::lobby_bodies::{OptionalReasonBody, RaceNameBody, ReasonBody};
use crate::server::paging::{Page, PageRequest};
use crate::server::{ApiError, AppState, AuthUser, Json, Path, Query};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::User)
        .route("/games", get(list_my_games).post(create_game))
        .route("/games/open", get(list_open_games))
        .route("/games/{game_id}", get(get_game))
        .route("/games/{game_id}/open-enrollment", post(open_enrollment))
        .route("/games/{game_id}/close-enrollment", post(close_enrollment))
        .route("/games/{game_id}/start", post(start_game))
        .route("/games/{game_id}/cancel", post(cancel_game))
        .route("/games/{game_id}/resume", post(resume_game))
        .route(
            "/games/{game_id}/applications",
            get(list_game_applications).post(apply_to_game),
        )
        .route(
            "/games/{game_id}/applications/{application_id}/withdraw",
            post(withdraw_application),
        )
        .route(
            "/games/{game_id}/applications/{application_id}/approve",
            post(approve_application),
        )
        .route(
            "/games/{game_id}/applications/{application_id}/reject",
            post(reject_application),
        )
        .route(
            "/games/{game_id}/invites",
            get(list_game_invites).post(create_invite),
        )
        .route(
            "/games/{game_id}/invites/{invite_id}/revoke",
            post(revoke_invite),
        )
        .route("/games/{game_id}/leave", post(leave_game))
        .route(
            "/games/{game_id}/members/{user_id}/remove",
            post(remove_member),
        )
        .route(
            "/games/{game_id}/members/{user_id}/block",
            post(block_member),
        )
        .route("/applications", get(list_my_applications))
        .route("/invites", get(list_my_invites))
        .route("/invites/{invite_id}/accept", post(accept_invite))
        .route("/invites/{invite_id}/decline", post(decline_invite))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInvite {
    user_name: String,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct OpenGamesQuery {
    status: Option<GameStatus>,
    engine_version: Option<String>,
}

async fn list_open_games(
    State(state): State<AppState>,
    _user: AuthUser,
    Query(query): Query<OpenGamesQuery>,
    page: PageRequest,
) -> Result<Response, ApiError> {
    let (games, total) = state
        .lobby
        .public_games(
            query.status,
            query.engine_version.as_deref(),
            page.limit() as usize,
            page.offset() as usize,
        )
        .await?;
    Ok(page.page_of_json(games.iter().map(|g| g.game_json_text()), total as u64))
}

async fn list_my_games(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<Response, ApiError> {
    let (games, total) =
        state
            .lobby
            .my_games(user.user_id, page.limit() as usize, page.offset() as usize);
    Ok(page.page_of_json(games.iter().map(|g| g.game_json_text()), total as u64))
}

async fn create_game(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<CreateGame>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let entry = state
        .lobby
        .create_game(&Actor::User(user.user_id), body)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(entry.detail_json(true, Some(user.user_id))),
    ))
}

async fn get_game(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    let (entry, insider) = state.lobby.visible_game(user.user_id, game_id).await?;
    let mut detail = entry.detail_json(insider, Some(user.user_id));
    // The contract shows the caller's membership in any status.
    detail["my_membership"] =
        serde_json::json!(state.lobby.membership(&entry, user.user_id).await?);
    Ok(Json(detail))
}

async fn transition(
    state: &AppState,
    user: &AuthUser,
    game_id: GameId,
    transition: Transition,
) -> Result<Json<Value>, ApiError> {
    state.lobby.visible_game(user.user_id, game_id).await?;
    let entry = state
        .lobby
        .transition(&Actor::User(user.user_id), game_id, transition)
        .await?;
    Ok(Json(entry.game_json()))
}

async fn open_enrollment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    transition(&state, &user, game_id, Transition::OpenEnrollment).await
}

async fn close_enrollment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    transition(&state, &user, game_id, Transition::CloseEnrollment).await
}

async fn start_game(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    transition(&state, &user, game_id, Transition::Start { force: false }).await
}

async fn cancel_game(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    let reason = "cancelled by the owner".to_owned();
    transition(&state, &user, game_id, Transition::Cancel { reason }).await
}

/// The owner resumes their paused private game (the runtime checks the
/// engine; a fresh deadline; `game.resumed` to the members).
async fn resume_game(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Value>, ApiError> {
    state.lobby.visible_game(user.user_id, game_id).await?;
    state
        .runtime
        .resume(
            crate::runtime::model::Requester::Owner(user.user_id),
            game_id,
        )
        .await?;
    Ok(Json(state.lobby.entry(game_id).await?.game_json()))
}

async fn apply_to_game(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
    Json(body): Json<RaceNameBody>,
) -> Result<(StatusCode, Json<Application>), ApiError> {
    let application = state
        .lobby
        .apply(user.user_id, game_id, &body.race_name)
        .await?;
    Ok((StatusCode::CREATED, Json(application)))
}

async fn list_game_applications(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
    page: PageRequest,
) -> Result<Json<Page<Application>>, ApiError> {
    let (items, total) = state
        .lobby
        .game_applications(
            &Actor::User(user.user_id),
            game_id,
            None,
            page.limit() as usize,
            page.offset() as usize,
        )
        .await?;
    Ok(Json(page.page(items, total as u64)))
}

async fn withdraw_application(
    State(state): State<AppState>,
    user: AuthUser,
    Path((game_id, application_id)): Path<(GameId, ApplicationId)>,
) -> Result<Json<Application>, ApiError> {
    let application = state
        .lobby
        .withdraw(user.user_id, game_id, application_id)
        .await?;
    Ok(Json(application))
}

async fn approve_application(
    State(state): State<AppState>,
    user: AuthUser,
    Path((game_id, application_id)): Path<(GameId, ApplicationId)>,
) -> Result<Json<Application>, ApiError> {
    state.lobby.visible_game(user.user_id, game_id).await?;
    let application = state
        .lobby
        .approve(&Actor::User(user.user_id), game_id, application_id)
        .await?;
    Ok(Json(application))
}

async fn reject_application(
    State(state): State<AppState>,
    user: AuthUser,
    Path((game_id, application_id)): Path<(GameId, ApplicationId)>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<Application>, ApiError> {
    state.lobby.visible_game(user.user_id, game_id).await?;
    let application = state
        .lobby
        .reject(
            &Actor::User(user.user_id),
            game_id,
            application_id,
            &body.reason,
        )
        .await?;
    Ok(Json(application))
}

async fn create_invite(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
    Json(body): Json<CreateInvite>,
) -> Result<(StatusCode, Json<Invite>), ApiError> {
    let invite = state
        .lobby
        .invite(user.user_id, game_id, &body.user_name, body.expires_at)
        .await?;
    Ok((StatusCode::CREATED, Json(invite)))
}

async fn list_game_invites(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
    page: PageRequest,
) -> Result<Json<Page<Invite>>, ApiError> {
    let (items, total) = state
        .lobby
        .game_invites(
            &Actor::User(user.user_id),
            game_id,
            page.limit() as usize,
            page.offset() as usize,
        )
        .await?;
    Ok(Json(page.page(items, total as u64)))
}

async fn revoke_invite(
    State(state): State<AppState>,
    user: AuthUser,
    Path((game_id, invite_id)): Path<(GameId, InviteId)>,
) -> Result<Json<Invite>, ApiError> {
    let invite = state
        .lobby
        .revoke_invite(user.user_id, game_id, invite_id)
        .await?;
    Ok(Json(invite))
}

async fn leave_game(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<Member>, ApiError> {
    state.lobby.visible_game(user.user_id, game_id).await?;
    Ok(Json(state.lobby.leave(user.user_id, game_id).await?))
}

async fn end_membership(
    state: &AppState,
    user: &AuthUser,
    game_id: GameId,
    member: UserId,
    block: bool,
    reason: Option<&str>,
) -> Result<Json<Member>, ApiError> {
    state.lobby.visible_game(user.user_id, game_id).await?;
    let member = state
        .lobby
        .remove_member(&Actor::User(user.user_id), game_id, member, block, reason)
        .await?;
    Ok(Json(member))
}

async fn remove_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path((game_id, member)): Path<(GameId, UserId)>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<Member>, ApiError> {
    end_membership(&state, &user, game_id, member, false, Some(&body.reason)).await
}

async fn block_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path((game_id, member)): Path<(GameId, UserId)>,
    Json(body): Json<OptionalReasonBody>,
) -> Result<Json<Member>, ApiError> {
    end_membership(&state, &user, game_id, member, true, body.reason.as_deref()).await
}

async fn list_my_applications(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<Json<Page<Application>>, ApiError> {
    let (items, total) = state
        .lobby
        .my_applications(user.user_id, page.limit() as usize, page.offset() as usize)
        .await?;
    Ok(Json(page.page(items, total as u64)))
}

async fn list_my_invites(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<Json<Page<Invite>>, ApiError> {
    let (items, total) = state
        .lobby
        .my_invites(user.user_id, page.limit() as usize, page.offset() as usize)
        .await?;
    Ok(Json(page.page(items, total as u64)))
}

async fn accept_invite(
    State(state): State<AppState>,
    user: AuthUser,
    Path(invite_id): Path<InviteId>,
    Json(body): Json<RaceNameBody>,
) -> Result<Json<Member>, ApiError> {
    let member = state
        .lobby
        .accept_invite(user.user_id, invite_id, &body.race_name)
        .await?;
    Ok(Json(member))
}

async fn decline_invite(
    State(state): State<AppState>,
    user: AuthUser,
    Path(invite_id): Path<InviteId>,
) -> Result<Json<Invite>, ApiError> {
    Ok(Json(
        state.lobby.decline_invite(user.user_id, invite_id).await?,
    ))
}
