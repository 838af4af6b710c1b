//! The route groups, defined once: each group's path prefix, its metric
//! label and who may call it. Handler modules register their routes
//! relative to their group ([`GroupRoutes`]), the router is assembled from
//! the groups, and the HTTP metrics label every request with
//! [`label_of`] — all from the one table [`GROUPS`].

use axum::Router;
use axum::routing::MethodRouter;

use super::AppState;

/// One route group of the REST surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteGroup {
    /// `/api/v1/public/*`: no authentication (login).
    Public,
    /// `/api/v1/user/*`: `X-User-ID` injected by the gateway.
    User,
    /// `/api/v1/admin/*`: HTTP Basic Auth against `admin_accounts`.
    Admin,
    /// `/api/v1/internal/*`: the gateway on the trusted network.
    Internal,
}

/// `(group, path prefix, metric label)` — the one place the prefixes live.
pub const GROUPS: [(RouteGroup, &str, &str); 4] = [
    (RouteGroup::Public, "/api/v1/public", "public"),
    (RouteGroup::User, "/api/v1/user", "user"),
    (RouteGroup::Admin, "/api/v1/admin", "admin"),
    (RouteGroup::Internal, "/api/v1/internal", "internal"),
];

/// The probes (`/healthz`, `/readyz`): their own metric label.
pub const PROBE_PATHS: [&str; 2] = ["/healthz", "/readyz"];
pub const PROBE_LABEL: &str = crate::telemetry::PROBE_GROUP;
/// Everything else (the contract document, its reference page, unmatched).
pub const OTHER_LABEL: &str = "other";

impl RouteGroup {
    fn row(self) -> &'static (RouteGroup, &'static str, &'static str) {
        GROUPS
            .iter()
            .find(|(group, _, _)| *group == self)
            .expect("every group has a row")
    }

    /// The group's path prefix (no trailing slash).
    pub fn prefix(self) -> &'static str {
        self.row().1
    }

    /// The group's `group` metric label.
    pub fn label(self) -> &'static str {
        self.row().2
    }

    /// Whether `path` lies in this group (the prefix itself or below it).
    pub fn contains(self, path: &str) -> bool {
        path.strip_prefix(self.prefix())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// The group a request path belongs to, if any.
pub fn group_of(path: &str) -> Option<RouteGroup> {
    GROUPS
        .iter()
        .map(|(group, _, _)| *group)
        .find(|group| group.contains(path))
}

/// The `group` metric label of a request path.
pub fn label_of(path: &str) -> &'static str {
    match group_of(path) {
        Some(group) => group.label(),
        None if PROBE_PATHS.contains(&path) => PROBE_LABEL,
        None => OTHER_LABEL,
    }
}

/// A group's routes, registered with paths relative to the group prefix.
/// The full path is built once here, at start-up: routes are merged flat
/// (no `nest`, which would rewrite the URI and add a router level to every
/// request).
pub struct GroupRoutes {
    group: RouteGroup,
    router: Router<AppState>,
    /// Every full path registered, for the label test.
    paths: Vec<String>,
}

impl GroupRoutes {
    pub fn new(group: RouteGroup) -> Self {
        Self {
            group,
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    /// Adds `path` (relative to the group, starting with `/`).
    pub fn route(mut self, path: &str, method_router: MethodRouter<AppState>) -> Self {
        debug_assert!(
            path.starts_with('/'),
            "relative route {path} must start with /"
        );
        let full = format!("{}{path}", self.group.prefix());
        self.router = self.router.route(&full, method_router);
        self.paths.push(full);
        self
    }

    /// Adds another module's routes of the same group.
    pub fn merge(mut self, other: GroupRoutes) -> Self {
        assert_eq!(self.group, other.group, "routes of two groups merged");
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    pub fn group(&self) -> RouteGroup {
        self.group
    }

    /// The full paths registered so far.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_gets_its_groups_label() {
        assert_eq!(label_of("/api/v1/public/auth/challenges"), "public");
        assert_eq!(label_of("/api/v1/user"), "user");
        assert_eq!(label_of("/api/v1/userx"), "other");
        assert_eq!(label_of("/api/v1/admin/users/1"), "admin");
        assert_eq!(
            label_of("/api/v1/internal/device-sessions/{device_session_id}"),
            "internal"
        );
        assert_eq!(label_of("/healthz"), "probe");
        assert_eq!(label_of("/readyz"), "probe");
        assert_eq!(label_of("/metrics"), "other");
        assert_eq!(label_of("/openapi.yaml"), "other");
    }

    #[test]
    fn labels_and_prefixes_are_unique() {
        for (i, (_, prefix, label)) in GROUPS.iter().enumerate() {
            for (_, other_prefix, other_label) in &GROUPS[i + 1..] {
                assert_ne!(prefix, other_prefix);
                assert_ne!(label, other_label);
            }
            assert_ne!(*label, PROBE_LABEL);
            assert_ne!(*label, OTHER_LABEL);
        }
    }
}

#[cfg(test)]
mod served_routes {
    use super::*;

    /// Every route a group serves lies under its prefix, so its requests
    /// carry the group's metric label.
    #[test]
    fn every_served_route_has_its_groups_label() {
        let groups = crate::server::admin::all_group_routes();
        assert_eq!(groups.len(), GROUPS.len(), "a group is not served");
        for routes in groups {
            assert!(
                !routes.paths().is_empty(),
                "{:?} serves nothing",
                routes.group()
            );
            for path in routes.paths() {
                assert_eq!(label_of(path), routes.group().label(), "{path}");
            }
        }
    }
}
