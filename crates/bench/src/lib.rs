//! Shared pieces of the benchmark drivers: a scratch database, the backend
//! started in-process on loopback, and `wrk` runs parsed into figures.
//!
//! Benchmarks print figures; they never assert timings.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;

use anyhow::{Context, bail};
use galaxy_backend::app::Application;
use galaxy_backend::config::Config;
use sqlx::{Connection, Executor, PgConnection};

pub mod runtime;

/// PostgreSQL server used by benchmarks (maintenance database).
pub fn postgres_url() -> String {
    std::env::var("GALAXY_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The server part of [`postgres_url`] (without database and parameters).
pub fn server_url() -> String {
    let base = postgres_url();
    let without_query = base.split('?').next().unwrap_or(&base);
    without_query
        .rsplit_once('/')
        .map_or_else(|| without_query.to_owned(), |(s, _)| s.to_owned())
}

/// Recreates database `name` (dropping any previous run's) and returns its DSN.
pub async fn fresh_database(name: &str) -> anyhow::Result<String> {
    let mut conn = PgConnection::connect(&postgres_url())
        .await
        .context("connect to PostgreSQL")?;
    conn.execute(sqlx::AssertSqlSafe(format!(
        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
    )))
    .await?;
    conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .await?;
    let server = server_url();
    Ok(format!("{server}/{name}?search_path=backend"))
}

/// The configuration a benchmark runs the backend with: loopback, port 0,
/// telemetry exporters off, plus `overrides`.
pub fn bench_config(
    dsn: &str,
    scratch: &std::path::Path,
    overrides: &[(&str, &str)],
) -> anyhow::Result<Config> {
    let vars = bench_vars(dsn, scratch, overrides)?;
    Config::from_vars(vars).map_err(|e| anyhow::anyhow!("bench configuration is invalid:\n{e}"))
}

/// The environment of [`bench_config`] as `BACKEND_*` variables, for a
/// backend started as a child process (it writes the GeoIP fixture).
pub fn bench_vars(
    dsn: &str,
    scratch: &std::path::Path,
    overrides: &[(&str, &str)],
) -> anyhow::Result<BTreeMap<String, String>> {
    let geoip = scratch.join("GeoLite2-Country-test.mmdb");
    galaxy_devstack::geoip::write_fixture(&geoip)?;
    let mut vars: BTreeMap<String, String> = [
        ("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:0"),
        ("BACKEND_GRPC_PUSH_LISTEN_ADDR", "127.0.0.1:0"),
        ("BACKEND_OTEL_TRACES_EXPORTER", "none"),
        ("BACKEND_OTEL_METRICS_EXPORTER", "none"),
        ("BACKEND_LOGGING_LEVEL", "error"),
        ("BACKEND_SMTP_HOST", "127.0.0.1"),
        ("BACKEND_SMTP_PORT", "9"),
        ("BACKEND_SMTP_FROM", "galaxy@bench.invalid"),
        ("BACKEND_SMTP_TLS_MODE", "none"),
        ("BACKEND_DOCKER_NETWORK", "galaxy-bench"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.insert("BACKEND_POSTGRES_DSN".into(), dsn.to_owned());
    vars.insert(
        "BACKEND_GAME_STATE_ROOT".into(),
        scratch.join("game-state").display().to_string(),
    );
    vars.insert("BACKEND_GEOIP_DB_PATH".into(), geoip.display().to_string());
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Ok(vars)
}

/// Builds and serves the backend in this process; returns its HTTP address
/// and the running application's shutdown token.
pub async fn start_backend(config: Config) -> anyhow::Result<(SocketAddr, Application)> {
    let app = Application::build(config).await?;
    Ok((app.http_addr(), app))
}

/// Serves the bare axum hello-world every HTTP figure is compared with, on
/// `addr` (port 0 works), in this process; returns its address.
pub async fn serve_bare(addr: &str) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(bound)
}

/// The load target of [`serve_bare`] at `addr`: the baseline, listed first.
pub fn bare_target<'a>(addr: SocketAddr) -> Target<'a> {
    Target {
        name: "bare axum hello-world",
        url: format!("http://{addr}/"),
        headers: vec![],
    }
}

/// A small pool on the database of `config`, migrated as the backend
/// migrates it at startup: for seeding before the backend starts.
pub async fn migrated_pool(
    config: &galaxy_backend::config::PostgresConfig,
) -> anyhow::Result<sqlx::PgPool> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(galaxy_backend::postgres::connect_options(config)?)
        .await?;
    galaxy_backend::postgres::migrate(&pool).await?;
    Ok(pool)
}

/// [`migrated_pool`] on the database at `dsn` with two connections and
/// statements allowed `operation_timeout`: a seeding pool.
pub async fn seeding_pool(
    dsn: &str,
    operation_timeout: std::time::Duration,
) -> anyhow::Result<sqlx::PgPool> {
    let config = galaxy_backend::config::PostgresConfig {
        dsn: galaxy_backend::config::Secret::new(dsn.to_owned()),
        max_conns: 2,
        min_conns: 0,
        operation_timeout,
        leader_interval: std::time::Duration::from_secs(1),
    };
    migrated_pool(&config).await
}

/// Waits until the backend at `addr` answers `/readyz` with success (its
/// caches warm), for at most two minutes.
pub async fn wait_ready(addr: SocketAddr) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(format!("http://{addr}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            bail!("the backend did not become ready");
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// How long a `pgbench` run lasts.
#[derive(Debug, Clone, Copy)]
pub enum PgbenchRun {
    /// `-t`: this many transactions per client.
    TransactionsPerClient(usize),
    /// `-T`: this many seconds.
    Seconds(u32),
}

/// Figures from one `pgbench` run.
#[derive(Debug, Clone, Copy)]
pub struct PgbenchFigures {
    pub tps: f64,
    pub latency_ms: f64,
}

/// Runs the pgbench `script` (prepared statements, search path `backend`)
/// with `clients` clients, one thread each, on `database` of the benchmark
/// server, and parses its report.
pub fn pgbench(
    database: &str,
    script: &std::path::Path,
    clients: usize,
    run: PgbenchRun,
) -> anyhow::Result<PgbenchFigures> {
    let mut cmd = Command::new("pgbench");
    cmd.env("PGOPTIONS", "-c search_path=backend").args([
        "-n",
        "-M",
        "prepared",
        "-c",
        &clients.to_string(),
        "-j",
        &clients.to_string(),
    ]);
    match run {
        PgbenchRun::TransactionsPerClient(n) => cmd.args(["-t", &n.to_string()]),
        PgbenchRun::Seconds(s) => cmd.args(["-T", &s.to_string()]),
    };
    let out = cmd
        .arg("-f")
        .arg(script)
        .arg(format!("{}/{database}", server_url()))
        .output()
        .context("run pgbench (Debian package postgresql-client)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed: {}{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_pgbench(&stdout)
}

fn parse_pgbench(report: &str) -> anyhow::Result<PgbenchFigures> {
    let figure = |prefix: &str| -> anyhow::Result<f64> {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no `{prefix}` in pgbench output:\n{report}"))
    };
    Ok(PgbenchFigures {
        tps: figure("tps =")?,
        latency_ms: figure("latency average =")?,
    })
}

/// Figures from one `wrk` run.
#[derive(Debug, Clone, Copy)]
pub struct LoadFigures {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
}

/// Runs `wrk --latency` for `seconds` with `connections` against `url`,
/// optionally with headers, and parses its report.
pub fn wrk(
    url: &str,
    seconds: u32,
    connections: u32,
    headers: &[(&str, &str)],
) -> anyhow::Result<LoadFigures> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "--latency",
        "-t",
        "1",
        "-c",
        &connections.to_string(),
        "-d",
        &format!("{seconds}s"),
    ]);
    for (k, v) in headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    cmd.arg(url);
    let out = cmd
        .output()
        .context("run wrk (Debian package `wrk`; `make bench` installs it)")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parse_wrk(&String::from_utf8_lossy(&out.stdout))
}

fn parse_wrk(report: &str) -> anyhow::Result<LoadFigures> {
    let mut rps = None;
    let mut p50 = None;
    let mut p99 = None;
    let mut non_2xx = 0;
    for line in report.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(v)) => rps = v.parse().ok(),
            (Some("50%"), Some(v)) => p50 = Some(duration_ms(v)?),
            (Some("99%"), Some(v)) => p99 = Some(duration_ms(v)?),
            (Some("Non-2xx"), _) => {
                non_2xx = line
                    .rsplit(' ')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            }
            _ => {}
        }
    }
    Ok(LoadFigures {
        requests_per_second: rps.context("wrk report has no Requests/sec")?,
        p50_ms: p50.context("wrk report has no 50% latency")?,
        p99_ms: p99.context("wrk report has no 99% latency")?,
        non_2xx,
    })
}

fn duration_ms(v: &str) -> anyhow::Result<f64> {
    let split = v
        .find(|c: char| c.is_ascii_alphabetic())
        .context("latency without unit")?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse()?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        other => bail!("unknown wrk unit {other}"),
    })
}

/// One load target: a name, a URL and request headers.
pub struct Target<'a> {
    pub name: &'a str,
    pub url: String,
    pub headers: Vec<(&'a str, &'a str)>,
}

/// Measures every target `rounds` times, interleaved (first, second, …,
/// first, second, …), so a slow spell of the shared machine falls on all
/// targets alike; each target's figures are those of its run with the
/// median req/s. The first target is the baseline (the bare server).
pub fn interleaved<'a>(
    targets: &[Target<'a>],
    rounds: u32,
    seconds: u32,
    connections: u32,
) -> anyhow::Result<Vec<(&'a str, LoadFigures)>> {
    let mut runs: Vec<Vec<LoadFigures>> = vec![Vec::new(); targets.len()];
    for _ in 0..rounds {
        for (target, runs) in targets.iter().zip(&mut runs) {
            runs.push(wrk(&target.url, seconds, connections, &target.headers)?);
        }
    }
    Ok(targets
        .iter()
        .zip(runs)
        .map(|(target, mut runs)| {
            runs.sort_by(|a, b| a.requests_per_second.total_cmp(&b.requests_per_second));
            (target.name, runs[runs.len() / 2])
        })
        .collect())
}

/// Prints wrk runs as a table, each next to the first run (the bare
/// server measured in the same process run).
pub fn print_vs_bare(runs: &[(&str, LoadFigures)]) {
    let Some(baseline) = runs.first().map(|(_, f)| f.requests_per_second) else {
        return;
    };
    println!(
        "{:<44} {:>12} {:>10} {:>10} {:>9}",
        "target", "req/s", "p50 ms", "p99 ms", "vs bare"
    );
    for (name, f) in runs {
        println!(
            "{:<44} {:>12.0} {:>10.3} {:>10.3} {:>8.1}%{}",
            name,
            f.requests_per_second,
            f.p50_ms,
            f.p99_ms,
            100.0 * f.requests_per_second / baseline,
            if f.non_2xx > 0 {
                format!("  ({} non-2xx!)", f.non_2xx)
            } else {
                String::new()
            }
        );
    }
}

pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_reports_are_parsed() {
        let report = "Running 2s test @ http://127.0.0.1:1/\n  Latency Distribution\n     50%  120.00us\n     75%  1.20ms\n     90%    2.00ms\n     99%    3.50ms\n  Non-2xx or 3xx responses: 7\nRequests/sec:  41234.56\nTransfer/sec:      4.12MB\n";
        let f = parse_wrk(report).unwrap();
        assert_eq!(f.requests_per_second, 41234.56);
        assert_eq!(f.p50_ms, 0.12);
        assert_eq!(f.p99_ms, 3.5);
        assert_eq!(f.non_2xx, 7);
    }

    #[test]
    fn pgbench_reports_are_parsed() {
        let report = "number of transactions actually processed: 1000\nlatency average = 1.234 ms\ninitial connection time = 5.000 ms\ntps = 810.372 (without initial connection time)\n";
        let f = parse_pgbench(report).unwrap();
        assert_eq!(f.tps, 810.372);
        assert_eq!(f.latency_ms, 1.234);
    }
}
