//! Reading the `BACKEND_*` variables into a [`Config`] and validating them.
//!
//! Every variable is read through [`table::VARIABLES`], which also supplies
//! the defaults. Loading never stops at the first problem: each section
//! (`section/*.rs`, one file per concern) checks its variables, cross-variable
//! rules are applied, and all problems are returned together in
//! [`ConfigErrors`]. Problem texts never contain secret values.

use std::collections::HashMap;
use std::fmt;

use super::table;
use super::unknown::{UnknownVariable, unknown_variables};
use super::values::{absolute_host_path, positive_duration};
use super::{Config, MetricsExporter};

/// One problem with one variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    /// Why the value was refused; never contains a secret value.
    pub problem: String,
}

/// Every problem found while loading, in table order of discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The problems reported for `variable`.
    pub fn for_variable(&self, variable: &str) -> impl Iterator<Item = &ConfigError> {
        self.0.iter().filter(move |e| e.variable == variable)
    }
}

impl fmt::Display for ConfigErrors {
    /// One line per problem: `BACKEND_X: why`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Loads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigErrors> {
        let mut vars = Vec::new();
        let mut unreadable = Vec::new();
        // `std::env::vars()` panics on non-UTF-8 values; report them instead.
        for (name, value) in std::env::vars_os() {
            let Ok(name) = name.into_string() else {
                continue;
            };
            match value.into_string() {
                Ok(value) => vars.push((name, value)),
                Err(_) if name.starts_with("BACKEND_") => unreadable.push(name),
                // Only its name matters (a near-miss of a known variable).
                Err(_) => vars.push((name, String::new())),
            }
        }
        let mut loader = Loader::new(vars);
        for name in unreadable {
            if let Some(variable) = table::lookup(&name) {
                loader.fail(variable.name, "is not valid UTF-8");
            }
        }
        loader.load()
    }

    /// Loads the configuration from the given name/value pairs; names not
    /// starting with `BACKEND_` are ignored and empty values count as unset.
    /// Names that look like a variable but are not one end up in
    /// [`Config::unknown_variables`].
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Config, ConfigErrors> {
        Loader::new(vars).load()
    }
}

/// Reads variables through the table and records every problem.
pub(super) struct Loader {
    values: HashMap<String, String>,
    /// Set names that are not variables (reported, never fatal).
    unknown: Vec<UnknownVariable>,
    errors: Vec<ConfigError>,
    /// Names read so far; a test compares them with the table.
    read: Vec<&'static str>,
}

impl Loader {
    pub(super) fn new<I: IntoIterator<Item = (String, String)>>(vars: I) -> Self {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let unknown = unknown_variables(vars.iter().map(|(name, _)| name.as_str()));
        let values = vars
            .into_iter()
            .filter(|(name, value)| name.starts_with("BACKEND_") && !value.is_empty())
            .collect();
        Self {
            values,
            unknown,
            errors: Vec::new(),
            read: Vec::new(),
        }
    }

    pub(super) fn fail(&mut self, variable: &'static str, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            variable,
            problem: problem.into(),
        });
    }

    /// The set value, else the table default; `None` when neither exists.
    pub(super) fn raw(&mut self, name: &'static str) -> Option<String> {
        let variable = table::lookup(name);
        debug_assert!(
            variable.is_some(),
            "{name} is missing from config::table::VARIABLES"
        );
        self.read.push(name);
        self.values
            .get(name)
            .cloned()
            .or_else(|| variable.and_then(|v| v.default).map(str::to_owned))
    }

    /// A variable that must end up with a value (required, or defaulted).
    pub(super) fn value<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let Some(raw) = self.raw(name) else {
            self.fail(name, "is required but not set");
            return None;
        };
        self.checked(name, parse(&raw))
    }

    /// A variable that may stay unset: `Some(None)` when unset, `None` when invalid.
    pub(super) fn optional<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.raw(name) {
            None => Some(None),
            Some(raw) => self.checked(name, parse(&raw)).map(Some),
        }
    }

    pub(super) fn checked<T>(
        &mut self,
        name: &'static str,
        result: Result<T, String>,
    ) -> Option<T> {
        result.map_err(|problem| self.fail(name, problem)).ok()
    }

    pub(super) fn load(mut self) -> Result<Config, ConfigErrors> {
        let config = self.config();
        match config {
            Some(config) if self.errors.is_empty() => Ok(config),
            _ => Err(ConfigErrors(self.errors)),
        }
    }

    /// Reads every section before combining them, so all problems are recorded.
    pub(super) fn config(&mut self) -> Option<Config> {
        let http = self.http();
        let shutdown_timeout = self.value("BACKEND_SHUTDOWN_TIMEOUT", positive_duration);
        let grpc = self.grpc();
        let logging = self.logging();
        let postgres = self.postgres();
        let smtp = self.smtp();
        let mail = self.mail();
        let docker = self.docker();
        let game_state_root = self.value("BACKEND_GAME_STATE_ROOT", absolute_host_path);
        let admin = self.admin();
        let geoip = self.geoip();
        let otel = self.otel();
        let freshness_window = self.value("BACKEND_FRESHNESS_WINDOW", positive_duration);
        let auth = self.auth();
        let session = self.session();
        let security = self.security();
        let lobby = self.lobby();
        let engine = self.engine();
        let runtime = self.runtime();
        let notification = self.notification();
        let prometheus = otel
            .as_ref()
            .filter(|o| o.metrics_exporter == MetricsExporter::Prometheus);
        self.check_listeners_distinct([
            (
                "BACKEND_HTTP_LISTEN_ADDR",
                http.as_ref().map(|h| h.listen_addr),
            ),
            (
                "BACKEND_GRPC_PUSH_LISTEN_ADDR",
                grpc.as_ref().map(|g| g.push_listen_addr),
            ),
            (
                "BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR",
                prometheus.map(|o| o.prometheus_listen_addr),
            ),
            (
                "BACKEND_GATEWAY_LISTEN_ADDR",
                security.as_ref().and_then(|s| s.gateway_listen_addr),
            ),
        ]);
        Some(Config {
            http: http?,
            shutdown_timeout: shutdown_timeout?,
            grpc: grpc?,
            logging: logging?,
            postgres: postgres?,
            smtp: smtp?,
            mail: mail?,
            docker: docker?,
            game_state_root: game_state_root?,
            admin: admin?,
            geoip: geoip?,
            otel: otel?,
            freshness_window: freshness_window?,
            auth: auth?,
            session: session?,
            security: security?,
            lobby: lobby?,
            engine: engine?,
            runtime: runtime?,
            notification: notification?,
            unknown_variables: std::mem::take(&mut self.unknown),
        })
    }

    pub(super) fn both_or_neither(
        &mut self,
        first: (&'static str, bool),
        second: (&'static str, bool),
    ) {
        match (first.1, second.1) {
            (true, false) => self.fail(second.0, format!("is required when {} is set", first.0)),
            (false, true) => self.fail(first.0, format!("is required when {} is set", second.0)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::config::testing::*;
    use crate::config::*;

    #[test]
    fn a_minimal_set_loads_with_the_spec_defaults() {
        let c = load(&[]);
        let secs = Duration::from_secs;
        assert_eq!(c.http.listen_addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(c.http.read_timeout, secs(30));
        assert_eq!(c.http.write_timeout, secs(30));
        assert_eq!(c.http.shutdown_timeout, secs(15));
        assert_eq!(c.http.max_body_bytes, 1 << 20);
        assert_eq!(c.shutdown_timeout, secs(30));
        assert_eq!(c.grpc.push_listen_addr, "0.0.0.0:8081".parse().unwrap());
        assert_eq!(c.grpc.push_shutdown_timeout, secs(10));
        assert_eq!(c.logging.level, LogLevel::Info);
        assert_eq!(c.postgres.dsn.expose(), DSN);
        assert_eq!((c.postgres.max_conns, c.postgres.min_conns), (25, 2));
        assert_eq!(c.postgres.operation_timeout, secs(5));
        assert_eq!(c.smtp.host, "smtp.example.com");
        assert_eq!(c.smtp.port, 587);
        assert_eq!(
            (c.smtp.username.as_deref(), c.smtp.password.as_ref()),
            (None, None)
        );
        assert_eq!(c.smtp.from, "noreply@example.com");
        assert_eq!(c.smtp.tls_mode, SmtpTlsMode::StartTls);
        assert_eq!((c.mail.worker_interval, c.mail.max_attempts), (secs(2), 8));
        assert_eq!(c.docker.host, "unix:///var/run/docker.sock");
        assert_eq!(c.docker.network, "galaxy-engines");
        assert_eq!(c.game_state_root, PathBuf::from("/var/lib/galaxy/games"));
        assert_eq!(c.admin.bootstrap_user, None);
        assert_eq!(c.admin.bootstrap_password, None);
        assert_eq!(c.geoip.db_path, PathBuf::from(readable_path()));
        assert_eq!(c.otel.traces_exporter, TracesExporter::Otlp);
        assert_eq!(c.otel.metrics_exporter, MetricsExporter::Otlp);
        assert_eq!(c.otel.protocol, OtelProtocol::Grpc);
        assert_eq!(c.otel.endpoint, None);
        assert_eq!(
            c.otel.prometheus_listen_addr,
            "0.0.0.0:9100".parse().unwrap()
        );
        assert_eq!(c.otel.service_name, "galaxy-backend");
        assert_eq!(c.freshness_window, secs(300));
        assert_eq!(c.auth.challenge_ttl, secs(600));
        assert_eq!(c.auth.challenge_max_attempts, 5);
        assert_eq!(c.auth.challenge_throttle_window, secs(60));
        assert_eq!(c.auth.challenge_throttle_max, 3);
        assert_eq!(c.auth.username_max_retries, 10);
        assert_eq!(c.lobby.sweeper_interval, secs(60));
        assert_eq!(c.lobby.pending_registration_ttl, secs(30 * 24 * 3600));
        assert_eq!(c.lobby.invite_default_ttl, secs(7 * 24 * 3600));
        assert_eq!(
            (c.engine.call_timeout, c.engine.probe_timeout),
            (secs(60), secs(5))
        );
        let r = &c.runtime;
        assert_eq!((r.worker_pool_size, r.job_queue_size), (4, 64));
        assert_eq!(r.reconcile_interval, secs(60));
        assert_eq!(r.image_pull_policy, ImagePullPolicy::IfMissing);
        assert_eq!(r.container_log_driver, "json-file");
        assert!(r.container_log_opts.is_empty());
        assert_eq!(r.container_cpu_quota, 2.0);
        assert_eq!(r.container_memory_bytes, 512 << 20);
        assert_eq!(r.container_pids_limit, 256);
        assert_eq!(r.container_state_mount, "/var/lib/galaxy-game");
        assert_eq!(r.stop_grace_period, secs(10));
        assert_eq!(r.driver, RuntimeDriver::Docker);
        assert_eq!(r.engine_addressing, EngineAddressing::Network);
        assert!(r.engine_versions.is_empty());
        assert_eq!(c.notification.admin_email, None);
        assert_eq!(
            (c.notification.worker_interval, c.notification.max_attempts),
            (secs(5), 8)
        );
    }

    #[test]
    fn set_values_override_defaults() {
        let c = load(&[
            ("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:0"),
            ("BACKEND_LOGGING_LEVEL", "warning"),
            ("BACKEND_SMTP_TLS_MODE", "TLS"),
            ("BACKEND_OTEL_PROTOCOL", "http/protobuf"),
            ("BACKEND_OTEL_METRICS_EXPORTER", "prometheus"),
            ("BACKEND_OTEL_ENDPOINT", "http://collector:4318"),
            (
                "BACKEND_RUNTIME_CONTAINER_LOG_OPTS",
                "max-size=10m,max-file=3",
            ),
            ("BACKEND_RUNTIME_CONTAINER_CPU_QUOTA", "0.5"),
            ("BACKEND_RUNTIME_CONTAINER_MEMORY", "1g"),
            ("BACKEND_RUNTIME_CONTAINER_PIDS_LIMIT", "-1"),
            ("BACKEND_RUNTIME_DRIVER", "process"),
            (
                "BACKEND_RUNTIME_PROCESS_BINARIES",
                "/opt/galaxy/galaxy-game",
            ),
            ("BACKEND_RUNTIME_ENGINE_ADDRESSING", "loopback"),
            ("BACKEND_ADMIN_BOOTSTRAP_USER", "root"),
            ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", "s3cret"),
            ("BACKEND_NOTIFICATION_ADMIN_EMAIL", "Ops <ops@example.com>"),
            ("BACKEND_POSTGRES_MIN_CONNS", "0"),
        ]);
        assert_eq!(c.http.listen_addr, "127.0.0.1:0".parse().unwrap());
        assert_eq!(c.logging.level, LogLevel::Warn);
        assert_eq!(c.smtp.tls_mode, SmtpTlsMode::Tls);
        assert_eq!(c.otel.protocol, OtelProtocol::HttpProtobuf);
        assert_eq!(c.otel.endpoint.as_deref(), Some("http://collector:4318"));
        let opts =
            [("max-size", "10m"), ("max-file", "3")].map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(c.runtime.container_log_opts, opts);
        assert_eq!(c.runtime.container_cpu_quota, 0.5);
        assert_eq!(c.runtime.container_memory_bytes, 1 << 30);
        assert_eq!(c.runtime.container_pids_limit, -1);
        assert_eq!(c.runtime.driver, RuntimeDriver::Process);
        assert_eq!(c.runtime.engine_addressing, EngineAddressing::Loopback);
        assert_eq!(c.admin.bootstrap_user.as_deref(), Some("root"));
        assert_eq!(
            c.admin.bootstrap_password.as_ref().map(Secret::expose),
            Some("s3cret")
        );
        assert_eq!(
            c.notification.admin_email.as_deref(),
            Some("Ops <ops@example.com>")
        );
        assert_eq!(c.postgres.min_conns, 0);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = load(&[
            ("BACKEND_HTTP_READ_TIMEOUT", ""),
            ("BACKEND_NOTIFICATION_ADMIN_EMAIL", ""),
        ]);
        assert_eq!(c.http.read_timeout, Duration::from_secs(30));
        assert_eq!(c.notification.admin_email, None);
        refused_for("BACKEND_SMTP_HOST", &[("BACKEND_SMTP_HOST", "")]);
    }

    #[test]
    fn variables_without_the_backend_prefix_are_ignored() {
        let mut vars = minimal();
        vars.push(("HTTP_READ_TIMEOUT".into(), "nonsense".into()));
        vars.push(("PATH".into(), "/bin".into()));
        assert!(Config::from_vars(vars).is_ok());
    }

    #[test]
    fn every_required_variable_is_reported_when_nothing_is_set() {
        let errors = Config::from_vars(Vec::new()).unwrap_err();
        let names: Vec<_> = errors.0.iter().map(|e| e.variable).collect();
        let required: Vec<_> = table::VARIABLES
            .iter()
            .filter(|v| v.required)
            .map(|v| v.name)
            .collect();
        assert_eq!(names, required);
        assert_eq!(
            required,
            [
                "BACKEND_POSTGRES_DSN",
                "BACKEND_SMTP_HOST",
                "BACKEND_SMTP_FROM",
                "BACKEND_DOCKER_NETWORK",
                "BACKEND_GAME_STATE_ROOT",
                "BACKEND_GEOIP_DB_PATH",
            ]
        );
        assert!(
            errors
                .0
                .iter()
                .all(|e| e.problem == "is required but not set")
        );
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&str, &str)] = &[
            ("BACKEND_HTTP_LISTEN_ADDR", "8080"),
            ("BACKEND_HTTP_READ_TIMEOUT", "30"),
            ("BACKEND_HTTP_WRITE_TIMEOUT", "0"),
            ("BACKEND_HTTP_SHUTDOWN_TIMEOUT", "-1s"),
            ("BACKEND_HTTP_MAX_BODY_SIZE", "0"),
            ("BACKEND_SHUTDOWN_TIMEOUT", "soon"),
            ("BACKEND_GRPC_PUSH_LISTEN_ADDR", "localhost"),
            ("BACKEND_GRPC_PUSH_SHUTDOWN_TIMEOUT", "10"),
            ("BACKEND_LOGGING_LEVEL", "trace"),
            ("BACKEND_POSTGRES_DSN", "postgres://u:p@db/galaxy"),
            ("BACKEND_POSTGRES_MAX_CONNS", "0"),
            ("BACKEND_POSTGRES_MIN_CONNS", "-1"),
            ("BACKEND_POSTGRES_OPERATION_TIMEOUT", "5"),
            ("BACKEND_SMTP_HOST", "smtp host"),
            ("BACKEND_SMTP_PORT", "0"),
            ("BACKEND_SMTP_FROM", "noreply"),
            ("BACKEND_SMTP_TLS_MODE", "ssl"),
            ("BACKEND_MAIL_WORKER_INTERVAL", "0s"),
            ("BACKEND_MAIL_MAX_ATTEMPTS", "0"),
            ("BACKEND_DOCKER_HOST", "/var/run/docker.sock"),
            ("BACKEND_DOCKER_NETWORK", "my net"),
            ("BACKEND_GAME_STATE_ROOT", "relative/games"),
            (
                "BACKEND_GEOIP_DB_PATH",
                "/nonexistent/GeoLite2-Country.mmdb",
            ),
            ("BACKEND_OTEL_TRACES_EXPORTER", "prometheus"),
            ("BACKEND_OTEL_METRICS_EXPORTER", "jaeger"),
            ("BACKEND_OTEL_PROTOCOL", "http"),
            ("BACKEND_OTEL_ENDPOINT", "collector:4317"),
            ("BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR", "9100"),
            ("BACKEND_FRESHNESS_WINDOW", "5"),
            ("BACKEND_AUTH_CHALLENGE_TTL", "0"),
            ("BACKEND_AUTH_CHALLENGE_MAX_ATTEMPTS", "five"),
            ("BACKEND_AUTH_CHALLENGE_THROTTLE_WINDOW", "1d"),
            ("BACKEND_AUTH_CHALLENGE_THROTTLE_MAX", "0"),
            ("BACKEND_AUTH_USERNAME_MAX_RETRIES", "1.5"),
            ("BACKEND_LOBBY_SWEEPER_INTERVAL", "0"),
            ("BACKEND_LOBBY_PENDING_REGISTRATION_TTL", "30d"),
            ("BACKEND_LOBBY_INVITE_DEFAULT_TTL", "week"),
            ("BACKEND_ENGINE_CALL_TIMEOUT", "0"),
            ("BACKEND_ENGINE_PROBE_TIMEOUT", "5"),
            ("BACKEND_RUNTIME_WORKER_POOL_SIZE", "0"),
            ("BACKEND_RUNTIME_JOB_QUEUE_SIZE", "0"),
            ("BACKEND_RUNTIME_RECONCILE_INTERVAL", "0"),
            ("BACKEND_RUNTIME_IMAGE_PULL_POLICY", "IfNotPresent"),
            ("BACKEND_RUNTIME_CONTAINER_LOG_DRIVER", "json file"),
            ("BACKEND_RUNTIME_CONTAINER_LOG_OPTS", "max-size"),
            ("BACKEND_RUNTIME_CONTAINER_CPU_QUOTA", "0"),
            ("BACKEND_RUNTIME_CONTAINER_MEMORY", "1m"),
            ("BACKEND_RUNTIME_CONTAINER_PIDS_LIMIT", "0"),
            (
                "BACKEND_RUNTIME_CONTAINER_STATE_MOUNT",
                "var/lib/galaxy-game",
            ),
            ("BACKEND_RUNTIME_STOP_GRACE_PERIOD", "10"),
            ("BACKEND_NOTIFICATION_ADMIN_EMAIL", "ops"),
            ("BACKEND_NOTIFICATION_WORKER_INTERVAL", "0"),
            ("BACKEND_NOTIFICATION_MAX_ATTEMPTS", "0"),
            ("BACKEND_RUNTIME_DRIVER", "podman"),
            ("BACKEND_RUNTIME_ENGINE_ADDRESSING", "host"),
        ];
        for (variable, value) in cases {
            let text = refused_for(variable, &[(variable, value)]);
            assert!(text.starts_with(&format!("{variable}: ")), "{text}");
        }
    }

    #[test]
    fn enum_errors_list_the_accepted_values() {
        let text = refused_for("BACKEND_SMTP_TLS_MODE", &[("BACKEND_SMTP_TLS_MODE", "ssl")]);
        assert!(text.contains("none, starttls, tls"), "{text}");
        let text = refused_for(
            "BACKEND_RUNTIME_DRIVER",
            &[("BACKEND_RUNTIME_DRIVER", "podman")],
        );
        assert!(text.contains("docker, process"), "{text}");
    }

    #[test]
    fn several_bad_values_are_all_reported_at_once() {
        let errors = errors(&[
            ("BACKEND_HTTP_READ_TIMEOUT", "30"),
            ("BACKEND_SMTP_PORT", "smtp"),
            ("BACKEND_GEOIP_DB_PATH", ""),
            ("BACKEND_RUNTIME_CONTAINER_MEMORY", "lots"),
            ("BACKEND_POSTGRES_MIN_CONNS", "30"),
            ("BACKEND_ADMIN_BOOTSTRAP_USER", "root"),
        ]);
        let names: Vec<_> = errors.0.iter().map(|e| e.variable).collect();
        assert_eq!(
            names,
            [
                "BACKEND_HTTP_READ_TIMEOUT",
                "BACKEND_POSTGRES_MIN_CONNS",
                "BACKEND_SMTP_PORT",
                "BACKEND_ADMIN_BOOTSTRAP_PASSWORD",
                "BACKEND_GEOIP_DB_PATH",
                "BACKEND_RUNTIME_CONTAINER_MEMORY",
            ]
        );
        assert_eq!(errors.to_string().lines().count(), 6);
    }

    #[test]
    fn game_state_root_need_not_exist_but_must_be_absolute() {
        let c = load(&[("BACKEND_GAME_STATE_ROOT", "/nonexistent/galaxy/state")]);
        assert_eq!(
            c.game_state_root,
            PathBuf::from("/nonexistent/galaxy/state")
        );
    }

    #[test]
    fn secrets_never_appear_in_debug_or_error_output() {
        let c = load(&[
            ("BACKEND_SMTP_USERNAME", "mailer"),
            ("BACKEND_SMTP_PASSWORD", "smtp-hunter2"),
            ("BACKEND_ADMIN_BOOTSTRAP_USER", "root"),
            ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", "admin-hunter2"),
        ]);
        let debug = format!("{c:?}");
        for secret in ["hunter2-dsn", "smtp-hunter2", "admin-hunter2"] {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        }
        let errors = errors(&[
            (
                "BACKEND_POSTGRES_DSN",
                "postgres://galaxy:hunter2-dsn@db/galaxy?search_path=public",
            ),
            ("BACKEND_SMTP_PASSWORD", "smtp-hunter2"),
            ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", "admin-hunter2"),
        ]);
        let shown = format!("{errors}\n{errors:?}");
        assert_eq!(errors.0.len(), 3, "{shown}");
        for secret in ["hunter2-dsn", "smtp-hunter2", "admin-hunter2"] {
            assert!(!shown.contains(secret), "{secret} leaked into {shown}");
        }
    }

    #[test]
    fn load_reads_exactly_the_variables_of_the_table() {
        let mut loader = Loader::new(minimal());
        assert!(loader.config().is_some());
        let mut read = loader.read.clone();
        read.sort_unstable();
        read.dedup();
        let mut listed: Vec<_> = table::VARIABLES.iter().map(|v| v.name).collect();
        listed.sort_unstable();
        // `Loader::raw` debug-asserts that each name is in the table, so the
        // converse (read but not listed) already fails the load above.
        assert_eq!(read, listed);
    }

    #[test]
    fn a_mistyped_variable_loads_and_is_reported_with_the_closest_name() {
        let mut vars = minimal();
        vars.push(("BACKEND_HTTP_LISTEN_ADR".into(), "127.0.0.1:9999".into()));
        vars.push(("BAKEND_SMTP_PORT".into(), "25".into()));
        vars.push(("PATH".into(), "/bin".into()));
        let c = Config::from_vars(vars).expect("a typo is not fatal");
        assert_eq!(c.http.listen_addr, "0.0.0.0:8080".parse().unwrap());
        let reported: Vec<_> = c
            .unknown_variables
            .iter()
            .map(|u| (u.name.as_str(), u.closest))
            .collect();
        assert_eq!(
            reported,
            [
                ("BACKEND_HTTP_LISTEN_ADR", Some("BACKEND_HTTP_LISTEN_ADDR")),
                ("BAKEND_SMTP_PORT", Some("BACKEND_SMTP_PORT")),
            ]
        );
        assert!(load(&[]).unknown_variables.is_empty());
    }

    #[test]
    fn errors_display_one_line_per_problem() {
        let errors = ConfigErrors(vec![
            ConfigError {
                variable: "BACKEND_A",
                problem: "first".into(),
            },
            ConfigError {
                variable: "BACKEND_B",
                problem: "second".into(),
            },
        ]);
        assert_eq!(errors.to_string(), "BACKEND_A: first\nBACKEND_B: second");
        assert_eq!(errors.for_variable("BACKEND_B").count(), 1);
    }
}
