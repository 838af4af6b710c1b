//! Admin accounts and sign-in: `BACKEND_ADMIN_*`.

use crate::config::load::Loader;
use crate::config::values::{any_u32, duration, positive_duration, text};
use crate::config::{AdminConfig, Secret};

impl Loader {
    pub(in crate::config) fn admin(&mut self) -> Option<AdminConfig> {
        let bootstrap_user = self.optional("BACKEND_ADMIN_BOOTSTRAP_USER", text);
        let bootstrap_password = self
            .raw("BACKEND_ADMIN_BOOTSTRAP_PASSWORD")
            .map(Secret::new);
        if let Some(user) = &bootstrap_user {
            self.both_or_neither(
                ("BACKEND_ADMIN_BOOTSTRAP_USER", user.is_some()),
                (
                    "BACKEND_ADMIN_BOOTSTRAP_PASSWORD",
                    bootstrap_password.is_some(),
                ),
            );
        }
        let credential_cache_ttl = self.value("BACKEND_ADMIN_CREDENTIAL_CACHE_TTL", duration);
        let auth_failure_limit = self.value("BACKEND_ADMIN_AUTH_FAILURE_LIMIT", any_u32);
        let auth_failure_window =
            self.value("BACKEND_ADMIN_AUTH_FAILURE_WINDOW", positive_duration);
        Some(AdminConfig {
            bootstrap_user: bootstrap_user?,
            bootstrap_password,
            credential_cache_ttl: credential_cache_ttl?,
            auth_failure_limit: auth_failure_limit?,
            auth_failure_window: auth_failure_window?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::testing::*;

    #[test]
    fn bootstrap_user_and_password_come_together() {
        refused_for(
            "BACKEND_ADMIN_BOOTSTRAP_PASSWORD",
            &[("BACKEND_ADMIN_BOOTSTRAP_USER", "root")],
        );
        refused_for(
            "BACKEND_ADMIN_BOOTSTRAP_USER",
            &[("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", "pw")],
        );
    }

    #[test]
    fn admin_sign_in_settings_have_defaults_and_are_checked() {
        let c = load(&[]);
        assert_eq!(c.admin.credential_cache_ttl, Duration::from_secs(60));
        assert_eq!(c.admin.auth_failure_limit, 8);
        assert_eq!(c.admin.auth_failure_window, Duration::from_secs(300));
        let c = load(&[
            ("BACKEND_ADMIN_CREDENTIAL_CACHE_TTL", "0s"),
            ("BACKEND_ADMIN_AUTH_FAILURE_LIMIT", "0"),
        ]);
        assert_eq!(c.admin.credential_cache_ttl, Duration::ZERO);
        assert_eq!(c.admin.auth_failure_limit, 0);
        refused_for(
            "BACKEND_ADMIN_CREDENTIAL_CACHE_TTL",
            &[("BACKEND_ADMIN_CREDENTIAL_CACHE_TTL", "soon")],
        );
        refused_for(
            "BACKEND_ADMIN_AUTH_FAILURE_LIMIT",
            &[("BACKEND_ADMIN_AUTH_FAILURE_LIMIT", "-1")],
        );
        refused_for(
            "BACKEND_ADMIN_AUTH_FAILURE_WINDOW",
            &[("BACKEND_ADMIN_AUTH_FAILURE_WINDOW", "0s")],
        );
    }
}
