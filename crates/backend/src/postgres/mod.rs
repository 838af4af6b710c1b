//! PostgreSQL: the connection pool, the `backend` schema and the embedded,
//! sequence-numbered migrations, plus the mapping of database errors that
//! every domain shares.
//!
//! The DSN must select `search_path=backend` (see `config`). sqlx does not
//! understand a bare `search_path` URL parameter, so [`connect_options`]
//! lifts it into a server-side connection option, together with the
//! per-statement timeout.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::PostgresConfig;
use crate::telemetry::DbPoolMetrics;

mod listen;
pub use listen::{Heard, listen};

/// The schema every table of this service lives in.
pub const SCHEMA: &str = "backend";

/// The embedded migrations (`crates/backend/migrations/NNNN_description.sql`).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Why the database could not be prepared at startup.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("BACKEND_POSTGRES_DSN is not a valid PostgreSQL URL: {0}")]
    InvalidDsn(String),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot create schema `backend`: {0}")]
    Schema(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Builds connection options from the DSN: `search_path` and the statement
/// timeout become server options on every connection.
pub fn connect_options(config: &PostgresConfig) -> Result<PgConnectOptions, StartupError> {
    let (dsn, search_path) = split_search_path(config.dsn.expose());
    let options = PgConnectOptions::from_str(&dsn)
        // The parser's message may quote the DSN, which can carry a password.
        .map_err(|_| StartupError::InvalidDsn("unparsable URL".into()))?;
    let timeout_ms = config.operation_timeout.as_millis().to_string();
    Ok(options.options([
        ("search_path", search_path.as_deref().unwrap_or(SCHEMA)),
        ("statement_timeout", timeout_ms.as_str()),
    ]))
}

/// Removes a `search_path=…` query parameter from a URL DSN and returns it.
fn split_search_path(dsn: &str) -> (String, Option<String>) {
    let Some((base, query)) = dsn.split_once('?') else {
        return (dsn.to_owned(), None);
    };
    let mut search_path = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some(("search_path", value)) => {
                search_path = Some(value.replace("%2C", ",").replace("%2c", ","));
                false
            }
            _ => !pair.is_empty(),
        })
        .collect();
    let dsn = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (dsn, search_path)
}

/// Opens the pool, counting acquisitions for the `db_pool_*` metrics; every
/// connection is named `application_name` (see [`crate::cluster`]).
pub async fn connect(
    config: &PostgresConfig,
    metrics: &DbPoolMetrics,
    application_name: &str,
) -> Result<PgPool, StartupError> {
    let options = connect_options(config)?.application_name(application_name);
    let pool = metrics
        .instrument(
            PgPoolOptions::new()
                .max_connections(config.max_conns)
                .min_connections(config.min_conns)
                .acquire_timeout(config.operation_timeout.max(Duration::from_secs(1))),
        )
        .connect_with(options)
        .await
        .map_err(StartupError::Connect)?;
    metrics.observe_pool(&pool);
    Ok(pool)
}

/// `CREATE SCHEMA IF NOT EXISTS backend`, then every pending migration.
/// Runs before any listener opens.
pub async fn migrate(pool: &PgPool) -> Result<(), StartupError> {
    // Two instances starting together may both try to create it: the one
    // that loses the race sees a unique violation on the catalogue, which
    // means the schema exists. The migrator serialises itself (advisory lock).
    match sqlx::query("CREATE SCHEMA IF NOT EXISTS backend")
        .execute(pool)
        .await
    {
        Ok(_) => {}
        Err(err) if unique_violation(&err).is_some() => {}
        Err(err) => return Err(StartupError::Schema(err)),
    }
    MIGRATOR.run(pool).await.map_err(StartupError::Migrate)
}

/// A pool of one lazily opened connection with `pool`'s options (so the
/// same `application_name`), kept for good: for a `LISTEN`, which holds its
/// connection as long as it listens and must not take one of the
/// `BACKEND_POSTGRES_MAX_CONNS` the requests share.
pub fn dedicated(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// True when PostgreSQL answers a trivial query within `timeout`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(pool)).await,
        Ok(Ok(_))
    )
}

/// Whether `err` means the database cannot be reached or is going away
/// rather than that the statement was wrong: no connection in time, a
/// broken or refused connection, or a server that is shutting down,
/// crashed or still starting (SQLSTATE class `08`, `57P01`–`57P03`, and
/// `53300`, too many connections). Callers answer these `503`, not `500`.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// The name of the violated constraint when `err` is a unique violation,
/// so callers can turn it into a clean 409/422 by constraint name.
pub fn unique_violation(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

/// A stored text column holding a value the code does not know (e.g. a
/// state written by a newer version): a decode error naming table, column
/// and value.
pub fn unexpected_value(table: &str, column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {column} {value:?} in {table}").into())
}

/// A duration as a PostgreSQL `interval` parameter (saturating).
pub fn interval(d: std::time::Duration) -> sqlx::postgres::types::PgInterval {
    sqlx::postgres::types::PgInterval {
        months: 0,
        days: 0,
        microseconds: i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
    }
}

/// A page offset as PostgreSQL's `OFFSET` takes it (saturating).
pub fn offset(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_is_lifted_out_of_the_url() {
        let (dsn, sp) =
            split_search_path("postgres://u@h:5432/db?sslmode=disable&search_path=backend");
        assert_eq!(dsn, "postgres://u@h:5432/db?sslmode=disable");
        assert_eq!(sp.as_deref(), Some("backend"));
    }

    #[test]
    fn a_dsn_without_query_is_kept() {
        let (dsn, sp) = split_search_path("postgres://u@h/db");
        assert_eq!(dsn, "postgres://u@h/db");
        assert_eq!(sp, None);
    }

    #[test]
    fn search_path_alone_leaves_no_dangling_question_mark() {
        let (dsn, sp) = split_search_path("postgres://u@h/db?search_path=backend");
        assert_eq!(dsn, "postgres://u@h/db");
        assert_eq!(sp.as_deref(), Some("backend"));
    }
}
