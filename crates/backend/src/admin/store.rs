//! SQL for `admin_accounts`. Every function takes a connection (usually the
//! caller's transaction) so one domain operation commits once, together
//! with its audit entry.

use crate::ids::AdminId;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::model::{AdminAccount, PasswordHash, Username};

/// The unique constraint on `admin_accounts.username`.
pub const USERNAME_KEY: &str = "admin_accounts_username_key";

/// The selected columns, as a macro so queries stay `&'static str` (`concat!`).
macro_rules! columns {
    () => {
        "id, username, password_hash, enabled, password_version, created_at, updated_at, password_changed_at"
    };
}

#[derive(sqlx::FromRow)]
struct Row {
    id: AdminId,
    username: String,
    password_hash: String,
    enabled: bool,
    password_version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    password_changed_at: DateTime<Utc>,
}

impl Row {
    fn into_account(self) -> Result<AdminAccount, sqlx::Error> {
        let username = Username::parse(&self.username).map_err(|e| sqlx::Error::ColumnDecode {
            index: "username".into(),
            source: Box::new(e),
        })?;
        Ok(AdminAccount {
            id: self.id,
            username,
            password_hash: PasswordHash::new(self.password_hash),
            enabled: self.enabled,
            password_version: self.password_version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            password_changed_at: self.password_changed_at,
        })
    }
}

fn one(row: Row) -> Result<AdminAccount, sqlx::Error> {
    row.into_account()
}

fn maybe(row: Option<Row>) -> Result<Option<AdminAccount>, sqlx::Error> {
    row.map(Row::into_account).transpose()
}

/// Every account (the cache warm-up).
pub async fn all(conn: &mut PgConnection) -> Result<Vec<AdminAccount>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM admin_accounts ORDER BY username"
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_account).collect()
}

pub async fn find(
    conn: &mut PgConnection,
    username: &Username,
) -> Result<Option<AdminAccount>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM admin_accounts WHERE username = $1"
    ))
    .bind(username.as_str())
    .fetch_optional(conn)
    .await?;
    maybe(row)
}

/// The account, locked until the transaction ends.
pub async fn find_for_update(
    conn: &mut PgConnection,
    username: &Username,
) -> Result<Option<AdminAccount>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM admin_accounts WHERE username = $1 FOR UPDATE"
    ))
    .bind(username.as_str())
    .fetch_optional(conn)
    .await?;
    maybe(row)
}

/// Locks every enabled account (in id order, so concurrent callers queue
/// instead of deadlocking) and returns their ids: the last-admin guard
/// counts under this lock, so two concurrent disables cannot both pass.
pub async fn lock_enabled(conn: &mut PgConnection) -> Result<Vec<AdminId>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM admin_accounts WHERE enabled ORDER BY id FOR UPDATE")
        .fetch_all(conn)
        .await
}

pub async fn insert(
    conn: &mut PgConnection,
    username: &Username,
    hash: &PasswordHash,
) -> Result<AdminAccount, sqlx::Error> {
    let row: Row = sqlx::query_as(concat!(
        "INSERT INTO admin_accounts (id, username, password_hash) VALUES ($1, $2, $3) RETURNING ",
        columns!()
    ))
    .bind(AdminId::new_ordered())
    .bind(username.as_str())
    .bind(hash.as_str())
    .fetch_one(conn)
    .await?;
    one(row)
}

/// Inserts unless the username exists (never touching the existing row);
/// `None` when it existed.
pub async fn insert_if_absent(
    conn: &mut PgConnection,
    username: &Username,
    hash: &PasswordHash,
) -> Result<Option<AdminAccount>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "INSERT INTO admin_accounts (id, username, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT (username) DO NOTHING RETURNING ",
        columns!()
    ))
    .bind(AdminId::new_ordered())
    .bind(username.as_str())
    .bind(hash.as_str())
    .fetch_optional(conn)
    .await?;
    maybe(row)
}

/// Sets a new hash and bumps the password version.
pub async fn set_password(
    conn: &mut PgConnection,
    id: AdminId,
    hash: &PasswordHash,
) -> Result<AdminAccount, sqlx::Error> {
    let row: Row = sqlx::query_as(concat!(
        "UPDATE admin_accounts
         SET password_hash = $2, password_version = password_version + 1,
             password_changed_at = now(), updated_at = now()
         WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(hash.as_str())
    .fetch_one(conn)
    .await?;
    one(row)
}

pub async fn set_enabled(
    conn: &mut PgConnection,
    id: AdminId,
    enabled: bool,
) -> Result<AdminAccount, sqlx::Error> {
    let row: Row = sqlx::query_as(concat!(
        "UPDATE admin_accounts SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(enabled)
    .fetch_one(conn)
    .await?;
    one(row)
}

pub async fn delete(conn: &mut PgConnection, id: AdminId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM admin_accounts WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
