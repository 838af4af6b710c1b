//! The push domain's only SQL: taking this process's cursor epoch.

use sqlx::PgPool;

/// The next value of `push_epochs` (migration `0007_push.sql`).
pub async fn next_epoch(db: &PgPool) -> Result<u64, sqlx::Error> {
    let epoch: i64 = sqlx::query_scalar("SELECT nextval('push_epochs')")
        .fetch_one(db)
        .await?;
    Ok(u64::try_from(epoch).unwrap_or_default())
}
