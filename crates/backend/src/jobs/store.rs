//! The shared `jobs` table's SQL (migration `0009_jobs.sql`).

use std::sync::LazyLock;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::lease::{ClaimShape, Lease, QueueTable};

/// The shared table in the queue row convention.
pub const TABLE: QueueTable = QueueTable {
    name: "jobs",
    key: "job_id",
    state: "state",
};

/// The `NOTIFY` channel of the shared table.
pub const WAKE_CHANNEL: &str = "jobs";

/// The claim (`$4`: the kinds this runner knows).
pub static CLAIM_SQL: LazyLock<String> = LazyLock::new(|| {
    TABLE.claim_sql(&ClaimShape {
        filter: " AND kind = ANY($4)",
        returning: "j.job_id, j.kind, j.payload, j.attempts, j.max_attempts",
        ..ClaimShape::default()
    })
});

/// Records a batch: `$1` token, `$2` succeeded ids (deleted), `$3`…`$6` the
/// failures (id, error, retry delay in seconds, dead-letter now).
pub const COMPLETE_SQL: &str = "WITH done AS (
         DELETE FROM jobs WHERE job_id = ANY($2) AND lease_token = $1 RETURNING job_id
     ), failed AS (
         UPDATE jobs j
         SET attempts = j.attempts + 1,
             state = CASE WHEN f.dead THEN 'dead_lettered' ELSE 'retrying' END,
             next_attempt_at = now() + f.retry_seconds * interval '1 second',
             lease_token = NULL,
             lease_until = NULL,
             last_error = f.error,
             updated_at = now()
         FROM unnest($3::int8[], $4::text[], $5::float8[], $6::bool[]) AS f(job_id, error, retry_seconds, dead)
         WHERE j.job_id = f.job_id AND j.lease_token = $1
         RETURNING f.dead
     )
     SELECT (SELECT count(*) FROM done) AS done,
            (SELECT count(*) FILTER (WHERE NOT dead) FROM failed) AS retrying,
            (SELECT count(*) FILTER (WHERE dead) FROM failed) AS dead";

/// A claimed job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub job_id: i64,
    pub kind: String,
    pub payload: Value,
    /// Attempts before this one.
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Inserts one job and queues a wake-up; `None` when an unfinished job
/// with the same `(kind, dedup_key)` exists.
pub async fn insert(
    conn: &mut PgConnection,
    kind: &str,
    dedup_key: Option<&str>,
    payload: &Value,
    max_attempts: i32,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH job AS (
             INSERT INTO jobs (kind, dedup_key, payload, max_attempts) VALUES ($1, $2, $3, $4)
             ON CONFLICT (kind, dedup_key) WHERE dedup_key IS NOT NULL AND state IN ('pending', 'retrying')
             DO NOTHING
             RETURNING job_id
         )
         SELECT job_id FROM job, LATERAL (SELECT pg_notify('jobs', '')) AS wake",
    )
    .bind(kind)
    .bind(dedup_key)
    .bind(payload)
    .bind(max_attempts)
    .fetch_optional(conn)
    .await
}

/// Inserts many jobs of one kind in one statement (payloads as JSON text)
/// and queues one wake-up. Returns how many were inserted (duplicates of
/// unfinished jobs are skipped).
pub async fn insert_many(
    conn: &mut PgConnection,
    kind: &str,
    dedup_keys: &[Option<String>],
    payloads: &[String],
    max_attempts: i32,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "WITH job AS (
             INSERT INTO jobs (kind, dedup_key, payload, max_attempts)
             SELECT $1, u.dedup_key, u.payload::jsonb, $4
             FROM unnest($2::text[], $3::text[]) AS u(dedup_key, payload)
             ON CONFLICT (kind, dedup_key) WHERE dedup_key IS NOT NULL AND state IN ('pending', 'retrying')
             DO NOTHING
             RETURNING 1
         ), inserted AS (SELECT count(*) AS n FROM job)
         SELECT n FROM inserted, LATERAL (SELECT pg_notify('jobs', '') WHERE n > 0) AS wake",
    )
    .bind(kind)
    .bind(dedup_keys)
    .bind(payloads)
    .bind(max_attempts)
    .fetch_optional(conn)
    .await
    .map(|n| n.unwrap_or(0))
}

pub async fn claim(
    pool: &PgPool,
    lease: &Lease,
    batch: i64,
    kinds: &[&'static str],
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    sqlx::query_as(CLAIM_SQL.as_str())
        .bind(lease.token)
        .bind(lease.seconds())
        .bind(batch)
        .bind(kinds)
        .fetch_all(pool)
        .await
}

/// A failed job to record.
#[derive(Debug, Clone)]
pub struct Failed {
    pub job_id: i64,
    pub error: String,
    pub retry_seconds: f64,
    pub dead: bool,
}

/// What recording did: rows finished, retrying and dead-lettered (the rest
/// had lost their lease).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Completed {
    pub done: i64,
    pub retrying: i64,
    pub dead: i64,
}

pub async fn complete(
    pool: &PgPool,
    lease: &Lease,
    succeeded: &[i64],
    failed: &[Failed],
) -> Result<Completed, sqlx::Error> {
    let ids: Vec<i64> = failed.iter().map(|f| f.job_id).collect();
    let errors: Vec<&str> = failed.iter().map(|f| f.error.as_str()).collect();
    let retry: Vec<f64> = failed.iter().map(|f| f.retry_seconds).collect();
    let dead: Vec<bool> = failed.iter().map(|f| f.dead).collect();
    sqlx::query_as(COMPLETE_SQL)
        .bind(lease.token)
        .bind(succeeded)
        .bind(ids)
        .bind(errors)
        .bind(retry)
        .bind(dead)
        .fetch_one(pool)
        .await
}

/// Dead-lettered jobs of `kind`, most recent first: `(job_id, payload, last_error)`.
pub async fn dead_letters(
    pool: &PgPool,
    kind: &str,
    limit: i64,
) -> Result<Vec<(i64, Value, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT job_id, payload, last_error FROM jobs
         WHERE state = 'dead_lettered' AND kind = $1
         ORDER BY updated_at DESC, job_id DESC LIMIT $2",
    )
    .bind(kind)
    .bind(limit)
    .fetch_all(pool)
    .await
}
