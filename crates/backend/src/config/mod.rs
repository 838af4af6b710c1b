//! Process configuration: every `BACKEND_*` environment variable, parsed and
//! validated once at startup.
//!
//! The variable table (name, required, default, purpose) lives in
//! [`table::VARIABLES`]; the README's configuration table is rendered from it
//! and a test keeps the two equal. Loading collects *every* problem before
//! failing, so an operator sees all offending variables at once.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod dsn;
mod load;
mod parse;
mod proxies;
mod section;
pub mod table;
#[cfg(test)]
mod testing;
mod unknown;
mod values;

pub use dsn::search_path_ok;
pub use load::{ConfigError, ConfigErrors};
pub use parse::{parse_duration, parse_listen_addr, parse_size};
pub use proxies::TrustedProxies;
pub use unknown::{UnknownVariable, unknown_in_env, unknown_variables};

/// A value that must never be printed: `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is handed to its consumer.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    /// `BACKEND_SHUTDOWN_TIMEOUT`: cap applied to each component's shutdown.
    pub shutdown_timeout: Duration,
    pub grpc: GrpcConfig,
    pub logging: LoggingConfig,
    pub postgres: PostgresConfig,
    pub smtp: SmtpConfig,
    pub mail: MailConfig,
    pub docker: DockerConfig,
    /// `BACKEND_GAME_STATE_ROOT`: host directory bind-mounted into engines.
    pub game_state_root: PathBuf,
    pub admin: AdminConfig,
    pub geoip: GeoIpConfig,
    pub otel: OtelConfig,
    /// `BACKEND_FRESHNESS_WINDOW`: push ring-buffer TTL.
    pub freshness_window: Duration,
    pub auth: AuthConfig,
    /// Device-session lifetimes (added, `BACKEND_SESSION_*`).
    pub session: SessionConfig,
    /// The hardening of issue 14 (added; `docs/auth.md`, `docs/admin.md`).
    pub security: SecurityConfig,
    pub lobby: LobbyConfig,
    pub engine: EngineConfig,
    pub runtime: RuntimeConfig,
    pub notification: NotificationConfig,
    /// Set `BACKEND_*`-like names that are not variables (typos): logged as
    /// warnings at startup and listed by `config check`.
    pub unknown_variables: Vec<UnknownVariable>,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `BACKEND_HTTP_LISTEN_ADDR` (Go style: `:8080` means every interface).
    pub listen_addr: SocketAddr,
    /// `BACKEND_HTTP_READ_TIMEOUT`: time allowed to receive a request (headers and body).
    pub read_timeout: Duration,
    /// `BACKEND_HTTP_WRITE_TIMEOUT`: time allowed to produce a response.
    pub write_timeout: Duration,
    /// `BACKEND_HTTP_SHUTDOWN_TIMEOUT`: drain budget for in-flight requests.
    pub shutdown_timeout: Duration,
    /// `BACKEND_HTTP_MAX_BODY_SIZE` (added): request body size limit in bytes.
    pub max_body_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct GrpcConfig {
    /// `BACKEND_GRPC_PUSH_LISTEN_ADDR`.
    pub push_listen_addr: SocketAddr,
    /// `BACKEND_GRPC_PUSH_SHUTDOWN_TIMEOUT`.
    pub push_shutdown_timeout: Duration,
    /// `BACKEND_PUSH_BUFFER_CAPACITY` (added): ring-buffer ceiling in events.
    pub push_buffer_capacity: u32,
    /// `BACKEND_PUSH_SUBSCRIBER_QUEUE` (added): per-gateway queue in events.
    pub push_subscriber_queue: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone)]
pub struct LoggingConfig {
    /// `BACKEND_LOGGING_LEVEL`: `debug`, `info`, `warn`, `error`.
    pub level: LogLevel,
}

#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// `BACKEND_POSTGRES_DSN`; must carry `search_path=backend`.
    pub dsn: Secret,
    pub max_conns: u32,
    pub min_conns: u32,
    /// `BACKEND_POSTGRES_OPERATION_TIMEOUT`: per-statement timeout.
    pub operation_timeout: Duration,
    /// `BACKEND_LEADER_ELECTION_INTERVAL` (added): the failover bound; a
    /// standby tries to lead, and the leader checks its lock, every half
    /// interval.
    pub leader_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTlsMode {
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// RFC 5321 From address.
    pub from: String,
    pub tls_mode: SmtpTlsMode,
    /// `BACKEND_SMTP_CA_FILE` (added): extra trusted root certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// `BACKEND_SMTP_TIMEOUT` (added): connect and per-reply timeout.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub worker_interval: Duration,
    pub max_attempts: u32,
    /// `BACKEND_MAIL_WORKER_ENABLED` (added): run the outbox worker here.
    pub worker_enabled: bool,
    /// `BACKEND_MAIL_LEASE` (added): how long a claimed delivery stays reserved.
    pub lease: Duration,
    /// `BACKEND_MAIL_BATCH_SIZE` (added): deliveries claimed per worker step.
    pub batch_size: u32,
    /// `BACKEND_MAIL_SEND_CONCURRENCY` (added): parallel SMTP sends per worker.
    pub send_concurrency: u32,
    /// `BACKEND_MAIL_RETRY_BASE` (added): backoff after the first failure.
    pub retry_base: Duration,
    /// `BACKEND_MAIL_RETRY_MAX` (added): backoff cap.
    pub retry_max: Duration,
}

#[derive(Debug, Clone)]
pub struct DockerConfig {
    /// `BACKEND_DOCKER_HOST`, e.g. `unix:///var/run/docker.sock`.
    pub host: String,
    /// `BACKEND_DOCKER_NETWORK`: user-defined bridge for engines.
    pub network: String,
}

#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub bootstrap_user: Option<String>,
    pub bootstrap_password: Option<Secret>,
    /// `BACKEND_ADMIN_CREDENTIAL_CACHE_TTL` (added): how long a verified admin
    /// credential is remembered; zero turns the cache off.
    pub credential_cache_ttl: Duration,
    /// `BACKEND_ADMIN_AUTH_FAILURE_LIMIT` (added): failed sign-ins allowed per
    /// source address and per (username, source) within the window; zero
    /// turns throttling off.
    pub auth_failure_limit: u32,
    /// `BACKEND_ADMIN_AUTH_FAILURE_WINDOW` (added): the sliding window of that limit.
    pub auth_failure_window: Duration,
}

#[derive(Debug, Clone)]
pub struct GeoIpConfig {
    /// `BACKEND_GEOIP_DB_PATH`: a readable GeoLite2-Country-shaped `.mmdb`.
    pub db_path: PathBuf,
    /// `BACKEND_GEO_SHARD_CAPACITY` (added): distinct pairs per tally shard.
    pub shard_capacity: u32,
    /// `BACKEND_GEO_FLUSH_INTERVAL` (added): pause of the counter flush loop.
    pub flush_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracesExporter {
    None,
    Otlp,
    Stdout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsExporter {
    None,
    Otlp,
    Stdout,
    Prometheus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtelProtocol {
    Grpc,
    HttpProtobuf,
}

#[derive(Debug, Clone)]
pub struct OtelConfig {
    pub traces_exporter: TracesExporter,
    pub metrics_exporter: MetricsExporter,
    pub protocol: OtelProtocol,
    /// `BACKEND_OTEL_ENDPOINT`; `None` uses the exporter's default.
    pub endpoint: Option<String>,
    pub prometheus_listen_addr: SocketAddr,
    pub service_name: String,
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub challenge_ttl: Duration,
    pub challenge_max_attempts: u32,
    pub challenge_throttle_window: Duration,
    pub challenge_throttle_max: u32,
    pub username_max_retries: u32,
    /// `BACKEND_AUTH_CONFIRM_FAILURE_LIMIT` (added): wrong codes per address per rolling hour.
    pub confirm_failure_limit: u32,
    /// `BACKEND_AUTH_CHALLENGE_RETENTION` (added): how long expired challenges are kept.
    pub challenge_retention: Duration,
    /// `BACKEND_AUTH_PRUNE_INTERVAL` (added): pause of the prune worker.
    pub prune_interval: Duration,
}

/// How long device sessions live (added; `docs/auth.md`).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `BACKEND_SESSION_IDLE_TIMEOUT`: unused this long → expired.
    pub idle_timeout: Duration,
    /// `BACKEND_SESSION_MAX_LIFETIME`: this long after login → expired.
    pub max_lifetime: Duration,
}

/// Who is believed and what bounds abuse (added; `docs/auth.md`).
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// `BACKEND_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed;
    /// empty when unset.
    pub trusted_proxies: TrustedProxies,
    /// `BACKEND_AUTH_CHALLENGE_SOURCE_MAX`: new login challenges per source
    /// address within `BACKEND_AUTH_CHALLENGE_THROTTLE_WINDOW`.
    pub challenge_source_max: u32,
    /// `BACKEND_AUTH_CODE_SECRET`: the login-code HMAC key; `None` draws a
    /// random one per process.
    pub code_secret: Option<Secret>,
    /// `BACKEND_GATEWAY_SECRET`: the credential the gateway must present
    /// on the user, internal and gRPC surfaces; `None`: not required.
    pub gateway_secret: Option<Secret>,
    /// `BACKEND_GATEWAY_LISTEN_ADDR`: a separate listener for the user and
    /// internal groups.
    pub gateway_listen_addr: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct LobbyConfig {
    pub sweeper_interval: Duration,
    /// `BACKEND_LOBBY_SWEEPER_ENABLED`: run the sweeper loop.
    pub sweeper_enabled: bool,
    /// `BACKEND_JOBS_WORKER_ENABLED`: run the shared job runner.
    pub jobs_worker_enabled: bool,
    pub pending_registration_ttl: Duration,
    pub invite_default_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Timeout for engine writes (init, turn, banish, command, order).
    pub call_timeout: Duration,
    /// Timeout for engine reads (status, report, healthz).
    pub probe_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePullPolicy {
    IfMissing,
    Always,
    Never,
}

/// `BACKEND_RUNTIME_DRIVER` (added): how engines are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeDriver {
    /// One Docker container per game (production default).
    Docker,
    /// One `galaxy-game` child process per game on a loopback port (machines without Docker).
    Process,
}

/// `BACKEND_RUNTIME_ENGINE_ADDRESSING` (added): how the backend reaches engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineAddressing {
    /// `http://galaxy-game-{game_id}:8080` on the shared Docker network.
    Network,
    /// The container's port published on 127.0.0.1 (backend runs on the host).
    Loopback,
}

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub worker_pool_size: u32,
    pub job_queue_size: u32,
    pub reconcile_interval: Duration,
    pub image_pull_policy: ImagePullPolicy,
    pub container_log_driver: String,
    /// `BACKEND_RUNTIME_CONTAINER_LOG_OPTS` as ordered `key=value` pairs.
    pub container_log_opts: Vec<(String, String)>,
    /// `--cpus` as a float (e.g. `2.0`).
    pub container_cpu_quota: f64,
    /// `--memory` in bytes (parsed from `512m`-style sizes).
    pub container_memory_bytes: u64,
    pub container_pids_limit: i64,
    /// Absolute in-container path of the state bind mount.
    pub container_state_mount: String,
    pub stop_grace_period: Duration,
    pub driver: RuntimeDriver,
    pub engine_addressing: EngineAddressing,
    /// `BACKEND_RUNTIME_ENGINE_VERSIONS` (added): `(label, image_ref)`
    /// pairs registered at startup, in the order given.
    pub engine_versions: Vec<(String, String)>,
    /// `BACKEND_RUNTIME_PROCESS_BINARIES` (added): the `galaxy-game` binary
    /// per image for the process driver; `None` = every image.
    pub process_binaries: Vec<(Option<String>, String)>,
}

#[derive(Debug, Clone)]
pub struct NotificationConfig {
    /// Admin-channel recipient; `None` when unset or empty.
    pub admin_email: Option<String>,
    pub worker_interval: Duration,
    pub max_attempts: u32,
    /// `BACKEND_NOTIFICATION_WORKER_ENABLED` (added): run the route worker here.
    pub worker_enabled: bool,
}
