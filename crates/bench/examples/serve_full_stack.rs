//! Serves the full backend on 127.0.0.1:18080 for a fixed time, for
//! profiling the HTTP stack under an external load generator. One account
//! is seeded, user id `00000000-0000-4000-8000-000000000001`, so the
//! own-account route (`GET /api/v1/user/account`) has something to serve.
//! `GALAXY_PROFILE_METRICS_EXPORTER=prometheus` profiles with metrics
//! recorded (its listener on 127.0.0.1:18090).
use galaxy_bench::{bench_config, fresh_database, start_backend};

const USER_ID: &str = "00000000-0000-4000-8000-000000000001";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join("galaxy-profile-http");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database("galaxy_profile_http").await?;
    let exporter = std::env::var("GALAXY_PROFILE_METRICS_EXPORTER").unwrap_or("none".into());
    let config = bench_config(
        &dsn,
        &scratch,
        &[
            ("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:18080"),
            ("BACKEND_OTEL_METRICS_EXPORTER", &exporter),
            ("BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR", "127.0.0.1:18090"),
        ],
    )?;
    let pool = galaxy_bench::migrated_pool(&config.postgres).await?;
    sqlx::query(
        "INSERT INTO accounts (user_id, email, user_name, declared_country)
         VALUES ($1::uuid, 'profile@bench.invalid', 'profile-user', 'DE')",
    )
    .bind(USER_ID)
    .execute(&pool)
    .await?;
    pool.close().await;

    let (_, app) = start_backend(config).await?;
    let stop = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());
    tokio::time::sleep(std::time::Duration::from_secs(40)).await;
    stop.cancel();
    serving.await??;
    Ok(())
}
