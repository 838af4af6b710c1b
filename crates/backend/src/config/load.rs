//! Reading the `BACKEND_*` variables into a [`Config`] and validating them.
//!
//! Every variable is read through [`table::VARIABLES`], which also supplies
//! the defaults. Loading never stops at the first problem: each variable is
//! checked, cross-variable rules are applied, and all problems are returned
//! together in [`ConfigErrors`]. Problem texts never contain secret values.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::parse::{parse_duration, parse_listen_addr, parse_size};
use super::table;
use super::{
    AdminConfig, AuthConfig, Config, DockerConfig, EngineAddressing, EngineConfig, GeoIpConfig,
    GrpcConfig, HttpConfig, ImagePullPolicy, LobbyConfig, LogLevel, LoggingConfig, MailConfig,
    MetricsExporter, NotificationConfig, OtelConfig, OtelProtocol, PostgresConfig, RuntimeConfig,
    RuntimeDriver, Secret, SecurityConfig, SessionConfig, SmtpConfig, SmtpTlsMode, TracesExporter,
    TrustedProxies,
};

/// Docker refuses `--memory` below 6 MiB; failing here is clearer than at the first game start.
const MIN_CONTAINER_MEMORY: u64 = 6 << 20;

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
            if !name.starts_with("BACKEND_") {
                continue;
            }
            match value.into_string() {
                Ok(value) => vars.push((name, value)),
                Err(_) => unreadable.push(name),
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
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Config, ConfigErrors> {
        Loader::new(vars).load()
    }
}

/// Whether a Postgres DSN sets `search_path=backend`. Accepted forms:
///
/// - URL (`postgres://` or `postgresql://`) with query parameter
///   `search_path=backend`, `options=-c search_path=backend`
///   (percent-encoded: `options=-c%20search_path%3Dbackend`) or sqlx's
///   `options[search_path]=backend`;
/// - key=value (`host=… dbname=… search_path=backend`), also with
///   `options='-c search_path=backend'`.
///
/// sqlx applies only the `options` forms; the postgres module translates
/// the others when it connects.
pub fn search_path_ok(dsn: &str) -> bool {
    let params = if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        url_query_params(dsn)
    } else {
        key_value_params(dsn)
    };
    params.iter().any(|(key, value)| match key.as_str() {
        "search_path" | "options[search_path]" => value == "backend",
        "options" => options_set_backend(value),
        _ => false,
    })
}

fn url_query_params(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

/// Decodes `%XX` escapes and `+` (form encoding); malformed escapes stay as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits libpq `key=value` conninfo, honouring single quotes and backslash escapes.
fn key_value_params(conninfo: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = conninfo.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if key.is_empty() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'=').is_none() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        params.push((key, conninfo_value(&mut chars)));
    }
    params
}

fn conninfo_value(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let quoted = chars.next_if_eq(&'\'').is_some();
    let mut value = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.extend(chars.next()),
            '\'' if quoted => break,
            c if c.is_whitespace() && !quoted => break,
            c => value.push(c),
        }
    }
    value
}

/// Whether a Postgres `options` string (`-c name=value …`) sets the search path to `backend`.
fn options_set_backend(options: &str) -> bool {
    let words: Vec<&str> = options.split_whitespace().collect();
    words.iter().enumerate().any(|(i, word)| {
        let setting = match *word {
            "-c" => words.get(i + 1).copied(),
            w => w.strip_prefix("-c").or_else(|| w.strip_prefix("--")),
        };
        setting == Some("search_path=backend")
    })
}

/// Reads variables through the table and records every problem.
struct Loader {
    values: HashMap<String, String>,
    errors: Vec<ConfigError>,
    /// Names read so far; a test compares them with the table.
    read: Vec<&'static str>,
}

impl Loader {
    fn new<I: IntoIterator<Item = (String, String)>>(vars: I) -> Self {
        let values = vars
            .into_iter()
            .filter(|(name, value)| name.starts_with("BACKEND_") && !value.is_empty())
            .collect();
        Self {
            values,
            errors: Vec::new(),
            read: Vec::new(),
        }
    }

    fn fail(&mut self, variable: &'static str, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            variable,
            problem: problem.into(),
        });
    }

    /// The set value, else the table default; `None` when neither exists.
    fn raw(&mut self, name: &'static str) -> Option<String> {
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
    fn value<T>(
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
    fn optional<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.raw(name) {
            None => Some(None),
            Some(raw) => self.checked(name, parse(&raw)).map(Some),
        }
    }

    fn checked<T>(&mut self, name: &'static str, result: Result<T, String>) -> Option<T> {
        result.map_err(|problem| self.fail(name, problem)).ok()
    }

    fn load(mut self) -> Result<Config, ConfigErrors> {
        let config = self.config();
        match config {
            Some(config) if self.errors.is_empty() => Ok(config),
            _ => Err(ConfigErrors(self.errors)),
        }
    }

    /// Reads every section before combining them, so all problems are recorded.
    fn config(&mut self) -> Option<Config> {
        let http = self.http();
        let shutdown_timeout = self.value("BACKEND_SHUTDOWN_TIMEOUT", positive_duration);
        let grpc = self.grpc();
        let logging = self.logging();
        let postgres = self.postgres();
        let smtp = self.smtp();
        let mail = self.mail(smtp.as_ref().map(|s| s.timeout));
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
        })
    }

    fn http(&mut self) -> Option<HttpConfig> {
        let listen_addr = self.value("BACKEND_HTTP_LISTEN_ADDR", parse_listen_addr);
        let read_timeout = self.value("BACKEND_HTTP_READ_TIMEOUT", positive_duration);
        let write_timeout = self.value("BACKEND_HTTP_WRITE_TIMEOUT", positive_duration);
        let shutdown_timeout = self.value("BACKEND_HTTP_SHUTDOWN_TIMEOUT", positive_duration);
        let max_body_bytes = self.value("BACKEND_HTTP_MAX_BODY_SIZE", |s| {
            at_least(parse_size(s)?, 1, "1 byte")
        });
        Some(HttpConfig {
            listen_addr: listen_addr?,
            read_timeout: read_timeout?,
            write_timeout: write_timeout?,
            shutdown_timeout: shutdown_timeout?,
            max_body_bytes: max_body_bytes?,
        })
    }

    fn grpc(&mut self) -> Option<GrpcConfig> {
        let push_listen_addr = self.value("BACKEND_GRPC_PUSH_LISTEN_ADDR", parse_listen_addr);
        let push_shutdown_timeout =
            self.value("BACKEND_GRPC_PUSH_SHUTDOWN_TIMEOUT", positive_duration);
        let push_buffer_capacity =
            self.value("BACKEND_PUSH_BUFFER_CAPACITY", |s| u32_in(s, 1, 10_000_000));
        let push_subscriber_queue =
            self.value("BACKEND_PUSH_SUBSCRIBER_QUEUE", |s| u32_in(s, 1, 1_000_000));
        Some(GrpcConfig {
            push_listen_addr: push_listen_addr?,
            push_shutdown_timeout: push_shutdown_timeout?,
            push_buffer_capacity: push_buffer_capacity?,
            push_subscriber_queue: push_subscriber_queue?,
        })
    }

    fn logging(&mut self) -> Option<LoggingConfig> {
        const LEVELS: &[(&str, LogLevel)] = &[
            ("debug", LogLevel::Debug),
            ("info", LogLevel::Info),
            ("warn", LogLevel::Warn),
            // zap and many operators spell it out; accepting it costs nothing.
            ("warning", LogLevel::Warn),
            ("error", LogLevel::Error),
        ];
        let level = self.value("BACKEND_LOGGING_LEVEL", one_of(LEVELS));
        Some(LoggingConfig { level: level? })
    }

    fn postgres(&mut self) -> Option<PostgresConfig> {
        let dsn = self.secret_dsn();
        let max_conns = self.value("BACKEND_POSTGRES_MAX_CONNS", positive_u32);
        let min_conns = self.value("BACKEND_POSTGRES_MIN_CONNS", any_u32);
        let operation_timeout = self.value("BACKEND_POSTGRES_OPERATION_TIMEOUT", positive_duration);
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
        })
    }

    /// The DSN carries a password, so problems never quote it.
    fn secret_dsn(&mut self) -> Option<Secret> {
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

    fn smtp(&mut self) -> Option<SmtpConfig> {
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

    fn both_or_neither(&mut self, first: (&'static str, bool), second: (&'static str, bool)) {
        match (first.1, second.1) {
            (true, false) => self.fail(second.0, format!("is required when {} is set", first.0)),
            (false, true) => self.fail(first.0, format!("is required when {} is set", second.0)),
            _ => {}
        }
    }

    fn mail(&mut self, smtp_timeout: Option<Duration>) -> Option<MailConfig> {
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

    fn docker(&mut self) -> Option<DockerConfig> {
        let host = self.value("BACKEND_DOCKER_HOST", docker_endpoint);
        let network = self.value("BACKEND_DOCKER_NETWORK", docker_name);
        Some(DockerConfig {
            host: host?,
            network: network?,
        })
    }

    fn admin(&mut self) -> Option<AdminConfig> {
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

    fn geoip(&mut self) -> Option<GeoIpConfig> {
        let db_path = self.value("BACKEND_GEOIP_DB_PATH", readable_file);
        Some(GeoIpConfig { db_path: db_path? })
    }

    fn otel(&mut self) -> Option<OtelConfig> {
        const TRACES: &[(&str, TracesExporter)] = &[
            ("none", TracesExporter::None),
            ("otlp", TracesExporter::Otlp),
            ("stdout", TracesExporter::Stdout),
        ];
        const METRICS: &[(&str, MetricsExporter)] = &[
            ("none", MetricsExporter::None),
            ("otlp", MetricsExporter::Otlp),
            ("stdout", MetricsExporter::Stdout),
            ("prometheus", MetricsExporter::Prometheus),
        ];
        const PROTOCOLS: &[(&str, OtelProtocol)] = &[
            ("grpc", OtelProtocol::Grpc),
            ("http/protobuf", OtelProtocol::HttpProtobuf),
        ];
        let traces_exporter = self.value("BACKEND_OTEL_TRACES_EXPORTER", one_of(TRACES));
        let metrics_exporter = self.value("BACKEND_OTEL_METRICS_EXPORTER", one_of(METRICS));
        let protocol = self.value("BACKEND_OTEL_PROTOCOL", one_of(PROTOCOLS));
        let endpoint = self.optional("BACKEND_OTEL_ENDPOINT", http_url);
        let prometheus_listen_addr =
            self.value("BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR", parse_listen_addr);
        let service_name = self.value("BACKEND_SERVICE_NAME", text);
        Some(OtelConfig {
            traces_exporter: traces_exporter?,
            metrics_exporter: metrics_exporter?,
            protocol: protocol?,
            endpoint: endpoint?,
            prometheus_listen_addr: prometheus_listen_addr?,
            service_name: service_name?,
        })
    }

    fn auth(&mut self) -> Option<AuthConfig> {
        let challenge_ttl = self.value("BACKEND_AUTH_CHALLENGE_TTL", positive_duration);
        let challenge_max_attempts =
            self.value("BACKEND_AUTH_CHALLENGE_MAX_ATTEMPTS", positive_u32);
        let challenge_throttle_window =
            self.value("BACKEND_AUTH_CHALLENGE_THROTTLE_WINDOW", positive_duration);
        let challenge_throttle_max =
            self.value("BACKEND_AUTH_CHALLENGE_THROTTLE_MAX", positive_u32);
        let username_max_retries = self.value("BACKEND_AUTH_USERNAME_MAX_RETRIES", positive_u32);
        Some(AuthConfig {
            challenge_ttl: challenge_ttl?,
            challenge_max_attempts: challenge_max_attempts?,
            challenge_throttle_window: challenge_throttle_window?,
            challenge_throttle_max: challenge_throttle_max?,
            username_max_retries: username_max_retries?,
        })
    }

    fn session(&mut self) -> Option<SessionConfig> {
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

    fn security(&mut self) -> Option<SecurityConfig> {
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

    fn lobby(&mut self) -> Option<LobbyConfig> {
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

    fn engine(&mut self) -> Option<EngineConfig> {
        let call_timeout = self.value("BACKEND_ENGINE_CALL_TIMEOUT", positive_duration);
        let probe_timeout = self.value("BACKEND_ENGINE_PROBE_TIMEOUT", positive_duration);
        Some(EngineConfig {
            call_timeout: call_timeout?,
            probe_timeout: probe_timeout?,
        })
    }

    fn runtime(&mut self) -> Option<RuntimeConfig> {
        const PULL_POLICIES: &[(&str, ImagePullPolicy)] = &[
            ("if_missing", ImagePullPolicy::IfMissing),
            ("always", ImagePullPolicy::Always),
            ("never", ImagePullPolicy::Never),
        ];
        const DRIVERS: &[(&str, RuntimeDriver)] = &[
            ("docker", RuntimeDriver::Docker),
            ("process", RuntimeDriver::Process),
        ];
        const ADDRESSING: &[(&str, EngineAddressing)] = &[
            ("network", EngineAddressing::Network),
            ("loopback", EngineAddressing::Loopback),
        ];
        let worker_pool_size = self.value("BACKEND_RUNTIME_WORKER_POOL_SIZE", positive_u32);
        let job_queue_size = self.value("BACKEND_RUNTIME_JOB_QUEUE_SIZE", positive_u32);
        let reconcile_interval =
            self.value("BACKEND_RUNTIME_RECONCILE_INTERVAL", positive_duration);
        let image_pull_policy =
            self.value("BACKEND_RUNTIME_IMAGE_PULL_POLICY", one_of(PULL_POLICIES));
        let container_log_driver = self.value("BACKEND_RUNTIME_CONTAINER_LOG_DRIVER", docker_name);
        let container_log_opts = self.optional("BACKEND_RUNTIME_CONTAINER_LOG_OPTS", log_opts);
        let container_cpu_quota = self.value("BACKEND_RUNTIME_CONTAINER_CPU_QUOTA", cpu_quota);
        let container_memory_bytes = self.value("BACKEND_RUNTIME_CONTAINER_MEMORY", |s| {
            at_least(
                parse_size(s)?,
                MIN_CONTAINER_MEMORY,
                "6m (Docker's minimum)",
            )
        });
        let container_pids_limit = self.value("BACKEND_RUNTIME_CONTAINER_PIDS_LIMIT", pids_limit);
        let container_state_mount =
            self.value("BACKEND_RUNTIME_CONTAINER_STATE_MOUNT", container_path);
        let stop_grace_period = self.value("BACKEND_RUNTIME_STOP_GRACE_PERIOD", duration);
        let driver = self.value("BACKEND_RUNTIME_DRIVER", one_of(DRIVERS));
        let engine_addressing = self.value("BACKEND_RUNTIME_ENGINE_ADDRESSING", one_of(ADDRESSING));
        Some(RuntimeConfig {
            worker_pool_size: worker_pool_size?,
            job_queue_size: job_queue_size?,
            reconcile_interval: reconcile_interval?,
            image_pull_policy: image_pull_policy?,
            container_log_driver: container_log_driver?,
            container_log_opts: container_log_opts?.unwrap_or_default(),
            container_cpu_quota: container_cpu_quota?,
            container_memory_bytes: container_memory_bytes?,
            container_pids_limit: container_pids_limit?,
            container_state_mount: container_state_mount?,
            stop_grace_period: stop_grace_period?,
            driver: driver?,
            engine_addressing: engine_addressing?,
        })
    }

    fn notification(&mut self) -> Option<NotificationConfig> {
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

    /// Two listeners on one port would fail at bind time, after migrations ran.
    fn check_listeners_distinct(&mut self, listeners: [(&'static str, Option<SocketAddr>); 4]) {
        let bound: Vec<(&'static str, SocketAddr)> = listeners
            .into_iter()
            .filter_map(|(name, addr)| Some((name, addr?)))
            .collect();
        for (i, (name, addr)) in bound.iter().enumerate() {
            if let Some((other, _)) = bound[..i]
                .iter()
                .find(|(_, earlier)| same_listener(*earlier, *addr))
            {
                self.fail(
                    name,
                    format!("port {} is already used by {other}", addr.port()),
                );
            }
        }
    }
}

fn same_listener(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// Parses a value from a fixed list of spellings (ASCII case-insensitive).
fn one_of<T: Copy>(choices: &'static [(&'static str, T)]) -> impl Fn(&str) -> Result<T, String> {
    move |s| {
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                let accepted: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
                format!("{s:?} is not one of: {}", accepted.join(", "))
            })
    }
}

fn duration(s: &str) -> Result<Duration, String> {
    parse_duration(s)
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    let value = parse_duration(s)?;
    if value.is_zero() {
        return Err(format!("{s:?} must be greater than zero"));
    }
    Ok(value)
}

fn any_u32(s: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a whole number from 0 to {}", u32::MAX))
}

fn u32_in(s: &str, min: u32, max: u32) -> Result<u32, String> {
    match any_u32(s)? {
        n if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} must be from {min} to {max}")),
    }
}

fn positive_u32(s: &str) -> Result<u32, String> {
    match any_u32(s)? {
        0 => Err(format!("{s:?} must be at least 1")),
        n => Ok(n),
    }
}

fn at_least(value: u64, min: u64, min_text: &str) -> Result<u64, String> {
    if value < min {
        return Err(format!("must be at least {min_text}"));
    }
    Ok(value)
}

fn port(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("{s:?} is not a port from 1 to 65535")),
    }
}

fn pids_limit(s: &str) -> Result<i64, String> {
    match s.parse::<i64>() {
        Ok(limit) if limit > 0 || limit == -1 => Ok(limit),
        _ => Err(format!(
            "{s:?} must be a positive whole number, or -1 for unlimited"
        )),
    }
}

fn cpu_quota(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(cpus) if cpus.is_finite() && cpus > 0.0 => Ok(cpus),
        _ => Err(format!(
            "{s:?} must be a positive number of CPUs, e.g. 2.0 or 0.5"
        )),
    }
}

/// A secret of at least 32 characters (never echoed in the error).
fn long_secret(s: &str) -> Result<Secret, String> {
    if s.chars().count() < 32 {
        return Err("must be at least 32 characters".into());
    }
    Ok(Secret::new(s))
}

fn text(s: &str) -> Result<String, String> {
    Ok(s.to_owned())
}

fn hostname(s: &str) -> Result<String, String> {
    if s.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(format!("{s:?} is not a host name or address"));
    }
    Ok(s.to_owned())
}

/// Docker object names (networks, log drivers) cannot contain whitespace.
fn docker_name(s: &str) -> Result<String, String> {
    if s.chars().any(char::is_whitespace) {
        return Err(format!("{s:?} must not contain whitespace"));
    }
    Ok(s.to_owned())
}

fn docker_endpoint(s: &str) -> Result<String, String> {
    match s.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !rest.is_empty() => Ok(s.to_owned()),
        _ => Err(format!(
            "{s:?} is not an endpoint URL such as unix:///var/run/docker.sock or tcp://host:2375"
        )),
    }
}

fn http_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !s.contains(char::is_whitespace) => Ok(s.to_owned()),
        _ => Err("must be an http:// or https:// URL".to_string()),
    }
}

/// Accepts `local@domain`, optionally as `Display Name <local@domain>`.
fn email_address(s: &str) -> Result<String, String> {
    let address = match s.rsplit_once('<') {
        Some((_, inner)) => inner.strip_suffix('>').unwrap_or(""),
        None => s,
    };
    let well_formed = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address
                    .contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        }
        None => false,
    };
    if !well_formed {
        return Err(format!(
            "{s:?} is not an email address like name@example.com"
        ));
    }
    Ok(s.to_owned())
}

fn absolute_host_path(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    if !path.is_absolute() {
        return Err(format!("{s:?} must be an absolute path"));
    }
    Ok(path)
}

/// The path is inside the engine container, which is always Linux.
fn container_path(s: &str) -> Result<String, String> {
    if !s.starts_with('/') || s == "/" {
        return Err(format!(
            "{s:?} must be an absolute path below / inside the container"
        ));
    }
    Ok(s.to_owned())
}

fn readable_file(s: &str) -> Result<PathBuf, String> {
    let path = Path::new(s);
    let file = File::open(path).map_err(|e| format!("cannot open {s:?}: {e}"))?;
    // Opening a directory succeeds on Linux; the reader needs a file.
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(path.to_path_buf()),
        Ok(_) => Err(format!("{s:?} is not a regular file")),
        Err(e) => Err(format!("cannot read {s:?}: {e}")),
    }
}

/// Parses `key=value,key=value` into ordered pairs.
fn log_opts(s: &str) -> Result<Vec<(String, String)>, String> {
    s.split(',')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() && !value.is_empty() => {
                Ok((key.trim().to_owned(), value.to_owned()))
            }
            _ => Err(format!(
                "{pair:?} is not key=value (expected key=value,key=value)"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSN: &str =
        "postgres://galaxy:hunter2-dsn@db:5432/galaxy?options=-c%20search_path%3Dbackend";

    /// A readable file standing in for the GeoIP database.
    fn readable_path() -> String {
        concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").to_string()
    }

    fn minimal() -> Vec<(String, String)> {
        [
            ("BACKEND_POSTGRES_DSN", DSN.to_string()),
            ("BACKEND_SMTP_HOST", "smtp.example.com".to_string()),
            ("BACKEND_SMTP_FROM", "noreply@example.com".to_string()),
            ("BACKEND_DOCKER_NETWORK", "galaxy-engines".to_string()),
            (
                "BACKEND_GAME_STATE_ROOT",
                "/var/lib/galaxy/games".to_string(),
            ),
            ("BACKEND_GEOIP_DB_PATH", readable_path()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn with(overrides: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut vars = minimal();
        for (name, value) in overrides {
            vars.retain(|(k, _)| k != name);
            vars.push((name.to_string(), value.to_string()));
        }
        vars
    }

    fn errors(overrides: &[(&str, &str)]) -> ConfigErrors {
        match Config::from_vars(with(overrides)) {
            Ok(_) => panic!("{overrides:?} should be refused"),
            Err(errors) => errors,
        }
    }

    fn load(overrides: &[(&str, &str)]) -> Config {
        Config::from_vars(with(overrides))
            .unwrap_or_else(|e| panic!("{overrides:?} should load:\n{e}"))
    }

    /// Asserts that loading with `overrides` reports exactly one problem, for `variable`.
    fn refused_for(variable: &str, overrides: &[(&str, &str)]) -> String {
        let errors = errors(overrides);
        let names: Vec<_> = errors.0.iter().map(|e| e.variable).collect();
        assert_eq!(names, [variable], "{overrides:?} gave:\n{errors}");
        errors.to_string()
    }

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
    fn push_buffer_settings_have_defaults_and_are_checked() {
        let c = load(&[]);
        assert_eq!(
            (c.grpc.push_buffer_capacity, c.grpc.push_subscriber_queue),
            (65_536, 4_096)
        );
        let c = load(&[
            ("BACKEND_PUSH_BUFFER_CAPACITY", "10"),
            ("BACKEND_PUSH_SUBSCRIBER_QUEUE", "1"),
        ]);
        assert_eq!(
            (c.grpc.push_buffer_capacity, c.grpc.push_subscriber_queue),
            (10, 1)
        );
        refused_for(
            "BACKEND_PUSH_BUFFER_CAPACITY",
            &[("BACKEND_PUSH_BUFFER_CAPACITY", "0")],
        );
        refused_for(
            "BACKEND_PUSH_SUBSCRIBER_QUEUE",
            &[("BACKEND_PUSH_SUBSCRIBER_QUEUE", "2000000")],
        );
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

    #[test]
    fn geoip_path_must_be_a_readable_regular_file() {
        let text = refused_for(
            "BACKEND_GEOIP_DB_PATH",
            &[("BACKEND_GEOIP_DB_PATH", env!("CARGO_MANIFEST_DIR"))],
        );
        assert!(text.contains("not a regular file"), "{text}");
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
    fn listeners_sharing_a_port_are_refused() {
        refused_for(
            "BACKEND_GRPC_PUSH_LISTEN_ADDR",
            &[("BACKEND_GRPC_PUSH_LISTEN_ADDR", "127.0.0.1:8080")],
        );
        refused_for(
            "BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR",
            &[
                ("BACKEND_OTEL_METRICS_EXPORTER", "prometheus"),
                ("BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR", ":8081"),
            ],
        );
        // Unused unless the exporter is prometheus; port 0 never collides.
        load(&[("BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR", ":8080")]);
        load(&[
            ("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:0"),
            ("BACKEND_GRPC_PUSH_LISTEN_ADDR", "127.0.0.1:0"),
        ]);
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
    fn dsn_forms_with_search_path_backend_are_accepted() {
        for dsn in [
            "postgres://u:p@db:5432/galaxy?options=-c%20search_path%3Dbackend",
            "postgres://u:p@db/galaxy?sslmode=disable&options=-c+search_path%3Dbackend",
            "postgresql://u:p@db/galaxy?options=-csearch_path%3Dbackend%20-c%20statement_timeout%3D5s",
            "postgres://u:p@db/galaxy?search_path=backend",
            "postgres://u:p@db/galaxy?options[search_path]=backend",
            "postgres://u:p@db/galaxy?options%5Bsearch_path%5D=backend",
            "host=db user=u password=p dbname=galaxy search_path=backend",
            "host=db dbname=galaxy search_path = backend",
            "host=db password='a b\\'c' options='-c search_path=backend'",
        ] {
            assert!(search_path_ok(dsn), "{dsn} should be accepted");
        }
    }

    #[test]
    fn dsn_forms_without_search_path_backend_are_refused() {
        for dsn in [
            "postgres://u:p@db/galaxy",
            "postgres://u:p@db/galaxy?search_path=public",
            "postgres://u:p@db/galaxy?options=-c%20search_path%3Dbackend2",
            "postgres://u:search_path=backend@db/galaxy",
            "host=db dbname=galaxy",
            "host=db password=search_path=backend",
            "host=db application_name='search_path=backend'",
            "",
        ] {
            assert!(!search_path_ok(dsn), "{dsn} should be refused");
        }
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
