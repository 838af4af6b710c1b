//! The lobby: `BACKEND_LOBBY_*`.

use crate::config::LobbyConfig;
use crate::config::load::Loader;
use crate::config::values::{one_of, positive_duration};

impl Loader {
    pub(in crate::config) fn lobby(&mut self) -> Option<LobbyConfig> {
        let sweeper_interval = self.value("BACKEND_LOBBY_SWEEPER_INTERVAL", positive_duration);
        let pending_registration_ttl =
            self.value("BACKEND_LOBBY_PENDING_REGISTRATION_TTL", positive_duration);
        let invite_default_ttl = self.value("BACKEND_LOBBY_INVITE_DEFAULT_TTL", positive_duration);
        const BOOLEANS: &[(&str, bool)] = &[("true", true), ("false", false)];
        let sweeper_enabled = self.value("BACKEND_LOBBY_SWEEPER_ENABLED", one_of(BOOLEANS));
        let jobs_worker_enabled = self.value("BACKEND_JOBS_WORKER_ENABLED", one_of(BOOLEANS));
        Some(LobbyConfig {
            sweeper_enabled: sweeper_enabled?,
            jobs_worker_enabled: jobs_worker_enabled?,
            sweeper_interval: sweeper_interval?,
            pending_registration_ttl: pending_registration_ttl?,
            invite_default_ttl: invite_default_ttl?,
        })
    }
}
