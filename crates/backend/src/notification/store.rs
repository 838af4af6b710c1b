//! The pipeline's SQL. Plain `sqlx` queries, each exercised by the
//! integration tests (`tests/api/notification*.rs`).

use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::ids::{IntentId, RouteId, UserId};

use crate::jobs::{ClaimShape, Lease, QueueTable};
use crate::postgres::unexpected_value;

use super::catalog::Channel;
use super::model::{
    DeadLetter, IntentFilter, IntentView, Listing, Preference, Route, RouteStatus, SkipReason,
};

/// The channel `LISTEN`ed to by workers (`crate::jobs::Wake`); submit
/// notifies it, so workers wake when (and only if) the producer's
/// transaction commits.
pub const WAKE_CHANNEL: &str = "notification_routes";

/// An intent row as submit stores it.
#[derive(Debug, Clone, Copy)]
pub struct NewIntent<'a> {
    pub intent_id: IntentId,
    pub kind: &'a str,
    pub idempotency_key: &'a str,
    /// The sole recipient; `None` for admin kinds and broadcasts.
    pub user_id: Option<UserId>,
    pub recipient_count: i32,
    pub payload: &'a Value,
    /// The producer's trace id (empty outside a trace).
    pub trace_id: &'a str,
}

/// Inserts the intent; `None` when `(kind, idempotency_key)` exists.
pub async fn insert_intent(
    conn: &mut PgConnection,
    intent: &NewIntent<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO notification_intents
             (intent_id, kind, idempotency_key, user_id, recipient_count, payload, trace_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (kind, idempotency_key) DO NOTHING
         RETURNING intent_id",
    )
    .bind(intent.intent_id)
    .bind(intent.kind)
    .bind(intent.idempotency_key)
    .bind(intent.user_id)
    .bind(intent.recipient_count)
    .bind(intent.payload)
    .bind(intent.trace_id)
    .fetch_optional(conn)
    .await
}

pub async fn find_intent(
    conn: &mut PgConnection,
    kind: &str,
    idempotency_key: &str,
) -> Result<Option<IntentId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT intent_id FROM notification_intents WHERE kind = $1 AND idempotency_key = $2",
    )
    .bind(kind)
    .bind(idempotency_key)
    .fetch_optional(conn)
    .await
}

/// A route as submit materialises it: `pending` and due now, or `skipped`
/// with `skip`.
#[derive(Debug, Clone, Copy)]
pub struct NewRoute {
    pub route_id: RouteId,
    pub channel: Channel,
    /// The recipient; `None` on the admin channel.
    pub user_id: Option<UserId>,
    pub skip: Option<SkipReason>,
}

/// Inserts the intent's routes in one statement.
pub async fn insert_routes(
    conn: &mut PgConnection,
    intent_id: IntentId,
    routes: &[NewRoute],
) -> Result<(), sqlx::Error> {
    if routes.is_empty() {
        return Ok(());
    }
    let route_ids: Vec<RouteId> = routes.iter().map(|r| r.route_id).collect();
    let channels: Vec<&str> = routes.iter().map(|r| r.channel.as_str()).collect();
    let users: Vec<Option<Uuid>> = routes.iter().map(|r| r.user_id.map(Uuid::from)).collect();
    let statuses: Vec<&str> = routes
        .iter()
        .map(|r| match r.skip {
            Some(_) => RouteStatus::Skipped.as_str(),
            None => RouteStatus::Pending.as_str(),
        })
        .collect();
    let skips: Vec<Option<&str>> = routes
        .iter()
        .map(|r| r.skip.map(SkipReason::as_str))
        .collect();
    sqlx::query(
        "INSERT INTO notification_routes (route_id, intent_id, channel, user_id, status, skip_reason)
         SELECT r.route_id, $1, r.channel, r.user_id, r.status, r.skip_reason
         FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[])
              AS r(route_id, channel, user_id, status, skip_reason)",
    )
    .bind(intent_id)
    .bind(route_ids)
    .bind(channels)
    .bind(users)
    .bind(statuses)
    .bind(skips)
    .execute(conn)
    .await?;
    Ok(())
}

/// Those of `users` who switched the email of `kind` off.
pub async fn email_disabled_among(
    conn: &mut PgConnection,
    kind: &str,
    users: &[UserId],
) -> Result<HashSet<UserId>, sqlx::Error> {
    let off: Vec<UserId> = sqlx::query_scalar(
        "SELECT user_id FROM notification_preferences
         WHERE kind = $1 AND user_id = ANY($2) AND NOT email_enabled",
    )
    .bind(kind)
    .bind(users)
    .fetch_all(conn)
    .await?;
    Ok(off.into_iter().collect())
}

/// The routes in the job queue's row convention (`crate::jobs`).
pub const TABLE: QueueTable = QueueTable {
    name: "notification_routes",
    key: "route_id",
    state: "status",
};

/// The claim: the queue's claim over `notification_routes`, with the
/// intent each route delivers. `$1` lease token, `$2` lease in seconds,
/// `$3` batch size.
pub static CLAIM_DUE_SQL: LazyLock<String> = LazyLock::new(|| {
    TABLE.claim_sql(&ClaimShape {
        filter: "",
        join: "notification_intents i",
        join_on: " AND i.intent_id = j.intent_id",
        returning: "j.route_id, j.intent_id, j.channel, j.user_id, j.attempts,
                 i.kind, i.idempotency_key, i.payload, i.trace_id",
    })
});

/// A due route claimed by the worker under a lease.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueRoute {
    pub route_id: RouteId,
    pub intent_id: IntentId,
    pub channel: String,
    pub user_id: Option<UserId>,
    pub attempts: i32,
    pub kind: String,
    pub idempotency_key: String,
    pub payload: Value,
    pub trace_id: String,
}

/// Leases up to `batch` due routes, skipping rows other workers hold.
pub async fn claim_due(
    pool: &PgPool,
    lease: &Lease,
    batch: i64,
) -> Result<Vec<DueRoute>, sqlx::Error> {
    crate::jobs::claim(pool, CLAIM_DUE_SQL.as_str(), lease, batch).await
}

/// Records a delivered route; `false` if the lease was lost meanwhile.
pub async fn mark_sent(
    conn: &mut PgConnection,
    lease: &Lease,
    route_id: RouteId,
    mail_delivery_id: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notification_routes
         SET status = 'sent', attempts = attempts + 1, mail_delivery_id = $2, last_error = NULL,
             lease_token = NULL, lease_until = NULL, sent_at = now(), updated_at = now()
         WHERE route_id = $1 AND lease_token = $3 AND status IN ('pending', 'retrying')",
    )
    .bind(route_id)
    .bind(mail_delivery_id)
    .bind(lease.token)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a skipped route; `false` if the lease was lost meanwhile.
pub async fn mark_skipped(
    conn: &mut PgConnection,
    lease: &Lease,
    route_id: RouteId,
    reason: SkipReason,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notification_routes
         SET status = 'skipped', skip_reason = $2, attempts = attempts + 1,
             lease_token = NULL, lease_until = NULL, updated_at = now()
         WHERE route_id = $1 AND lease_token = $3 AND status IN ('pending', 'retrying')",
    )
    .bind(route_id)
    .bind(reason.as_str())
    .bind(lease.token)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt: `retrying` after `retry_seconds`, or
/// `dead_lettered` when `dead` (the queue's retry policy decided). Returns
/// the new status; `None` if the lease was lost meanwhile.
pub async fn mark_failed(
    conn: &mut PgConnection,
    lease: &Lease,
    route_id: RouteId,
    error: &str,
    retry_seconds: f64,
    dead: bool,
) -> Result<Option<RouteStatus>, sqlx::Error> {
    let status: Option<String> = sqlx::query_scalar(
        "UPDATE notification_routes
         SET attempts = attempts + 1,
             status = CASE WHEN $4 THEN 'dead_lettered' ELSE 'retrying' END,
             next_attempt_at = CASE WHEN $4 THEN now() ELSE now() + $3 * interval '1 second' END,
             dead_lettered_at = CASE WHEN $4 THEN now() ELSE NULL END,
             lease_token = NULL,
             lease_until = NULL,
             last_error = $2,
             updated_at = now()
         WHERE route_id = $1 AND lease_token = $5 AND status IN ('pending', 'retrying')
         RETURNING status",
    )
    .bind(route_id)
    .bind(error)
    .bind(retry_seconds)
    .bind(dead)
    .bind(lease.token)
    .fetch_optional(conn)
    .await?;
    status
        .map(|status| {
            RouteStatus::parse(&status)
                .ok_or_else(|| unexpected_value("notification_routes", "status", &status))
        })
        .transpose()
}

/// Marks the user's unfinished routes `skipped` (`user_deleted`).
pub async fn skip_user_routes(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE notification_routes
         SET status = 'skipped', skip_reason = 'user_deleted', lease_token = NULL,
             lease_until = NULL, updated_at = now()
         WHERE user_id = $1 AND status IN ('pending', 'retrying')",
    )
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// The user's explicit preferences (kinds without a row are email-on).
pub async fn preferences(pool: &PgPool, user_id: UserId) -> Result<Vec<Preference>, sqlx::Error> {
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "SELECT kind, email_enabled FROM notification_preferences WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, email_enabled)| Preference {
            kind,
            email_enabled,
        })
        .collect())
}

/// Upserts every preference of `changes` in one statement.
pub async fn set_preferences(
    pool: &PgPool,
    user_id: UserId,
    changes: &[Preference],
) -> Result<(), sqlx::Error> {
    let kinds: Vec<&str> = changes.iter().map(|p| p.kind.as_str()).collect();
    let enabled: Vec<bool> = changes.iter().map(|p| p.email_enabled).collect();
    sqlx::query(
        "INSERT INTO notification_preferences (user_id, kind, email_enabled)
         SELECT $1, c.kind, c.enabled FROM unnest($2::text[], $3::bool[]) AS c(kind, enabled)
         ON CONFLICT (user_id, kind)
         DO UPDATE SET email_enabled = EXCLUDED.email_enabled, updated_at = now()",
    )
    .bind(user_id)
    .bind(kinds)
    .bind(enabled)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct IntentRow {
    intent_id: IntentId,
    kind: String,
    idempotency_key: String,
    user_id: Option<UserId>,
    recipient_count: i32,
    payload: Value,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RouteRow {
    route_id: RouteId,
    intent_id: IntentId,
    channel: String,
    user_id: Option<UserId>,
    status: String,
    skip_reason: Option<String>,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    mail_delivery_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    dead_lettered_at: Option<DateTime<Utc>>,
}

impl TryFrom<RouteRow> for Route {
    type Error = sqlx::Error;

    fn try_from(row: RouteRow) -> Result<Self, Self::Error> {
        let status = RouteStatus::parse(&row.status)
            .ok_or_else(|| unexpected_value("notification_routes", "status", &row.status))?;
        let skip_reason = row
            .skip_reason
            .map(|r| {
                SkipReason::parse(&r)
                    .ok_or_else(|| unexpected_value("notification_routes", "skip_reason", &r))
            })
            .transpose()?;
        let unfinished = matches!(status, RouteStatus::Pending | RouteStatus::Retrying);
        Ok(Route {
            route_id: row.route_id,
            intent_id: row.intent_id,
            channel: Channel::parse(&row.channel)
                .ok_or_else(|| unexpected_value("notification_routes", "channel", &row.channel))?,
            user_id: row.user_id,
            status,
            skip_reason,
            attempts: row.attempts,
            next_attempt_at: unfinished.then_some(row.next_attempt_at),
            last_error: row.last_error,
            mail_delivery_id: row.mail_delivery_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            sent_at: row.sent_at,
            dead_lettered_at: row.dead_lettered_at,
        })
    }
}

/// The admin read model's columns (macros so `concat!` keeps the SQL static).
macro_rules! select_route {
    () => {
        "SELECT route_id, intent_id, channel, user_id, status, skip_reason, attempts,
                next_attempt_at, last_error, mail_delivery_id, created_at, updated_at, sent_at,
                dead_lettered_at
         FROM notification_routes"
    };
}

macro_rules! intent_filter {
    () => {
        " WHERE ($1::text IS NULL OR i.kind = $1)
           AND ($2::uuid IS NULL OR i.user_id = $2
                OR EXISTS (SELECT 1 FROM notification_routes u
                           WHERE u.intent_id = i.intent_id AND u.user_id = $2))
           AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM notification_routes r
                                            WHERE r.intent_id = i.intent_id AND r.status = $3))"
    };
}

async fn routes_of(pool: &PgPool, intent_ids: &[IntentId]) -> Result<Vec<Route>, sqlx::Error> {
    let rows: Vec<RouteRow> = sqlx::query_as(concat!(
        select_route!(),
        " WHERE intent_id = ANY($1) ORDER BY created_at, channel, route_id"
    ))
    .bind(intent_ids)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Route::try_from).collect()
}

fn attach(rows: Vec<IntentRow>, mut routes: Vec<Route>) -> Vec<IntentView> {
    rows.into_iter()
        .map(|row| {
            let (mine, rest): (Vec<Route>, Vec<Route>) = std::mem::take(&mut routes)
                .into_iter()
                .partition(|r| r.intent_id == row.intent_id);
            routes = rest;
            IntentView {
                intent_id: row.intent_id,
                kind: row.kind,
                idempotency_key: row.idempotency_key,
                user_id: row.user_id,
                recipient_count: row.recipient_count,
                payload: row.payload,
                created_at: row.created_at,
                routes: mine,
            }
        })
        .collect()
}

/// Intents, newest first, with their routes.
pub async fn list_intents(
    pool: &PgPool,
    filter: &IntentFilter,
    offset: i64,
    limit: i64,
) -> Result<Listing<IntentView>, sqlx::Error> {
    let status = filter.status.map(RouteStatus::as_str);
    let total: i64 = sqlx::query_scalar(concat!(
        "SELECT count(*) FROM notification_intents i",
        intent_filter!()
    ))
    .bind(filter.kind.as_deref())
    .bind(filter.user_id)
    .bind(status)
    .fetch_one(pool)
    .await?;
    let rows: Vec<IntentRow> = sqlx::query_as(concat!(
        "SELECT i.intent_id, i.kind, i.idempotency_key, i.user_id, i.recipient_count, i.payload,
                i.created_at
         FROM notification_intents i",
        intent_filter!(),
        " ORDER BY i.created_at DESC, i.intent_id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(filter.kind.as_deref())
    .bind(filter.user_id)
    .bind(status)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let ids: Vec<IntentId> = rows.iter().map(|r| r.intent_id).collect();
    let routes = routes_of(pool, &ids).await?;
    Ok(Listing {
        items: attach(rows, routes),
        total,
    })
}

pub async fn get_intent(
    pool: &PgPool,
    intent_id: IntentId,
) -> Result<Option<IntentView>, sqlx::Error> {
    let row: Option<IntentRow> = sqlx::query_as(
        "SELECT intent_id, kind, idempotency_key, user_id, recipient_count, payload, created_at
         FROM notification_intents WHERE intent_id = $1",
    )
    .bind(intent_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let routes = routes_of(pool, &[intent_id]).await?;
    Ok(attach(vec![row], routes).pop())
}

/// Dead-lettered routes, most recent first.
pub async fn dead_letters(
    pool: &PgPool,
    offset: i64,
    limit: i64,
) -> Result<Listing<DeadLetter>, sqlx::Error> {
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notification_routes WHERE status = 'dead_lettered'",
    )
    .fetch_one(pool)
    .await?;
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        RouteId,
        IntentId,
        String,
        String,
        String,
        Option<UserId>,
        i32,
        Option<String>,
        Option<DateTime<Utc>>,
    )> = sqlx::query_as(
        "SELECT r.route_id, r.intent_id, i.kind, i.idempotency_key, r.channel, r.user_id, r.attempts,
                r.last_error, r.dead_lettered_at
         FROM notification_routes r JOIN notification_intents i ON i.intent_id = r.intent_id
         WHERE r.status = 'dead_lettered'
         ORDER BY r.dead_lettered_at DESC, r.route_id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let items = rows
        .into_iter()
        .map(
            |(
                route_id,
                intent_id,
                kind,
                idempotency_key,
                channel,
                user_id,
                attempts,
                last_error,
                at,
            )| {
                Ok(DeadLetter {
                    route_id,
                    intent_id,
                    kind,
                    idempotency_key,
                    channel: Channel::parse(&channel).ok_or_else(|| {
                        unexpected_value("notification_routes", "channel", &channel)
                    })?,
                    user_id,
                    attempts,
                    last_error,
                    dead_lettered_at: at.unwrap_or_default(),
                })
            },
        )
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Listing { items, total })
}
