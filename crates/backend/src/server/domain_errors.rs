//! Domain errors as HTTP answers: the mail and notification mappings (the
//! domains themselves know nothing of HTTP).

use crate::mail::MailError;
use crate::notification::NotificationError;

use super::ApiError;

impl From<MailError> for ApiError {
    fn from(err: MailError) -> Self {
        let message = err.to_string();
        match err {
            MailError::NotFound(_) => ApiError::not_found(message),
            MailError::AlreadySent(_) => ApiError::conflict("mail_already_sent", message),
            MailError::InvalidRecipient => ApiError::unprocessable("invalid_recipient", message),
            MailError::Template(e) => ApiError::internal(e),
            MailError::Database(e) => e.into(),
        }
    }
}

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
            NotificationError::NotFound(_) => ApiError::not_found(message),
            NotificationError::InvalidPayload { .. }
            | NotificationError::MissingUser(_)
            | NotificationError::UnexpectedUser(_)
            | NotificationError::InvalidIdempotencyKey => {
                ApiError::unprocessable("invalid_notification", message)
            }
            NotificationError::Database(e) => e.into(),
        }
    }
}
