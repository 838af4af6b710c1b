//! The internal group (`/api/v1/internal/*`): the gateway on the trusted
//! network — the device-session lookup it runs on every client request.

use super::groups::{GroupRoutes, RouteGroup};

mod sessions;

pub(super) fn routes() -> GroupRoutes {
    GroupRoutes::new(RouteGroup::Internal).merge(sessions::routes())
}
