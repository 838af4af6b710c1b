//! Routes outside the four groups: the probes (`/healthz`, `/readyz`), the
//! REST contract (`/openapi.yaml`) and its interactive reference (`/docs`,
//! Swagger UI: [`super::docs`]).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use super::{ApiError, AppState, OPENAPI_YAML};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.yaml", get(openapi_yaml))
        .merge(super::docs::routes())
}

/// Liveness: 200 whenever the process can answer.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// Readiness: 200 once PostgreSQL answers, migrations are applied, every
/// registered cache has warmed and the gRPC listener is bound; otherwise
/// 503 `not_ready` with the unmet checks in `details`.
async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let timeout = state
        .config
        .postgres
        .operation_timeout
        .min(Duration::from_secs(2));
    let postgres = crate::postgres::ping(&state.db, timeout).await;
    let report = state.readiness.report(postgres);
    if report.ready() {
        let mut body = json!({
            "status": "ready",
            "instance": state.instance.as_str(),
            "role": role(&state),
        });
        if let Some(leader) = crate::cluster::leader::current_leader(&state.db).await {
            body["leader"] = leader.into();
        }
        Ok(axum::Json(body))
    } else {
        Err(
            ApiError::unavailable("not_ready", "the service is not ready")
                .with_details(serde_json::to_value(&report).unwrap_or_default()),
        )
    }
}

/// `leader` or `standby` (see `cluster::leader`).
fn role(state: &AppState) -> &'static str {
    if state.leadership.is_leader() {
        "leader"
    } else {
        "standby"
    }
}

async fn openapi_yaml() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}
