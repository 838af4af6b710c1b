//! The outbox's SQL. Every statement is plain `sqlx` (no compile-time
//! macros) and exercised by the integration tests (`tests/api/mail*.rs`).
//!
//! The worker's two statements — [`claim_due`] (the job queue's claim over
//! this table) and [`record_results`] — are also what `make bench` runs
//! through pgbench ([`CLAIM_DUE_SQL`], [`RECORD_RESULTS_SQL`]; see
//! `galaxy-bench-mail`).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row as _};
use uuid::Uuid;

use crate::jobs::{ClaimShape, Lease, QueueTable};
use crate::postgres::unexpected_value;

use super::model::{
    Attempt, AttemptOutcome, DeadLetter, DeadLetterReason, Delivery, DeliveryId, DeliveryState,
    Listing,
};
use super::template::Rendered;

/// Inserts payload, delivery and recipients in one statement, and queues a
/// wake-up of the workers for the commit ([`WAKE_CHANNEL`]). Returns `None`
/// when `(template_id, idempotency_key)` already exists: the statement then
/// inserted only the payload, which [`discard_payload`] removes.
pub async fn insert_delivery(
    conn: &mut PgConnection,
    delivery_id: DeliveryId,
    payload_id: Uuid,
    template_id: &str,
    idempotency_key: &str,
    rendered: &Rendered,
    recipients: &[String],
) -> Result<Option<DeliveryId>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH payload AS (
             INSERT INTO mail_payloads (payload_id, subject, text_body, html_body)
             VALUES ($1, $2, $3, $4)
             RETURNING payload_id
         ), delivery AS (
             INSERT INTO mail_deliveries (delivery_id, template_id, idempotency_key, payload_id, traceparent)
             SELECT $5, $6, $7, payload.payload_id, $9 FROM payload
             ON CONFLICT (template_id, idempotency_key) DO NOTHING
             RETURNING delivery_id
         ), recipients AS (
             INSERT INTO mail_recipients (delivery_id, position, address)
             SELECT delivery.delivery_id, (r.ord - 1)::smallint, r.address
             FROM delivery, unnest($8::text[]) WITH ORDINALITY AS r(address, ord)
         )
         SELECT delivery_id FROM delivery, LATERAL (SELECT pg_notify('mail_deliveries', '')) AS wake",
    )
    .bind(payload_id)
    .bind(&rendered.subject)
    .bind(&rendered.text_body)
    .bind(&rendered.html_body)
    .bind(delivery_id)
    .bind(template_id)
    .bind(idempotency_key)
    .bind(recipients)
    .bind(crate::telemetry::current_traceparent())
    .fetch_optional(conn)
    .await
}

/// Removes the payload an idempotent re-enqueue inserted for nothing.
pub async fn discard_payload(conn: &mut PgConnection, payload_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM mail_payloads WHERE payload_id = $1")
        .bind(payload_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find_by_key(
    conn: &mut PgConnection,
    template_id: &str,
    idempotency_key: &str,
) -> Result<Option<DeliveryId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT delivery_id FROM mail_deliveries WHERE template_id = $1 AND idempotency_key = $2",
    )
    .bind(template_id)
    .bind(idempotency_key)
    .fetch_optional(conn)
    .await
}

/// The outbox in the job queue's row convention (`crate::jobs`).
pub const TABLE: QueueTable = QueueTable {
    name: "mail_deliveries",
    key: "delivery_id",
    state: "state",
};

/// The `NOTIFY` channel an enqueue wakes the workers on (at commit).
pub const WAKE_CHANNEL: &str = "mail_deliveries";

/// The claim ([`claim_due`]): the queue's claim over `mail_deliveries`,
/// returning what a send needs. `$1` lease token, `$2` lease in seconds,
/// `$3` batch size.
pub static CLAIM_DUE_SQL: LazyLock<String> = LazyLock::new(|| {
    TABLE.claim_sql(&ClaimShape {
        filter: "",
        join: "mail_payloads p",
        join_on: " AND p.payload_id = j.payload_id",
        returning:
            "j.delivery_id, j.template_id, j.cycle_attempts, j.traceparent, p.subject, p.text_body, p.html_body,
                 ARRAY(SELECT r.address FROM mail_recipients r
                       WHERE r.delivery_id = j.delivery_id ORDER BY r.position) AS recipients",
    })
});

/// The record ([`record_results`]): `$1` lease token, `$2` max attempts,
/// `$3`…`$9` the results as parallel arrays.
pub const RECORD_RESULTS_SQL: &str = "WITH result AS (
             SELECT * FROM unnest($3::uuid[], $4::text[], $5::int2[], $6::text[],
                                  $7::timestamptz[], $8::timestamptz[], $9::float8[])
                 AS r(delivery_id, outcome, smtp_code, error, started_at, finished_at, retry_seconds)
         ), updated AS (
             UPDATE mail_deliveries d
             SET attempt_count = d.attempt_count + 1,
                 cycle_attempts = d.cycle_attempts + 1,
                 state = CASE
                     WHEN r.outcome = 'sent' THEN 'sent'
                     WHEN r.outcome = 'permanent_failure' OR d.cycle_attempts + 1 >= $2 THEN 'dead_lettered'
                     ELSE 'retrying' END,
                 next_attempt_at = CASE
                     WHEN r.outcome = 'transient_failure' AND d.cycle_attempts + 1 < $2
                     THEN now() + r.retry_seconds * interval '1 second'
                     ELSE now() END,
                 lease_token = NULL,
                 lease_until = NULL,
                 last_error = r.error,
                 sent_at = CASE WHEN r.outcome = 'sent' THEN now() ELSE d.sent_at END,
                 updated_at = now()
             FROM result r
             WHERE d.delivery_id = r.delivery_id
               AND d.lease_token = $1
               AND d.state IN ('pending', 'retrying')
             RETURNING d.delivery_id, d.state, d.attempt_count, d.payload_id, d.template_id, d.next_attempt_at,
                 r.outcome, r.smtp_code, r.error, r.started_at, r.finished_at
         ), attempts AS (
             INSERT INTO mail_attempts (delivery_id, attempt_no, outcome, smtp_code, error, started_at, finished_at)
             SELECT delivery_id, attempt_count, outcome, smtp_code, error, started_at, finished_at FROM updated
         ), dead AS (
             INSERT INTO mail_dead_letters (delivery_id, payload_id, reason, last_error, attempt_count)
             SELECT delivery_id, payload_id,
                    CASE WHEN outcome = 'permanent_failure' THEN 'permanent_failure' ELSE 'max_attempts' END,
                    error, attempt_count
             FROM updated WHERE state = 'dead_lettered'
             ON CONFLICT (delivery_id) DO UPDATE
             SET payload_id = EXCLUDED.payload_id, reason = EXCLUDED.reason, last_error = EXCLUDED.last_error,
                 attempt_count = EXCLUDED.attempt_count, dead_lettered_at = now()
         )
         SELECT delivery_id, state, attempt_count AS attempt_no, template_id, next_attempt_at FROM updated";

/// A delivery claimed by a worker, with what it needs to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedRow {
    pub delivery_id: DeliveryId,
    pub template_id: String,
    /// Attempts in the current cycle before this one.
    pub cycle_attempts: i32,
    /// The enqueuing trace, continued by the send.
    pub traceparent: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    pub recipients: Vec<String>,
}

/// The claim: one short transaction that locks up to `batch` due rows
/// (skipping rows other workers hold), stamps them with the lease token and
/// pushes `next_attempt_at` to the lease expiry. If the worker dies, its
/// lease is no longer renewed and the rows become due again when it runs
/// out.
pub async fn claim_due(
    pool: &PgPool,
    lease: &Lease,
    batch: i64,
) -> Result<Vec<ClaimedRow>, sqlx::Error> {
    crate::jobs::claim(pool, CLAIM_DUE_SQL.as_str(), lease, batch).await
}

/// The result of one attempt, ready to record.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub delivery_id: DeliveryId,
    pub outcome: AttemptOutcome,
    pub smtp_code: Option<i16>,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Delay before the next attempt if this one failed transiently.
    pub retry_after_seconds: f64,
}

/// What recording did to one delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordedRow {
    pub delivery_id: DeliveryId,
    pub state: String,
    pub attempt_no: i32,
    pub template_id: String,
    pub next_attempt_at: DateTime<Utc>,
}

/// Records a batch of attempts in one statement: appends each attempt
/// (`attempt_no` = the delivery's running count + 1), moves the delivery to
/// `sent`, `retrying` (with its next attempt) or `dead_lettered` (with a
/// `mail_dead_letters` row), and releases the lease. Only rows still held
/// under `lease_token` are touched: a worker whose lease expired (and whose
/// row another worker took over) changes nothing and gets no row back.
pub async fn record_results(
    pool: &PgPool,
    lease_token: Uuid,
    max_attempts: i32,
    results: &[AttemptResult],
) -> Result<Vec<RecordedRow>, sqlx::Error> {
    let ids: Vec<DeliveryId> = results.iter().map(|r| r.delivery_id).collect();
    let outcomes: Vec<&str> = results.iter().map(|r| r.outcome.as_str()).collect();
    let codes: Vec<Option<i16>> = results.iter().map(|r| r.smtp_code).collect();
    let errors: Vec<Option<String>> = results.iter().map(|r| r.error.clone()).collect();
    let started: Vec<DateTime<Utc>> = results.iter().map(|r| r.started_at).collect();
    let finished: Vec<DateTime<Utc>> = results.iter().map(|r| r.finished_at).collect();
    let retry: Vec<f64> = results.iter().map(|r| r.retry_after_seconds).collect();
    sqlx::query_as(RECORD_RESULTS_SQL)
        .bind(lease_token)
        .bind(max_attempts)
        .bind(ids)
        .bind(outcomes)
        .bind(codes)
        .bind(errors)
        .bind(started)
        .bind(finished)
        .bind(retry)
        .fetch_all(pool)
        .await
}

/// Non-`sent` deliveries per state, for `mail_outbox_depth`.
pub async fn depth(pool: &PgPool) -> Result<Vec<(DeliveryState, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT state, count(*) AS n FROM mail_deliveries
         WHERE state IN ('pending', 'retrying', 'dead_lettered') GROUP BY state",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let state: String = row.try_get("state")?;
            let state = DeliveryState::parse(&state)
                .ok_or_else(|| unexpected_value("mail_deliveries", "state", &state))?;
            Ok((state, row.try_get("n")?))
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    delivery_id: DeliveryId,
    template_id: String,
    idempotency_key: String,
    state: String,
    recipients: Vec<String>,
    subject: String,
    attempt_count: i32,
    cycle_attempts: i32,
    next_attempt_at: DateTime<Utc>,
    lease_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = sqlx::Error;

    fn try_from(row: DeliveryRow) -> Result<Self, Self::Error> {
        let state = DeliveryState::parse(&row.state)
            .ok_or_else(|| unexpected_value("mail_deliveries", "state", &row.state))?;
        let unfinished = matches!(state, DeliveryState::Pending | DeliveryState::Retrying);
        Ok(Delivery {
            delivery_id: row.delivery_id,
            template_id: row.template_id,
            idempotency_key: row.idempotency_key,
            state,
            recipients: row.recipients,
            subject: row.subject,
            attempt_count: row.attempt_count,
            cycle_attempts: row.cycle_attempts,
            next_attempt_at: unfinished.then_some(row.next_attempt_at),
            lease_until: row.lease_until,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
            sent_at: row.sent_at,
        })
    }
}

/// The admin read model's columns (a macro so `concat!` keeps the SQL static).
macro_rules! select_delivery {
    () => {
        "SELECT d.delivery_id, d.template_id, d.idempotency_key, d.state,
                ARRAY(SELECT r.address FROM mail_recipients r
                      WHERE r.delivery_id = d.delivery_id ORDER BY r.position) AS recipients,
                p.subject, d.attempt_count, d.cycle_attempts, d.next_attempt_at, d.lease_until,
                d.last_error, d.created_at, d.updated_at, d.sent_at
         FROM mail_deliveries d JOIN mail_payloads p ON p.payload_id = d.payload_id"
    };
}

/// Deliveries, newest first, optionally in one state.
pub async fn list_deliveries(
    pool: &PgPool,
    state: Option<DeliveryState>,
    offset: i64,
    limit: i64,
) -> Result<Listing<Delivery>, sqlx::Error> {
    let state = state.map(DeliveryState::as_str);
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_deliveries WHERE ($1::text IS NULL OR state = $1)",
    )
    .bind(state)
    .fetch_one(pool)
    .await?;
    let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
        select_delivery!(),
        " WHERE ($1::text IS NULL OR d.state = $1)
              ORDER BY d.created_at DESC, d.delivery_id DESC
              LIMIT $2 OFFSET $3"
    ))
    .bind(state)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let items = rows
        .into_iter()
        .map(Delivery::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Listing { items, total })
}

pub async fn get_delivery(
    conn: &mut PgConnection,
    delivery_id: DeliveryId,
) -> Result<Option<Delivery>, sqlx::Error> {
    let row: Option<DeliveryRow> =
        sqlx::query_as(concat!(select_delivery!(), " WHERE d.delivery_id = $1"))
            .bind(delivery_id)
            .fetch_optional(conn)
            .await?;
    row.map(Delivery::try_from).transpose()
}

/// The attempt log of a delivery, oldest first; `None` if it does not exist.
pub async fn attempts(
    pool: &PgPool,
    delivery_id: DeliveryId,
) -> Result<Option<Vec<Attempt>>, sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM mail_deliveries WHERE delivery_id = $1)")
            .bind(delivery_id)
            .fetch_one(pool)
            .await?;
    if !exists {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT attempt_no, outcome, smtp_code, error, started_at, finished_at
         FROM mail_attempts WHERE delivery_id = $1 ORDER BY attempt_no",
    )
    .bind(delivery_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let outcome: String = row.try_get("outcome")?;
            Ok(Attempt {
                attempt_no: row.try_get("attempt_no")?,
                outcome: AttemptOutcome::parse(&outcome)
                    .ok_or_else(|| unexpected_value("mail_attempts", "outcome", &outcome))?,
                smtp_code: row.try_get("smtp_code")?,
                error: row.try_get("error")?,
                started_at: row.try_get("started_at")?,
                finished_at: row.try_get("finished_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map(Some)
}

/// Current dead letters, most recent first.
pub async fn list_dead_letters(
    pool: &PgPool,
    offset: i64,
    limit: i64,
) -> Result<Listing<DeadLetter>, sqlx::Error> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_dead_letters")
        .fetch_one(pool)
        .await?;
    let rows = sqlx::query(
        "SELECT l.delivery_id, d.template_id, l.payload_id, l.reason, l.last_error, l.attempt_count,
                l.dead_lettered_at
         FROM mail_dead_letters l JOIN mail_deliveries d ON d.delivery_id = l.delivery_id
         ORDER BY l.dead_lettered_at DESC, l.delivery_id DESC
         LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let items = rows
        .iter()
        .map(|row| {
            let reason: String = row.try_get("reason")?;
            Ok(DeadLetter {
                delivery_id: row.try_get("delivery_id")?,
                template_id: row.try_get("template_id")?,
                payload_id: row.try_get("payload_id")?,
                reason: DeadLetterReason::parse(&reason)
                    .ok_or_else(|| unexpected_value("mail_dead_letters", "reason", &reason))?,
                last_error: row.try_get("last_error")?,
                attempt_count: row.try_get("attempt_count")?,
                dead_lettered_at: row.try_get("dead_lettered_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Listing { items, total })
}

/// The state of a delivery, locked for the rest of the transaction.
pub async fn lock_state(
    conn: &mut PgConnection,
    delivery_id: DeliveryId,
) -> Result<Option<DeliveryState>, sqlx::Error> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM mail_deliveries WHERE delivery_id = $1 FOR UPDATE")
            .bind(delivery_id)
            .fetch_optional(conn)
            .await?;
    state
        .map(|s| {
            DeliveryState::parse(&s).ok_or_else(|| unexpected_value("mail_deliveries", "state", &s))
        })
        .transpose()
}

/// Re-arms an unsent delivery: back to `pending` with a fresh attempt cycle,
/// due now — unless a worker holds it right now, in which case it stays due
/// at the lease expiry and that worker's result counts toward the new cycle
/// (so a resend never races an in-flight send into a duplicate). The
/// attempt counter is kept. Removes the dead letter, if any.
pub async fn rearm(conn: &mut PgConnection, delivery_id: DeliveryId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_deliveries
         SET state = 'pending',
             cycle_attempts = 0,
             next_attempt_at = CASE WHEN lease_until > now() THEN next_attempt_at ELSE now() END,
             updated_at = now()
         WHERE delivery_id = $1",
    )
    .bind(delivery_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM mail_dead_letters WHERE delivery_id = $1")
        .bind(delivery_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// What a redacted payload's text body says instead of its content.
pub const REDACTED_BODY: &str = "(redacted: this message carried a one-time login code)";

/// Replaces the bodies of the given deliveries' payloads with
/// [`REDACTED_BODY`] (subject and delivery rows stay, for the admin
/// surface) — all of them, or with `only_sent` only those already sent.
/// Returns the deliveries whose payload is now redacted.
pub async fn redact_payloads(
    conn: &mut PgConnection,
    delivery_ids: &[Uuid],
    only_sent: bool,
) -> Result<Vec<Uuid>, sqlx::Error> {
    if delivery_ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "WITH chosen AS (
           SELECT delivery_id, payload_id FROM mail_deliveries
           WHERE delivery_id = ANY($1) AND (NOT $2 OR state = 'sent')
         ), redacted AS (
           UPDATE mail_payloads p SET text_body = $3, html_body = NULL
           FROM chosen c WHERE p.payload_id = c.payload_id
         )
         SELECT delivery_id FROM chosen",
    )
    .bind(delivery_ids)
    .bind(only_sent)
    .bind(REDACTED_BODY)
    .fetch_all(conn)
    .await
}
