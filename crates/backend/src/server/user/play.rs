//! `/api/v1/user/games/{game_id}/orders|commands|report|status`: a member
//! plays a running game. Thin: the runtime (`runtime/play.rs`) maps the
//! caller to their race, guards the turn and proxies to the engine.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use galaxy_model::api::{PutCommandResponse, PutOrdersResponse};
use galaxy_model::order::Order;
use serde::Deserialize;

use crate::ids::GameId;
use crate::runtime::{OrderSet, PlayOrderLine, PlayStatus};
use crate::server::extract::non_null;
use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::{ApiError, AppState, AuthUser, Json, Path, Query, WholeJson};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::User)
        .route("/games/{game_id}/orders", get(get_orders).put(put_orders))
        .route("/games/{game_id}/commands", put(put_command))
        .route("/games/{game_id}/report", get(get_report))
        .route("/games/{game_id}/status", get(get_play_status))
}

/// `PutGameOrders`: exactly one of `orders` and `text`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrdersBody {
    #[serde(default, deserialize_with = "non_null")]
    turn: Option<u32>,
    #[serde(default, deserialize_with = "non_null")]
    orders: Option<Vec<PlayOrderLine>>,
    #[serde(default, deserialize_with = "non_null")]
    text: Option<String>,
}

/// `PutGameCommand`: without `order`, the line is deleted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    #[serde(default, deserialize_with = "non_null")]
    turn: Option<u32>,
    id: String,
    #[serde(default, deserialize_with = "non_null")]
    order: Option<Order>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ReportFormat {
    Json,
    Text,
}

#[derive(Deserialize)]
struct ReportQuery {
    turn: Option<u32>,
    format: Option<ReportFormat>,
}

async fn put_orders(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
    WholeJson(body): WholeJson<OrdersBody>,
) -> Result<Json<PutOrdersResponse>, ApiError> {
    let orders = match (body.orders, body.text) {
        (Some(lines), None) => OrderSet::Typed(lines.into_iter().map(Into::into).collect()),
        (None, Some(text)) => OrderSet::Text(text),
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_body",
                "give exactly one of `orders` and `text`",
            ));
        }
    };
    let stored = state
        .runtime
        .submit_orders(user.user_id, game_id, body.turn, orders)
        .await?;
    Ok(Json(stored))
}

async fn put_command(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
    WholeJson(body): WholeJson<CommandBody>,
) -> Result<Json<PutCommandResponse>, ApiError> {
    let done = state
        .runtime
        .submit_command(user.user_id, game_id, body.turn, body.id, body.order)
        .await?;
    Ok(Json(done))
}

async fn get_orders(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<PutOrdersResponse>, ApiError> {
    Ok(Json(state.runtime.my_orders(user.user_id, game_id).await?))
}

async fn get_report(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let runtime = &state.runtime;
    if query.format == Some(ReportFormat::Text) {
        let text = runtime
            .my_report_text(user.user_id, game_id, query.turn)
            .await?;
        let content_type = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
        return Ok((content_type, text).into_response());
    }
    let report = runtime.my_report(user.user_id, game_id, query.turn).await?;
    Ok(Json(report).into_response())
}

async fn get_play_status(
    State(state): State<AppState>,
    user: AuthUser,
    Path(game_id): Path<GameId>,
) -> Result<Json<PlayStatus>, ApiError> {
    Ok(Json(
        state.runtime.play_status(user.user_id, game_id).await?,
    ))
}
