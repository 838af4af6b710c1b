//! The migrations produce exactly the expected tables. Adding a table
//! without updating this list is a loud failure, on purpose.

use crate::helpers::TestApp;

const EXPECTED_TABLES: &[&str] = &[
    "_sqlx_migrations",
    "accounts",
    "admin_accounts",
    "admin_audit_log",
    "auth_challenges",
    "auth_failed_confirmations",
    "applications",
    "device_sessions",
    "engine_versions",
    "game_runtime_requests",
    "games",
    "invites",
    "jobs",
    "mail_attempts",
    "mail_dead_letters",
    "mail_deliveries",
    "mail_payloads",
    "mail_recipients",
    "memberships",
    "notification_intents",
    "notification_preferences",
    "notification_routes",
    "push_events",
    "push_head",
    "push_writers",
    "race_names",
    "runtime_operations",
    "runtime_records",
    "user_country_counters",
    "user_entitlements",
    "user_sanctions",
    "user_settings",
];

#[tokio::test]
async fn migrations_produce_exactly_the_expected_tables() {
    let app = TestApp::spawn().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'backend' ORDER BY 1",
    )
    .fetch_all(app.db())
    .await
    .expect("list tables");
    let mut expected: Vec<String> = EXPECTED_TABLES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(
        tables, expected,
        "the schema changed: update EXPECTED_TABLES in tests/api/migrations.rs together with the migration"
    );
}

#[tokio::test]
async fn restarting_on_a_migrated_database_is_idempotent() {
    let app = TestApp::spawn().await;
    let migrations: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(app.db())
        .await
        .unwrap();
    let db = app.into_database().await;
    let again = TestApp::builder().database(db).spawn().await;
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(again.db())
        .await
        .unwrap();
    assert_eq!(migrations, after);
}
