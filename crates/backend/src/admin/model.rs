//! The admin domain's values: validated usernames and passwords, the stored
//! password hash, and the account snapshot the cache holds.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::AdminId;

/// Shortest and longest accepted username, in characters.
pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 64;
/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Longest accepted password, in bytes: bcrypt ignores everything past 72
/// bytes, so a longer password would silently be a shorter one.
pub const PASSWORD_MAX_BYTES: usize = 72;

/// An admin username: 3–64 characters of `[a-z0-9._-]`. Input is
/// lower-cased first, so usernames are case-insensitive (`Alice` is `alice`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let len = raw.chars().count();
        if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
            return Err(UsernameError::Length);
        }
        let lower = raw.to_ascii_lowercase();
        if !lower.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        }) {
            return Err(UsernameError::Characters);
        }
        Ok(Self(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("a username has 3 to 64 characters")]
    Length,
    #[error("a username may contain only letters a-z, digits, `.`, `_` and `-`")]
    Characters,
}

/// A new password that meets the policy: at least 12 characters, at most 72
/// bytes (bcrypt's limit), no control characters. `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: impl Into<String>) -> Result<Self, PasswordError> {
        let raw = raw.into();
        if raw.chars().count() < PASSWORD_MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if raw.len() > PASSWORD_MAX_BYTES {
            return Err(PasswordError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        Ok(Self(raw))
    }

    /// The password itself; only for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has at least 12 characters")]
    TooShort,
    #[error("a password has at most 72 bytes (bcrypt ignores the rest)")]
    TooLong,
    #[error("a password may not contain control characters")]
    ControlCharacter,
}

/// A bcrypt hash (`$2b$12$…`). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub(crate) fn new(hash: String) -> Self {
        Self(hash)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// One row of `admin_accounts`, as cached.
#[derive(Debug, Clone)]
pub struct AdminAccount {
    pub id: AdminId,
    pub username: Username,
    pub password_hash: PasswordHash,
    pub enabled: bool,
    /// Bumped on every password change; cached credentials carry it.
    pub password_version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

/// The admin a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPrincipal {
    pub account_id: AdminId,
    pub username: Username,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_cased_and_validated() {
        assert_eq!(
            Username::parse("Alice.B-1_x").unwrap().as_str(),
            "alice.b-1_x"
        );
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse(&"a".repeat(65)), Err(UsernameError::Length));
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert_eq!(Username::parse("al ice"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("al:ice"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("ålice"), Err(UsernameError::Characters));
    }

    #[test]
    fn passwords_follow_the_policy() {
        assert!(Password::parse("twelve chars").is_ok());
        assert_eq!(
            Password::parse("eleven char").unwrap_err(),
            PasswordError::TooShort
        );
        assert!(Password::parse("x".repeat(72)).is_ok());
        assert_eq!(
            Password::parse("x".repeat(73)).unwrap_err(),
            PasswordError::TooLong
        );
        // 37 characters but 74 bytes.
        assert_eq!(
            Password::parse("ж".repeat(37)).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(
            Password::parse("twelve\nchars").unwrap_err(),
            PasswordError::ControlCharacter
        );
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        let h = PasswordHash::new("$2b$12$secret".into());
        assert!(!format!("{h:?}").contains("secret"));
    }
}

/// Audit actions of the admin-accounts domain (`domain.verb`, like every action).
pub mod action {
    pub const ACCOUNT_BOOTSTRAP: &str = "admin_account.bootstrap";
    pub const ACCOUNT_CREATE: &str = "admin_account.create";
    pub const ACCOUNT_PASSWORD_CHANGE: &str = "admin_account.password_change";
    pub const ACCOUNT_DISABLE: &str = "admin_account.disable";
    pub const ACCOUNT_ENABLE: &str = "admin_account.enable";
    pub const ACCOUNT_DELETE: &str = "admin_account.delete";
    /// A failed sign-in (wrong password, unknown or disabled account); the
    /// actor and target are the account's username (`unknown` when no such
    /// account), the details hold the source address.
    pub const SIGN_IN_FAILED: &str = "admin_account.sign_in_failed";
}
