//! The identity domain's SQL: `accounts` (creation only — the user domain
//! owns the rest), `auth_challenges` and `auth_failed_confirmations`. Every function takes a connection so the caller
//! decides the transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row as _};
use uuid::Uuid;

use crate::ids::{ChallengeId, UserId};

/// Serialises challenge decisions for one address until the transaction
/// ends (throttle counting, the hourly failure cap).
pub async fn lock_address(conn: &mut PgConnection, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('auth.address:' || $1, 0))")
        .bind(email)
        .execute(conn)
        .await?;
    Ok(())
}

/// Serialises the per-source count of new challenges until the
/// transaction ends.
pub async fn lock_source(conn: &mut PgConnection, source: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('auth.source:' || $1, 0))")
        .bind(source)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every challenge of `email` created within `window`, whatever its state
/// (consumed, burned and expired ones count: each one was a mail): how
/// many, and the id and expiry of the newest open one (else the newest).
pub async fn recent_challenges(
    conn: &mut PgConnection,
    email: &str,
    window: Duration,
) -> Result<(i64, Option<(ChallengeId, DateTime<Utc>)>), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, expires_at FROM auth_challenges
         WHERE email = $1 AND created_at > now() - $2::interval
         ORDER BY (consumed_at IS NULL AND burned_at IS NULL AND expires_at > now()) DESC,
                  created_at DESC, id",
    )
    .bind(email)
    .bind(crate::postgres::interval(window))
    .fetch_all(conn)
    .await?;
    let newest = rows
        .first()
        .map(|r| (r.get::<ChallengeId, _>("id"), r.get("expires_at")));
    Ok((rows.len() as i64, newest))
}

/// Challenges opened from `source` within `window`: how many, and when the
/// oldest of them stops counting.
pub async fn challenges_from_source(
    conn: &mut PgConnection,
    source: &str,
    window: Duration,
) -> Result<(i64, Option<DateTime<Utc>>, DateTime<Utc>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT count(*) AS n, min(created_at) + $2::interval AS frees_at, now() AS now
         FROM auth_challenges WHERE source = $1 AND created_at > now() - $2::interval",
    )
    .bind(source)
    .bind(crate::postgres::interval(window))
    .fetch_one(conn)
    .await?;
    Ok((row.get("n"), row.get("frees_at"), row.get("now")))
}

/// Inserts a challenge valid for `ttl`; returns its expiry.
pub async fn insert_challenge(
    conn: &mut PgConnection,
    id: ChallengeId,
    email: &str,
    code_hash: &[u8; 32],
    ttl: Duration,
    source: Option<&str>,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO auth_challenges (id, email, code_hash, expires_at, source)
         VALUES ($1, $2, $3, now() + $4::interval, $5)
         RETURNING expires_at",
    )
    .bind(id)
    .bind(email)
    .bind(code_hash.as_slice())
    .bind(crate::postgres::interval(ttl))
    .bind(source)
    .fetch_one(conn)
    .await
}

pub async fn set_challenge_delivery(
    conn: &mut PgConnection,
    id: ChallengeId,
    delivery_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE auth_challenges SET mail_delivery_id = $2 WHERE id = $1")
        .bind(id)
        .bind(delivery_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A challenge as confirm sees it (row locked).
#[derive(Debug, Clone)]
pub struct ChallengeRow {
    pub id: ChallengeId,
    pub email: String,
    pub code_hash: Vec<u8>,
    pub attempts: i32,
    pub expired: bool,
    pub consumed: bool,
    pub burned: bool,
}

pub async fn challenge_for_update(
    conn: &mut PgConnection,
    id: ChallengeId,
) -> Result<Option<ChallengeRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, email, code_hash, attempts, expires_at <= now() AS expired,
                consumed_at IS NOT NULL AS consumed, burned_at IS NOT NULL AS burned
         FROM auth_challenges WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| ChallengeRow {
        id: r.get("id"),
        email: r.get("email"),
        code_hash: r.get("code_hash"),
        attempts: r.get("attempts"),
        expired: r.get("expired"),
        consumed: r.get("consumed"),
        burned: r.get("burned"),
    }))
}

/// Failed confirmations of `email` within the last `window`: how many, and
/// when the oldest of them stops counting.
pub async fn recent_failures(
    conn: &mut PgConnection,
    email: &str,
    window: Duration,
) -> Result<(i64, Option<DateTime<Utc>>, DateTime<Utc>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT count(*) AS n, min(failed_at) + $2::interval AS frees_at, now() AS now
         FROM auth_failed_confirmations
         WHERE email = $1 AND failed_at > now() - $2::interval",
    )
    .bind(email)
    .bind(crate::postgres::interval(window))
    .fetch_one(conn)
    .await?;
    Ok((row.get("n"), row.get("frees_at"), row.get("now")))
}

/// Failed confirmations of `email` from `source` within the last `window`.
pub async fn failures_from_source(
    conn: &mut PgConnection,
    email: &str,
    source: &str,
    window: Duration,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM auth_failed_confirmations
         WHERE email = $1 AND source = $2 AND failed_at > now() - $3::interval",
    )
    .bind(email)
    .bind(source)
    .bind(crate::postgres::interval(window))
    .fetch_one(conn)
    .await
}

/// Counts one wrong code against the challenge (burning it when `burn`)
/// and against the address (with its source); returns the challenge's
/// attempt count.
pub async fn record_failure(
    conn: &mut PgConnection,
    challenge_id: ChallengeId,
    email: &str,
    burn: bool,
    source: Option<&str>,
) -> Result<i32, sqlx::Error> {
    let attempts = sqlx::query_scalar(
        "UPDATE auth_challenges SET attempts = attempts + 1,
                burned_at = CASE WHEN $2 THEN now() ELSE burned_at END
         WHERE id = $1 RETURNING attempts",
    )
    .bind(challenge_id)
    .bind(burn)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO auth_failed_confirmations (email, challenge_id, source) VALUES ($1, $2, $3)",
    )
    .bind(email)
    .bind(challenge_id)
    .bind(source)
    .execute(conn)
    .await?;
    Ok(attempts)
}

pub async fn consume(
    conn: &mut PgConnection,
    challenge_id: ChallengeId,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE auth_challenges SET consumed_at = now() WHERE id = $1")
        .bind(challenge_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether an address belongs to a live account, only to deleted ones, or
/// to none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountByEmail {
    Live(UserId),
    DeletedOnly,
    None,
}

pub async fn account_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<AccountByEmail, sqlx::Error> {
    let row: Option<(UserId, bool)> = sqlx::query_as(
        "SELECT user_id, deleted_at IS NOT NULL FROM accounts WHERE email = $1
         ORDER BY (deleted_at IS NULL) DESC LIMIT 1",
    )
    .bind(email)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some((id, false)) => AccountByEmail::Live(id),
        Some((_, true)) => AccountByEmail::DeletedOnly,
        None => AccountByEmail::None,
    })
}

/// Why an account insert did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertAccount {
    Inserted,
    UserNameTaken,
    EmailTaken,
}

/// Inserts an account unless its user name (case-insensitively) or its
/// address (among live accounts) is taken. Uses `ON CONFLICT DO NOTHING`
/// so a collision does not abort the caller's transaction.
pub async fn insert_account(
    conn: &mut PgConnection,
    user_id: UserId,
    email: &str,
    user_name: &str,
    declared_country: Option<&str>,
) -> Result<InsertAccount, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO accounts (user_id, email, user_name, declared_country)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(email)
    .bind(user_name)
    .bind(declared_country)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(InsertAccount::Inserted);
    }
    let email_taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1 AND deleted_at IS NULL)",
    )
    .bind(email)
    .fetch_one(conn)
    .await?;
    Ok(if email_taken {
        InsertAccount::EmailTaken
    } else {
        InsertAccount::UserNameTaken
    })
}

/// Deletes up to `limit` challenges that expired more than `keep` ago
/// (their failure rows go with them) and up to `limit` failure rows older
/// than `failure_window`; returns how many rows went.
pub async fn prune(
    conn: &mut PgConnection,
    keep: Duration,
    failure_window: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let failures = sqlx::query(
        "DELETE FROM auth_failed_confirmations WHERE id IN (
           SELECT id FROM auth_failed_confirmations
           WHERE failed_at < now() - $1::interval LIMIT $2)",
    )
    .bind(crate::postgres::interval(failure_window))
    .bind(limit)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let challenges = sqlx::query(
        "DELETE FROM auth_challenges WHERE id IN (
           SELECT id FROM auth_challenges WHERE expires_at < now() - $1::interval LIMIT $2)",
    )
    .bind(crate::postgres::interval(keep))
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(failures + challenges)
}

/// Challenges whose login mail is not redacted yet, oldest first: id of the
/// mail delivery and whether the challenge is still open.
pub async fn unredacted_mails(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<(Uuid, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT mail_delivery_id,
                consumed_at IS NULL AND burned_at IS NULL AND expires_at > now() AS open
         FROM auth_challenges
         WHERE mail_redacted_at IS NULL AND mail_delivery_id IS NOT NULL
         ORDER BY created_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Notes that the login mails of these deliveries are redacted.
pub async fn mark_mails_redacted(
    conn: &mut PgConnection,
    delivery_ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    if delivery_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE auth_challenges SET mail_redacted_at = now() WHERE mail_delivery_id = ANY($1)",
    )
    .bind(delivery_ids)
    .execute(conn)
    .await?;
    Ok(())
}
