//! The identity domain's errors (their HTTP answers, with stable codes:
//! `server/errors/auth.rs`).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::model::InvalidEmail;
use crate::mail::MailError;
use crate::session::{InvalidDevice, InvalidPublicKey};

/// Why requesting or confirming a login code failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the email address is not valid")]
    InvalidEmail(#[from] InvalidEmail),
    #[error("{0}")]
    InvalidPublicKey(#[from] InvalidPublicKey),
    #[error("{0}")]
    InvalidDevice(#[from] InvalidDevice),
    #[error("no such login challenge")]
    ChallengeNotFound,
    #[error("the login code has expired; request a new one")]
    ChallengeExpired,
    #[error("too many wrong codes were entered for this challenge; request a new one")]
    ChallengeBurned,
    #[error("this login code was already used; request a new one")]
    ChallengeConsumed,
    #[error("the code is wrong")]
    WrongCode { attempts_left: u32 },
    #[error("too many failed confirmations for this address; retry later")]
    TooManyAttempts { retry_after: Duration },
    #[error("too many login codes were requested from this address; retry later")]
    TooManyRequests { retry_after: Duration },
    #[error("this account is banned from logging in")]
    LoginBanned { until: Option<DateTime<Utc>> },
    #[error("this account was deleted")]
    AccountDeleted,
    #[error("no unique placeholder user name after {0} attempts")]
    UserNameExhausted(u32),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
