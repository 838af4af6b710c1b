//! Admin Basic Auth cost: the p50 of an admin request whose credential is
//! already verified and cached (target < 1 ms), next to one full bcrypt
//! verify (cost 12) — the work the credential cache saves on every request.

use std::time::Instant;

use galaxy_backend::admin::Password;
use galaxy_backend::admin::password::{hash_password, verify_password};
use galaxy_bench::{bench_config, fresh_database, start_backend, wrk};

const USER: &str = "bench-admin";
const PASSWORD: &str = "bench-admin-password";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join("galaxy-bench-admin");
    std::fs::create_dir_all(&scratch)?;
    let dsn = fresh_database("galaxy_bench_admin").await?;
    let config = bench_config(
        &dsn,
        &scratch,
        &[
            ("BACKEND_ADMIN_BOOTSTRAP_USER", USER),
            ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", PASSWORD),
        ],
    )?;
    let (addr, app) = start_backend(config).await?;
    let stop = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());

    let url = format!("http://{addr}/api/v1/admin/admin-accounts/{USER}");
    let auth = format!("Basic {}", base64_encode(&format!("{USER}:{PASSWORD}")));
    // The first request pays the bcrypt verify and fills the credential cache.
    let first = reqwest::Client::new()
        .get(&url)
        .header("authorization", &auth)
        .send()
        .await?;
    anyhow::ensure!(
        first.status().is_success(),
        "admin request failed: {}",
        first.status()
    );
    let single = wrk(&url, 5, 1, &[("Authorization", &auth)])?;
    let loaded = wrk(&url, 5, 16, &[("Authorization", &auth)])?;

    let password = Password::parse(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = hash_password(&password)?;
    let rounds = 5;
    let started = Instant::now();
    for _ in 0..rounds {
        anyhow::ensure!(verify_password(PASSWORD, &hash)?, "verify failed");
    }
    let bcrypt_ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);

    println!("\n== admin Basic Auth (GET /api/v1/admin/admin-accounts/{{username}}) ==");
    println!(
        "cached credential, 1 connection:   p50 {:.3} ms  p99 {:.3} ms  ({:.0} req/s)",
        single.p50_ms, single.p99_ms, single.requests_per_second
    );
    println!(
        "cached credential, 16 connections: p50 {:.3} ms  p99 {:.3} ms  ({:.0} req/s)",
        loaded.p50_ms, loaded.p99_ms, loaded.requests_per_second
    );
    println!("one bcrypt verify (cost 12):       {bcrypt_ms:.1} ms (mean of {rounds})");
    println!("target: cached admin request p50 < 1 ms");
    stop.cancel();
    serving.await??;
    Ok(())
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
