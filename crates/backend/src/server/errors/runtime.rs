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
