//! Turns against the real `galaxy-backend` binary (a child process) with the
//! `process` driver on a fresh database, the turn-ready pushes read the way
//! a gateway reads them: one `SubscribePush` gRPC stream, each
//! `game.turn.ready` FlatBuffers payload decoded and stamped on arrival.
//!
//! 1. **cut-off → push**: 10 games (24 h schedule, so no turn falls due by
//!    itself), 10 rounds, one forced turn at a time (`POST
//!    /api/v1/admin/runtimes/{id}/force-next-turn`): from sending the force
//!    request until every member's `game.turn.ready` arrived, minus the
//!    engine's own turn time (the `turn` operation's "in N ms", to 0.1 ms)
//!    = the platform's overhead;
//! 2. **order submit**: `PUT /api/v1/user/games/{id}/orders` through the
//!    backend vs the same orders `PUT {base_url}/api/v1/order` straight at
//!    the engine, interleaved, one at a time, keep-alive;
//! 3. **100 games due in the same second**: 100 more games with the cron
//!    schedule `* * * * *` (UTC), started together, so every one's deadline
//!    is the next whole minute; from that minute until the last member's
//!    `game.turn.ready` arrived (the bench waits up to ~70 s for it);
//!    then, in the quiet of the same minute, the same with all 100 forced
//!    at once (100 concurrent force requests).
//!
//! The backend runs with its defaults (worker pool 4, workers on). Bounded
//! in count and time; the backend is stopped with SIGTERM at the end.
//! Figures only; nothing here asserts a timing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use galaxy_backend::notification::fbs::schema as fb;
use galaxy_backend::push::pb::push_client::PushClient;
use galaxy_backend::push::pb::{GatewaySubscribeRequest, push_event};
use galaxy_bench::runtime::{
    ADMIN, ADMIN_PASSWORD, Api, Backend, engine_binary, free_port, members_of, pct, seed_accounts,
    set_up_games, sibling, start_all, tail,
};
use serde_json::json;
use uuid::Uuid;

const DATABASE: &str = "galaxy_bench_turns";
/// Games of runs 1 and 2 (24 h schedule).
const FORCED_GAMES: usize = 10;
const FORCED_ROUNDS: usize = 10;
/// Games of run 3 (every minute).
const DUE_GAMES: usize = 100;
const ORDER_WARMUP: usize = 50;
const ORDER_SAMPLES: usize = 1_000;
/// The longest any one wait for pushes lasts.
const PUSH_BUDGET: Duration = Duration::from_secs(30);
/// Run 3b needs at least this long before the next whole minute.
const QUIET_NEEDED: Duration = Duration::from_secs(25);

/// One `game.turn.ready` as it arrived.
#[derive(Clone)]
struct Arrival {
    game_id: String,
    turn: i64,
    at: Instant,
}

/// Every `game.turn.ready` the stream delivered so far.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<Arrival>>>);

impl Arrivals {
    fn snapshot(&self) -> Vec<Arrival> {
        self.0.lock().expect("arrivals").clone()
    }

    /// The arrivals of `(game, turn)`, once there are `members` of them
    /// (waits up to [`PUSH_BUDGET`]).
    async fn wait_turn(
        &self,
        game: &str,
        turn: i64,
        members: usize,
    ) -> anyhow::Result<Vec<Instant>> {
        let deadline = Instant::now() + PUSH_BUDGET;
        loop {
            let got: Vec<Instant> = self
                .0
                .lock()
                .expect("arrivals")
                .iter()
                .filter(|a| a.game_id == game && a.turn == turn)
                .map(|a| a.at)
                .collect();
            if got.len() >= members {
                return Ok(got);
            }
            if Instant::now() > deadline {
                bail!(
                    "game {game}: {} of {members} game.turn.ready pushes for turn {turn} within {PUSH_BUDGET:?}",
                    got.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Waits until every game of `expected` (id → members) has its members'
    /// pushes for `turn_of(id)`, or `budget` ran out; the arrivals found.
    async fn wait_all(
        &self,
        expected: &HashMap<String, usize>,
        turn_of: &HashMap<String, i64>,
        budget: Duration,
    ) -> HashMap<String, Vec<Instant>> {
        let deadline = Instant::now() + budget;
        loop {
            let mut found: HashMap<String, Vec<Instant>> = HashMap::new();
            for a in self.0.lock().expect("arrivals").iter() {
                if turn_of.get(&a.game_id) == Some(&a.turn) {
                    found.entry(a.game_id.clone()).or_default().push(a.at);
                }
            }
            let complete = expected
                .iter()
                .all(|(g, n)| found.get(g).is_some_and(|v| v.len() >= *n));
            if complete || Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let backend_bin = sibling("galaxy-backend")?;
    let engine_bin = engine_binary()?;
    let scratch = std::env::temp_dir().join("galaxy-bench-turns");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).context("remove the previous run's scratch")?;
    }
    std::fs::create_dir_all(&scratch)?;
    let total = FORCED_GAMES + DUE_GAMES;
    let dsn = galaxy_bench::fresh_database(DATABASE).await?;
    let (members, deadline) = seed_accounts(&dsn, total).await?;

    let http_addr = format!("127.0.0.1:{}", free_port()?);
    let grpc_addr = format!("127.0.0.1:{}", free_port()?);
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
            ("BACKEND_MAIL_WORKER_ENABLED", "false"),
            ("BACKEND_RUNTIME_DRIVER", "process"),
            ("BACKEND_RUNTIME_PROCESS_BINARIES", &engine),
            ("BACKEND_RUNTIME_ENGINE_VERSIONS", "0.1.0=galaxy/game:0.1.0"),
            ("BACKEND_JOBS_WORKER_ENABLED", "true"),
        ],
    )?;
    let log = scratch.join("backend.log");
    let mut backend = Backend::spawn(&backend_bin, &vars, &log)?;
    if let Err(err) = galaxy_bench::wait_ready(http_addr.parse()?).await {
        bail!("{err:#}; backend log {}:\n{}", log.display(), tail(&log));
    }
    let api = Api::new(&http_addr);
    api.admin_get("/games?per_page=1").await?;
    let arrivals = subscribe(&grpc_addr).await?;

    let result = run(&api, &members, &deadline, &arrivals).await;

    let stopping = Instant::now();
    let stop = backend.stop();
    let stopped_in = stopping.elapsed();
    let figures = match result {
        Ok(figures) => figures,
        Err(err) => bail!(
            "{err:#}\n(backend stopped: {stop:?}); backend log {}:\n{}",
            log.display(),
            tail(&log)
        ),
    };
    print_figures(&figures, &engine_bin);
    println!(
        "\nSIGTERM -> backend exited ({}) in {:.2} s",
        stop?,
        stopped_in.as_secs_f64()
    );
    Ok(())
}

/// One gateway's push stream; every `game.turn.ready` is decoded and
/// stamped the moment it arrives.
async fn subscribe(grpc_addr: &str) -> anyhow::Result<Arrivals> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc_addr}"))?
        .connect()
        .await
        .context("connect to the gRPC listener")?;
    let mut stream = PushClient::new(channel)
        .subscribe_push(GatewaySubscribeRequest {
            gateway_client_id: "bench-turns".into(),
            cursor: String::new(),
        })
        .await?
        .into_inner();
    let arrivals = Arrivals::default();
    let sink = arrivals.clone();
    tokio::spawn(async move {
        while let Ok(Some(event)) = stream.message().await {
            let at = Instant::now();
            let Some(push_event::Kind::ClientEvent(client)) = event.kind else {
                continue;
            };
            if client.kind != "game.turn.ready" {
                continue;
            }
            let Ok(ready) = flatbuffers::root::<fb::GameTurnReady>(&client.payload) else {
                eprintln!("a game.turn.ready payload does not decode");
                continue;
            };
            let arrival = Arrival {
                game_id: ready.game_id().unwrap_or_default().to_owned(),
                turn: ready.turn(),
                at,
            };
            sink.0.lock().expect("arrivals").push(arrival);
        }
    });
    Ok(arrivals)
}

struct Figures {
    forced: Forced,
    orders: Orders,
    due: Due,
    all_forced: Option<AllForced>,
}

async fn run(
    api: &Api,
    members: &galaxy_bench::runtime::Members,
    deadline: &str,
    arrivals: &Arrivals,
) -> anyhow::Result<Figures> {
    // Runs 1 and 2: games that never fall due by themselves.
    let games = set_up_games(
        api,
        members,
        0..FORCED_GAMES,
        &json!({ "every": "24h" }),
        deadline,
    )
    .await?;
    let started = start_all(api, &games, 0).await?;
    // Orders first: after some turns without orders the engine drops a
    // race as idle.
    let orders = order_submits(api, &games[0], &started.urls[&games[0].0]).await?;
    let forced = forced_turns(api, &games, arrivals).await?;

    // Run 3: 100 games due at the same whole minute.
    let every_minute = json!({ "cron": "* * * * *", "time_zone": "UTC" });
    let due_games = set_up_games(
        api,
        members,
        FORCED_GAMES..FORCED_GAMES + DUE_GAMES,
        &every_minute,
        deadline,
    )
    .await?;
    let due_members: HashMap<String, usize> = due_games
        .iter()
        .enumerate()
        .map(|(i, (g, _))| (g.clone(), members_of(FORCED_GAMES + i)))
        .collect();
    let start = start_all(api, &due_games, FORCED_GAMES).await?;
    let due = due_together(api, &due_members, arrivals, start.all_running).await?;
    let all_forced = force_all(api, &due_members, &due.turns, arrivals, due.minute).await?;
    Ok(Figures {
        forced,
        orders,
        due,
        all_forced,
    })
}

/// Run 1's samples, each sorted, in milliseconds.
struct Forced {
    answered: Vec<f64>,
    first_push: Vec<f64>,
    all_pushes: Vec<f64>,
    engine: Vec<f64>,
    overhead: Vec<f64>,
}

async fn forced_turns(
    api: &Api,
    games: &[(String, Uuid)],
    arrivals: &Arrivals,
) -> anyhow::Result<Forced> {
    let mut answered = Vec::new();
    let mut first_push = Vec::new();
    let mut all_pushes = Vec::new();
    // (game, turn) → total ms until all members' pushes.
    let mut samples: Vec<(String, i64, f64)> = Vec::new();
    let mut turn: HashMap<&str, i64> = games.iter().map(|(g, _)| (g.as_str(), 0)).collect();
    for _ in 0..FORCED_ROUNDS {
        for (i, (game, _)) in games.iter().enumerate() {
            let from = turn[game.as_str()];
            let sent = Instant::now();
            let (status, body) = api
                .admin_post(&format!("/runtimes/{game}/force-next-turn"))
                .await?;
            let answer = sent.elapsed();
            ensure!(
                (200..300).contains(&status),
                "force-next-turn of {game} answered {status}: {body}"
            );
            let got = arrivals.wait_turn(game, from + 1, members_of(i)).await?;
            let first = got.iter().min().expect("pushes").duration_since(sent);
            let last = got.iter().max().expect("pushes").duration_since(sent);
            answered.push(ms(answer));
            first_push.push(ms(first));
            all_pushes.push(ms(last));
            samples.push((game.clone(), from, ms(last)));
            turn.insert(game, from + 1);
        }
    }
    let mut engine_ms: HashMap<(String, i64), f64> = HashMap::new();
    for (game, _) in games {
        let ops = api
            .admin_get(&format!("/runtimes/{game}/operations"))
            .await?;
        for op in ops["items"].as_array().into_iter().flatten() {
            if op["op"] == "turn"
                && let Some((from, took)) = op["outcome"].as_str().and_then(turn_outcome)
            {
                engine_ms.insert((game.clone(), from), took);
            }
        }
    }
    let mut engine = Vec::new();
    let mut overhead = Vec::new();
    for (game, from, total) in samples {
        let took = *engine_ms
            .get(&(game.clone(), from))
            .with_context(|| format!("no `turn` operation of {game} from turn {from}"))?;
        engine.push(took);
        overhead.push(total - took);
    }
    for v in [
        &mut answered,
        &mut first_push,
        &mut all_pushes,
        &mut engine,
        &mut overhead,
    ] {
        v.sort_by(f64::total_cmp);
    }
    Ok(Forced {
        answered,
        first_push,
        all_pushes,
        engine,
        overhead,
    })
}

/// `"turn 3 → 4 in 12 ms"` → `(3, 12.0)`.
fn turn_outcome(text: &str) -> Option<(i64, f64)> {
    let rest = text.strip_prefix("turn ")?;
    let (from, rest) = rest.split_once(' ')?;
    let (_, took) = rest.rsplit_once(" in ")?;
    let took = took.strip_suffix(" ms")?;
    Some((from.parse().ok()?, took.parse().ok()?))
}

/// Run 2's samples, each sorted, in milliseconds.
struct Orders {
    backend: Vec<f64>,
    engine: Vec<f64>,
    bytes: usize,
}

async fn order_submits(
    api: &Api,
    (game, owner): &(String, Uuid),
    base_url: &str,
) -> anyhow::Result<Orders> {
    let status = api
        .user_get(*owner, &format!("/games/{game}/status"))
        .await?;
    let race = status["race"]
        .as_str()
        .context("the play status names the race")?
        .to_owned();
    let orders = json!([
        { "id": "a1", "order": { "kind": "produce", "planet": "#1", "product": "drive" } },
        { "id": "a2", "order": { "kind": "set_option", "option": "BattleProtocol" } },
        { "id": "a3", "order": { "kind": "send", "unit": { "group": "max" }, "planet": "#2", "ships": 0 } },
    ]);
    let turn = &status["turn"];
    let via_backend = serde_json::to_vec(&json!({ "turn": turn, "orders": orders }))?;
    let direct = serde_json::to_vec(&json!({ "race": race, "turn": turn, "orders": orders }))?;
    let to_backend = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let to_engine = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let backend_url = format!("{}/user/games/{game}/orders", api.base());
    let engine_url = format!("{base_url}/api/v1/order");
    let mut backend = Vec::with_capacity(ORDER_SAMPLES);
    let mut engine = Vec::with_capacity(ORDER_SAMPLES);
    for i in 0..ORDER_WARMUP + ORDER_SAMPLES {
        let sent = Instant::now();
        let r = to_backend
            .put(&backend_url)
            .header("X-User-ID", owner.to_string())
            .header("X-Forwarded-For", "192.0.2.1")
            .header("content-type", "application/json")
            .body(via_backend.clone())
            .send()
            .await?;
        let status = r.status();
        let body = r.bytes().await?;
        let took_backend = sent.elapsed();
        ensure!(
            status.is_success(),
            "PUT {backend_url} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        let sent = Instant::now();
        let r = to_engine
            .put(&engine_url)
            .header("content-type", "application/json")
            .body(direct.clone())
            .send()
            .await?;
        let status = r.status();
        let body = r.bytes().await?;
        let took_engine = sent.elapsed();
        ensure!(
            status.is_success(),
            "PUT {engine_url} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if i >= ORDER_WARMUP {
            backend.push(ms(took_backend));
            engine.push(ms(took_engine));
        }
    }
    backend.sort_by(f64::total_cmp);
    engine.sort_by(f64::total_cmp);
    Ok(Orders {
        backend,
        engine,
        bytes: via_backend.len(),
    })
}

/// Run 3: the whole minute every game was due at.
struct Due {
    /// The minute, and the same instant on the monotonic clock.
    minute: Instant,
    waited: Duration,
    start_all_running: Duration,
    /// Per game, the minute until its first / last member's push (sorted).
    first: Vec<f64>,
    last: Vec<f64>,
    missing: usize,
    /// The engine's own turn time per game (sorted, ms).
    engine: Vec<f64>,
    /// Each game's turn after the minute.
    turns: HashMap<String, i64>,
}

async fn due_together(
    api: &Api,
    expected: &HashMap<String, usize>,
    arrivals: &Arrivals,
    start_all_running: Duration,
) -> anyhow::Result<Due> {
    // The next whole minute with some margin: every game started before
    // it, and one started just before the previous minute has ticked then.
    let wall = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let mono = Instant::now();
    let mut next = Duration::from_secs((wall.as_secs() / 60 + 1) * 60);
    if next - wall < Duration::from_secs(5) {
        next += Duration::from_secs(60);
    }
    let minute = mono + (next - wall);
    let waited = next - wall;
    tokio::time::sleep_until(minute.into()).await;
    // Each game's turn at the minute is one past its latest turn before it.
    let before = arrivals.snapshot();
    let mut turns: HashMap<String, i64> = expected.keys().map(|g| (g.clone(), 1)).collect();
    for a in before.iter().filter(|a| a.at < minute) {
        if let Some(t) = turns.get_mut(&a.game_id) {
            *t = (*t).max(a.turn + 1);
        }
    }
    let found = arrivals.wait_all(expected, &turns, PUSH_BUDGET).await;
    let mut first = Vec::new();
    let mut last = Vec::new();
    let mut missing = 0;
    for (game, n) in expected {
        match found.get(game) {
            Some(got) if got.len() >= *n => {
                first.push(ms(got.iter().min().expect("pushes").duration_since(minute)));
                last.push(ms(got.iter().max().expect("pushes").duration_since(minute)));
            }
            _ => missing += 1,
        }
    }
    first.sort_by(f64::total_cmp);
    last.sort_by(f64::total_cmp);
    let mut engine = Vec::new();
    for game in expected.keys() {
        let ops = api
            .admin_get(&format!("/runtimes/{game}/operations"))
            .await?;
        let from = turns[game] - 1;
        if let Some(took) = ops["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|op| op["op"] == "turn")
            .filter_map(|op| op["outcome"].as_str().and_then(turn_outcome))
            .find_map(|(f, took)| (f == from).then_some(took))
        {
            engine.push(took);
        }
    }
    engine.sort_by(f64::total_cmp);
    Ok(Due {
        minute,
        waited,
        start_all_running,
        first,
        last,
        missing,
        engine,
        turns,
    })
}

/// Run 3b: all forced at once.
struct AllForced {
    requests: Duration,
    last: Vec<f64>,
    missing: usize,
}

async fn force_all(
    api: &Api,
    expected: &HashMap<String, usize>,
    turns: &HashMap<String, i64>,
    arrivals: &Arrivals,
    minute: Instant,
) -> anyhow::Result<Option<AllForced>> {
    if minute.elapsed() > Duration::from_secs(60) - QUIET_NEEDED {
        return Ok(None);
    }
    let sent = Instant::now();
    let requests = expected.keys().map(|game| {
        let api = api.clone();
        let game = game.clone();
        async move {
            let (status, body) = api
                .admin_post(&format!("/runtimes/{game}/force-next-turn"))
                .await?;
            ensure!(
                (200..300).contains(&status),
                "force-next-turn of {game} answered {status}: {body}"
            );
            Ok(())
        }
    });
    let handles: Vec<_> = requests.map(tokio::spawn).collect();
    for h in handles {
        h.await??;
    }
    let requests = sent.elapsed();
    let next: HashMap<String, i64> = turns.iter().map(|(g, t)| (g.clone(), t + 1)).collect();
    let found = arrivals.wait_all(expected, &next, PUSH_BUDGET).await;
    let mut last = Vec::new();
    let mut missing = 0;
    for (game, n) in expected {
        match found.get(game) {
            Some(got) if got.len() >= *n => {
                last.push(ms(got.iter().max().expect("pushes").duration_since(sent)));
            }
            _ => missing += 1,
        }
    }
    last.sort_by(f64::total_cmp);
    Ok(Some(AllForced {
        requests,
        last,
        missing,
    }))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(name: &str, sorted: &[f64]) {
    println!(
        "{:<62} {:>9.2} {:>9.2} {:>9.2}",
        name,
        pct(sorted, 0.5).unwrap_or(f64::NAN),
        pct(sorted, 0.99).unwrap_or(f64::NAN),
        sorted.last().copied().unwrap_or(f64::NAN)
    );
}

fn header(title: &str) {
    println!("\n{title}");
    println!("{:<62} {:>9} {:>9} {:>9}", "", "p50 ms", "p99 ms", "max ms");
}

fn print_figures(f: &Figures, engine_bin: &std::path::Path) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "\n== turns: process driver, {cores} cores, engine {}; one gateway stream reads game.turn.ready ==",
        engine_bin.display()
    );
    let r = &f.forced;
    header(&format!(
        "1. cut-off -> game.turn.ready: {FORCED_GAMES} games x {FORCED_ROUNDS} rounds, one forced turn at a time ({} turns)",
        r.all_pushes.len()
    ));
    row("force-next-turn request answered", &r.answered);
    row("force request sent -> first member's push", &r.first_push);
    row("force request sent -> every member's push", &r.all_pushes);
    row("  the engine's own turn (op log, whole ms)", &r.engine);
    row(
        "  overhead: every member's push - engine turn (target < 100)",
        &r.overhead,
    );

    let o = &f.orders;
    header(&format!(
        "2. order submit, 3 typed orders ({} B), {} each, interleaved, one at a time, keep-alive",
        o.bytes,
        o.backend.len()
    ));
    row(
        "PUT /api/v1/user/games/{id}/orders (backend -> engine)",
        &o.backend,
    );
    row("PUT {base_url}/api/v1/order (engine directly)", &o.engine);
    let p50 = pct(&o.backend, 0.5).unwrap_or(f64::NAN) - pct(&o.engine, 0.5).unwrap_or(f64::NAN);
    let p99 = pct(&o.backend, 0.99).unwrap_or(f64::NAN) - pct(&o.engine, 0.99).unwrap_or(f64::NAN);
    println!(
        "{:<62} {:>9.3} {:>9.3}",
        "  backend overhead (target p50 < 1)", p50, p99
    );

    let d = &f.due;
    header(&format!(
        "3. {DUE_GAMES} games (2-3 races), cron \"* * * * *\": all due at the same whole minute"
    ));
    println!(
        "{:<62} {:>9.2} s",
        format!("  (all {DUE_GAMES} started in; then waited for the minute)"),
        d.start_all_running.as_secs_f64()
    );
    println!(
        "{:<62} {:>9.2} s",
        "  waited for the minute",
        d.waited.as_secs_f64()
    );
    row("the minute -> a game's first member's push", &d.first);
    row("the minute -> a game's every member's push", &d.last);
    row("  the engine's own turn per game (op log)", &d.engine);
    println!(
        "{:<62} {:>9.2} ms{}",
        "the minute -> the last game.turn.ready of all",
        d.last.last().copied().unwrap_or(f64::NAN),
        if d.missing > 0 {
            format!("  ({} games without their pushes!)", d.missing)
        } else {
            String::new()
        }
    );
    match &f.all_forced {
        Some(a) => {
            println!(
                "{:<62} {:>9.2} ms",
                format!("all {DUE_GAMES} forced at once: the {DUE_GAMES} force requests"),
                ms(a.requests)
            );
            row(
                "  first force request -> a game's every member's push",
                &a.last,
            );
            println!(
                "{:<62} {:>9.2} ms{}",
                "  first force request -> the last game.turn.ready of all",
                a.last.last().copied().unwrap_or(f64::NAN),
                if a.missing > 0 {
                    format!("  ({} games without their pushes!)", a.missing)
                } else {
                    String::new()
                }
            );
        }
        None => println!("all forced at once: skipped (too close to the next whole minute)"),
    }
}
