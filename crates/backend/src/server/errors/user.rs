//! HTTP answers of the user domain's errors.

use crate::server::ApiError;
use crate::user::UserError;

impl From<UserError> for ApiError {
    fn from(err: UserError) -> Self {
        let message = err.to_string();
        match err {
            UserError::InvalidUserName(_) => ApiError::unprocessable("invalid_user_name", message),
            UserError::UserNameTaken(_) => ApiError::conflict("user_name_taken", message),
            UserError::InvalidLocale(_) => ApiError::unprocessable("invalid_locale", message),
            UserError::InvalidTimeZone(_) => ApiError::unprocessable("invalid_time_zone", message),
            UserError::InvalidSanction(_) => ApiError::unprocessable("invalid_sanction", message),
            UserError::InvalidLimits(_) => ApiError::unprocessable("invalid_limits", message),
            UserError::NotFound(_) | UserError::SanctionNotFound(_) => ApiError::not_found(message),
            UserError::SanctionAlreadyLifted => {
                ApiError::conflict("sanction_already_lifted", message)
            }
            UserError::AccountDeleted => ApiError::forbidden("account_deleted", message),
            UserError::AlreadyDeleted => ApiError::conflict("account_already_deleted", message),
            UserError::LoginBanned { expires_at } => ApiError::forbidden("login_banned", message)
                .with_details(serde_json::json!({ "expires_at": expires_at })),
            UserError::Sessions(e) | UserError::Hook(e) => ApiError::internal(format!("{e:#}")),
            UserError::Database(e) => e.into(),
        }
    }
}
