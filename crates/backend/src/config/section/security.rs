//! The hardening of issue 14 (added): device-session lifetimes
//! (`BACKEND_SESSION_*`), trusted proxies, the per-source login-code bound,
//! the login-code and gateway secrets, the gateway listener.

use crate::config::load::Loader;
use crate::config::parse::parse_listen_addr;
use crate::config::values::{positive_duration, positive_u32};
use crate::config::{Secret, SecurityConfig, SessionConfig, TrustedProxies};

/// A secret of at least 32 characters (never echoed in the error).
fn long_secret(s: &str) -> Result<Secret, String> {
    if s.chars().count() < 32 {
        return Err("must be at least 32 characters".into());
    }
    Ok(Secret::new(s))
}

impl Loader {
    pub(in crate::config) fn session(&mut self) -> Option<SessionConfig> {
        let idle_timeout = self.value("BACKEND_SESSION_IDLE_TIMEOUT", positive_duration);
        let max_lifetime = self.value("BACKEND_SESSION_MAX_LIFETIME", positive_duration);
        if let (Some(idle), Some(max)) = (idle_timeout, max_lifetime)
            && max < idle
        {
            self.fail(
                "BACKEND_SESSION_MAX_LIFETIME",
                "must be at least BACKEND_SESSION_IDLE_TIMEOUT",
            );
            return None;
        }
        Some(SessionConfig {
            idle_timeout: idle_timeout?,
            max_lifetime: max_lifetime?,
        })
    }

    pub(in crate::config) fn security(&mut self) -> Option<SecurityConfig> {
        let trusted_proxies = self.optional("BACKEND_TRUSTED_PROXIES", TrustedProxies::parse);
        let challenge_source_max = self.value("BACKEND_AUTH_CHALLENGE_SOURCE_MAX", positive_u32);
        let code_secret = self.optional("BACKEND_AUTH_CODE_SECRET", long_secret);
        let gateway_secret = self.optional("BACKEND_GATEWAY_SECRET", long_secret);
        let gateway_listen_addr = self.optional("BACKEND_GATEWAY_LISTEN_ADDR", parse_listen_addr);
        Some(SecurityConfig {
            trusted_proxies: trusted_proxies?.unwrap_or_default(),
            challenge_source_max: challenge_source_max?,
            code_secret: code_secret?,
            gateway_secret: gateway_secret?,
            gateway_listen_addr: gateway_listen_addr?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::testing::*;

    #[test]
    fn hardening_variables_have_defaults_and_are_checked() {
        let c = load(&[]);
        assert_eq!(c.session.idle_timeout, Duration::from_secs(720 * 3600));
        assert_eq!(c.session.max_lifetime, Duration::from_secs(8760 * 3600));
        assert!(c.security.trusted_proxies.is_empty());
        assert_eq!(c.security.challenge_source_max, 20);
        assert!(c.security.code_secret.is_none() && c.security.gateway_secret.is_none());
        assert!(c.security.gateway_listen_addr.is_none());
        refused_for(
            "BACKEND_SESSION_MAX_LIFETIME",
            &[("BACKEND_SESSION_MAX_LIFETIME", "1h")],
        );
        refused_for(
            "BACKEND_GATEWAY_SECRET",
            &[("BACKEND_GATEWAY_SECRET", "too-short")],
        );
        refused_for(
            "BACKEND_TRUSTED_PROXIES",
            &[("BACKEND_TRUSTED_PROXIES", "10.0.0.0/40")],
        );
        refused_for(
            "BACKEND_GATEWAY_LISTEN_ADDR",
            &[
                ("BACKEND_HTTP_LISTEN_ADDR", ":8080"),
                ("BACKEND_GATEWAY_LISTEN_ADDR", ":8080"),
            ],
        );
    }
}
