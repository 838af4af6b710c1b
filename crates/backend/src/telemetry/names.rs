//! Every metric name and label key this service exports (spec §15), in one
//! place. The names are exported verbatim: the Prometheus exporter is built
//! without unit or `_total` suffixing, so the name here is the name an
//! operator queries, whichever exporter is configured.

// HTTP (recorded by the HTTP edge layer ([`super::HttpEdgeLayer`])).
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";

// gRPC push stream.
pub const GRPC_PUSH_SUBSCRIBERS: &str = "grpc_push_subscribers";
pub const GRPC_PUSH_EVENTS_TOTAL: &str = "grpc_push_events_total";
pub const GRPC_PUSH_DROPPED_TOTAL: &str = "grpc_push_dropped_total";
pub const GRPC_PUSH_OUTBOX_DROPPED_TOTAL: &str = "grpc_push_outbox_dropped_total";

// Mail outbox.
pub const MAIL_OUTBOX_DEPTH: &str = "mail_outbox_depth";
pub const MAIL_ATTEMPTS_TOTAL: &str = "mail_attempts_total";
pub const MAIL_DEAD_LETTERS_TOTAL: &str = "mail_dead_letters_total";

// Notifications.
pub const NOTIFICATION_INTENTS_TOTAL: &str = "notification_intents_total";
pub const NOTIFICATION_ROUTES_TOTAL: &str = "notification_routes_total";

// Job queue (every queue: mail, notification, jobs).
pub const JOB_RUNS_TOTAL: &str = "job_runs_total";
pub const JOB_LEASE_RENEWALS_TOTAL: &str = "job_lease_renewals_total";

// Engine runtime.
pub const RUNTIME_CONTAINER_OPS_TOTAL: &str = "runtime_container_ops_total";
pub const RUNTIME_HEALTH_PROBES_TOTAL: &str = "runtime_health_probes_total";
pub const RUNTIME_TURNS_TOTAL: &str = "runtime_turns_total";
pub const RUNTIME_TURN_DURATION_SECONDS: &str = "runtime_turn_duration_seconds";

// GeoIP.
pub const GEO_LOOKUPS_TOTAL: &str = "geo_lookups_total";
/// Added: request hits dropped because the geo counting channel was full.
pub const GEO_COUNTER_DROPPED_TOTAL: &str = "geo_counter_dropped_total";

// Instances sharing one database (added).
pub const CLUSTER_LEADER: &str = "cluster_leader";
pub const CLUSTER_LEADER_CHANGES_TOTAL: &str = "cluster_leader_changes_total";
/// Added: cache entries re-read because another instance wrote them.
pub const CACHE_INVALIDATIONS_TOTAL: &str = "cache_invalidations_total";
/// Added: full cache reloads (listener reconnect, burst, failed refresh).
pub const CACHE_RELOADS_TOTAL: &str = "cache_reloads_total";

// PostgreSQL pool (recorded by [`super::DbPoolMetrics`]).
pub const DB_POOL_ACQUIRES_TOTAL: &str = "db_pool_acquires_total";
pub const DB_POOL_WAITS_TOTAL: &str = "db_pool_waits_total";
pub const DB_POOL_IN_USE: &str = "db_pool_in_use";
pub const DB_POOL_IDLE: &str = "db_pool_idle";
pub const DB_POOL_MAX: &str = "db_pool_max";

/// Label keys shared by several instruments.
pub mod label {
    pub const GROUP: &str = "group";
    pub const METHOD: &str = "method";
    pub const PATH: &str = "path";
    pub const STATUS: &str = "status";
    pub const POOL: &str = "pool";
    pub const KIND: &str = "kind";
    pub const OUTCOME: &str = "outcome";
    pub const STATE: &str = "state";
    pub const CHANNEL: &str = "channel";
    pub const OP: &str = "op";
    pub const QUEUE: &str = "queue";
    pub const GATEWAY_CLIENT_ID: &str = "gateway_client_id";
    pub const INSTANCE: &str = "instance";
    pub const ROLE: &str = "role";
    pub const CACHE: &str = "cache";
}

/// Bucket boundaries (seconds) for latency histograms: 5 ms … 10 s.
pub const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
