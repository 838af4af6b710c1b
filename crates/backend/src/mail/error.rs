//! What can go wrong in the mail domain. The HTTP mapping lives in
//! `server/domain_errors.rs`.

use super::model::DeliveryId;
use super::template::TemplateError;

/// What can go wrong in the mail domain.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail delivery {0} does not exist")]
    NotFound(DeliveryId),
    #[error("mail delivery {0} was already sent; resending it would deliver it twice")]
    AlreadySent(DeliveryId),
    /// The address is not shown: it is personal data.
    #[error("the recipient address is not a valid email address")]
    InvalidRecipient,
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
