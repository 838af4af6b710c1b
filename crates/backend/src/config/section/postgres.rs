//! PostgreSQL: `BACKEND_POSTGRES_*`.

use crate::config::dsn::search_path_ok;
use crate::config::load::Loader;
use crate::config::values::{any_u32, positive_duration, positive_u32};
use crate::config::{PostgresConfig, Secret};

impl Loader {
    pub(in crate::config) fn postgres(&mut self) -> Option<PostgresConfig> {
        let dsn = self.secret_dsn();
        let max_conns = self.value("BACKEND_POSTGRES_MAX_CONNS", positive_u32);
        let min_conns = self.value("BACKEND_POSTGRES_MIN_CONNS", any_u32);
        let operation_timeout = self.value("BACKEND_POSTGRES_OPERATION_TIMEOUT", positive_duration);
        let leader_interval = self.value("BACKEND_LEADER_ELECTION_INTERVAL", positive_duration);
        if let (Some(min), Some(max)) = (min_conns, max_conns)
            && min > max
        {
            self.fail(
                "BACKEND_POSTGRES_MIN_CONNS",
                format!("{min} exceeds BACKEND_POSTGRES_MAX_CONNS ({max})"),
            );
        }
        Some(PostgresConfig {
            dsn: dsn?,
            max_conns: max_conns?,
            min_conns: min_conns?,
            operation_timeout: operation_timeout?,
            leader_interval: leader_interval?,
        })
    }

    /// The DSN carries a password, so problems never quote it.
    pub(in crate::config) fn secret_dsn(&mut self) -> Option<Secret> {
        const NAME: &str = "BACKEND_POSTGRES_DSN";
        let Some(dsn) = self.raw(NAME) else {
            self.fail(NAME, "is required but not set");
            return None;
        };
        if !(dsn.starts_with("postgres://") || dsn.starts_with("postgresql://")) {
            // The connector reads URLs only; libpq key=value conninfo would pass here and fail at connect.
            self.fail(
                NAME,
                "must be a postgres:// URL (key=value conninfo is not supported)",
            );
            return None;
        }
        if !search_path_ok(&dsn) {
            self.fail(
                NAME,
                "must set search_path=backend (?search_path=backend or ?options=-c%20search_path%3Dbackend)",
            );
            return None;
        }
        Some(Secret::new(dsn))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn min_conns_above_max_conns_is_refused() {
        let text = refused_for(
            "BACKEND_POSTGRES_MIN_CONNS",
            &[
                ("BACKEND_POSTGRES_MIN_CONNS", "10"),
                ("BACKEND_POSTGRES_MAX_CONNS", "5"),
            ],
        );
        assert!(text.contains("BACKEND_POSTGRES_MAX_CONNS (5)"), "{text}");
    }

    #[test]
    fn a_key_value_dsn_is_refused_because_the_connector_reads_urls_only() {
        let why = refused_for(
            "BACKEND_POSTGRES_DSN",
            &[(
                "BACKEND_POSTGRES_DSN",
                "host=db dbname=galaxy search_path=backend",
            )],
        );
        assert!(why.contains("postgres:// URL"), "{why}");
    }
}
