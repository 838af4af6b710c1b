//! A fresh database per test, cloned from a migrated template on the
//! machine's PostgreSQL, dropped when the test ends. Databases left behind by
//! crashed runs (their process is gone) are dropped on first use, and so are
//! templates of other migration sets that no run has used for six hours.
//!
//! `GALAXY_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! names the maintenance connection.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::OnceCell;

const TEST_PREFIX: &str = "galaxy_test_";
const TEMPLATE_PREFIX: &str = "galaxy_tpl_";
/// Serialises template creation across the test processes of one run.
const TEMPLATE_LOCK: i64 = 0x6761_6c61_7879;

static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn maintenance_url() -> String {
    std::env::var("GALAXY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// URL of database `name` on the same server, with the service's search path.
pub fn database_url(name: &str) -> String {
    let base = maintenance_url();
    let (without_query, _) = base.split_once('?').unwrap_or((&base, ""));
    let server = without_query
        .rsplit_once('/')
        .map(|(s, _)| s)
        .unwrap_or(without_query);
    format!("{server}/{name}?search_path=backend")
}

/// One test's database.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let template = TEMPLATE.get_or_init(prepare_template).await.clone();
        let name = format!(
            "{TEST_PREFIX}{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut conn = maintenance().await;
        conn.execute(sqlx::AssertSqlSafe(format!(
            r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#
        )))
        .await
        .expect("create test database from template");
        TestDb { name }
    }

    pub fn url(&self) -> String {
        database_url(&self.name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside or outside a runtime; a plain thread works in both.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&maintenance_url()).await.ok()?;
                conn.execute(sqlx::AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .await
                .ok()
            })
        })
        .join();
    }
}

async fn maintenance() -> PgConnection {
    PgConnection::connect(&maintenance_url())
        .await
        .expect("connect to PostgreSQL for tests (is it running? `make test` starts it)")
}

/// The migrated template for the current migration set, built once per run
/// under an advisory lock; stale leftovers are cleaned at the same time.
async fn prepare_template() -> String {
    let fingerprint =
        galaxy_backend::postgres::MIGRATOR
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, m| {
                m.checksum.iter().fold(h ^ m.version as u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
                })
            });
    let template = format!("{TEMPLATE_PREFIX}{fingerprint:016x}");
    let mut conn = maintenance().await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut conn)
        .await
        .expect("lock");
    drop_leftovers(&mut conn, &template).await;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut conn)
            .await
            .expect("query pg_database");
    if !exists {
        let building = format!("{template}_building");
        conn.execute(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{building}" WITH (FORCE)"#
        )))
        .await
        .expect("drop");
        conn.execute(sqlx::AssertSqlSafe(format!(
            r#"CREATE DATABASE "{building}""#
        )))
        .await
        .expect("create template");
        {
            let config = galaxy_backend::config::PostgresConfig {
                dsn: galaxy_backend::config::Secret::new(database_url(&building)),
                max_conns: 1,
                min_conns: 0,
                operation_timeout: std::time::Duration::from_secs(60),
                leader_interval: std::time::Duration::from_secs(1),
            };
            let options =
                galaxy_backend::postgres::connect_options(&config).expect("template options");
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .expect("connect to template");
            galaxy_backend::postgres::migrate(&pool)
                .await
                .expect("migrate template");
            pool.close().await;
        }
        conn.execute(sqlx::AssertSqlSafe(format!(
            r#"ALTER DATABASE "{building}" RENAME TO "{template}""#
        )))
        .await
        .expect("publish template");
    }
    // Mark the template as in use, so runs of other checkouts on the same
    // server (other migration sets) leave it alone for a while.
    conn.execute(sqlx::AssertSqlSafe(format!(
        r#"COMMENT ON DATABASE "{template}" IS '{}'"#,
        unix_now()
    )))
    .await
    .expect("mark template in use");
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut conn)
        .await
        .expect("unlock");
    template
}

/// A template of another migration set is dropped once no run has used it
/// for this long (another checkout may be testing with it right now).
const TEMPLATE_IDLE_LIMIT_SECS: u64 = 6 * 3600;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn drop_leftovers(conn: &mut PgConnection, current_template: &str) {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database \
         WHERE datname LIKE 'galaxy\\_test\\_%' OR datname LIKE 'galaxy\\_tpl\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    for (name, comment) in rows {
        let stale = if let Some(rest) = name.strip_prefix(TEST_PREFIX) {
            let pid = rest.split('_').next().and_then(|p| p.parse::<u32>().ok());
            pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        } else {
            let last_used = comment.and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
            name != current_template
                && unix_now().saturating_sub(last_used) > TEMPLATE_IDLE_LIMIT_SECS
        };
        if stale {
            let _ = conn
                .execute(sqlx::AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .await;
        }
    }
}
