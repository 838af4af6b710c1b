//! HTTP answers of the runtime's errors (codes in `openapi.yaml` and
//! `docs/runtime.md`).

use serde_json::json;

use crate::runtime::versions::EngineVersionError;
use crate::server::ApiError;

impl From<EngineVersionError> for ApiError {
    fn from(err: EngineVersionError) -> Self {
        let message = err.to_string();
        match err {
            EngineVersionError::Invalid { field, .. } => {
                ApiError::unprocessable("invalid_engine_version", message)
                    .with_details(json!({ "field": field }))
            }
            EngineVersionError::Exists(_) => ApiError::conflict("engine_version_exists", message),
            EngineVersionError::NotFound(_) => ApiError::not_found(message),
            EngineVersionError::Disabled(_) => {
                ApiError::conflict("engine_version_disabled", message)
            }
            EngineVersionError::IsDefault(_) => {
                ApiError::conflict("engine_version_is_default", message)
            }
            EngineVersionError::Database(e) => e.into(),
        }
    }
}

impl From<crate::runtime::RuntimeError> for ApiError {
    fn from(err: crate::runtime::RuntimeError) -> Self {
        use crate::runtime::RuntimeError as E;
        use axum::http::{HeaderValue, header};
        let message = err.to_string();
        match err {
            E::NotFound(_) => ApiError::not_found(message),
            E::Busy { queued } => ApiError::unavailable("runtime_busy", message)
                .with_header(header::RETRY_AFTER, HeaderValue::from(5))
                .with_details(json!({ "queued": queued })),
            E::Unavailable(_) => ApiError::unavailable("runtime_unavailable", message)
                .with_header(header::RETRY_AFTER, HeaderValue::from(10)),
            E::InvalidState {
                current, wanted, ..
            } => ApiError::conflict("invalid_runtime_state", message)
                .with_details(json!({ "current_state": current, "wanted_state": wanted })),
            E::GameNotInPlay { current, .. } => ApiError::conflict("invalid_game_state", message)
                .with_details(
                    json!({ "current_state": current, "wanted_state": "running or paused" }),
                ),
            E::PatchNotAllowed { from, to, .. } => ApiError::conflict("patch_not_allowed", message)
                .with_details(json!({ "from_version": from, "to_version": to })),
            E::PatchChangesRules {
                from,
                to,
                turn,
                difference,
                ..
            } => ApiError::conflict("patch_changes_rules", message).with_details(json!({
                "from_version": from,
                "to_version": to,
                "turn": turn,
                "what": difference["what"],
                "line": difference["line"],
                "expected": difference["expected"],
                "actual": difference["actual"],
            })),
            E::ShadowCheckFailed { from, to, reason } => {
                ApiError::conflict("shadow_check_failed", message).with_details(
                    json!({ "from_version": from, "to_version": to, "reason": reason }),
                )
            }
            E::UnknownVersion(_) => ApiError::unprocessable("unknown_engine_version", message)
                .with_details(json!({ "field": "engine_version" })),
            E::EngineUnavailable(_) => ApiError::unavailable("engine_unavailable", message)
                .with_header(header::RETRY_AFTER, HeaderValue::from(10)),
            E::GameNotPaused { current } => ApiError::conflict("invalid_game_state", message)
                .with_details(json!({ "current_state": current, "wanted_state": "paused" })),
            E::NotGameOwner => ApiError::forbidden("not_game_owner", message),
            E::Db(e) => e.into(),
            E::Lobby(e) => e.into(),
        }
    }
}
