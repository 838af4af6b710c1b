//! `galaxy-game-bench`: engine turn time.
//!
//! - `galaxy-game-bench big30 [turns] [seed]` (defaults 40, 1): **Big30**,
//!   the workload GalaxyNG's C engine was measured on — 30 races, galaxy
//!   250, race spacing 30, homes 1000/250/350, 6 empty planets within
//!   radius 15 and 8 stuff planets per race (510 planets); turn 1 designs
//!   `Scout 1 0 0 0 0` and `Fighter 5 1 5 4 0`, the homes build Fighters,
//!   Scouts and drive tech, and every turn each race sends about 70 % of its
//!   parked groups to random planets, all at war. Per turn it times the
//!   simulation, the JSON reports, 30 text reports and persistence (with
//!   fsync) in process, and the full turn as `PUT /api/v1/admin/turn` sees
//!   it on a `galaxy-game` process run beside it (same seed and orders, so
//!   the same game), whose peak RSS it reads at the end. GalaxyNG's figures
//!   are printed alongside.
//! - `galaxy-game-bench bot [races] [turns] [seed]` (defaults 30 100 1): a
//!   default galaxy played by the built-in bot; median and maximum turn
//!   time (rules plus every report) and this process's peak RSS.

use galaxy_game::engine::Engine;
use galaxy_game::game::{Game, PlanetId, RaceId};
use galaxy_game::order::RaceOrders;
use galaxy_game::report::build_reports;
use galaxy_game::rng::GameRng;
use galaxy_game::store::Store;
use galaxy_game::{bot, text_report, turn};
use galaxy_model::api::{GameSettings, InitRace, InitRequest, PutOrdersRequest, RunTurnRequest};
use galaxy_model::order::{Order, OrderLine, Product, Unit};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match arg(0) {
        Some("bot") => {
            let races = arg(1).map(str::parse).transpose()?.unwrap_or(30);
            let turns = arg(2).map(str::parse).transpose()?.unwrap_or(100);
            let seed = arg(3).map(str::parse).transpose()?.unwrap_or(1);
            bot_game(races, turns, seed)
        }
        Some("big30") | None => {
            let turns = arg(1).map(str::parse).transpose()?.unwrap_or(40);
            let seed = arg(2).map(str::parse).transpose()?.unwrap_or(1);
            big30(turns, seed)
        }
        Some(other) => anyhow::bail!("unknown scenario {other} (big30 or bot)"),
    }
}

/// Peak RSS in KiB of a process (`self` or a pid).
fn peak_rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Median and slowest of a series.
fn stats(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (
        s.get(s.len() / 2).copied().unwrap_or(0.0),
        s.last().copied().unwrap_or(0.0),
    )
}

fn races(n: usize) -> Vec<InitRace> {
    (0..n)
        .map(|i| InitRace {
            name: format!("Race{i}"),
        })
        .collect()
}

// ---------------------------------------------------------------- Big30 --

fn big30_request(seed: u64) -> InitRequest {
    InitRequest {
        game_id: "big30".into(),
        seed,
        settings: GameSettings {
            size: Some(250.0),
            race_spacing: 30.0,
            home_planets: vec![1000.0, 250.0, 350.0],
            empty_planets: 6,
            empty_radius: 15.0,
            stuff_planets: 8,
            ..GameSettings::default()
        },
        races: races(30),
    }
}

/// Each race's home planets, in the order of `home_planets` (by size).
fn homes(game: &Game) -> Vec<[Option<PlanetId>; 3]> {
    let mut out = vec![[None; 3]; game.races.len()];
    for (i, p) in game.planets.iter().enumerate() {
        if let Some(o) = p.owner {
            let slot = match p.size {
                s if s >= 1000.0 => 0,
                s if s <= 250.0 => 1,
                _ => 2,
            };
            out[o.0][slot] = Some(PlanetId(i));
        }
    }
    out
}

/// Big30's orders for every living race: designs on the first turn, home
/// production, and ~70 % of parked groups sent to random planets.
fn big30_orders(
    game: &Game,
    homes: &[[Option<PlanetId>; 3]],
    rng: &mut GameRng,
) -> BTreeMap<String, RaceOrders> {
    let mut all = BTreeMap::new();
    for (i, race) in game.races.iter().enumerate().filter(|(_, r)| !r.dead) {
        let r = RaceId(i);
        let mut orders = Vec::new();
        if game.turn == 0 {
            orders.push(design("Scout", 1.0, 0, 0.0, 0.0));
            orders.push(design("Fighter", 5.0, 1, 5.0, 4.0));
        }
        let products = [
            Product::Ship("Fighter".into()),
            Product::Ship("Scout".into()),
            Product::Drive,
        ];
        for (home, product) in homes[i].iter().zip(products) {
            if let Some(p) = home.filter(|p| game.planets[p.0].owner == Some(r)) {
                orders.push(Order::Produce {
                    planet: format!("#{}", p.number()),
                    product,
                });
            }
        }
        let parked = galaxy_game::group::race_groups(game, r)
            .iter()
            .filter(|g| g.dist == 0.0);
        for g in parked {
            if rng.f64() < 0.7 {
                let to = rng.below(game.planets.len() as u64) + 1;
                orders.push(Order::Send {
                    unit: Unit::Group(g.number),
                    planet: format!("#{to}"),
                    ships: None,
                });
            }
        }
        let lines = orders
            .into_iter()
            .enumerate()
            .map(|(n, order)| OrderLine {
                id: (n + 1).to_string(),
                order,
            })
            .collect();
        all.insert(
            race.key.clone(),
            RaceOrders {
                lines,
                mistakes: Vec::new(),
            },
        );
    }
    all
}

fn design(name: &str, drive: f64, attacks: u32, weapons: f64, shields: f64) -> Order {
    Order::DesignShip {
        name: name.into(),
        drive,
        attacks,
        weapons,
        shields,
        cargo: 0.0,
    }
}

/// Per-turn timings of Big30, in milliseconds.
#[derive(Default)]
struct Timings {
    simulation: Vec<f64>,
    json_reports: Vec<f64>,
    text_reports: Vec<f64>,
    persistence: Vec<f64>,
    full_turn: Vec<f64>,
    battles: Vec<usize>,
    bombings: Vec<usize>,
}

fn big30(turns: u32, seed: u64) -> anyhow::Result<()> {
    let req = big30_request(seed);
    let mut engine = Engine::init(&req)?;
    let homes = homes(&engine.game);
    let dirs = BenchDirs::new()?;
    let store = Store::open(dirs.local())?;
    let server = EngineProcess::start(dirs.served())?;
    server.call("POST", "/api/v1/admin/init", &serde_json::to_vec(&req)?)?;
    let mut rng = GameRng::new(seed ^ 0x000B_1630);
    let mut t = Timings::default();
    for _ in 0..turns {
        let orders = big30_orders(&engine.game, &homes, &mut rng);
        local_turn(&mut engine, &store, orders.clone(), &mut t)?;
        t.full_turn
            .push(served_turn(&server, engine.game.turn - 1, orders)?);
    }
    let rss = peak_rss_kib(&server.child.id().to_string());
    print_big30(&engine, turns, &t, rss);
    Ok(())
}

/// One turn in process, each stage timed.
fn local_turn(
    engine: &mut Engine,
    store: &Store,
    orders: BTreeMap<String, RaceOrders>,
    t: &mut Timings,
) -> anyhow::Result<()> {
    let start = Instant::now();
    turn::run_turn(&mut engine.game, &orders);
    t.simulation.push(ms(start));
    t.battles.push(engine.game.log.battles.len());
    t.bombings.push(engine.game.log.bombings.len());
    let start = Instant::now();
    engine.reports = build_reports(&engine.game);
    let json = serde_json::to_vec(&engine.reports)?;
    t.json_reports.push(ms(start));
    std::hint::black_box(json);
    let start = Instant::now();
    let texts: usize = engine
        .reports
        .values()
        .map(|r| text_report::render(r).len())
        .sum();
    t.text_reports.push(ms(start));
    std::hint::black_box(texts);
    let start = Instant::now();
    store.save_turn(engine)?;
    t.persistence.push(ms(start));
    Ok(())
}

/// The same turn on the engine process: orders in (not timed), then the
/// timed `PUT /api/v1/admin/turn`.
fn served_turn(
    server: &EngineProcess,
    turn: u32,
    orders: BTreeMap<String, RaceOrders>,
) -> anyhow::Result<f64> {
    for (race, set) in orders {
        let body = PutOrdersRequest {
            race,
            turn,
            orders: set.lines,
            text: None,
        };
        server.call("PUT", "/api/v1/order", &serde_json::to_vec(&body)?)?;
    }
    let body = serde_json::to_vec(&RunTurnRequest { turn })?;
    let start = Instant::now();
    server.call("PUT", "/api/v1/admin/turn", &body)?;
    Ok(ms(start))
}

fn print_big30(engine: &Engine, turns: u32, t: &Timings, rss_kib: Option<u64>) {
    let g = &engine.game;
    let range = |v: &[usize]| {
        let lo = v.iter().skip(1).min().copied().unwrap_or(0);
        let hi = v.iter().max().copied().unwrap_or(0);
        format!("{lo}–{hi}")
    };
    println!(
        "Big30: {} races, galaxy {}, {} planets, {turns} turns; per turn {} battles, {} bombings; final {} groups, {} ships",
        g.races.len(),
        g.size,
        g.planets.len(),
        range(&t.battles),
        range(&t.bombings),
        g.groups.len(),
        g.total_ships()
    );
    println!(
        "  {:<34} {:>10} {:>10}   GalaxyNG (C)",
        "per turn", "median", "slowest"
    );
    let row = |what: &str, v: &[f64], ng: &str| {
        let (median, max) = stats(v);
        println!("  {what:<34} {median:>7.2} ms {max:>7.2} ms   {ng}");
    };
    row("simulation", &t.simulation, "9.1 ms");
    row("JSON reports (30, built + encoded)", &t.json_reports, "-");
    row(
        "30 text reports",
        &t.text_reports,
        "48.4 ms (score list + 30 text reports)",
    );
    row("persistence (with fsync)", &t.persistence, "-");
    row(
        "full turn (HTTP PUT /admin/turn)¹",
        &t.full_turn,
        "78.9 ms   (target ≤ 8 ms)",
    );
    let kib = |n: usize| n as f64 / 1024.0;
    let state = serde_json::to_vec(&engine.game).map_or(0, |v| v.len());
    let reports = serde_json::to_vec(&engine.reports).map_or(0, |v| v.len());
    println!(
        "  stored per turn: state {:.0} KiB, reports {:.0} KiB",
        kib(state),
        kib(reports)
    );
    match rss_kib {
        Some(k) => println!(
            "  {:<34} {:>7.1} MiB {:>10}   11.5 MB   (target ≤ 64 MB)",
            "engine process peak RSS",
            k as f64 / 1024.0,
            ""
        ),
        None => println!("  engine process peak RSS unavailable"),
    }
    println!(
        "  ¹ rules + state persisted with fsync; the engine builds a report when it is first read"
    );
}

/// Two fresh state directories under the system temp dir, removed on drop.
struct BenchDirs(PathBuf);

impl BenchDirs {
    fn new() -> anyhow::Result<BenchDirs> {
        let dir = std::env::temp_dir().join(format!("galaxy-game-bench-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("local"))?;
        std::fs::create_dir_all(dir.join("served"))?;
        Ok(BenchDirs(dir))
    }
    fn local(&self) -> PathBuf {
        self.0.join("local")
    }
    fn served(&self) -> PathBuf {
        self.0.join("served")
    }
}

impl Drop for BenchDirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `galaxy-game` binary next to this one, serving on a loopback port.
struct EngineProcess {
    child: Child,
    addr: String,
}

impl EngineProcess {
    fn start(state_dir: PathBuf) -> anyhow::Result<EngineProcess> {
        let exe = std::env::current_exe()?;
        let bin = exe.with_file_name("galaxy-game");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(&bin)
            .env("GALAXY_GAME_LISTEN_ADDR", &addr)
            .env("GALAXY_GAME_STATE_DIR", &state_dir)
            .env("GALAXY_GAME_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("{}: {e} (build it with --bins)", bin.display()))?;
        let p = EngineProcess { child, addr };
        p.wait_ready()?;
        Ok(p)
    }

    fn wait_ready(&self) -> anyhow::Result<()> {
        for _ in 0..200 {
            if self.call("GET", "/healthz", b"").is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        anyhow::bail!("galaxy-game did not become ready on {}", self.addr)
    }

    /// One HTTP/1.1 request (connection closed after it); the body of a
    /// 2xx answer, or an error with the status line.
    fn call(&self, method: &str, path: &str, body: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.set_nodelay(true)?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        )?;
        s.write_all(body)?;
        read_response(s)
    }
}

fn read_response(s: TcpStream) -> anyhow::Result<Vec<u8>> {
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status)?;
    let mut len = None;
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = Vec::new();
    match len {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        }
        None => {
            r.read_to_end(&mut body)?;
        }
    }
    if !status
        .split_whitespace()
        .nth(1)
        .is_some_and(|c| c.starts_with('2'))
    {
        anyhow::bail!("{}: {}", status.trim(), String::from_utf8_lossy(&body));
    }
    Ok(body)
}

impl Drop for EngineProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------ bot game --

fn bot_game(races_n: usize, turns: u32, seed: u64) -> anyhow::Result<()> {
    let mut engine = Engine::init(&InitRequest {
        game_id: "bench".into(),
        seed,
        settings: GameSettings::default(),
        races: races(races_n),
    })?;
    let mut times = Vec::with_capacity(turns as usize);
    let (mut battles, mut bombings) = (0usize, 0usize);
    for _ in 0..turns {
        engine.pending = bot::all_orders(&engine.game);
        let t = Instant::now();
        engine.run_turn();
        times.push(ms(t));
        battles += engine.game.log.battles.len();
        bombings += engine.game.log.bombings.len();
    }
    let (median, max) = stats(&times);
    println!(
        "bot game: {races_n} races, galaxy {} with {} planets, {turns} turns",
        engine.game.size,
        engine.game.planets.len()
    );
    println!("  turn (rules + every report): median {median:.2} ms, max {max:.2} ms");
    println!(
        "  final: {} groups, {} ships; {battles} battles, {bombings} bombings",
        engine.game.groups.len(),
        engine.game.total_ships()
    );
    let state = serde_json::to_vec(&engine.game)?;
    let reports = serde_json::to_vec(&engine.reports)?;
    println!(
        "  stored per turn: state {:.0} KiB, reports {:.0} KiB",
        state.len() as f64 / 1024.0,
        reports.len() as f64 / 1024.0
    );
    if let Some(k) = peak_rss_kib("self") {
        println!("  peak RSS {:.1} MiB", k as f64 / 1024.0);
    }
    Ok(())
}
