//! The SQL of `admin_audit_log`.

use serde_json::Value;
use sqlx::PgConnection;

use super::model::AuditEntry;

/// Appends an entry inside the caller's transaction. `details` is an object
/// with action-specific facts; never put secrets or personal data in it.
pub async fn record(
    conn: &mut PgConnection,
    actor: &str,
    action: &str,
    target: &str,
    details: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admin_audit_log (actor, action, target, details) VALUES ($1, $2, $3, $4)",
    )
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(details)
    .execute(conn)
    .await?;
    Ok(())
}

/// One page of the trail, newest first, and the total number of entries.
pub async fn list(
    conn: &mut PgConnection,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditEntry>, i64), sqlx::Error> {
    let entries = sqlx::query_as::<_, AuditEntry>(
        "SELECT id, actor, action, target, details, created_at FROM admin_audit_log
         ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_audit_log")
        .fetch_one(&mut *conn)
        .await?;
    Ok((entries, total))
}

/// The newest `limit` entries about `target`, newest first.
pub async fn list_for_target(
    conn: &mut PgConnection,
    target: &str,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    sqlx::query_as::<_, AuditEntry>(
        "SELECT id, actor, action, target, details, created_at FROM admin_audit_log
         WHERE target = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(target)
    .bind(limit)
    .fetch_all(conn)
    .await
}
