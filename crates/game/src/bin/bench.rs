//! `galaxy-game-bench`: engine turn time on a default galaxy of 30 races
//! played by the built-in bot for 100 turns. Prints the median and maximum
//! turn time (rules plus building every race's report) and the peak RSS.
//!
//! Usage: `galaxy-game-bench [races] [turns] [seed]` (defaults 30 100 1).

use galaxy_game::bot;
use galaxy_game::engine::Engine;
use galaxy_model::api::{GameSettings, InitRace, InitRequest};
use std::time::Instant;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let races: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(30);
    let turns: u32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(100);
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let mut engine = Engine::init(&InitRequest {
        game_id: "bench".into(),
        seed,
        settings: GameSettings::default(),
        races: (0..races)
            .map(|i| InitRace {
                name: format!("Race{i}"),
            })
            .collect(),
    })?;
    let mut times = Vec::with_capacity(turns as usize);
    let (mut battles, mut bombings) = (0usize, 0usize);
    for _ in 0..turns {
        engine.pending = bot::all_orders(&engine.game);
        let t = Instant::now();
        engine.run_turn();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        battles += engine.game.log.battles.len();
        bombings += engine.game.log.bombings.len();
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = if sorted.is_empty() {
        0.0
    } else {
        sorted[sorted.len() / 2]
    };
    let max = sorted.last().copied().unwrap_or(0.0);
    println!(
        "engine turn time: {races} races, galaxy {} with {} planets, {turns} turns",
        engine.game.size,
        engine.game.planets.len()
    );
    println!("  median {median:.2} ms, max {max:.2} ms (target: median < 100 ms)");
    println!(
        "  final: {} groups, {} ships; {battles} battles, {bombings} bombings",
        engine.game.groups.len(),
        engine.game.total_ships()
    );
    let t = Instant::now();
    let state = serde_json::to_vec(&engine.game)?;
    let reports = serde_json::to_vec(&engine.reports)?;
    println!(
        "  stored per turn: state {:.0} KiB, reports {:.0} KiB (serialised in {:.1} ms)",
        state.len() as f64 / 1024.0,
        reports.len() as f64 / 1024.0,
        t.elapsed().as_secs_f64() * 1000.0
    );
    match peak_rss_kib() {
        Some(k) => println!("  peak RSS {:.1} MiB", k as f64 / 1024.0),
        None => println!("  peak RSS unavailable"),
    }
    Ok(())
}
