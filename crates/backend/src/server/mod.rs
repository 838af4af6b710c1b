//! The HTTP and gRPC surfaces. Handlers only extract input, check who may
//! act, call a domain service and map its error; domains know nothing of
//! HTTP.
//!
//! - [`edge`]: serving, limits, source address, error shape, extractors.
//! - [`groups`]: the route groups, defined once — prefix, metric label:
//!
//! | prefix | module | auth |
//! |---|---|---|
//! | `/api/v1/public/*` | `public` | none |
//! | `/api/v1/user/*` | `user` | `X-User-ID` injected by the gateway ([`AuthUser`]) |
//! | `/api/v1/admin/*` | [`admin`] | HTTP Basic Auth against `admin_accounts` |
//! | `/api/v1/internal/*` | `internal` | none: trusted network only (the gateway's device-session lookup) |
//! | `/healthz`, `/readyz`, `/openapi.yaml`, `/docs` | `probes` | none |
//!
//! - `errors`: every domain error's HTTP answer.
//! - [`grpc`]: the push service (`SubscribePush`).
//!
//! Every error, whatever produced it, leaves in the shape of [`ApiError`].

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use sqlx::PgPool;

use crate::config::{Config, TracesExporter};
use crate::readiness::Readiness;
use crate::telemetry::{self, Metrics};

pub mod admin;
mod docs;
pub mod edge;
mod errors;
pub mod groups;
pub mod grpc;
mod internal;
mod lobby_bodies;
mod probes;
mod public;
mod user;

pub use edge::error::{self, ApiError};
pub use edge::extract::{self, AuthUser, Json, Path, Query, WholeJson};
pub use edge::{guard, paging, serve, source_ip};
use edge::{limits, normalize};
pub use groups::RouteGroup;

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
    /// This process among the instances sharing the database.
    pub instance: crate::cluster::InstanceId,
    /// Whether this instance leads (runs the singleton loops).
    pub leadership: crate::cluster::Leadership,
    pub metrics: Metrics,
    pub readiness: Readiness,
    /// Admin accounts, Basic Auth verification and the audit trail.
    pub admin: crate::admin::AdminService,
    /// The mail outbox: admin queries, resend, and its worker.
    pub mail: crate::mail::Mail,
    /// Accounts, settings, entitlements, sanctions, soft delete (cached).
    pub users: crate::user::UserService,
    /// Device sessions and the active-session cache (gateway lookup).
    pub sessions: crate::session::SessionService,
    /// Login by email code.
    pub auth: crate::auth::AuthService,
    /// GeoIP lookups and per-user country counters.
    pub geo: crate::geo::Geo,
    /// The gRPC push stream to the gateway (producers publish here).
    pub push: crate::push::PushService,
    /// The notification pipeline: submit, preferences, admin queries, worker.
    pub notification: crate::notification::NotificationService,
    /// Games, applications, invites, memberships, the Race Name Directory.
    pub lobby: crate::lobby::LobbyService,
    /// The engine version registry (cached).
    pub engine_versions: crate::runtime::versions::EngineVersions,
    /// The shared job queue's runner (tests drive its step).
    pub jobs: crate::jobs::Runner,
    /// Engines: records, operations, the reconciler (tests drive its steps).
    pub runtime: crate::runtime::RuntimeService,
}

/// The complete HTTP application: groups, probes, contract, fallbacks and
/// the middleware stack (outermost first: the HTTP edge — request id, trace
/// span, panics, error normalisation, metrics — then the request limits —
/// handler deadline, body size and body read timeout — then the user guard).
pub fn router(state: AppState) -> Router {
    let surface = if state.config.security.gateway_listen_addr.is_some() {
        Surface::Main
    } else {
        Surface::All
    };
    router_for(state, surface)
}

/// Which groups one HTTP listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Every group (one listener, the default).
    All,
    /// Public and admin groups and the probes (`BACKEND_HTTP_LISTEN_ADDR`
    /// when a gateway listener is configured).
    Main,
    /// User and internal groups and the probes
    /// (`BACKEND_GATEWAY_LISTEN_ADDR`).
    Gateway,
}

/// [`router`] for the gateway listener (`BACKEND_GATEWAY_LISTEN_ADDR`).
pub fn gateway_router(state: AppState) -> Router {
    router_for(state, Surface::Gateway)
}

fn router_for(state: AppState, surface: Surface) -> Router {
    let http = &state.config.http;
    let body_limit = usize::try_from(http.max_body_bytes).unwrap_or(usize::MAX);
    // Routes carry their full paths and groups are merged, not nested:
    // `nest` strips the prefix (a new URI) and adds a router level per request.
    // The user group's guard runs in the stack below (by path prefix); the
    // admin group's is a `route_layer` of its own routes.
    let mut routes = Router::new().merge(probes::routes());
    if surface != Surface::Gateway {
        routes = routes
            .merge(public::routes().into_router())
            .merge(admin::routes(&state));
    }
    if surface != Surface::Main {
        routes = routes
            .merge(user::routes().into_router())
            .merge(internal::routes().into_router());
    }
    routes
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
                        group: groups::label_of,
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
                .layer(guard::GuardLayer::for_prefix(RouteGroup::User.prefix(), {
                    let state = state.clone();
                    move |req| user::require_user(&state, req)
                }))
                .layer(guard::GuardLayer::for_prefix(
                    RouteGroup::Internal.prefix(),
                    {
                        let state = state.clone();
                        move |req| {
                            let expected = state.config.security.gateway_secret.as_ref();
                            edge::gateway::require_gateway(expected, req)
                        }
                    },
                )),
        )
}

async fn route_not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}
