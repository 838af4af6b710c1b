//! `/api/v1/user/race-names*`: the caller's entries in the Race Name
//! Directory — list, check availability, register, release.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::lobby::{Availability, RaceNameEntry, Registered};
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::{ApiError, AppState, AuthUser, Json, Query};

use crate::server::lobby_bodies::RaceNameBody;

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::User)
        .route("/race-names", get(list_race_names).post(register_race_name))
        .route("/race-names/availability", get(check_race_name))
        .route("/race-names/release", post(release_race_name))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilityQuery {
    name: String,
}

async fn list_race_names(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let items = state.lobby.race_names(user.user_id).await?;
    Ok(Json(json!({ "items": items })))
}

async fn check_race_name(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<AvailabilityQuery>,
) -> Result<Json<Availability>, ApiError> {
    Ok(Json(
        state.lobby.availability(user.user_id, &query.name).await?,
    ))
}

/// 201 for a new entry, 200 for a pending one promoted (or one already
/// registered).
async fn register_race_name(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<RaceNameBody>,
) -> Result<(StatusCode, Json<RaceNameEntry>), ApiError> {
    Ok(
        match state
            .lobby
            .register_race_name(user.user_id, &body.race_name)
            .await?
        {
            Registered::Created(entry) => (StatusCode::CREATED, Json(entry)),
            Registered::Promoted(entry) => (StatusCode::OK, Json(entry)),
        },
    )
}

async fn release_race_name(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<RaceNameBody>,
) -> Result<Json<RaceNameEntry>, ApiError> {
    Ok(Json(
        state
            .lobby
            .release_race_name(user.user_id, &body.race_name)
            .await?,
    ))
}
