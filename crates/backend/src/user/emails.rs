//! Where a user's emails go: the address of a live account. The
//! notification domain (above this one) reads it for email routes.

use sqlx::PgConnection;

use crate::ids::UserId;

/// The address of a live (not soft-deleted) account, read inside the
/// caller's transaction; a deleted or unknown user has none.
pub async fn email_of(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM accounts WHERE user_id = $1 AND deleted_at IS NULL")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}
