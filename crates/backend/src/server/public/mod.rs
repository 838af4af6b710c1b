//! The public group (`/api/v1/public/*`): no authentication — login by
//! email code.

use super::groups::{GroupRoutes, RouteGroup};

mod auth;

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Public).merge(auth::routes())
}
