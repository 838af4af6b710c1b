//! HTTP answers of the player's game endpoints' errors (codes in
//! `openapi.yaml` and `docs/runtime.md`, "Playing").

use axum::http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::runtime::PlayError;
use crate::server::ApiError;

/// Seconds a client waits before trying an unavailable engine again.
const ENGINE_RETRY_AFTER: u32 = 5;

impl From<PlayError> for ApiError {
    fn from(err: PlayError) -> Self {
        let message = err.to_string();
        match err {
            PlayError::NotFound => ApiError::not_found(message),
            PlayError::NotAMember => ApiError::forbidden("not_a_member", message),
            PlayError::MembershipEnded { status } => {
                ApiError::forbidden("membership_ended", message)
                    .with_details(json!({ "membership_status": status }))
            }
            PlayError::GameNotInPlay { current } => {
                ApiError::conflict("invalid_game_state", message).with_details(
                    json!({ "current_state": current, "wanted_state": "running or paused" }),
                )
            }
            PlayError::GamePaused => ApiError::conflict("game_paused", message),
            PlayError::TurnAlreadyClosed { turn, current_turn } => {
                ApiError::conflict("turn_already_closed", message)
                    .with_details(json!({ "turn": turn, "current_turn": current_turn }))
            }
            PlayError::RaceNotAlive { race, .. } => {
                ApiError::forbidden("race_not_alive", message).with_details(json!({ "race": race }))
            }
            PlayError::InvalidOrders(_) => ApiError::unprocessable("invalid_orders", message),
            PlayError::LimitExceeded { field, .. } => {
                ApiError::unprocessable("limit_exceeded", message)
                    .with_details(json!({ "field": field }))
            }
            PlayError::OrderNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "order_not_found", message)
            }
            PlayError::ReportNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "report_not_found", message)
            }
            PlayError::EngineUnavailable(_) => ApiError::unavailable(
                "engine_unavailable",
                "the game's engine is unavailable; try again shortly (an order set is stored whole or not at all)",
            )
            .with_details(json!({ "retry_after_seconds": ENGINE_RETRY_AFTER }))
            .with_header(header::RETRY_AFTER, HeaderValue::from(ENGINE_RETRY_AFTER)),
            PlayError::Engine(e) => ApiError::internal(e),
            PlayError::Lobby(e) => e.into(),
            PlayError::Runtime(e) => (*e).into(),
        }
    }
}
