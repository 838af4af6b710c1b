//! HTTP answers of the lobby's errors (codes in `openapi.yaml` and
//! `docs/lobby.md`).

use serde_json::json;

use crate::lobby::LobbyError;
use crate::server::ApiError;

impl From<LobbyError> for ApiError {
    fn from(err: LobbyError) -> Self {
        let message = err.to_string();
        match err {
            LobbyError::NotFound(_) => ApiError::not_found(message),
            LobbyError::InvalidGameState { current, wanted } => {
                ApiError::conflict("invalid_game_state", message)
                    .with_details(json!({ "current_state": current, "wanted_state": wanted }))
            }
            LobbyError::InvalidApplicationState { current } => {
                ApiError::conflict("invalid_application_state", message)
                    .with_details(json!({ "current_state": current }))
            }
            LobbyError::InvalidInviteState { current } => {
                ApiError::conflict("invalid_invite_state", message)
                    .with_details(json!({ "current_state": current }))
            }
            LobbyError::InviteExpired { expires_at } => {
                ApiError::conflict("invite_expired", message)
                    .with_details(json!({ "expires_at": expires_at }))
            }
            LobbyError::GameFull { max } => {
                ApiError::conflict("game_full", message).with_details(json!({ "max_races": max }))
            }
            LobbyError::NotEnoughRaces { have, need } => {
                ApiError::conflict("not_enough_races", message)
                    .with_details(json!({ "races": have, "min_races": need }))
            }
            LobbyError::ApplicationExists => ApiError::conflict("application_exists", message),
            LobbyError::InviteExists => ApiError::conflict("invite_exists", message),
            LobbyError::AlreadyMember => ApiError::conflict("already_member", message),
            LobbyError::NotAMember => ApiError::conflict("not_a_member", message),
            LobbyError::ApplicationsClosed => ApiError::conflict("applications_closed", message),
            LobbyError::RaceNameTaken => ApiError::conflict("race_name_taken", message),
            LobbyError::RaceNameLimitReached { limit } => {
                ApiError::conflict("race_name_limit_reached", message)
                    .with_details(json!({ "limit": limit }))
            }
            LobbyError::GameLimitReached { limit } => {
                ApiError::conflict("game_limit_reached", message)
                    .with_details(json!({ "limit": limit }))
            }
            LobbyError::GameJoinBanned { expires_at } => {
                ApiError::forbidden("game_join_banned", message)
                    .with_details(json!({ "expires_at": expires_at }))
            }
            LobbyError::NotGameOwner => ApiError::forbidden("not_game_owner", message),
            LobbyError::BlockedFromGame => ApiError::forbidden("blocked_from_game", message),
            LobbyError::InvalidGame { field, .. } => {
                ApiError::unprocessable("invalid_game", message)
                    .with_details(json!({ "field": field }))
            }
            LobbyError::UnknownEngineVersion(_) => {
                ApiError::unprocessable("unknown_engine_version", message)
                    .with_details(json!({ "field": "engine_version" }))
            }
            LobbyError::EngineVersions(e) => ApiError::internal(format!("{e:#}")),
            LobbyError::InvalidSchedule(e) => ApiError::unprocessable("invalid_schedule", message)
                .with_details(json!({ "field": e.field })),
            LobbyError::InvalidSettings(e) => ApiError::unprocessable("invalid_settings", message)
                .with_details(json!({ "field": e.field })),
            LobbyError::InvalidRaceName(_) => ApiError::unprocessable("invalid_race_name", message)
                .with_details(json!({ "field": "race_name" })),
            LobbyError::InvalidInvite { field, .. } => {
                ApiError::unprocessable("invalid_invite", message)
                    .with_details(json!({ "field": field }))
            }
            LobbyError::User(e) => e.into(),
            LobbyError::Notification(crate::notification::NotificationError::Database(e)) => {
                e.into()
            }
            LobbyError::Notification(e) => ApiError::internal(e),
            LobbyError::Database(e) => e.into(),
        }
    }
}
