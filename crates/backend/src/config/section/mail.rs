//! The SMTP relay (`BACKEND_SMTP_*`) and the mail outbox (`BACKEND_MAIL_*`).

use std::time::Duration;

use crate::config::load::Loader;
use crate::config::values::{
    email_address, hostname, one_of, port, positive_duration, positive_u32, readable_file, text,
    u32_in,
};
use crate::config::{MailConfig, Secret, SmtpConfig, SmtpTlsMode};

impl Loader {
    pub(in crate::config) fn smtp(&mut self) -> Option<SmtpConfig> {
        const TLS_MODES: &[(&str, SmtpTlsMode)] = &[
            ("none", SmtpTlsMode::None),
            ("starttls", SmtpTlsMode::StartTls),
            ("tls", SmtpTlsMode::Tls),
        ];
        let host = self.value("BACKEND_SMTP_HOST", hostname);
        let port = self.value("BACKEND_SMTP_PORT", port);
        let username = self.optional("BACKEND_SMTP_USERNAME", text);
        let password = self.raw("BACKEND_SMTP_PASSWORD").map(Secret::new);
        let from = self.value("BACKEND_SMTP_FROM", email_address);
        let tls_mode = self.value("BACKEND_SMTP_TLS_MODE", one_of(TLS_MODES));
        let ca_file = self.optional("BACKEND_SMTP_CA_FILE", readable_file);
        let timeout = self.value("BACKEND_SMTP_TIMEOUT", positive_duration);
        if let Some(username) = &username {
            // AUTH needs both halves; one alone is a half-finished setup.
            self.both_or_neither(
                ("BACKEND_SMTP_USERNAME", username.is_some()),
                ("BACKEND_SMTP_PASSWORD", password.is_some()),
            );
        }
        Some(SmtpConfig {
            host: host?,
            port: port?,
            username: username?,
            password,
            from: from?,
            tls_mode: tls_mode?,
            ca_file: ca_file?,
            timeout: timeout?,
        })
    }

    pub(in crate::config) fn mail(&mut self, smtp_timeout: Option<Duration>) -> Option<MailConfig> {
        const BOOLEANS: &[(&str, bool)] = &[("true", true), ("false", false)];
        let worker_interval = self.value("BACKEND_MAIL_WORKER_INTERVAL", positive_duration);
        let max_attempts = self.value("BACKEND_MAIL_MAX_ATTEMPTS", positive_u32);
        let worker_enabled = self.value("BACKEND_MAIL_WORKER_ENABLED", one_of(BOOLEANS));
        let lease = self.value("BACKEND_MAIL_LEASE", positive_duration);
        let batch_size = self.value("BACKEND_MAIL_BATCH_SIZE", |s| u32_in(s, 1, 10_000));
        let send_concurrency = self.value("BACKEND_MAIL_SEND_CONCURRENCY", |s| u32_in(s, 1, 256));
        let retry_base = self.value("BACKEND_MAIL_RETRY_BASE", positive_duration);
        let retry_max = self.value("BACKEND_MAIL_RETRY_MAX", positive_duration);
        // A send waits for several replies; a lease shorter than that would
        // hand a delivery to a second worker while the first still sends.
        if let (Some(lease), Some(timeout)) = (lease, smtp_timeout)
            && lease < timeout * 2
        {
            self.fail(
                "BACKEND_MAIL_LEASE",
                "must be at least twice BACKEND_SMTP_TIMEOUT",
            );
        }
        if let (Some(base), Some(max)) = (retry_base, retry_max)
            && max < base
        {
            self.fail(
                "BACKEND_MAIL_RETRY_MAX",
                "must be at least BACKEND_MAIL_RETRY_BASE",
            );
        }
        Some(MailConfig {
            worker_interval: worker_interval?,
            max_attempts: max_attempts?,
            worker_enabled: worker_enabled?,
            lease: lease?,
            batch_size: batch_size?,
            send_concurrency: send_concurrency?,
            retry_base: retry_base?,
            retry_max: retry_max?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::testing::*;

    #[test]
    fn smtp_username_and_password_come_together() {
        refused_for(
            "BACKEND_SMTP_PASSWORD",
            &[("BACKEND_SMTP_USERNAME", "mailer")],
        );
        refused_for("BACKEND_SMTP_USERNAME", &[("BACKEND_SMTP_PASSWORD", "pw")]);
        let c = load(&[
            ("BACKEND_SMTP_USERNAME", "mailer"),
            ("BACKEND_SMTP_PASSWORD", "pw"),
        ]);
        assert_eq!(c.smtp.username.as_deref(), Some("mailer"));
    }

    #[test]
    fn mail_outbox_settings_have_defaults_and_are_checked() {
        let secs = Duration::from_secs;
        let c = load(&[]);
        assert!(c.mail.worker_enabled);
        assert_eq!(
            (c.mail.lease, c.mail.retry_base, c.mail.retry_max),
            (secs(300), secs(10), secs(1800))
        );
        assert_eq!((c.mail.batch_size, c.mail.send_concurrency), (100, 16));
        assert_eq!(
            (c.smtp.timeout, c.smtp.ca_file.as_deref()),
            (secs(30), None)
        );
        let c = load(&[
            ("BACKEND_MAIL_WORKER_ENABLED", "false"),
            ("BACKEND_SMTP_CA_FILE", &readable_path()),
        ]);
        assert!(!c.mail.worker_enabled);
        assert!(c.smtp.ca_file.is_some());
        refused_for(
            "BACKEND_MAIL_WORKER_ENABLED",
            &[("BACKEND_MAIL_WORKER_ENABLED", "yes")],
        );
        refused_for("BACKEND_MAIL_LEASE", &[("BACKEND_MAIL_LEASE", "45s")]);
        refused_for(
            "BACKEND_MAIL_BATCH_SIZE",
            &[("BACKEND_MAIL_BATCH_SIZE", "0")],
        );
        refused_for(
            "BACKEND_MAIL_SEND_CONCURRENCY",
            &[("BACKEND_MAIL_SEND_CONCURRENCY", "1000")],
        );
        refused_for(
            "BACKEND_MAIL_RETRY_MAX",
            &[
                ("BACKEND_MAIL_RETRY_BASE", "1m"),
                ("BACKEND_MAIL_RETRY_MAX", "30s"),
            ],
        );
        refused_for(
            "BACKEND_SMTP_CA_FILE",
            &[("BACKEND_SMTP_CA_FILE", "/nonexistent/ca.pem")],
        );
    }
}
