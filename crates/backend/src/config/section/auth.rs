//! Login by email code: `BACKEND_AUTH_*`.

use crate::config::AuthConfig;
use crate::config::load::Loader;
use crate::config::values::{positive_duration, positive_u32, u32_in};

impl Loader {
    pub(in crate::config) fn auth(&mut self) -> Option<AuthConfig> {
        let challenge_ttl = self.value("BACKEND_AUTH_CHALLENGE_TTL", positive_duration);
        let challenge_max_attempts =
            self.value("BACKEND_AUTH_CHALLENGE_MAX_ATTEMPTS", positive_u32);
        let challenge_throttle_window =
            self.value("BACKEND_AUTH_CHALLENGE_THROTTLE_WINDOW", positive_duration);
        let challenge_throttle_max =
            self.value("BACKEND_AUTH_CHALLENGE_THROTTLE_MAX", positive_u32);
        let username_max_retries = self.value("BACKEND_AUTH_USERNAME_MAX_RETRIES", positive_u32);
        let confirm_failure_limit = self.value("BACKEND_AUTH_CONFIRM_FAILURE_LIMIT", |s| {
            u32_in(s, 1, 1_000_000)
        });
        let challenge_retention = self.value("BACKEND_AUTH_CHALLENGE_RETENTION", positive_duration);
        let prune_interval = self.value("BACKEND_AUTH_PRUNE_INTERVAL", positive_duration);
        Some(AuthConfig {
            challenge_ttl: challenge_ttl?,
            challenge_max_attempts: challenge_max_attempts?,
            challenge_throttle_window: challenge_throttle_window?,
            challenge_throttle_max: challenge_throttle_max?,
            username_max_retries: username_max_retries?,
            confirm_failure_limit: confirm_failure_limit?,
            challenge_retention: challenge_retention?,
            prune_interval: prune_interval?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::testing::*;

    #[test]
    fn login_limits_and_pruning_have_defaults_and_are_checked() {
        let c = load(&[]);
        assert_eq!(c.auth.confirm_failure_limit, 100);
        assert_eq!(c.auth.challenge_retention, Duration::from_secs(24 * 3600));
        assert_eq!(c.auth.prune_interval, Duration::from_secs(3600));
        let c = load(&[
            ("BACKEND_AUTH_CONFIRM_FAILURE_LIMIT", "3"),
            ("BACKEND_AUTH_CHALLENGE_RETENTION", "90m"),
            ("BACKEND_AUTH_PRUNE_INTERVAL", "5m"),
        ]);
        assert_eq!(c.auth.confirm_failure_limit, 3);
        assert_eq!(c.auth.challenge_retention, Duration::from_secs(5400));
        assert_eq!(c.auth.prune_interval, Duration::from_secs(300));
        refused_for(
            "BACKEND_AUTH_CONFIRM_FAILURE_LIMIT",
            &[("BACKEND_AUTH_CONFIRM_FAILURE_LIMIT", "0")],
        );
        refused_for(
            "BACKEND_AUTH_CHALLENGE_RETENTION",
            &[("BACKEND_AUTH_CHALLENGE_RETENTION", "0s")],
        );
        refused_for(
            "BACKEND_AUTH_PRUNE_INTERVAL",
            &[("BACKEND_AUTH_PRUNE_INTERVAL", "hourly")],
        );
    }
}
