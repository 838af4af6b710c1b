//! The runtime's SQL: `runtime_records` and `runtime_operations`
//! (migration `0015_runtime.sql`).

use std::sync::LazyLock;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::model::{OpKind, OpState, Operation, RuntimeRecord, RuntimeStatus};
use crate::ids::GameId;
use crate::jobs::{ClaimShape, Lease, QueueTable};

const RECORD_COLUMNS: &str =
    "game_id, engine_version, image_ref, driver, container_id, container_name,
     base_url, status, seed, initialised_at, current_turn, last_health_at, last_health_ok,
     last_error, force_next_turn, created_at, updated_at, generation_started_at";

const OP_COLUMNS: &str =
    "op_id, game_id, op, params, requested_by, state, attempts, outcome, error,
     created_at, started_at, finished_at";

// ---- records -------------------------------------------------------------------

pub async fn record(
    conn: &mut PgConnection,
    game_id: GameId,
) -> Result<Option<RuntimeRecord>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RECORD_COLUMNS} FROM runtime_records WHERE game_id = $1"
    )))
    .bind(game_id)
    .fetch_optional(conn)
    .await
}

/// Every record, newest game activity first.
pub async fn records(pool: &PgPool) -> Result<Vec<RuntimeRecord>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RECORD_COLUMNS} FROM runtime_records ORDER BY updated_at DESC, game_id"
    )))
    .fetch_all(pool)
    .await
}

/// What a start (or an adoption) writes into the record.
pub struct NewRecord<'a> {
    pub game_id: GameId,
    pub engine_version: &'a str,
    pub image_ref: &'a str,
    pub driver: &'a str,
    pub container_name: &'a str,
    pub status: RuntimeStatus,
    pub seed: i64,
}

/// Creates the record, or moves an existing one to `status` with the new
/// version and image (its seed, turn and initialisation are kept).
pub async fn upsert_record(
    conn: &mut PgConnection,
    r: &NewRecord<'_>,
) -> Result<RuntimeRecord, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO runtime_records
             (game_id, engine_version, image_ref, driver, container_name, status, seed)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (game_id) DO UPDATE
         SET engine_version = EXCLUDED.engine_version, image_ref = EXCLUDED.image_ref,
             driver = EXCLUDED.driver, container_name = EXCLUDED.container_name,
             status = EXCLUDED.status, last_error = NULL, updated_at = now()
         RETURNING {RECORD_COLUMNS}"
    )))
    .bind(r.game_id)
    .bind(r.engine_version)
    .bind(r.image_ref)
    .bind(r.driver)
    .bind(r.container_name)
    .bind(r.status.as_str())
    .bind(r.seed)
    .fetch_one(conn)
    .await
}

/// The engine runs: where it is, its turn, and (once) that it was initialised.
/// A turn past the record's (run behind a tick that died) consumes the
/// force flag, as a tick would.
pub async fn set_running(
    conn: &mut PgConnection,
    game_id: GameId,
    container_id: &str,
    base_url: &str,
    turn: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE runtime_records
         SET status = 'running', container_id = $2, base_url = $3, current_turn = $4,
             force_next_turn = CASE WHEN $4 > current_turn THEN false ELSE force_next_turn END,
             initialised_at = coalesce(initialised_at, now()), last_error = NULL,
             last_health_at = now(), last_health_ok = true, updated_at = now()
         WHERE game_id = $1",
    )
    .bind(game_id)
    .bind(container_id)
    .bind(base_url)
    .bind(turn)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the record to `status`, keeping `error` as its last error (when given).
pub async fn set_status(
    conn: &mut PgConnection,
    game_id: GameId,
    status: RuntimeStatus,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE runtime_records
         SET status = $2, last_error = coalesce($3, last_error),
             base_url = CASE WHEN $2 IN ('stopped', 'removed', 'finished', 'start_failed') THEN NULL ELSE base_url END,
             updated_at = now()
         WHERE game_id = $1",
    )
    .bind(game_id)
    .bind(status.as_str())
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a health probe: `ok`, and the engine's turn when it answered.
pub async fn set_health(
    pool: &PgPool,
    game_id: GameId,
    ok: bool,
    turn: Option<i32>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE runtime_records
         SET last_health_at = now(), last_health_ok = $2,
             current_turn = greatest(current_turn, coalesce($3, current_turn))
         WHERE game_id = $1",
    )
    .bind(game_id)
    .bind(ok)
    .bind(turn)
    .execute(pool)
    .await?;
    Ok(())
}

// ---- operations ----------------------------------------------------------------

/// The operations table in the queue row convention.
pub const OPS: QueueTable = QueueTable {
    name: "runtime_operations",
    key: "op_id",
    state: "state",
};

/// The claim: one game's operations run one at a time, oldest first — an
/// operation is due only when no older one of its game is unfinished.
pub static CLAIM_SQL: LazyLock<String> = LazyLock::new(|| {
    OPS.claim_sql(&ClaimShape {
        filter: " AND NOT EXISTS (
                 SELECT 1 FROM runtime_operations older
                 WHERE older.game_id = runtime_operations.game_id
                   AND older.state IN ('pending', 'retrying')
                   AND older.op_id < runtime_operations.op_id)",
        returning: "j.op_id, j.game_id, j.op, j.params, j.requested_by, j.state, j.attempts,
                    j.outcome, j.error, j.created_at, j.started_at, j.finished_at, j.max_attempts",
        ..ClaimShape::default()
    })
});

/// A claimed operation and its attempt budget.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    #[sqlx(flatten)]
    pub op: Operation,
    pub max_attempts: i32,
}

/// Queues a job; `None` when it completes a lobby request already queued.
pub async fn enqueue(
    conn: &mut PgConnection,
    game_id: GameId,
    op: OpKind,
    params: &Value,
    requested_by: &str,
    max_attempts: i32,
) -> Result<Option<Operation>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH op AS (
             INSERT INTO runtime_operations (game_id, op, params, requested_by, max_attempts)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT ((params->>'request_id')) WHERE params ? 'request_id' DO NOTHING
             RETURNING {OP_COLUMNS}
         )
         SELECT op.* FROM op, LATERAL (SELECT pg_notify('{WAKE_CHANNEL}', '')) AS wake"
    )))
    .bind(game_id)
    .bind(op.as_str())
    .bind(params)
    .bind(requested_by)
    .bind(max_attempts)
    .fetch_optional(conn)
    .await
}

/// The `NOTIFY` channel of the operations queue.
pub const WAKE_CHANNEL: &str = "runtime_operations";

/// The scheduler's wake-up channel (a force flag, a resume, an early turn
/// announced by whichever instance took it).
pub const SCHEDULER_WAKE_CHANNEL: &str = "runtime_scheduler";

/// Logs an operation that already happened (reconciler actions,
/// force-next-turn).
pub async fn log_done(
    conn: &mut PgConnection,
    game_id: GameId,
    op: OpKind,
    requested_by: &str,
    state: OpState,
    outcome: &str,
    error: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO runtime_operations
             (game_id, op, requested_by, state, outcome, error, started_at, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, now(), now())
         RETURNING op_id",
    )
    .bind(game_id)
    .bind(op.as_str())
    .bind(requested_by)
    .bind(state.as_str())
    .bind(outcome)
    .bind(error)
    .fetch_one(conn)
    .await
}

pub async fn claim(pool: &PgPool, lease: &Lease, batch: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as(CLAIM_SQL.as_str())
        .bind(lease.token)
        .bind(lease.seconds())
        .bind(batch)
        .fetch_all(pool)
        .await
}

/// Marks a claimed operation as started (its first attempt's time stays).
pub async fn mark_started(pool: &PgPool, lease: &Lease, op_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE runtime_operations SET started_at = coalesce(started_at, now())
         WHERE op_id = $1 AND lease_token = $2",
    )
    .bind(op_id)
    .bind(lease.token)
    .execute(pool)
    .await?;
    Ok(())
}

/// Finishes a claimed operation on `conn` (the caller's transaction, so the
/// effects it records commit with it). `false`: the lease was lost.
pub async fn finish(
    conn: &mut PgConnection,
    lease: &Lease,
    op_id: i64,
    state: OpState,
    outcome: &str,
    error: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE runtime_operations
         SET state = $3, outcome = $4, error = $5, attempts = attempts + 1,
             finished_at = now(), lease_token = NULL, lease_until = NULL, updated_at = now()
         WHERE op_id = $1 AND lease_token = $2 AND state IN ('pending', 'retrying')",
    )
    .bind(op_id)
    .bind(lease.token)
    .bind(state.as_str())
    .bind(outcome)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts a claimed operation back for another attempt after `delay_seconds`.
pub async fn retry(
    pool: &PgPool,
    lease: &Lease,
    op_id: i64,
    error: &str,
    delay_seconds: f64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE runtime_operations
         SET state = 'retrying', error = $3, attempts = attempts + 1,
             next_attempt_at = now() + $4 * interval '1 second',
             lease_token = NULL, lease_until = NULL, updated_at = now()
         WHERE op_id = $1 AND lease_token = $2 AND state IN ('pending', 'retrying')",
    )
    .bind(op_id)
    .bind(lease.token)
    .bind(error)
    .bind(delay_seconds)
    .execute(pool)
    .await?;
    Ok(())
}

/// Unfinished operations (the queue's depth).
pub async fn open_count(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM runtime_operations WHERE state IN ('pending', 'retrying')",
    )
    .fetch_one(conn)
    .await
}

/// The lobby request ids among `ids` that already have an operation.
pub async fn queued_requests(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT params->>'request_id' FROM runtime_operations
         WHERE params ? 'request_id' AND params->>'request_id' = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// `game_id`'s operations, newest first.
pub async fn operations(
    pool: &PgPool,
    game_id: GameId,
    limit: i64,
) -> Result<Vec<Operation>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OP_COLUMNS} FROM runtime_operations WHERE game_id = $1
         ORDER BY op_id DESC LIMIT $2"
    )))
    .bind(game_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn operation(pool: &PgPool, op_id: i64) -> Result<Option<Operation>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OP_COLUMNS} FROM runtime_operations WHERE op_id = $1"
    )))
    .bind(op_id)
    .fetch_optional(pool)
    .await
}

/// Games with an operation queued or running (the reconciler leaves them).
pub async fn games_with_open_operations(pool: &PgPool) -> Result<Vec<GameId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT game_id FROM runtime_operations WHERE state IN ('pending', 'retrying')",
    )
    .fetch_all(pool)
    .await
}

/// A running engine's new address.
pub async fn set_address(
    pool: &PgPool,
    game_id: GameId,
    base_url: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE runtime_records SET base_url = $2, updated_at = now() WHERE game_id = $1")
        .bind(game_id)
        .bind(base_url)
        .execute(pool)
        .await?;
    Ok(())
}

// ---- turns -----------------------------------------------------------------------

/// Claims a tick: `running → generation_in_progress` only if the record is
/// still `running` at `turn` (so two schedulers never tick one game).
pub async fn claim_tick(
    pool: &PgPool,
    game_id: GameId,
    turn: i32,
) -> Result<Option<RuntimeRecord>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE runtime_records
         SET status = 'generation_in_progress', generation_started_at = now(), updated_at = now()
         WHERE game_id = $1 AND status = 'running' AND current_turn = $2
         RETURNING {RECORD_COLUMNS}"
    )))
    .bind(game_id)
    .bind(turn)
    .fetch_optional(pool)
    .await
}

/// Ends a tick: `status` at `turn`; a successful one consumes the force flag.
pub async fn finish_tick(
    conn: &mut PgConnection,
    game_id: GameId,
    status: RuntimeStatus,
    turn: i32,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE runtime_records
         SET status = $2, current_turn = greatest(current_turn, $3), generation_started_at = NULL,
             force_next_turn = CASE WHEN $2 = 'running' AND $3 > current_turn THEN false ELSE force_next_turn END,
             last_error = coalesce($4, last_error), updated_at = now()
         WHERE game_id = $1",
    )
    .bind(game_id)
    .bind(status.as_str())
    .bind(turn)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ticks `generation_in_progress` for longer than `seconds`.
pub async fn stuck_ticks(pool: &PgPool, seconds: f64) -> Result<Vec<RuntimeRecord>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RECORD_COLUMNS} FROM runtime_records
         WHERE status = 'generation_in_progress'
           AND coalesce(generation_started_at, updated_at) < now() - $1 * interval '1 second'"
    )))
    .bind(seconds)
    .fetch_all(pool)
    .await
}

pub async fn set_force_next_turn(
    conn: &mut PgConnection,
    game_id: GameId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE runtime_records SET force_next_turn = true, updated_at = now() WHERE game_id = $1",
    )
    .bind(game_id)
    .execute(conn)
    .await?;
    Ok(())
}
