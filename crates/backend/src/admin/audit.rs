//! The audit trail: who did what to which target, and when. Every admin
//! action writes one row inside the transaction of the change it records, so
//! the trail never claims a change that did not commit (nor misses one).
//!
//! Other domains' admin operations record theirs with [`record`], passing
//! their own transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;

/// Actions of the admin-accounts domain (`domain.verb`, like every action).
pub mod action {
    pub const ACCOUNT_BOOTSTRAP: &str = "admin_account.bootstrap";
    pub const ACCOUNT_CREATE: &str = "admin_account.create";
    pub const ACCOUNT_PASSWORD_CHANGE: &str = "admin_account.password_change";
    pub const ACCOUNT_DISABLE: &str = "admin_account.disable";
    pub const ACCOUNT_ENABLE: &str = "admin_account.enable";
    pub const ACCOUNT_DELETE: &str = "admin_account.delete";
}

/// The actor of changes made by the process itself (the startup bootstrap).
pub const SYSTEM_ACTOR: &str = "system";

/// One row of `admin_audit_log`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    /// The admin's username, or [`SYSTEM_ACTOR`].
    pub actor: String,
    pub action: String,
    /// What the action touched, e.g. an admin username or a delivery id.
    pub target: String,
    pub details: Value,
    pub created_at: DateTime<Utc>,
}

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
