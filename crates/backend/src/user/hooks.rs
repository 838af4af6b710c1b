//! The soft-delete hook. When an account is soft-deleted, every registered
//! [`OnUserDeleted`] runs **inside the deleting transaction**, so a domain's
//! reaction (notifications skip pending routes, lobby releases memberships)
//! commits or rolls back together with the delete. A hook error aborts the
//! delete.

use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::PgConnection;

use crate::ids::UserId;

/// A domain's reaction to a soft delete.
pub trait OnUserDeleted: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// Runs in the deleting transaction (`conn`); must only touch the
    /// domain's own tables.
    fn on_user_deleted<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        user_id: UserId,
    ) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Runs after the deleting transaction committed (e.g. to bring a cache
    /// up to date with what [`on_user_deleted`](Self::on_user_deleted)
    /// wrote). Must not fail the delete; the default does nothing.
    fn after_user_deleted(&self, _user_id: UserId) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// The hooks, fixed when the process is assembled. Cheap to clone.
#[derive(Clone, Default)]
pub struct UserDeletedHooks {
    hooks: Arc<[Arc<dyn OnUserDeleted>]>,
}

impl UserDeletedHooks {
    pub fn new(hooks: Vec<Arc<dyn OnUserDeleted>>) -> Self {
        Self {
            hooks: hooks.into(),
        }
    }

    /// Runs every hook in registration order inside `conn`'s transaction.
    pub async fn run(&self, conn: &mut PgConnection, user_id: UserId) -> anyhow::Result<()> {
        for hook in self.hooks.iter() {
            hook.on_user_deleted(&mut *conn, user_id)
                .await
                .map_err(|err| err.context(format!("OnUserDeleted hook {}", hook.name())))?;
        }
        Ok(())
    }

    /// Runs every hook's after-commit step in registration order.
    pub async fn committed(&self, user_id: UserId) {
        for hook in self.hooks.iter() {
            hook.after_user_deleted(user_id).await;
        }
    }
}

impl std::fmt::Debug for UserDeletedHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDeletedHooks").finish_non_exhaustive()
    }
}
