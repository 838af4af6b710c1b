//! The one table of every `BACKEND_*` variable: name, whether it is required,
//! its default and its purpose.
//!
//! The loader reads variables only through this table (defaults included),
//! and the README's configuration table is rendered from it by
//! [`render_markdown`]; tests keep both in step.

/// One environment variable the backend reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// Startup fails when a required variable is unset or empty.
    pub required: bool,
    /// The value used when the variable is unset or empty, in the variable's
    /// own syntax; `None` when there is no default.
    pub default: Option<&'static str>,
    pub purpose: &'static str,
}

const fn required(name: &'static str, purpose: &'static str) -> Variable {
    Variable {
        name,
        required: true,
        default: None,
        purpose,
    }
}

const fn optional(name: &'static str, purpose: &'static str) -> Variable {
    Variable {
        name,
        required: false,
        default: None,
        purpose,
    }
}

const fn defaulted(name: &'static str, default: &'static str, purpose: &'static str) -> Variable {
    Variable {
        name,
        required: false,
        default: Some(default),
        purpose,
    }
}

/// Every variable of the spec's §4, in the spec's order, followed by the
/// variables this implementation adds (their purpose starts with "(added)").
pub const VARIABLES: &[Variable] = &[
    defaulted(
        "BACKEND_HTTP_LISTEN_ADDR",
        ":8080",
        "HTTP listener for REST surfaces and probes.",
    ),
    defaulted(
        "BACKEND_HTTP_READ_TIMEOUT",
        "30s",
        "HTTP read timeout: a request head not complete in time (idle keep-alive connections included) closes the connection; a body stalled this long between chunks is answered 408 `request_timeout`.",
    ),
    defaulted(
        "BACKEND_HTTP_WRITE_TIMEOUT",
        "30s",
        "HTTP write timeout: a handler not done in time is answered 503 `timeout`.",
    ),
    defaulted(
        "BACKEND_HTTP_SHUTDOWN_TIMEOUT",
        "15s",
        "Graceful shutdown budget for HTTP server.",
    ),
    defaulted(
        "BACKEND_SHUTDOWN_TIMEOUT",
        "30s",
        "Process-wide cap applied to each component shutdown.",
    ),
    defaulted(
        "BACKEND_GRPC_PUSH_LISTEN_ADDR",
        ":8081",
        "gRPC listener for the push interface.",
    ),
    defaulted(
        "BACKEND_GRPC_PUSH_SHUTDOWN_TIMEOUT",
        "10s",
        "Graceful shutdown budget for the gRPC server.",
    ),
    defaulted(
        "BACKEND_LOGGING_LEVEL",
        "info",
        "Log level: `debug`, `info`, `warn` (or `warning`), `error`.",
    ),
    required(
        "BACKEND_POSTGRES_DSN",
        "Postgres DSN (URL or key=value form). Must include `search_path=backend` so unqualified reads and writes resolve to the service-owned schema.",
    ),
    defaulted("BACKEND_POSTGRES_MAX_CONNS", "25", "Pool max connections."),
    defaulted("BACKEND_POSTGRES_MIN_CONNS", "2", "Pool min connections."),
    defaulted(
        "BACKEND_POSTGRES_OPERATION_TIMEOUT",
        "5s",
        "Default per-statement timeout.",
    ),
    required("BACKEND_SMTP_HOST", "SMTP relay host."),
    defaulted("BACKEND_SMTP_PORT", "587", "SMTP relay port."),
    optional(
        "BACKEND_SMTP_USERNAME",
        "SMTP auth username (omit for anonymous).",
    ),
    optional("BACKEND_SMTP_PASSWORD", "SMTP auth password."),
    required("BACKEND_SMTP_FROM", "RFC-5321 From address."),
    defaulted(
        "BACKEND_SMTP_TLS_MODE",
        "starttls",
        "`none`, `starttls`, or `tls`.",
    ),
    defaulted(
        "BACKEND_MAIL_WORKER_INTERVAL",
        "2s",
        "How often the outbox worker scans for new work.",
    ),
    defaulted(
        "BACKEND_MAIL_MAX_ATTEMPTS",
        "8",
        "Maximum delivery attempts before dead-lettering.",
    ),
    defaulted(
        "BACKEND_DOCKER_HOST",
        "unix:///var/run/docker.sock",
        "Docker daemon endpoint.",
    ),
    required(
        "BACKEND_DOCKER_NETWORK",
        "User-defined Docker bridge network for engines.",
    ),
    required(
        "BACKEND_GAME_STATE_ROOT",
        "Host directory bind-mounted into engine containers.",
    ),
    optional(
        "BACKEND_ADMIN_BOOTSTRAP_USER",
        "Initial admin username; idempotent insert.",
    ),
    optional(
        "BACKEND_ADMIN_BOOTSTRAP_PASSWORD",
        "Initial admin password; required if user is set.",
    ),
    required(
        "BACKEND_GEOIP_DB_PATH",
        "Filesystem path to GeoLite2 Country `.mmdb`.",
    ),
    defaulted(
        "BACKEND_OTEL_TRACES_EXPORTER",
        "otlp",
        "`none`, `otlp`, `stdout`.",
    ),
    defaulted(
        "BACKEND_OTEL_METRICS_EXPORTER",
        "otlp",
        "`none`, `otlp`, `stdout`, `prometheus`. With `none` nothing is recorded either.",
    ),
    defaulted(
        "BACKEND_OTEL_PROTOCOL",
        "grpc",
        "`grpc` or `http/protobuf`. OTLP only.",
    ),
    optional(
        "BACKEND_OTEL_ENDPOINT",
        "OTLP endpoint URL; when unset, the provider default.",
    ),
    defaulted(
        "BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR",
        ":9100",
        "When `BACKEND_OTEL_METRICS_EXPORTER=prometheus`.",
    ),
    defaulted(
        "BACKEND_SERVICE_NAME",
        "galaxy-backend",
        "Resource attribute for telemetry.",
    ),
    defaulted(
        "BACKEND_FRESHNESS_WINDOW",
        "5m",
        "Mirrors gateway freshness window for push cursor TTL.",
    ),
    defaulted(
        "BACKEND_AUTH_CHALLENGE_TTL",
        "10m",
        "Lifetime of an issued `auth_challenges` row.",
    ),
    defaulted(
        "BACKEND_AUTH_CHALLENGE_MAX_ATTEMPTS",
        "5",
        "Maximum confirm-email-code attempts per challenge.",
    ),
    defaulted(
        "BACKEND_AUTH_CHALLENGE_THROTTLE_WINDOW",
        "60s",
        "Rolling window over which challenges are counted toward throttle.",
    ),
    defaulted(
        "BACKEND_AUTH_CHALLENGE_THROTTLE_MAX",
        "3",
        "Max un-consumed, non-expired challenges per email per window before reuse kicks in.",
    ),
    defaulted(
        "BACKEND_AUTH_USERNAME_MAX_RETRIES",
        "10",
        "Retry budget for synthesising a unique placeholder `accounts.user_name` at registration.",
    ),
    defaulted(
        "BACKEND_LOBBY_SWEEPER_INTERVAL",
        "60s",
        "How often the lobby sweeper releases expired pending_registrations and auto-closes enrollment-expired games.",
    ),
    defaulted(
        "BACKEND_LOBBY_PENDING_REGISTRATION_TTL",
        "720h",
        "Lifetime of a `pending_registration` Race Name Directory entry awaiting promotion (default 30 days).",
    ),
    defaulted(
        "BACKEND_LOBBY_INVITE_DEFAULT_TTL",
        "168h",
        "Default expiry applied to invites whose request body omits `expires_at` (default 7 days).",
    ),
    defaulted(
        "BACKEND_ENGINE_CALL_TIMEOUT",
        "60s",
        "Per-call timeout for engine writes (init, turn, banish, command, order).",
    ),
    defaulted(
        "BACKEND_ENGINE_PROBE_TIMEOUT",
        "5s",
        "Per-call timeout for engine reads (status, report, healthz).",
    ),
    defaulted(
        "BACKEND_RUNTIME_WORKER_POOL_SIZE",
        "4",
        "Long-running runtime job concurrency.",
    ),
    defaulted(
        "BACKEND_RUNTIME_JOB_QUEUE_SIZE",
        "64",
        "Buffered runtime-job channel depth.",
    ),
    defaulted(
        "BACKEND_RUNTIME_RECONCILE_INTERVAL",
        "60s",
        "Interval between reconciler passes against the Docker daemon.",
    ),
    defaulted(
        "BACKEND_RUNTIME_IMAGE_PULL_POLICY",
        "if_missing",
        "Engine image pull policy: `if_missing`, `always`, `never`.",
    ),
    defaulted(
        "BACKEND_RUNTIME_CONTAINER_LOG_DRIVER",
        "json-file",
        "Docker log driver applied to engine containers.",
    ),
    optional(
        "BACKEND_RUNTIME_CONTAINER_LOG_OPTS",
        "Comma-separated `key=value` pairs forwarded to the log driver.",
    ),
    defaulted(
        "BACKEND_RUNTIME_CONTAINER_CPU_QUOTA",
        "2.0",
        "Engine container `--cpus`.",
    ),
    defaulted(
        "BACKEND_RUNTIME_CONTAINER_MEMORY",
        "512m",
        "Engine container `--memory`.",
    ),
    defaulted(
        "BACKEND_RUNTIME_CONTAINER_PIDS_LIMIT",
        "256",
        "Engine container `--pids-limit`.",
    ),
    defaulted(
        "BACKEND_RUNTIME_CONTAINER_STATE_MOUNT",
        "/var/lib/galaxy-game",
        "Absolute in-container path for the per-game state bind mount.",
    ),
    defaulted(
        "BACKEND_RUNTIME_STOP_GRACE_PERIOD",
        "10s",
        "SIGTERM-to-SIGKILL grace period for engine container stop.",
    ),
    optional(
        "BACKEND_NOTIFICATION_ADMIN_EMAIL",
        "Recipient address for admin-channel notifications (`runtime.*` kinds and `game.generation.failed`). When empty, admin-channel routes are recorded as `skipped` and the catalog is partially silenced.",
    ),
    defaulted(
        "BACKEND_NOTIFICATION_WORKER_INTERVAL",
        "5s",
        "Notification route worker scan interval.",
    ),
    defaulted(
        "BACKEND_NOTIFICATION_MAX_ATTEMPTS",
        "8",
        "Notification route delivery attempts before dead-lettering.",
    ),
    defaulted(
        "BACKEND_HTTP_MAX_BODY_SIZE",
        "1m",
        "(added) Request body size limit (Docker-style size, e.g. `1m`); the spec sets none, and an unbounded body lets one client exhaust memory.",
    ),
    defaulted(
        "BACKEND_RUNTIME_DRIVER",
        "docker",
        "(added) How engines run: `docker` (one container per game) or `process` (`galaxy-game` as a child process on a loopback port), so machines without Docker still play games.",
    ),
    defaulted(
        "BACKEND_RUNTIME_ENGINE_ADDRESSING",
        "network",
        "(added) How the backend reaches engines: `network` calls `http://galaxy-game-{game_id}:8080` on the Docker network; `loopback` uses the container port published on 127.0.0.1, for a backend running on the host (development, tests).",
    ),
    defaulted(
        "BACKEND_ADMIN_CREDENTIAL_CACHE_TTL",
        "60s",
        "(added) How long a verified admin credential is remembered (as an HMAC digest, never the password) so admin requests skip the ~0.2 s bcrypt check; `0s` turns it off. Password changes, disables and deletes forget it at once.",
    ),
    defaulted(
        "BACKEND_ADMIN_AUTH_FAILURE_LIMIT",
        "8",
        "(added) Failed admin sign-ins allowed per source address and per (username, source address) within `BACKEND_ADMIN_AUTH_FAILURE_WINDOW` (the default 8 per 5 minutes is 96 per hour, within OWASP ASVS 2.2.1's 100); beyond it the answer is 429 with `Retry-After`, before any bcrypt work. Failures from other sources never block a username. `0` turns throttling off.",
    ),
    defaulted(
        "BACKEND_ADMIN_AUTH_FAILURE_WINDOW",
        "5m",
        "(added) Sliding window over which failed admin sign-ins are counted.",
    ),
    optional(
        "BACKEND_SMTP_CA_FILE",
        "(added) PEM bundle of extra root certificates trusted for the SMTP relay (`starttls`/`tls`), for relays with a private or self-signed certificate; the Mozilla roots stay trusted.",
    ),
    defaulted(
        "BACKEND_SMTP_TIMEOUT",
        "30s",
        "(added) SMTP connect and per-reply timeout; the spec leaves it to the client library.",
    ),
    defaulted(
        "BACKEND_MAIL_WORKER_ENABLED",
        "true",
        "(added) `true` or `false`: run the mail outbox worker in this process (off in tests that drive the worker step themselves; every instance on a database may run it: deliveries are claimed with `SKIP LOCKED`).",
    ),
    defaulted(
        "BACKEND_MAIL_LEASE",
        "10s",
        "(added) Lease of a batch of mail deliveries claimed by a worker, renewed every third of it while the sends run; the deliveries of a worker that died are retried once it runs out.",
    ),
    defaulted(
        "BACKEND_MAIL_BATCH_SIZE",
        "100",
        "(added) Mail deliveries claimed per worker step (1–10000).",
    ),
    defaulted(
        "BACKEND_MAIL_SEND_CONCURRENCY",
        "16",
        "(added) Parallel SMTP sends (and pooled relay connections) per worker (1–256); also the most mails a crash can send twice (`1`: at most one).",
    ),
    defaulted(
        "BACKEND_MAIL_RETRY_BASE",
        "10s",
        "(added) Mail retry backoff after the first failure; doubles per attempt, with jitter. The spec asks for exponential backoff without fixing it.",
    ),
    defaulted(
        "BACKEND_MAIL_RETRY_MAX",
        "30m",
        "(added) Cap of the mail retry backoff; at least `BACKEND_MAIL_RETRY_BASE`.",
    ),
    defaulted(
        "BACKEND_PUSH_BUFFER_CAPACITY",
        "65536",
        "(added) Most events the push ring buffer keeps for resuming gateways (1–10000000), besides the `BACKEND_FRESHNESS_WINDOW` TTL; the spec asks for a fixed ceiling without a value.",
    ),
    defaulted(
        "BACKEND_PUSH_SUBSCRIBER_QUEUE",
        "4096",
        "(added) Events queued per connected gateway (1–1000000); beyond it the oldest queued event for that gateway is dropped (spec §7 back-pressure).",
    ),
    defaulted(
        "BACKEND_NOTIFICATION_WORKER_ENABLED",
        "true",
        "(added) `true` or `false`: run the notification route worker in this process (off in tests that drive the worker step themselves; every instance on a database may run it: routes are claimed with `SKIP LOCKED`).",
    ),
    defaulted(
        "BACKEND_AUTH_CONFIRM_FAILURE_LIMIT",
        "100",
        "(added) Wrong login codes allowed per email address per rolling hour, across all its challenges (OWASP ASVS 2.2.1); beyond it a confirm for that address answers 429 `too_many_attempts` unless its source has not failed for the address within the hour, so strangers cannot lock the owner out (1–1000000).",
    ),
    defaulted(
        "BACKEND_AUTH_CHALLENGE_RETENTION",
        "24h",
        "(added) How long an expired login challenge (with its failed attempts) is kept for operators before the `auth_prune` worker deletes it.",
    ),
    defaulted(
        "BACKEND_AUTH_PRUNE_INTERVAL",
        "1h",
        "(added) Pause of the `auth_prune` worker between passes once nothing is left to delete (it also runs at startup).",
    ),
    defaulted(
        "BACKEND_GEO_SHARD_CAPACITY",
        "16384",
        "(added) Distinct (user, address) pairs each of the 8 in-memory geo tally shards holds between flushes (1–1000000); a request of a new pair beyond it is not counted, only tallied in `geo_counter_dropped_total`.",
    ),
    defaulted(
        "BACKEND_GEO_FLUSH_INTERVAL",
        "1s",
        "(added) Pause of the `geo_counters` worker between flushes of the request tallies into `user_country_counters`; what is pending at shutdown is flushed then.",
    ),
    defaulted(
        "BACKEND_SESSION_IDLE_TIMEOUT",
        "720h",
        "(added) A device session not looked up by the gateway for this long ends (revoked as `expired`, announced as `SessionInvalidation`); OWASP ASVS 3.3.",
    ),
    defaulted(
        "BACKEND_SESSION_MAX_LIFETIME",
        "8760h",
        "(added) A device session ends this long after its login, used or not (revoked as `expired`); at least `BACKEND_SESSION_IDLE_TIMEOUT`.",
    ),
    optional(
        "BACKEND_TRUSTED_PROXIES",
        "(added) Comma-separated addresses or CIDR blocks of the proxies (the gateway) whose `X-Forwarded-For` is believed; the client is the rightmost address not in the list. Unset: the admin group uses the TCP peer (admins call directly, so the header is not believed) and the gateway's groups keep the leftmost `X-Forwarded-For` (spec).",
    ),
    defaulted(
        "BACKEND_AUTH_CHALLENGE_SOURCE_MAX",
        "20",
        "(added) New login challenges (login mails) one source address may open within `BACKEND_AUTH_CHALLENGE_THROTTLE_WINDOW`, across addresses; beyond it the request is answered 429 `too_many_requests`.",
    ),
    optional(
        "BACKEND_AUTH_CODE_SECRET",
        "(added) Server secret (at least 32 characters) keying the HMAC under which login codes are stored, so a database read does not reveal them. Unset: a random key per process (codes mailed before a restart stop working; request a new one). Changing it does the same to open challenges.",
    ),
    optional(
        "BACKEND_GATEWAY_SECRET",
        "(added) Shared secret (at least 32 characters) the gateway sends as `X-Gateway-Credential` on the user and internal groups and as `x-gateway-credential` gRPC metadata; checked in constant time, else 401 `gateway_credential_required` / `UNAUTHENTICATED`. Unset: the spec's trusted-network model (no credential).",
    ),
    optional(
        "BACKEND_GATEWAY_LISTEN_ADDR",
        "(added) A separate HTTP listener for the gateway's groups (user and internal): when set they are served there only, and `BACKEND_HTTP_LISTEN_ADDR` keeps the public and admin groups and the probes.",
    ),
    defaulted(
        "BACKEND_LOBBY_SWEEPER_ENABLED",
        "true",
        "(added) `true` or `false`: run the lobby sweeper loop in this process (off in tests that drive the sweep step themselves).",
    ),
    defaulted(
        "BACKEND_JOBS_WORKER_ENABLED",
        "true",
        "(added) `true` or `false`: run the shared job queue's runner (the lobby's expiry and enrollment jobs) and the runtime's workers (operation pool, lobby request intake, reconciler) in this process (off in tests that drive their steps themselves).",
    ),
    optional(
        "BACKEND_RUNTIME_PROCESS_BINARIES",
        "(added) For `BACKEND_RUNTIME_DRIVER=process` (required there): the `galaxy-game` binary to run, as one absolute path for every image, or comma-separated `image=/path` pairs (e.g. `galaxy/game:0.1.0=/opt/galaxy/game-0.1.0`).",
    ),
    optional(
        "BACKEND_RUNTIME_ENGINE_VERSIONS",
        "(added) Comma-separated `label=image` pairs (e.g. `0.1.0=galaxy/game:0.1.0`) registered in the engine version registry at startup: a new label is added enabled, a known one gets this image (its enabled flag and notes stay); the first becomes the default when there is none. Idempotent. Unset: the registry holds only what admins registered.",
    ),
    defaulted(
        "BACKEND_LEADER_ELECTION_INTERVAL",
        "1s",
        "(added) Leader election among instances sharing the database (a PostgreSQL advisory lock): a standby tries to take the lead every half interval, and the leader checks its lock connection as often. The leader alone runs the turn scheduler, the reconciler, the runtime intake, the lobby sweeper and the auth prunes; after a leader dies a standby leads within one interval (`docs/runbook.md`, Two instances).",
    ),
];

/// The table entry for `name`, if the backend reads such a variable.
pub fn lookup(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// Renders [`VARIABLES`] as the README's Markdown table (columns Variable,
/// Required, Default, Purpose), ending with a newline.
pub fn render_markdown() -> String {
    let mut out =
        String::from("| Variable | Required | Default | Purpose |\n| --- | --- | --- | --- |\n");
    for v in VARIABLES {
        let required = if v.required { "yes" } else { "no" };
        let default = v
            .default
            .map_or_else(|| "—".to_string(), |d| format!("`{d}`"));
        let purpose = v.purpose.replace('|', "\\|");
        out.push_str(&format!(
            "| `{}` | {required} | {default} | {purpose} |\n",
            v.name
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const START: &str = "<!-- config-table:start -->\n";
    const END: &str = "<!-- config-table:end -->";
    const REGENERATE: &str =
        "cargo test -p galaxy-backend --lib -- --ignored write_readme_config_table";

    fn readme_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
    }

    /// Splits the README into (before and including the start marker, the
    /// block, the end marker and after).
    fn split_readme(readme: &str) -> (&str, &str, &str) {
        let start = readme.find(START).map(|i| i + START.len());
        let end = readme.find(END);
        match (start, end) {
            (Some(start), Some(end)) if start <= end => {
                (&readme[..start], &readme[start..end], &readme[end..])
            }
            _ => panic!("README.md must contain {START:?} followed by {END:?}"),
        }
    }

    #[test]
    fn readme_config_table_matches_the_variable_table() {
        let readme = std::fs::read_to_string(readme_path()).expect("README.md is readable");
        let (_, block, _) = split_readme(&readme);
        assert!(
            block == render_markdown(),
            "README.md's configuration table is out of date with config::table::VARIABLES; regenerate it with `{REGENERATE}`"
        );
    }

    /// Rewrites the README block from [`VARIABLES`]; run it explicitly.
    #[test]
    #[ignore = "rewrites README.md; run with --ignored write_readme_config_table"]
    fn write_readme_config_table() {
        let path = readme_path();
        let readme = std::fs::read_to_string(&path).expect("README.md is readable");
        let (head, _, tail) = split_readme(&readme);
        std::fs::write(&path, format!("{head}{}{tail}", render_markdown()))
            .expect("README.md is writable");
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        for (i, v) in VARIABLES.iter().enumerate() {
            assert!(v.name.starts_with("BACKEND_"), "{}", v.name);
            assert!(
                VARIABLES[..i].iter().all(|w| w.name != v.name),
                "{} listed twice",
                v.name
            );
        }
    }

    #[test]
    fn required_variables_have_no_default() {
        for v in VARIABLES.iter().filter(|v| v.required) {
            assert_eq!(v.default, None, "{}", v.name);
        }
    }

    #[test]
    fn the_spec_variables_come_first_and_the_added_ones_say_so() {
        let added: Vec<_> = VARIABLES
            .iter()
            .filter(|v| v.purpose.starts_with("(added)"))
            .map(|v| v.name)
            .collect();
        assert_eq!(
            added,
            [
                "BACKEND_HTTP_MAX_BODY_SIZE",
                "BACKEND_RUNTIME_DRIVER",
                "BACKEND_RUNTIME_ENGINE_ADDRESSING",
                "BACKEND_ADMIN_CREDENTIAL_CACHE_TTL",
                "BACKEND_ADMIN_AUTH_FAILURE_LIMIT",
                "BACKEND_ADMIN_AUTH_FAILURE_WINDOW",
                "BACKEND_SMTP_CA_FILE",
                "BACKEND_SMTP_TIMEOUT",
                "BACKEND_MAIL_WORKER_ENABLED",
                "BACKEND_MAIL_LEASE",
                "BACKEND_MAIL_BATCH_SIZE",
                "BACKEND_MAIL_SEND_CONCURRENCY",
                "BACKEND_MAIL_RETRY_BASE",
                "BACKEND_MAIL_RETRY_MAX",
                "BACKEND_PUSH_BUFFER_CAPACITY",
                "BACKEND_PUSH_SUBSCRIBER_QUEUE",
                "BACKEND_NOTIFICATION_WORKER_ENABLED",
                "BACKEND_AUTH_CONFIRM_FAILURE_LIMIT",
                "BACKEND_AUTH_CHALLENGE_RETENTION",
                "BACKEND_AUTH_PRUNE_INTERVAL",
                "BACKEND_GEO_SHARD_CAPACITY",
                "BACKEND_GEO_FLUSH_INTERVAL",
                "BACKEND_SESSION_IDLE_TIMEOUT",
                "BACKEND_SESSION_MAX_LIFETIME",
                "BACKEND_TRUSTED_PROXIES",
                "BACKEND_AUTH_CHALLENGE_SOURCE_MAX",
                "BACKEND_AUTH_CODE_SECRET",
                "BACKEND_GATEWAY_SECRET",
                "BACKEND_GATEWAY_LISTEN_ADDR",
                "BACKEND_LOBBY_SWEEPER_ENABLED",
                "BACKEND_JOBS_WORKER_ENABLED",
                "BACKEND_RUNTIME_PROCESS_BINARIES",
                "BACKEND_RUNTIME_ENGINE_VERSIONS",
                "BACKEND_LEADER_ELECTION_INTERVAL",
            ]
        );
        assert_eq!(VARIABLES.len(), 57 + added.len());
        assert_eq!(VARIABLES[56].name, "BACKEND_NOTIFICATION_MAX_ATTEMPTS");
    }

    #[test]
    fn rendered_rows_use_backticks_and_a_dash_for_no_default() {
        let table = render_markdown();
        assert!(table.contains("| `BACKEND_POSTGRES_DSN` | yes | — |"));
        assert!(table.contains("| `BACKEND_HTTP_LISTEN_ADDR` | no | `:8080` |"));
        assert_eq!(table.lines().count(), 2 + VARIABLES.len());
    }
}
