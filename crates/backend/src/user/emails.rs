//! The user domain's answer to "where do this user's emails go?" for the
//! notification worker ([`crate::notification::UserEmails`]).

use futures::future::BoxFuture;
use sqlx::PgConnection;

/// Reads the address of a live (not soft-deleted) account, inside the
/// caller's transaction; a deleted or unknown user has none.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountEmails;

impl crate::notification::UserEmails for AccountEmails {
    fn email_of<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        user_id: uuid::Uuid,
    ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let email = sqlx::query_scalar(
                "SELECT email FROM accounts WHERE user_id = $1 AND deleted_at IS NULL",
            )
            .bind(user_id)
            .fetch_optional(conn)
            .await?;
            Ok(email)
        })
    }
}
