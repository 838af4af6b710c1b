//! SQL for `user_settings`, `user_entitlements`, `user_sanctions` and the
//! user-domain reads and writes of `accounts` (`user_name`, `deleted_at`).
//! Every function takes a connection (usually the caller's transaction) so
//! one operation commits once, with its audit entry and hook work.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::ids::{SanctionId, UserId};

use super::model::{
    Account, EntitlementRow, Locale, Sanction, SanctionKind, Settings, Tier, TimeZone, UserName,
};

/// The case-insensitive unique index on `accounts.user_name`.
pub const USER_NAME_KEY: &str = "accounts_user_name_key";

macro_rules! account_columns {
    () => {
        "user_id, email, user_name, declared_country, created_at, updated_at, deleted_at"
    };
}

macro_rules! sanction_columns {
    () => {
        "id, user_id, kind, reason, created_by, created_at, expires_at, lifted_at, lifted_by"
    };
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    user_id: UserId,
    email: String,
    user_name: String,
    declared_country: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Self {
            user_id: r.user_id,
            email: r.email,
            user_name: r.user_name,
            declared_country: r.declared_country,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    user_id: UserId,
    locale: String,
    time_zone: String,
}

impl SettingsRow {
    fn into_settings(self) -> Settings {
        // Values were validated before they were written; a row edited by
        // hand that no longer parses falls back to the default.
        Settings {
            locale: Locale::parse(&self.locale).unwrap_or_default(),
            time_zone: TimeZone::parse(&self.time_zone).unwrap_or_default(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct EntitlementDbRow {
    user_id: UserId,
    tier: String,
    max_concurrent_games: Option<i32>,
    max_registered_race_names: Option<i32>,
}

impl EntitlementDbRow {
    fn into_row(self) -> EntitlementRow {
        EntitlementRow {
            tier: Tier::parse(&self.tier).unwrap_or_default(),
            max_concurrent_games: self.max_concurrent_games,
            max_registered_race_names: self.max_registered_race_names,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SanctionRow {
    id: SanctionId,
    user_id: UserId,
    kind: String,
    reason: String,
    created_by: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    lifted_at: Option<DateTime<Utc>>,
    lifted_by: Option<String>,
}

impl SanctionRow {
    fn into_sanction(self) -> Result<Sanction, sqlx::Error> {
        let kind = SanctionKind::parse(&self.kind).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "kind".into(),
            source: format!("unknown sanction kind `{}`", self.kind).into(),
        })?;
        Ok(Sanction {
            sanction_id: self.id,
            user_id: self.user_id,
            kind,
            reason: self.reason,
            created_by: self.created_by,
            created_at: self.created_at,
            expires_at: self.expires_at,
            lifted_at: self.lifted_at,
            lifted_by: self.lifted_by,
        })
    }
}

/// Everything the cache needs about one user.
pub struct Loaded {
    pub account: Account,
    pub settings: Settings,
    pub entitlements: EntitlementRow,
    /// Sanctions not lifted.
    pub sanctions: Vec<Sanction>,
}

/// Every account with its settings, entitlements and open sanctions (the
/// cache warm-up): four scans joined in memory.
pub async fn load_all(conn: &mut PgConnection) -> Result<Vec<Loaded>, sqlx::Error> {
    let accounts: Vec<AccountRow> =
        sqlx::query_as(concat!("SELECT ", account_columns!(), " FROM accounts"))
            .fetch_all(&mut *conn)
            .await?;
    let mut settings: HashMap<UserId, Settings> =
        sqlx::query_as::<_, SettingsRow>("SELECT user_id, locale, time_zone FROM user_settings")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.user_id, r.into_settings()))
            .collect();
    let mut entitlements: HashMap<UserId, EntitlementRow> = sqlx::query_as::<_, EntitlementDbRow>(
        "SELECT user_id, tier, max_concurrent_games, max_registered_race_names FROM user_entitlements",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.user_id, r.into_row()))
    .collect();
    let mut sanctions: HashMap<UserId, Vec<Sanction>> = HashMap::new();
    let rows: Vec<SanctionRow> = sqlx::query_as(concat!(
        "SELECT ",
        sanction_columns!(),
        " FROM user_sanctions WHERE lifted_at IS NULL"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let s = row.into_sanction()?;
        sanctions.entry(s.user_id).or_default().push(s);
    }
    Ok(accounts
        .into_iter()
        .map(|a| Loaded {
            settings: settings.remove(&a.user_id).unwrap_or_default(),
            entitlements: entitlements.remove(&a.user_id).unwrap_or_default(),
            sanctions: sanctions.remove(&a.user_id).unwrap_or_default(),
            account: a.into(),
        })
        .collect())
}

/// One user, as [`load_all`] would load it.
pub async fn load(conn: &mut PgConnection, user_id: UserId) -> Result<Option<Loaded>, sqlx::Error> {
    let Some(account) = find(conn, user_id).await? else {
        return Ok(None);
    };
    let settings = sqlx::query_as::<_, SettingsRow>(
        "SELECT user_id, locale, time_zone FROM user_settings WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .map(SettingsRow::into_settings)
    .unwrap_or_default();
    let entitlements = sqlx::query_as::<_, EntitlementDbRow>(
        "SELECT user_id, tier, max_concurrent_games, max_registered_race_names
         FROM user_entitlements WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .map(EntitlementDbRow::into_row)
    .unwrap_or_default();
    let sanctions = sqlx::query_as::<_, SanctionRow>(concat!(
        "SELECT ",
        sanction_columns!(),
        " FROM user_sanctions WHERE user_id = $1 AND lifted_at IS NULL ORDER BY created_at"
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(SanctionRow::into_sanction)
    .collect::<Result<_, _>>()?;
    Ok(Some(Loaded {
        account,
        settings,
        entitlements,
        sanctions,
    }))
}

pub async fn find(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Option<Account>, sqlx::Error> {
    let row: Option<AccountRow> = sqlx::query_as(concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts WHERE user_id = $1"
    ))
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// The account, locked until the transaction ends.
pub async fn lock(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Option<Account>, sqlx::Error> {
    let row: Option<AccountRow> = sqlx::query_as(concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts WHERE user_id = $1 FOR UPDATE"
    ))
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// The live account with this (normalised) email.
pub async fn find_live_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<UserId>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM accounts WHERE email = $1 AND deleted_at IS NULL")
        .bind(email)
        .fetch_optional(conn)
        .await
}

/// The account with this user name, compared case-insensitively.
pub async fn find_by_user_name(
    conn: &mut PgConnection,
    user_name: &str,
) -> Result<Option<UserId>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM accounts WHERE lower(user_name) = lower($1)")
        .bind(user_name)
        .fetch_optional(conn)
        .await
}

pub async fn set_user_name(
    conn: &mut PgConnection,
    user_id: UserId,
    user_name: &UserName,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET user_name = $2, updated_at = now() WHERE user_id = $1")
        .bind(user_id)
        .bind(user_name.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn upsert_settings(
    conn: &mut PgConnection,
    user_id: UserId,
    settings: &Settings,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_settings (user_id, locale, time_zone) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE
         SET locale = EXCLUDED.locale, time_zone = EXCLUDED.time_zone, updated_at = now()",
    )
    .bind(user_id)
    .bind(settings.locale.as_str())
    .bind(settings.time_zone.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn upsert_entitlements(
    conn: &mut PgConnection,
    user_id: UserId,
    row: &EntitlementRow,
    updated_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_entitlements
             (user_id, tier, max_concurrent_games, max_registered_race_names, updated_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE
         SET tier = EXCLUDED.tier, max_concurrent_games = EXCLUDED.max_concurrent_games,
             max_registered_race_names = EXCLUDED.max_registered_race_names,
             updated_by = EXCLUDED.updated_by, updated_at = now()",
    )
    .bind(user_id)
    .bind(row.tier.as_str())
    .bind(row.max_concurrent_games)
    .bind(row.max_registered_race_names)
    .bind(updated_by)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_deleted(conn: &mut PgConnection, user_id: UserId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET deleted_at = now(), updated_at = now() WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_sanction(
    conn: &mut PgConnection,
    user_id: UserId,
    kind: SanctionKind,
    reason: &str,
    created_by: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Sanction, sqlx::Error> {
    let row: SanctionRow = sqlx::query_as(concat!(
        "INSERT INTO user_sanctions (id, user_id, kind, reason, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        sanction_columns!()
    ))
    .bind(SanctionId::new_ordered())
    .bind(user_id)
    .bind(kind.as_str())
    .bind(reason)
    .bind(created_by)
    .bind(expires_at)
    .fetch_one(conn)
    .await?;
    row.into_sanction()
}

pub async fn lock_sanction(
    conn: &mut PgConnection,
    user_id: UserId,
    sanction_id: SanctionId,
) -> Result<Option<Sanction>, sqlx::Error> {
    sqlx::query_as::<_, SanctionRow>(concat!(
        "SELECT ",
        sanction_columns!(),
        " FROM user_sanctions WHERE id = $1 AND user_id = $2 FOR UPDATE"
    ))
    .bind(sanction_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?
    .map(SanctionRow::into_sanction)
    .transpose()
}

pub async fn lift_sanction(
    conn: &mut PgConnection,
    sanction_id: SanctionId,
    lifted_by: &str,
) -> Result<Sanction, sqlx::Error> {
    let row: SanctionRow = sqlx::query_as(concat!(
        "UPDATE user_sanctions SET lifted_at = now(), lifted_by = $2 WHERE id = $1 RETURNING ",
        sanction_columns!()
    ))
    .bind(sanction_id)
    .bind(lifted_by)
    .fetch_one(conn)
    .await?;
    row.into_sanction()
}

/// Every sanction of a user (lifted and expired included), newest first.
pub async fn sanctions_of(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Vec<Sanction>, sqlx::Error> {
    sqlx::query_as::<_, SanctionRow>(concat!(
        "SELECT ",
        sanction_columns!(),
        " FROM user_sanctions WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(SanctionRow::into_sanction)
    .collect()
}

/// The admin list's filters; every one optional.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `Some(true)`: deleted only; `Some(false)`: live only.
    pub deleted: Option<bool>,
    /// Two upper-case letters.
    pub declared_country: Option<String>,
    /// Accounts with an active sanction of this kind.
    pub sanction: Option<SanctionKind>,
    /// A case-insensitive substring of `user_name`.
    pub user_name_contains: Option<String>,
}

/// One page of accounts matching `filter`, newest first, and the total.
pub async fn list(
    conn: &mut PgConnection,
    filter: &ListFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Account>, i64), sqlx::Error> {
    const WHERE: &str = "
        WHERE ($1::boolean IS NULL OR (a.deleted_at IS NOT NULL) = $1)
          AND ($2::text IS NULL OR a.declared_country = $2)
          AND ($3::text IS NULL OR EXISTS (
                SELECT 1 FROM user_sanctions s
                WHERE s.user_id = a.user_id AND s.kind = $3 AND s.lifted_at IS NULL
                  AND (s.expires_at IS NULL OR s.expires_at > now())))
          AND ($4::text IS NULL OR strpos(lower(a.user_name), lower($4)) > 0)";
    let pattern = filter.user_name_contains.as_deref();
    let sanction = filter.sanction.map(SanctionKind::as_str);
    let rows: Vec<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT a.user_id, a.email, a.user_name, a.declared_country, a.created_at, a.updated_at,
                a.deleted_at
         FROM accounts a {WHERE}
         ORDER BY a.created_at DESC, a.user_id DESC LIMIT $5 OFFSET $6"
    )))
    .bind(filter.deleted)
    .bind(filter.declared_country.as_deref())
    .bind(sanction)
    .bind(pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM accounts a {WHERE}"
    )))
    .bind(filter.deleted)
    .bind(filter.declared_country.as_deref())
    .bind(sanction)
    .bind(pattern)
    .fetch_one(&mut *conn)
    .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}
