//! The SQL of `device_sessions`. Every function takes a connection so the
//! caller decides the transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row as _};

use crate::ids::{DeviceSessionId, UserId};

use super::events::RevocationReason;
use super::model::{DevicePublicKey, DeviceSession};

fn session(row: &sqlx::postgres::PgRow) -> Result<DeviceSession, sqlx::Error> {
    let key: Vec<u8> = row.try_get("public_key")?;
    Ok(DeviceSession {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        public_key: DevicePublicKey::from_stored(&key)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        device_name: row.try_get("device_name")?,
        platform: row.try_get("platform")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoke_reason: row.try_get("revoke_reason")?,
    })
}

pub async fn insert_session(
    conn: &mut PgConnection,
    id: DeviceSessionId,
    user_id: UserId,
    public_key: &DevicePublicKey,
    device_name: &str,
    platform: &str,
) -> Result<DeviceSession, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO device_sessions (id, user_id, public_key, device_name, platform)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, user_id, public_key, device_name, platform, created_at, revoked_at, revoke_reason",
    )
    .bind(id)
    .bind(user_id)
    .bind(public_key.as_bytes().as_slice())
    .bind(device_name)
    .bind(platform)
    .fetch_one(conn)
    .await?;
    session(&row)
}

/// What the cache warm-up loads of an active session.
pub struct ActiveRow {
    pub id: DeviceSessionId,
    pub user_id: UserId,
    pub public_key: DevicePublicKey,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// An active session's columns as stored.
type ActiveColumns = (
    DeviceSessionId,
    UserId,
    Vec<u8>,
    DateTime<Utc>,
    DateTime<Utc>,
);

impl TryFrom<ActiveColumns> for ActiveRow {
    type Error = sqlx::Error;

    fn try_from(
        (id, user_id, key, created_at, last_seen_at): ActiveColumns,
    ) -> Result<Self, Self::Error> {
        DevicePublicKey::from_stored(&key)
            .map(|public_key| ActiveRow {
                id,
                user_id,
                public_key,
                created_at,
                last_seen_at,
            })
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))
    }
}

/// One session if it is active, with what the cache holds of it.
pub async fn active_one(
    conn: &mut PgConnection,
    id: DeviceSessionId,
) -> Result<Option<ActiveRow>, sqlx::Error> {
    let row: Option<ActiveColumns> = sqlx::query_as(
        "SELECT id, user_id, public_key, created_at, last_seen_at
         FROM device_sessions WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(ActiveRow::try_from).transpose()
}

/// Every active session, for the cache warm-up: only what the cache holds.
pub async fn all_active(conn: &mut PgConnection) -> Result<Vec<ActiveRow>, sqlx::Error> {
    let rows: Vec<ActiveColumns> = sqlx::query_as(
        "SELECT id, user_id, public_key, created_at, last_seen_at
         FROM device_sessions WHERE revoked_at IS NULL",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(ActiveRow::try_from).collect()
}

/// Moves `last_seen_at` forward to the given Unix seconds (never back).
pub async fn write_last_seen(
    conn: &mut PgConnection,
    seen: &[(DeviceSessionId, i64)],
) -> Result<(), sqlx::Error> {
    if seen.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = seen.iter().map(|(id, _)| *id.as_uuid()).collect();
    let at: Vec<f64> = seen.iter().map(|(_, s)| *s as f64).collect();
    sqlx::query(
        "UPDATE device_sessions d SET last_seen_at = GREATEST(d.last_seen_at, to_timestamp(u.seen))
         FROM unnest($1::uuid[], $2::float8[]) AS u(id, seen)
         WHERE d.id = u.id AND d.revoked_at IS NULL",
    )
    .bind(ids)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Active sessions whose stored last use is after `since`, with it.
pub async fn seen_since(
    conn: &mut PgConnection,
    since: DateTime<Utc>,
) -> Result<Vec<(DeviceSessionId, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, last_seen_at FROM device_sessions
         WHERE revoked_at IS NULL AND last_seen_at > $1",
    )
    .bind(since)
    .fetch_all(conn)
    .await
}

/// Revokes up to `limit` active sessions unused for `idle` or older than
/// `max_lifetime` (reason `expired`); returns their ids and users.
pub async fn expire(
    conn: &mut PgConnection,
    idle: Duration,
    max_lifetime: Duration,
    limit: i64,
) -> Result<Vec<(DeviceSessionId, UserId)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE device_sessions SET revoked_at = now(), revoke_reason = $3
         WHERE id IN (
           SELECT id FROM device_sessions
           WHERE revoked_at IS NULL
             AND (last_seen_at <= now() - $1::interval OR created_at <= now() - $2::interval)
           LIMIT $4 FOR UPDATE SKIP LOCKED)
         RETURNING id, user_id",
    )
    .bind(crate::postgres::interval(idle))
    .bind(crate::postgres::interval(max_lifetime))
    .bind(RevocationReason::Expired.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// A user's active sessions, newest first.
pub async fn active_of_user(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Vec<DeviceSession>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, user_id, public_key, device_name, platform, created_at, revoked_at, revoke_reason
         FROM device_sessions
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(session).collect()
}

/// What revoking one session found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOne {
    Revoked,
    AlreadyRevoked,
    NotFound,
}

/// Revokes one session of `user_id` (another user's session is NotFound).
pub async fn revoke_one(
    conn: &mut PgConnection,
    user_id: UserId,
    id: DeviceSessionId,
    reason: RevocationReason,
) -> Result<RevokeOne, sqlx::Error> {
    let revoked = sqlx::query(
        "UPDATE device_sessions SET revoked_at = now(), revoke_reason = $3
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(user_id)
    .bind(reason.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if revoked == 1 {
        return Ok(RevokeOne::Revoked);
    }
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM device_sessions WHERE id = $1 AND user_id = $2)",
    )
    .bind(id)
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(if exists {
        RevokeOne::AlreadyRevoked
    } else {
        RevokeOne::NotFound
    })
}

/// Revokes every active session of `user_id`; returns their ids.
pub async fn revoke_all(
    conn: &mut PgConnection,
    user_id: UserId,
    reason: RevocationReason,
) -> Result<Vec<DeviceSessionId>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE device_sessions SET revoked_at = now(), revoke_reason = $2
         WHERE user_id = $1 AND revoked_at IS NULL RETURNING id",
    )
    .bind(user_id)
    .bind(reason.as_str())
    .fetch_all(conn)
    .await
}
