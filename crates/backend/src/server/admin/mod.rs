//! The admin group (`/api/v1/admin/*`): every route behind HTTP Basic Auth
//! ([`auth::require_admin`]); handlers take the caller as
//! [`auth::AdminUser`].

use axum::Router;
use axum::middleware;

use super::AppState;
use super::groups::{GroupRoutes, RouteGroup};

mod accounts;
pub mod auth;
mod engine_versions;
mod games;
mod mail;
mod notifications;
mod runtimes;
mod users;

/// The group's routes, each behind the Basic Auth guard.
pub(super) fn routes(state: &AppState) -> Router<AppState> {
    group_routes()
        .into_router()
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ))
}

fn group_routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Admin)
        .merge(accounts::routes())
        .merge(engine_versions::routes())
        .merge(games::routes())
        .merge(mail::routes())
        .merge(notifications::routes())
        .merge(runtimes::routes())
        .merge(users::routes())
}

#[cfg(test)]
pub(super) fn all_group_routes() -> Vec<GroupRoutes> {
    vec![
        super::public::routes(),
        super::user::routes(),
        group_routes(),
        super::internal::routes(),
    ]
}
