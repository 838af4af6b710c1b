//! Routes outside the four groups: the probes (`/healthz`, `/readyz`), the
//! REST contract (`/openapi.yaml`) and its reference page (`/docs`).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::json;

use super::{ApiError, AppState, OPENAPI_YAML};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.yaml", get(openapi_yaml))
        .route("/docs", get(docs_page))
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
        Ok(axum::Json(json!({ "status": "ready" })))
    } else {
        Err(
            ApiError::unavailable("not_ready", "the service is not ready")
                .with_details(serde_json::to_value(&report).unwrap_or_default()),
        )
    }
}

async fn openapi_yaml() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}

/// A human-readable rendering of the contract (Redoc from the document
/// itself; the page works offline as plain YAML if the script is absent).
async fn docs_page() -> Html<&'static str> {
    Html(include_str!("probes_docs.html"))
}
