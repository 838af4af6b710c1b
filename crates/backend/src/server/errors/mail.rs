//! HTTP answers of the mail domain's errors.

use crate::mail::MailError;
use crate::server::ApiError;

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
