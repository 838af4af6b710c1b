//! The user domain's values: validated user names, locales and time zones,
//! tiers and entitlement snapshots, sanctions, and the cached [`UserRecord`].

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{SanctionId, UserId};

/// Shortest and longest accepted user name, in characters.
pub const USER_NAME_MIN: usize = 3;
pub const USER_NAME_MAX: usize = 32;

/// A user name: 3–32 ASCII letters, digits, `_`, `-`, `.`, starting and
/// ending with a letter or digit. Case is kept; uniqueness is
/// case-insensitive (the database enforces `UNIQUE lower(user_name)`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, UserNameError> {
        let len = raw.chars().count();
        if !(USER_NAME_MIN..=USER_NAME_MAX).contains(&len) {
            return Err(UserNameError::Length);
        }
        let bytes = raw.as_bytes();
        if !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(UserNameError::Characters);
        }
        if !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
            return Err(UserNameError::Edges);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    #[error("a user name has 3 to 32 characters")]
    Length,
    #[error("a user name may contain only ASCII letters, digits, `_`, `-` and `.`")]
    Characters,
    #[error("a user name starts and ends with a letter or a digit")]
    Edges,
}

/// A BCP-47-style language tag: `language[-Script][-REGION][-variant…]`,
/// normalised to the conventional case (`en`, `zh-Hant-TW`, `pt-BR`,
/// `de-CH-1996`). Extensions and private-use subtags are not accepted.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Locale(String);

/// The longest accepted locale tag.
pub const LOCALE_MAX: usize = 35;

impl Locale {
    pub fn parse(raw: &str) -> Result<Self, LocaleError> {
        if raw.is_empty() || raw.len() > LOCALE_MAX {
            return Err(LocaleError);
        }
        let mut out = String::with_capacity(raw.len());
        let mut parts = raw.split('-').peekable();
        let language = parts.next().ok_or(LocaleError)?;
        if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(LocaleError);
        }
        out.push_str(&language.to_ascii_lowercase());
        // 0 = script allowed next, 1 = region allowed next, 2 = variants only.
        let mut stage = 0;
        for part in parts {
            let alpha = part.bytes().all(|b| b.is_ascii_alphabetic());
            let digits = part.bytes().all(|b| b.is_ascii_digit());
            let alnum = part.bytes().all(|b| b.is_ascii_alphanumeric());
            out.push('-');
            if stage == 0 && part.len() == 4 && alpha {
                let lower = part.to_ascii_lowercase();
                out.push(lower.as_bytes()[0].to_ascii_uppercase() as char);
                out.push_str(&lower[1..]);
                stage = 1;
            } else if stage <= 1 && ((part.len() == 2 && alpha) || (part.len() == 3 && digits)) {
                out.push_str(&part.to_ascii_uppercase());
                stage = 2;
            } else if alnum
                && ((5..=8).contains(&part.len())
                    || (part.len() == 4 && part.as_bytes()[0].is_ascii_digit()))
            {
                out.push_str(&part.to_ascii_lowercase());
                stage = 2;
            } else {
                return Err(LocaleError);
            }
        }
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Locale {
    fn default() -> Self {
        Self(DEFAULT_LOCALE.to_owned())
    }
}

impl fmt::Debug for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The locale of an account that never chose one.
pub const DEFAULT_LOCALE: &str = "en";
/// The time zone of an account that never chose one.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a locale is a BCP-47 language tag such as `en`, `pt-BR` or `zh-Hant-TW`")]
pub struct LocaleError;

/// An IANA time zone name known to the embedded tz database (`chrono-tz`),
/// exactly as the database spells it (`Europe/Berlin`, `UTC`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TimeZone(String);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, TimeZoneError> {
        let tz = chrono_tz::Tz::from_str(raw).map_err(|_| TimeZoneError)?;
        Ok(Self(tz.name().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(DEFAULT_TIME_ZONE.to_owned())
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a time zone is an IANA name such as `Europe/Berlin` or `UTC`")]
pub struct TimeZoneError;

/// A user's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Settings {
    pub locale: Locale,
    pub time_zone: TimeZone,
}

/// The service level of an account; each tier has default limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    #[default]
    Free,
    Premium,
}

impl Tier {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Premium => "premium",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "free" => Some(Self::Free),
            "premium" => Some(Self::Premium),
            _ => None,
        }
    }

    /// The tier's limits when no admin override applies.
    pub const fn default_limits(self) -> Limits {
        match self {
            Self::Free => Limits {
                max_concurrent_games: 3,
                max_registered_race_names: 1,
            },
            Self::Premium => Limits {
                max_concurrent_games: 10,
                max_registered_race_names: 5,
            },
        }
    }
}

/// The limits later domains enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub max_concurrent_games: i32,
    pub max_registered_race_names: i32,
}

/// The upper bound an admin may set for any limit.
pub const LIMIT_MAX: i32 = 10_000;

/// The stored entitlement choice: a tier plus optional per-limit overrides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntitlementRow {
    pub tier: Tier,
    pub max_concurrent_games: Option<i32>,
    pub max_registered_race_names: Option<i32>,
}

/// What a user may do right now: the tier's defaults with admin overrides
/// applied. `overridden` names the limits an admin set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntitlementSnapshot {
    pub user_id: UserId,
    pub tier: Tier,
    pub max_concurrent_games: i32,
    pub max_registered_race_names: i32,
    pub overridden: Vec<&'static str>,
}

impl EntitlementSnapshot {
    pub fn from_row(user_id: UserId, row: &EntitlementRow) -> Self {
        let defaults = row.tier.default_limits();
        let mut overridden = Vec::new();
        if row.max_concurrent_games.is_some() {
            overridden.push("max_concurrent_games");
        }
        if row.max_registered_race_names.is_some() {
            overridden.push("max_registered_race_names");
        }
        Self {
            user_id,
            tier: row.tier,
            max_concurrent_games: row
                .max_concurrent_games
                .unwrap_or(defaults.max_concurrent_games),
            max_registered_race_names: row
                .max_registered_race_names
                .unwrap_or(defaults.max_registered_race_names),
            overridden,
        }
    }
}

/// What a sanction forbids. Extensible: add a variant, its string, and the
/// value to the `user_sanctions_kind_check` constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SanctionKind {
    /// No login (confirm refused) and no user-group request.
    LoginBan,
    /// No joining games (enforced by the lobby).
    GameJoinBan,
}

impl SanctionKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LoginBan => "login_ban",
            Self::GameJoinBan => "game_join_ban",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "login_ban" => Some(Self::LoginBan),
            "game_join_ban" => Some(Self::GameJoinBan),
            _ => None,
        }
    }
}

/// One sanction row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sanction {
    pub sanction_id: SanctionId,
    pub user_id: UserId,
    pub kind: SanctionKind,
    pub reason: String,
    /// The admin who applied it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// `None`: until lifted.
    pub expires_at: Option<DateTime<Utc>>,
    pub lifted_at: Option<DateTime<Utc>>,
    pub lifted_by: Option<String>,
}

impl Sanction {
    /// In force at `now`: not lifted and not yet expired. Expiry needs no
    /// action: a sanction whose `expires_at` has passed is simply inactive.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.lifted_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// One row of `accounts` (owned by `auth`), as this domain reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user_id: UserId,
    pub email: String,
    pub user_name: String,
    pub declared_country: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Everything the cache holds about one user. Immutable; a change replaces
/// the whole record.
#[derive(Debug)]
pub struct UserRecord {
    pub account: Account,
    pub settings: Settings,
    pub entitlements: EntitlementSnapshot,
    /// Sanctions not lifted (expired ones included; check with
    /// [`Sanction::is_active_at`]).
    pub sanctions: Vec<Sanction>,
    /// The serialised own-account view, built on first read.
    pub(crate) profile_json: OnceLock<Bytes>,
}

impl UserRecord {
    pub fn new(
        account: Account,
        settings: Settings,
        entitlements: EntitlementRow,
        sanctions: Vec<Sanction>,
    ) -> Self {
        let entitlements = EntitlementSnapshot::from_row(account.user_id, &entitlements);
        Self {
            account,
            settings,
            entitlements,
            sanctions,
            profile_json: OnceLock::new(),
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.account.deleted_at.is_some()
    }

    /// The active sanction of `kind` at `now` (the one that lasts longest).
    pub fn active_sanction(&self, kind: SanctionKind, now: DateTime<Utc>) -> Option<&Sanction> {
        self.sanctions
            .iter()
            .filter(|s| s.kind == kind && s.is_active_at(now))
            .max_by_key(|s| s.expires_at.unwrap_or(DateTime::<Utc>::MAX_UTC))
    }

    /// The own-account JSON body: serialised once per record, copied out
    /// per request (a copy rather than a reference count that every thread
    /// serving this user would have to update).
    pub fn profile_json(&self) -> Bytes {
        let cached = self.profile_json.get_or_init(|| {
            let view = ProfileView {
                user_id: self.account.user_id,
                email: &self.account.email,
                user_name: &self.account.user_name,
                declared_country: self.account.declared_country.as_deref(),
                created_at: self.account.created_at,
                settings: &self.settings,
                entitlements: &self.entitlements,
            };
            Bytes::from(serde_json::to_vec(&view).unwrap_or_default())
        });
        Bytes::copy_from_slice(cached)
    }
}

/// The own-account view (`GET /api/v1/user/account`).
#[derive(Serialize)]
struct ProfileView<'a> {
    user_id: UserId,
    email: &'a str,
    user_name: &'a str,
    declared_country: Option<&'a str>,
    created_at: DateTime<Utc>,
    settings: &'a Settings,
    entitlements: &'a EntitlementSnapshot,
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn user_names_follow_the_rule_and_keep_their_case() {
        assert_eq!(
            UserName::parse("Alice_B-1.x").unwrap().as_str(),
            "Alice_B-1.x"
        );
        assert_eq!(UserName::parse("ab"), Err(UserNameError::Length));
        assert_eq!(UserName::parse(&"a".repeat(33)), Err(UserNameError::Length));
        assert!(UserName::parse(&"a".repeat(32)).is_ok());
        assert_eq!(UserName::parse("al ice"), Err(UserNameError::Characters));
        assert_eq!(UserName::parse("ålice"), Err(UserNameError::Characters));
        assert_eq!(UserName::parse("_alice"), Err(UserNameError::Edges));
        assert_eq!(UserName::parse("alice."), Err(UserNameError::Edges));
    }

    #[test]
    fn locales_are_normalised_bcp47_tags() {
        for (raw, norm) in [
            ("en", "en"),
            ("EN-us", "en-US"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("es-419", "es-419"),
            ("de-CH-1996", "de-CH-1996"),
            ("sr-Latn", "sr-Latn"),
        ] {
            assert_eq!(Locale::parse(raw).unwrap().as_str(), norm, "{raw}");
        }
        for bad in [
            "",
            "e",
            "english",
            "en_US",
            "en-",
            "en--US",
            "en-US-x",
            "12",
            "en-US-Latn",
        ] {
            assert!(Locale::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones_come_from_the_iana_database() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").unwrap().as_str(),
            "Europe/Berlin"
        );
        assert_eq!(TimeZone::parse("UTC").unwrap().as_str(), "UTC");
        assert!(TimeZone::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZone::parse("").is_err());
    }

    #[test]
    fn overrides_replace_tier_defaults() {
        let id = Uuid::nil();
        let s = EntitlementSnapshot::from_row(id.into(), &EntitlementRow::default());
        assert_eq!(
            (s.max_concurrent_games, s.max_registered_race_names),
            (3, 1)
        );
        assert!(s.overridden.is_empty());
        let s = EntitlementSnapshot::from_row(
            id.into(),
            &EntitlementRow {
                tier: Tier::Premium,
                max_concurrent_games: Some(42),
                max_registered_race_names: None,
            },
        );
        assert_eq!(
            (s.max_concurrent_games, s.max_registered_race_names),
            (42, 5)
        );
        assert_eq!(s.overridden, vec!["max_concurrent_games"]);
    }

    #[test]
    fn a_sanction_is_active_until_lifted_or_expired() {
        let now = Utc::now();
        let mut s = Sanction {
            sanction_id: SanctionId(Uuid::nil()),
            user_id: UserId(Uuid::nil()),
            kind: SanctionKind::LoginBan,
            reason: "r".into(),
            created_by: "root".into(),
            created_at: now,
            expires_at: None,
            lifted_at: None,
            lifted_by: None,
        };
        assert!(s.is_active_at(now));
        s.expires_at = Some(now + chrono::Duration::seconds(1));
        assert!(s.is_active_at(now));
        assert!(!s.is_active_at(now + chrono::Duration::seconds(1)));
        s.expires_at = None;
        s.lifted_at = Some(now);
        assert!(!s.is_active_at(now));
    }
}
