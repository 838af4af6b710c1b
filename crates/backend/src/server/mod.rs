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
use axum::http::header;
use axum::middleware;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::json;
use sqlx::PgPool;

use crate::config::{Config, TracesExporter};
use crate::readiness::Readiness;
use crate::telemetry::{self, Metrics};

mod account;
mod admin_accounts;
pub mod admin_auth;
mod admin_mail;
mod admin_notifications;
mod admin_users;
mod auth;
mod conn_timer;
mod domain_errors;
pub mod error;
pub mod extract;
mod gateway;
pub mod grpc;
pub mod guard;
mod limits;
mod normalize;
mod notification_prefs;
pub mod paging;
pub mod serve;
mod sessions;
pub mod source_ip;
mod user;

pub use error::ApiError;
pub use extract::{AuthUser, Json, Path, Query};
use guard::Verdict;

/// The REST contract, served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// Everything handlers may reach. Fields are reached through `Deref`
/// ([`AppContext`]).
///
/// axum clones a route's state for every request it serves (several times
/// per request through the layers), and two threads updating one reference
/// count keep stealing its cache line from each other — that contention was
/// a measurable share of a request's time. So the context of an application
/// is allocated once and never freed (an application lives as long as its
/// process; tests run one or two per process), and a clone is a pointer
/// copy. Shutdown does not rely on dropping it: the pool, the push streams
/// and the workers are closed explicitly (`app.rs`).
#[derive(Clone)]
pub struct AppState(&'static AppContext);

impl AppState {
    pub fn new(context: AppContext) -> Self {
        Self(Box::leak(Box::new(context)))
    }

    /// The context itself, for what must outlive any one request (layers).
    pub fn context(&self) -> &'static AppContext {
        self.0
    }
}

impl std::ops::Deref for AppState {
    type Target = AppContext;

    fn deref(&self) -> &AppContext {
        self.0
    }
}

/// The services behind [`AppState`].
pub struct AppContext {
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
    /// Soft-delete hooks (notification skips the user's open routes).
    pub user_deleted_hooks: crate::user::UserDeletedHooks,
    /// Device sessions and the active-session cache (gateway lookup).
    pub sessions: crate::auth::SessionService,
    /// Login by email code.
    pub auth: crate::auth::AuthService,
    /// GeoIP lookups and per-user country counters.
    pub geo: crate::geo::Geo,
    /// Device-session revocations; push turns each into a `SessionInvalidation`.
    pub session_events: crate::auth::SessionEvents,
    /// The gRPC push stream to the gateway (producers publish here).
    pub push: crate::push::PushService,
    /// The notification pipeline: submit, preferences, admin queries, worker.
    pub notification: crate::notification::NotificationService,
}

/// The complete HTTP application: groups, probes, contract, fallbacks and
/// the middleware stack (outermost first: the HTTP edge — request id, trace
/// span, panics, error normalisation, metrics — then the request limits —
/// handler deadline, body size and body read timeout — then the user guard).
pub fn router(state: AppState) -> Router {
    let http = &state.config.http;
    let body_limit = usize::try_from(http.max_body_bytes).unwrap_or(usize::MAX);
    // Routes carry their full paths and groups are merged, not nested:
    // `nest` strips the prefix (a new URI) and adds a router level per request.
    // The user group's guard runs in the stack below (by path prefix).
    let user = user::routes()
        .merge(account::routes())
        .merge(sessions::routes())
        .merge(notification_prefs::routes());
    // The admin group: every route behind HTTP Basic Auth. Other areas add
    // their admin routes with `.merge(…)` before the `route_layer`.
    let admin = admin_accounts::routes()
        .merge(admin_mail::routes())
        .merge(admin_notifications::routes())
        .merge(admin_users::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            admin_auth::require_admin,
        ));

    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.yaml", get(openapi_yaml))
        .route("/docs", get(docs_page))
        .merge(auth::routes())
        .merge(user)
        .merge(admin)
        // Trusted network only (the gateway): no authentication.
        .merge(gateway::routes())
        .fallback(route_not_found)
        .with_state(state.clone())
        // One `layer` call for the whole stack: every `Router::layer` wraps
        // each route in another boxed `Route` that is cloned per request.
        .layer(
            tower::ServiceBuilder::new()
                .layer(telemetry::HttpEdgeLayer::new(
                    &state.context().metrics,
                    telemetry::EdgeHooks {
                        finish: normalize::error_shape,
                        panic: normalize::panic_response,
                    },
                    if state.config.otel.traces_exporter == TracesExporter::None {
                        telemetry::RequestSpans::LogContextOnly
                    } else {
                        telemetry::RequestSpans::Open
                    },
                ))
                .layer(limits::RequestLimitsLayer {
                    handler_timeout: http.write_timeout,
                    body_timeout: http.read_timeout,
                    max_body_bytes: body_limit,
                })
                .layer(guard::GuardLayer::for_prefix(USER_PREFIX, {
                    let state = state.clone();
                    move |req| require_user(&state, req)
                })),
        )
}

/// The user group: every path below it passes [`require_user`].
const USER_PREFIX: &str = "/api/v1/user";

/// User-group guard: a valid `X-User-ID` (else 401), then from the accounts
/// cache: a soft-deleted account → 403 `account_deleted`, an active login
/// ban → 403 `login_banned`. Handlers take the caller as [`AuthUser`]
/// (parsed again from the checked header: cheaper than an extension) and
/// read the account from the cache.
/// Decided from memory; only while the cache warms is PostgreSQL asked.
/// Every admitted request is counted per country (fire-and-forget).
fn require_user<B: Send + 'static>(state: &AppState, req: http::Request<B>) -> Verdict<B> {
    let user = match AuthUser::from_headers(req.headers()) {
        Ok(user) => user,
        Err(err) => return Verdict::Reject(err),
    };
    let admit = move |state: &AppState, req: http::Request<B>| {
        if let Some(ip) = source_ip::source_ip(req.headers(), source_ip::peer()) {
            state.geo.count_request(user.user_id, ip);
        }
        req
    };
    match state.users.check_cached(user.user_id) {
        Some(Ok(_)) => Verdict::Pass(admit(state, req)),
        Some(Err(err)) => Verdict::Reject(err.into()),
        None => {
            let state = state.clone();
            Verdict::Pending(Box::pin(async move {
                state.users.authorize(user.user_id).await?;
                Ok(admit(&state, req))
            }))
        }
    }
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
