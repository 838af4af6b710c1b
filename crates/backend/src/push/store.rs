//! The push domain's SQL (migration `0020_push_events.sql`): appending a
//! batch of events under the cursor head's row lock, reading events after a
//! cursor, and pruning old ones.

use std::time::Duration;

use sqlx::PgPool;

use super::Cursor;

/// The channel a committed batch notifies (delivered at commit).
pub const CHANNEL: &str = "galaxy_push";

/// One event as stored: its cursor, its encoded `PushEvent.kind` oneof
/// (without the cursor field) and how long ago it was published.
#[derive(Debug)]
pub struct StoredEvent {
    pub cursor: Cursor,
    pub body: Vec<u8>,
    pub age: Duration,
}

fn cursor(value: i64) -> Cursor {
    Cursor(u64::try_from(value).unwrap_or_default())
}

fn events(rows: Vec<(i64, Vec<u8>, f64)>) -> Vec<StoredEvent> {
    rows.into_iter()
        .map(|(c, body, age)| StoredEvent {
            cursor: cursor(c),
            body,
            age: Duration::try_from_secs_f64(age).unwrap_or_default(),
        })
        .collect()
}

/// Appends `kinds`/`bodies` (same length, at least one) as consecutive
/// cursors after the head, and notifies [`CHANNEL`]; one statement, so one
/// round trip and one short transaction. Returns the last cursor taken.
pub async fn append(db: &PgPool, kinds: &[&str], bodies: &[&[u8]]) -> Result<Cursor, sqlx::Error> {
    debug_assert_eq!(kinds.len(), bodies.len());
    let n = i64::try_from(kinds.len()).unwrap_or(i64::MAX);
    // The UPDATE's row lock is held until commit: batches commit in cursor
    // order. Data-modifying CTEs always run to completion. The commit does
    // not wait for the WAL flush (`synchronous_commit = off` for this
    // transaction only): a database crash may forget the last few hundred
    // milliseconds of events (docs/decisions/0010-push-through-postgres.md).
    let last: i64 = sqlx::query_scalar(
        "WITH async AS (
             SELECT set_config('synchronous_commit', 'off', true)
         ), head AS (
             UPDATE push_head SET last = last + $1 RETURNING last
         ), inserted AS (
             INSERT INTO push_events (cursor, kind, body)
             SELECT head.last - $1 + e.ord, e.kind, e.body
             FROM head, unnest($2::text[], $3::bytea[]) WITH ORDINALITY AS e(kind, body, ord)
         )
         SELECT head.last FROM async, head, (SELECT pg_notify($4, '')) AS n",
    )
    .bind(n)
    .bind(kinds)
    .bind(bodies)
    .bind(CHANNEL)
    .fetch_one(db)
    .await?;
    Ok(cursor(last))
}

/// The last cursor issued (0: none yet).
pub async fn head(db: &PgPool) -> Result<Cursor, sqlx::Error> {
    let last: i64 = sqlx::query_scalar("SELECT last FROM push_head")
        .fetch_one(db)
        .await?;
    Ok(cursor(last))
}

/// Up to `limit` events after `after`, in cursor order.
pub async fn after(
    db: &PgPool,
    after: Cursor,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT cursor, body, extract(epoch FROM now() - published_at)::float8
         FROM push_events WHERE cursor > $1 ORDER BY cursor LIMIT $2",
    )
    .bind(i64::try_from(after.0).unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(events(rows))
}

/// The resumable tail up to `head`: the last `capacity` events published
/// within `window`, in cursor order.
pub async fn tail(
    db: &PgPool,
    head: Cursor,
    capacity: usize,
    window: Duration,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let head = i64::try_from(head.0).unwrap_or(i64::MAX);
    let capacity = i64::try_from(capacity).unwrap_or(i64::MAX);
    let rows = sqlx::query_as(
        "SELECT cursor, body, extract(epoch FROM now() - published_at)::float8
         FROM push_events
         WHERE cursor <= $1 AND cursor > $1 - $2
           AND published_at > now() - make_interval(secs => $3)
         ORDER BY cursor",
    )
    .bind(head)
    .bind(capacity)
    .bind(window.as_secs_f64())
    .fetch_all(db)
    .await?;
    Ok(events(rows))
}

/// Deletes up to `limit` events that no instance can replay any more:
/// published `window` or longer ago, or more than `capacity` behind the
/// head. Idempotent: any instance may run it. Returns how many went.
/// Registers this instance (its connections' `application_name`) as a
/// writer, after [`reap_dead_writers`]; `true` when that made a gap.
pub async fn register_writer(db: &PgPool) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let gap = reap_dead_writers(&mut tx).await?;
    sqlx::query(
        "INSERT INTO push_writers (application_name) VALUES (current_setting('application_name'))
         ON CONFLICT (application_name) DO UPDATE SET started_at = now()",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(gap)
}

/// Removes this instance's registration (after a clean stop wrote everything).
pub async fn deregister_writer(db: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM push_writers WHERE application_name = current_setting('application_name')",
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Removes the registered writers that have no connection to this
/// database any more (they died without a clean stop, so events they had
/// queued may be lost) and, if there were any, skips one cursor: the gap
/// tells every instance's hub that a resume from before it must `reset`.
pub async fn reap_dead_writers(conn: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    let dead: i64 = sqlx::query_scalar(
        "WITH dead AS (
             DELETE FROM push_writers w
              WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                 WHERE a.datname = current_database()
                                   AND a.application_name = w.application_name)
             RETURNING 1)
         SELECT count(*) FROM dead",
    )
    .fetch_one(&mut *conn)
    .await?;
    if dead > 0 {
        sqlx::query("UPDATE push_head SET last = last + 1")
            .execute(&mut *conn)
            .await?;
        tracing::warn!(
            instances = dead,
            "push: an instance died without writing what it had queued; gateways resuming from before now get reset / lost"
        );
    }
    Ok(dead > 0)
}

pub async fn prune(
    db: &PgPool,
    capacity: usize,
    window: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let capacity = i64::try_from(capacity).unwrap_or(i64::MAX);
    let done = sqlx::query(
        "DELETE FROM push_events WHERE cursor IN (
             SELECT cursor FROM push_events
             WHERE cursor <= (SELECT last FROM push_head) - $1
                OR published_at <= now() - make_interval(secs => $2)
             ORDER BY cursor LIMIT $3
         )",
    )
    .bind(capacity)
    .bind(window.as_secs_f64())
    .bind(limit)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
