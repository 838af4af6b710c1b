//! HTTP answers of the notification domain's errors.

use crate::notification::NotificationError;
use crate::server::ApiError;

impl From<NotificationError> for ApiError {
    fn from(err: NotificationError) -> Self {
        let message = err.to_string();
        match err {
            NotificationError::UnknownKind(_) => {
                ApiError::unprocessable("unknown_notification_kind", message)
            }
            NotificationError::EmailNotConfigurable(_) => {
                ApiError::unprocessable("email_not_configurable", message)
            }
            NotificationError::DuplicateKind(_) => {
                ApiError::unprocessable("duplicate_notification_kind", message)
            }
            NotificationError::NotFound(_) => ApiError::not_found(message),
            NotificationError::InvalidPayload { .. }
            | NotificationError::MissingUser(_)
            | NotificationError::UnexpectedUser(_)
            | NotificationError::UserWithRecipients(_)
            | NotificationError::InvalidIdempotencyKey => {
                ApiError::unprocessable("invalid_notification", message)
            }
            NotificationError::Database(e) => e.into(),
        }
    }
}
