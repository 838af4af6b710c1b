//! The lobby: `BACKEND_LOBBY_*`.

use crate::config::LobbyConfig;
use crate::config::load::Loader;
use crate::config::values::positive_duration;

impl Loader {
    pub(in crate::config) fn lobby(&mut self) -> Option<LobbyConfig> {
        let sweeper_interval = self.value("BACKEND_LOBBY_SWEEPER_INTERVAL", positive_duration);
        let pending_registration_ttl =
            self.value("BACKEND_LOBBY_PENDING_REGISTRATION_TTL", positive_duration);
        let invite_default_ttl = self.value("BACKEND_LOBBY_INVITE_DEFAULT_TTL", positive_duration);
        Some(LobbyConfig {
            sweeper_interval: sweeper_interval?,
            pending_registration_ttl: pending_registration_ttl?,
            invite_default_ttl: invite_default_ttl?,
        })
    }
}
