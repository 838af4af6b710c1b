//! The HTTP edge: route groups, middleware, probes, the contract document,
//! and thin handlers that extract input, check who may act, call a domain
//! service and map its error.
//!
//! | prefix | auth |
//! |---|---|
//! | `/api/v1/public/*` | none |
//! | `/api/v1/user/*` | `X-User-ID` injected by the gateway ([`extract::AuthUser`]) |
//! | `/api/v1/admin/*` | HTTP Basic Auth against `admin_accounts` |
//! | `/api/v1/internal/*` | none: trusted network only (the gateway's device-session lookup) |
//! | `/healthz`, `/readyz` | none |
//!
//! Every error, whatever produced it, leaves in the shape of [`error::ApiError`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use sqlx::PgPool;

use crate::config::Config;
use crate::readiness::Readiness;
use crate::telemetry::{self, Metrics};

mod account;
mod admin_accounts;
pub mod admin_auth;
mod admin_mail;
mod admin_users;
mod auth;
pub mod error;
pub mod extract;
mod gateway;
pub mod grpc;
mod normalize;
pub mod paging;
pub mod serve;
mod sessions;
pub mod source_ip;
mod user;

pub use error::ApiError;
pub use extract::{AuthUser, Json, Path, Query};

/// The REST contract, served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// Everything handlers may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: PgPool,
    pub metrics: Metrics,
    pub readiness: Readiness,
    /// Admin accounts, Basic Auth verification and the audit trail.
    pub admin: crate::admin::AdminService,
    /// The mail outbox: admin queries, resend, and its worker.
    pub mail: crate::mail::Mail,
    /// Accounts, settings, entitlements, sanctions, soft delete (cached).
    pub users: crate::user::UserService,
    /// What other domains registered to run inside a soft delete.
    pub user_deleted_hooks: crate::user::UserDeletedHooks,
    /// Device sessions and the active-session cache (gateway lookup).
    pub sessions: crate::auth::SessionService,
    /// Login by email code.
    pub auth: crate::auth::AuthService,
    /// GeoIP lookups and per-user country counters.
    pub geo: crate::geo::Geo,
    /// Session revocation listeners (push subscribes here).
    pub session_events: crate::auth::SessionEvents,
}

/// The complete HTTP application: groups, probes, contract, fallbacks and
/// the middleware stack (outermost first: request id + trace span, metrics,
/// error normalisation, write timeout, body limits).
pub fn router(state: AppState) -> Router {
    let http = &state.config.http;
    let public = auth::routes();
    // Trusted network only (the gateway): no authentication.
    let internal = gateway::routes();
    let user = user::routes()
        .merge(account::routes())
        .merge(sessions::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_user));
    // The admin group: every route behind HTTP Basic Auth. Other areas add
    // their admin routes with `.merge(…)` before the `route_layer`.
    let admin = admin_accounts::routes()
        .merge(admin_mail::routes())
        .merge(admin_users::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            admin_auth::require_admin,
        ));

    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.yaml", get(openapi_yaml))
        .route("/docs", get(docs_page))
        .nest("/api/v1/public", public)
        .nest("/api/v1/user", user)
        .nest("/api/v1/admin", admin)
        .nest("/api/v1/internal", internal)
        .fallback(route_not_found)
        .with_state(state.clone())
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            http.read_timeout,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            usize::try_from(http.max_body_bytes).unwrap_or(usize::MAX),
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            usize::try_from(http.max_body_bytes).unwrap_or(usize::MAX),
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            http.write_timeout,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            normalize::panic_response,
        ))
        .layer(middleware::from_fn(normalize::error_shape))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            telemetry::track_http,
        ));
    telemetry::http_layers(app)
}

/// User-group guard: a valid `X-User-ID` (else 401), then from the accounts
/// cache: a soft-deleted account → 403 `account_deleted`, an active login
/// ban → 403 `login_banned`. The caller's cached record (when the id has an
/// account) goes into the request extensions for the handlers.
async fn require_user(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let user = AuthUser::from_headers(req.headers())?;
    if let Some(record) = state.users.authorize(user.user_id).await? {
        req.extensions_mut().insert(record);
    }
    // Geo counters: fire-and-forget, never blocks or fails the request.
    if let Some(ip) = source_ip::source_ip(req.headers(), source_ip::peer(req.extensions())) {
        state.geo.count_request(user.user_id, ip);
    }
    req.extensions_mut().insert(user);
    Ok(next.run(req).await)
}

async fn route_not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
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
    Html(include_str!("docs.html"))
}
