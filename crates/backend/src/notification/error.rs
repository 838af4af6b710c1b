//! What can go wrong in the notification domain. The HTTP mapping lives in
//! `server/errors/notification.rs`.

use super::catalog::PayloadError;
use super::service::MAX_IDEMPOTENCY_KEY_LEN;

/// What can go wrong in the notification domain.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("`{0}` is not a notification kind of the catalog")]
    UnknownKind(String),
    #[error("invalid {kind} payload: {source}")]
    InvalidPayload {
        kind: &'static str,
        source: PayloadError,
    },
    #[error("{0} notifications are addressed to a user: user_id is required")]
    MissingUser(&'static str),
    #[error("{0} notifications go to the operators: user_id must be empty")]
    UnexpectedUser(&'static str),
    /// `submit_to` addresses the users of its list, not `Intent::user_id`.
    #[error("{0}: submit_to takes its recipients from the list: user_id must be empty")]
    UserWithRecipients(&'static str),
    #[error("the idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} bytes")]
    InvalidIdempotencyKey,
    #[error("`{0}` notifications have no email channel to switch")]
    EmailNotConfigurable(String),
    /// One change list names a kind twice (one row per kind).
    #[error("kind {0:?} is listed more than once")]
    DuplicateKind(String),
    #[error("notification intent {0} does not exist")]
    NotFound(crate::ids::IntentId),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
