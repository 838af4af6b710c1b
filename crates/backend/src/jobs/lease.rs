//! Claiming and leasing, for every queue table.
//!
//! A queue table follows one row convention ([`QueueTable`]): a state column
//! whose unfinished values are `pending` and `retrying`, a `next_attempt_at`
//! that orders the pick-up, and a lease (`lease_token`, `lease_until`).
//!
//! The claim is one statement: lock up to a batch of due rows with
//! `FOR UPDATE SKIP LOCKED`, stamp them with a fresh lease token and move
//! `next_attempt_at` to the lease expiry. Leases are short (seconds) and a
//! [`LeaseKeeper`] renews them every third of their length while the work
//! runs; a worker that dies stops renewing, and its rows are due again as
//! soon as the lease runs out. Results are recorded only on rows still held
//! under the token, so a worker that lost its lease changes nothing.

use std::time::{Duration, Instant};

use sqlx::postgres::PgHasArrayType;
use sqlx::{Encode, PgPool, Postgres, Type};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::metrics::JobMetrics;

/// The columns a queue table is known by; the rest is the row convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueTable {
    /// The table, e.g. `mail_deliveries`.
    pub name: &'static str,
    /// The primary key column.
    pub key: &'static str,
    /// The state column (`state` or `status`).
    pub state: &'static str,
}

/// The SQL parts a domain adds to the claim.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClaimShape {
    /// Extra conditions on due rows (`AND …`), evaluated before locking.
    pub filter: &'static str,
    /// Extra tables joined to the claimed row (`mail_payloads p`).
    pub join: &'static str,
    /// Their join conditions (`AND p.payload_id = j.payload_id`).
    pub join_on: &'static str,
    /// The claimed row's columns as the worker needs them; the row is `j`.
    pub returning: &'static str,
}

impl QueueTable {
    /// The claim statement: `$1` lease token, `$2` lease in seconds, `$3`
    /// batch size (and whatever parameters `shape.filter` uses). Its result
    /// is `SELECT * FROM claimed`.
    pub fn claim_sql(&self, shape: &ClaimShape) -> String {
        let Self { name, key, state } = self;
        let ClaimShape {
            filter,
            join,
            join_on,
            returning,
        } = shape;
        let from = if join.is_empty() {
            String::new()
        } else {
            format!("\n             FROM {join}")
        };
        // The claimed keys as an array: whatever the batch size, the update
        // then finds its rows by primary key (a join with `due` would let a
        // generic plan, which guesses the batch, hash the whole table).
        format!(
            "WITH due AS (
             SELECT {key}
             FROM {name}
             WHERE {state} IN ('pending', 'retrying') AND next_attempt_at <= now(){filter}
             ORDER BY next_attempt_at
             LIMIT $3
             FOR UPDATE SKIP LOCKED
         ), claimed AS (
             UPDATE {name} j
             SET lease_token = $1,
                 lease_until = now() + $2 * interval '1 second',
                 next_attempt_at = now() + $2 * interval '1 second',
                 updated_at = now(){from}
             WHERE j.{key} = ANY(ARRAY(SELECT {key} FROM due)){join_on}
             RETURNING {returning}
         )
         SELECT * FROM claimed"
        )
    }

    /// The renewal: `$1` lease token, `$2` lease in seconds, `$3` the keys.
    fn renew_sql(&self) -> String {
        let Self { name, key, state } = self;
        format!(
            "UPDATE {name}
             SET lease_until = now() + $2 * interval '1 second',
                 next_attempt_at = now() + $2 * interval '1 second'
             WHERE {key} = ANY($3) AND lease_token = $1 AND {state} IN ('pending', 'retrying')"
        )
    }
}

/// Runs a queue table's claim statement (from [`QueueTable::claim_sql`])
/// for `lease`: up to `batch` due rows, decoded as `T`.
pub async fn claim<T>(
    pool: &PgPool,
    claim_sql: &'static str,
    lease: &Lease,
    batch: i64,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(claim_sql)
        .bind(lease.token)
        .bind(lease.seconds())
        .bind(batch)
        .fetch_all(pool)
        .await
}

/// One claim's lease: the token stamped on the rows and its length.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    pub token: Uuid,
    pub duration: Duration,
    pub claimed_at: Instant,
}

impl Lease {
    /// A fresh token for a claim about to be made.
    pub fn new(duration: Duration) -> Self {
        Self {
            token: Uuid::new_v4(),
            duration,
            claimed_at: Instant::now(),
        }
    }

    /// The lease length as the claim's `$2`.
    pub fn seconds(&self) -> f64 {
        self.duration.as_secs_f64()
    }

    /// How often a keeper renews it: every third of its length, so two
    /// renewals may fail (or be late) before it runs out.
    pub fn renew_every(&self) -> Duration {
        (self.duration / 3).max(Duration::from_millis(50))
    }
}

/// Renews a claim's lease in the background while its work runs; stops
/// (and the lease then runs out on its own) when dropped — including when
/// the task holding it is aborted, as a crashing worker's would be.
pub struct LeaseKeeper {
    task: Option<JoinHandle<()>>,
}

impl LeaseKeeper {
    /// Starts renewing `lease` on the rows `keys` of `table`.
    pub fn start<K>(
        pool: &PgPool,
        table: QueueTable,
        lease: Lease,
        keys: Vec<K>,
        metrics: JobMetrics,
    ) -> Self
    where
        K: for<'q> Encode<'q, Postgres> + Type<Postgres> + PgHasArrayType + Send + Sync + 'static,
    {
        if keys.is_empty() {
            return Self { task: None };
        }
        let pool = pool.clone();
        let task = tokio::spawn(async move {
            let sql = table.renew_sql();
            let mut tick = tokio::time::interval(lease.renew_every());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate
            loop {
                tick.tick().await;
                let renewed = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(lease.token)
                    .bind(lease.seconds())
                    .bind(&keys)
                    .execute(&pool)
                    .await;
                match renewed {
                    Ok(done) => {
                        metrics.record_renewal();
                        if done.rows_affected() == 0 {
                            // Every row was recorded or taken over: nothing
                            // left to hold.
                            return;
                        }
                    }
                    Err(err) => tracing::warn!(queue = metrics.queue(), error = %err,
                        lease_token = %lease.token, "cannot renew a job lease; retrying"),
                }
            }
        });
        Self { task: Some(task) }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claim_locks_due_rows_skipping_held_ones_and_stamps_the_lease() {
        let table = QueueTable {
            name: "t",
            key: "id",
            state: "status",
        };
        let sql = table.claim_sql(&ClaimShape {
            returning: "j.id",
            ..ClaimShape::default()
        });
        assert!(sql.contains("FOR UPDATE SKIP LOCKED"));
        assert!(sql.contains("status IN ('pending', 'retrying') AND next_attempt_at <= now()"));
        assert!(sql.contains("SET lease_token = $1"));
        assert!(sql.ends_with("SELECT * FROM claimed"));
        assert!(table.renew_sql().contains("lease_token = $1"));
    }

    #[test]
    fn a_lease_is_renewed_three_times_per_length() {
        let lease = Lease::new(Duration::from_secs(9));
        assert_eq!(lease.renew_every(), Duration::from_secs(3));
    }
}
