//! `/api/v1/internal/*`: routes for the gateway on the trusted network (no
//! authentication). The device-session lookup runs on every client request
//! the gateway handles, so it is served from the active-session cache —
//! one read lock and a reference-counted, pre-rendered body. Only a miss
//! reads PostgreSQL (a session another instance created a moment ago),
//! a few at a time. The contract is in `openapi.yaml` and `docs/auth.md`.

use crate::ids::DeviceSessionId;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::server::groups::{GroupRoutes, RouteGroup};
use crate::server::{ApiError, AppState, Path};

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Internal).route(
        "/device-sessions/{device_session_id}",
        get(lookup_device_session),
    )
}

/// `GET /api/v1/internal/device-sessions/{id}`: 200 with user id, public
/// key and status of an active session; 404 `device_session_not_found`
/// for an unknown or revoked one; 503 `not_ready` while the cache warms.
async fn lookup_device_session(
    State(state): State<AppState>,
    Path(device_session_id): Path<DeviceSessionId>,
) -> Response {
    match state.sessions.lookup_body_or_load(&device_session_id).await {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(true) => ApiError::new(
            StatusCode::NOT_FOUND,
            "device_session_not_found",
            "no active device session with this id",
        )
        .into_response(),
        Err(false) => ApiError::unavailable(
            "not_ready",
            "the session cache is still warming; retry shortly",
        )
        .into_response(),
    }
}
