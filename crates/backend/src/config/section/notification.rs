//! Notifications: `BACKEND_NOTIFICATION_*`.

use crate::config::NotificationConfig;
use crate::config::load::Loader;
use crate::config::values::{email_address, one_of, positive_duration, positive_u32};

impl Loader {
    pub(in crate::config) fn notification(&mut self) -> Option<NotificationConfig> {
        const BOOLEANS: &[(&str, bool)] = &[("true", true), ("false", false)];
        let admin_email = self.optional("BACKEND_NOTIFICATION_ADMIN_EMAIL", email_address);
        let worker_interval = self.value("BACKEND_NOTIFICATION_WORKER_INTERVAL", positive_duration);
        let max_attempts = self.value("BACKEND_NOTIFICATION_MAX_ATTEMPTS", positive_u32);
        let worker_enabled = self.value("BACKEND_NOTIFICATION_WORKER_ENABLED", one_of(BOOLEANS));
        Some(NotificationConfig {
            admin_email: admin_email?,
            worker_interval: worker_interval?,
            max_attempts: max_attempts?,
            worker_enabled: worker_enabled?,
        })
    }
}
