//! The game runtime with the `process` driver: 100 games started at once
//! against the real `galaxy-backend` binary (a child process of this bench,
//! so its RSS is the backend's alone) on a fresh database, each engine a
//! real `galaxy-game` child of the backend on a loopback port.
//!
//! 1. 100 private games of 2 or 3 members are set up through the HTTP API
//!    (owner creates, invites, members accept; bounded concurrency);
//! 2. every owner starts their game (`POST /api/v1/user/games/{id}/start`);
//!    measured: from the first start request until every runtime record is
//!    `running` and every lobby game reads `running` (bounded: gives up
//!    after five minutes);
//! 3. then: the backend's RSS, the engines' summed RSS and the process
//!    count, read from `/proc`;
//! 4. the engine status probe (`GET {base_url}/api/v1/admin/status`, as
//!    the runtime calls it) round trip, every engine in turn, 10 rounds;
//! 5. the backend is stopped with SIGTERM (it stops its engines) and no
//!    engine may remain.
//!
//! The backend runs with its defaults (`BACKEND_RUNTIME_WORKER_POOL_SIZE`,
//! `BACKEND_RUNTIME_JOB_QUEUE_SIZE`, `BACKEND_POSTGRES_MAX_CONNS`), its
//! workers on. Figures only; nothing here asserts a timing.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use galaxy_bench::runtime::{
    ADMIN, ADMIN_PASSWORD, Api, Backend, CLIENTS, StartFigures, engine_binary, free_port, pct,
    seed_accounts, set_up_games, sibling, start_all, tail,
};
use serde_json::json;

const DATABASE: &str = "galaxy_bench_runtime";
const GAMES: usize = 100;
const PROBE_ROUNDS: usize = 10;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let backend_bin = sibling("galaxy-backend")?;
    let engine_bin = engine_binary()?;
    let scratch = std::env::temp_dir().join("galaxy-bench-runtime");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).context("remove the previous run's scratch")?;
    }
    std::fs::create_dir_all(&scratch)?;
    let dsn = galaxy_bench::fresh_database(DATABASE).await?;
    let (members, deadline) = seed_accounts(&dsn, GAMES).await?;

    let http_port = free_port()?.to_string();
    let grpc_port = free_port()?.to_string();
    let http_addr = format!("127.0.0.1:{http_port}");
    let grpc_addr = format!("127.0.0.1:{grpc_port}");
    let engine = engine_bin.display().to_string();
    let vars = galaxy_bench::bench_vars(
        &dsn,
        &scratch,
        &[
            ("BACKEND_HTTP_LISTEN_ADDR", &http_addr),
            ("BACKEND_GRPC_PUSH_LISTEN_ADDR", &grpc_addr),
            ("BACKEND_LOGGING_LEVEL", "warn"),
            ("BACKEND_ADMIN_BOOTSTRAP_USER", ADMIN),
            ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ADMIN_PASSWORD),
            // Nothing here sends mail; the worker would only retry port 9.
            ("BACKEND_MAIL_WORKER_ENABLED", "false"),
            ("BACKEND_RUNTIME_DRIVER", "process"),
            ("BACKEND_RUNTIME_PROCESS_BINARIES", &engine),
            ("BACKEND_RUNTIME_ENGINE_VERSIONS", "0.1.0=galaxy/game:0.1.0"),
            ("BACKEND_JOBS_WORKER_ENABLED", "true"),
        ],
    )?;
    let log = scratch.join("backend.log");
    let mut backend = Backend::spawn(&backend_bin, &vars, &log)?;
    let addr: std::net::SocketAddr = http_addr.parse()?;
    if let Err(err) = galaxy_bench::wait_ready(addr).await {
        bail!("{err:#}; backend log {}:\n{}", log.display(), tail(&log));
    }

    let api = Api::new(&http_addr);
    // One admin request first: it pays the bcrypt verify and fills the
    // credential cache.
    api.admin_get("/games?per_page=1").await?;

    let setting_up = Instant::now();
    let games = set_up_games(
        &api,
        &members,
        0..GAMES,
        &json!({ "every": "24h" }),
        &deadline,
    )
    .await?;
    let set_up = setting_up.elapsed();

    let start = start_all(&api, &games, 0).await;
    let start = match start {
        Ok(start) => start,
        Err(err) => {
            let stopped = backend.stop();
            bail!(
                "{err:#}\n(backend stopped: {stopped:?}); backend log {}:\n{}",
                log.display(),
                tail(&log)
            );
        }
    };

    let processes = process_figures(backend.pid(), &engine_bin)?;
    let probes = probe_engines(&start.base_urls).await?;

    let stopping = Instant::now();
    let stop = backend.stop()?;
    let stopped_in = stopping.elapsed();
    let left: Vec<u32> = processes
        .engines
        .iter()
        .copied()
        .filter(|&pid| is_engine(pid, &engine_bin))
        .collect();

    print_figures(&Figures {
        set_up,
        start: &start,
        processes: &processes,
        probes: &probes,
        engine_bin: &engine_bin,
        stop_status: stop,
        stopped_in,
        left: &left,
    });
    ensure!(
        left.is_empty(),
        "engines still running after the backend stopped: pids {left:?}"
    );
    Ok(())
}

/// The backend's and its engines' memory and count, from `/proc`.
struct ProcessFigures {
    backend_rss_mib: f64,
    backend_hwm_mib: f64,
    engines: Vec<u32>,
    engines_rss_mib: f64,
    /// Proportional set size: shared pages (the binary's text) split.
    engines_pss_mib: f64,
    engine_rss_max_mib: f64,
    backend_threads: u64,
}

fn process_figures(backend: u32, engine_bin: &Path) -> anyhow::Result<ProcessFigures> {
    let status = proc_status(backend).context("the backend's /proc status")?;
    let mut engines = Vec::new();
    let mut engines_rss = 0.0;
    let mut engines_pss = 0.0;
    let mut engine_rss_max: f64 = 0.0;
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(s) = proc_status(pid) else { continue };
        if s.get("PPid").map(String::as_str) == Some(&backend.to_string())
            && is_engine(pid, engine_bin)
        {
            let rss = kib_as_mib(s.get("VmRSS"));
            engines_rss += rss;
            engines_pss += pss_mib(pid);
            engine_rss_max = engine_rss_max.max(rss);
            engines.push(pid);
        }
    }
    Ok(ProcessFigures {
        backend_rss_mib: kib_as_mib(status.get("VmRSS")),
        backend_hwm_mib: kib_as_mib(status.get("VmHWM")),
        engines,
        engines_rss_mib: engines_rss,
        engines_pss_mib: engines_pss,
        engine_rss_max_mib: engine_rss_max,
        backend_threads: status
            .get("Threads")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
    })
}

/// `/proc/PID/status` as `key → value` (values trimmed).
fn proc_status(pid: u32) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect(),
    )
}

/// `Pss` of `/proc/PID/smaps_rollup`, in MiB (0 when unreadable).
fn pss_mib(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let pss = text
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .map(|v| v.trim().to_owned());
    kib_as_mib(pss.as_ref())
}

fn kib_as_mib(v: Option<&String>) -> f64 {
    v.and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Whether `pid` is a live (not zombie) process of the engine binary.
fn is_engine(pid: u32, engine_bin: &Path) -> bool {
    let live = proc_status(pid)
        .and_then(|s| s.get("State").cloned())
        .is_some_and(|s| !s.starts_with('Z'));
    live && std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == engine_bin)
}

/// Round trips of `GET {base_url}/api/v1/admin/status`, every engine in
/// turn, [`PROBE_ROUNDS`] rounds, one kept-alive client (the first round
/// opens the connections); sorted, in milliseconds.
async fn probe_engines(base_urls: &[String]) -> anyhow::Result<Vec<f64>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let mut took = Vec::with_capacity(base_urls.len() * PROBE_ROUNDS);
    for _ in 0..PROBE_ROUNDS {
        for url in base_urls {
            let sent = Instant::now();
            let r = http
                .get(format!("{url}/api/v1/admin/status"))
                .send()
                .await?;
            let status = r.status();
            let body = r.bytes().await?;
            took.push(sent.elapsed().as_secs_f64() * 1000.0);
            ensure!(
                status.is_success(),
                "{url}/api/v1/admin/status answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    took.sort_by(f64::total_cmp);
    Ok(took)
}

struct Figures<'a> {
    set_up: Duration,
    start: &'a StartFigures,
    processes: &'a ProcessFigures,
    probes: &'a [f64],
    engine_bin: &'a Path,
    stop_status: std::process::ExitStatus,
    stopped_in: Duration,
    left: &'a [u32],
}

fn print_figures(f: &Figures<'_>) {
    let s = f.start;
    let p = f.processes;
    let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "\n== runtime: {GAMES} games (2-3 races each) started with the process driver; {cores} cores; engine {} ==",
        f.engine_bin.display()
    );
    println!(
        "set up through the HTTP API (create, invite, accept; {CLIENTS} clients): {:.1} s",
        f.set_up.as_secs_f64()
    );
    println!("\nstart");
    println!(
        "{:<60} {:>10.2} s",
        format!("{GAMES} owner start requests ({CLIENTS} clients)"),
        s.requests.as_secs_f64()
    );
    println!(
        "{:<60} {:>10.2} s",
        "first start request -> every runtime record running",
        s.records_running.as_secs_f64()
    );
    println!(
        "{:<60} {:>10.2} s",
        "first start request -> every lobby game running",
        s.all_running.as_secs_f64()
    );
    println!(
        "{:<60} {:>10.2} s",
        "  per game, first (polled every 100 ms)",
        ms(s.per_game.first().copied()) / 1000.0
    );
    println!(
        "{:<60} {:>10.2} s",
        "  per game, p50",
        ms(pct(&s.per_game, 0.5)) / 1000.0
    );
    println!(
        "{:<60} {:>10.2} s",
        "  per game, p99",
        ms(pct(&s.per_game, 0.99)) / 1000.0
    );
    println!(
        "{:<60} {:>12}",
        "start operation attempts (1 per game = no retry)", s.attempts
    );
    println!("\nprocesses (all running)");
    println!(
        "{:<60} {:>8.1} MiB",
        format!("galaxy-backend RSS ({} threads)", p.backend_threads),
        p.backend_rss_mib
    );
    println!(
        "{:<60} {:>8.1} MiB",
        "galaxy-backend peak RSS (VmHWM)", p.backend_hwm_mib
    );
    println!(
        "{:<60} {:>8.1} MiB",
        format!("galaxy-game engines' RSS, sum of {}", p.engines.len()),
        p.engines_rss_mib
    );
    println!(
        "{:<60} {:>8.1} MiB",
        "  their PSS, sum (shared pages split)", p.engines_pss_mib
    );
    println!(
        "{:<60} {:>8.1} MiB",
        "  largest engine RSS", p.engine_rss_max_mib
    );
    println!(
        "{:<60} {:>12}",
        "processes: backend + engines",
        1 + p.engines.len()
    );
    println!(
        "\nengine status probe GET {{base_url}}/api/v1/admin/status ({} engines x {PROBE_ROUNDS} rounds, one by one, keep-alive)",
        s.base_urls.len()
    );
    println!(
        "{:<60} {:>10} {:>10} {:>10}",
        "", "p50 ms", "p99 ms", "max ms"
    );
    println!(
        "{:<60} {:>10.3} {:>10.3} {:>10.3}",
        format!("round trip ({} probes)", f.probes.len()),
        pct(f.probes, 0.5).unwrap_or(f64::NAN),
        pct(f.probes, 0.99).unwrap_or(f64::NAN),
        f.probes.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "\nSIGTERM -> backend exited ({}) in {:.2} s; galaxy-game processes left: {}",
        f.stop_status,
        f.stopped_in.as_secs_f64(),
        f.left.len()
    );
}
