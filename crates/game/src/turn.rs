//! The turn sequence, in the code's order: orders in three phases, merge,
//! Fight I and Bomb I, routes, fleets and intercepts, movement, Fight II and
//! Bomb II, production, unloading, idle drop. Also obliteration.

use crate::bombing::bomb;
use crate::cargo::{self, AMOUNTMIN};
use crate::combat::fight;
use crate::fleet::fleet_phase;
use crate::game::{Game, Message, PlanetId, RaceId, TurnLog};
use crate::group::{self, Location, find_group, location, merge, moving_speed};
use crate::order::{OrderContext, RaceOrders, run_phase, send};
use crate::production::{produce_goods, research_and_grow};
use galaxy_model::order::{Cargo, Product, RouteCargo};
use std::collections::{BTreeMap, BTreeSet};

/// Runs one turn: `game.turn` advances by one. `orders` maps race keys to
/// their order sets; unknown keys are ignored.
pub fn run_turn(game: &mut Game, orders: &BTreeMap<String, RaceOrders>) {
    // 1. turn += 1
    game.turn += 1;
    game.log = TurnLog {
        messages: std::mem::take(&mut game.outbox),
        ..TurnLog::default()
    };
    for g in &mut game.groups {
        g.arrived = false;
    }
    let mut mistakes = BTreeMap::new();
    let mut sets: Vec<(RaceId, Vec<galaxy_model::OrderLine>)> = Vec::new();
    for (i, race) in game.races.iter_mut().enumerate() {
        if race.dead {
            continue;
        }
        let rid = RaceId(i);
        match orders.get(&race.key) {
            Some(o) => {
                race.idle_turns = 0;
                game.log
                    .orders
                    .insert(rid, o.lines.iter().map(|l| l.order.to_text()).collect());
                if !o.mistakes.is_empty() {
                    mistakes.insert(rid, o.mistakes.clone());
                }
                sets.push((rid, o.lines.clone()));
            }
            None => race.idle_turns += 1,
        }
    }
    // 2.–4. order phases
    let mut ctx = OrderContext::default();
    for phase in 1..=3 {
        run_phase(game, &mut ctx, &sets, phase, &mut mistakes);
    }
    game.log.mistakes = mistakes;
    // 5. merge
    merge(game);
    // 6. Fight I, Bomb I
    let b = fight(game, 1);
    game.log.battles.extend(b);
    let b = bomb(game, &ctx.claims);
    game.log.bombings.extend(b);
    // 7. routes, fleets, intercepts
    route_dispatch(game);
    fleet_phase(game);
    intercepts(game);
    // 8. move
    move_groups(game);
    // 9. merge, Fight II, Bomb II
    merge(game);
    let b = fight(game, 2);
    game.log.battles.extend(b);
    let b = bomb(game, &ctx.claims);
    game.log.bombings.extend(b);
    // 10. production
    produce_goods(game);
    research_and_grow(game);
    // 11. unload, merge, fleets
    unload_phase(game);
    merge(game);
    fleet_phase(game);
    // 12. idle races
    drop_idle(game);
}

/// Whether a group is idle at planet `pid` for the route phase.
fn route_candidate(game: &Game, g: &crate::game::Group, owner: RaceId, pid: PlanetId) -> bool {
    g.owner == owner
        && g.dist == 0.0
        && g.to == pid
        && g.fleet.is_none()
        && g.intercept.is_none()
        && (g.cargo.is_none() || g.load <= 0.0)
        && game.group_type(g).capacity(g.tech.cargo) > 0.0
        && group::speed(game, g) > 0.0
}

fn route_dispatch(game: &mut Game) {
    for pi in 0..game.planets.len() {
        let pid = PlanetId(pi);
        let Some(owner) = game.planets[pi].owner else {
            continue;
        };
        if game.planets[pi].routes.is_empty() {
            continue;
        }
        for kind in RouteCargo::ALL {
            let Some(&dest) = game.planets[pi].routes.get(&kind) else {
                continue;
            };
            let numbers: Vec<u32> = group::race_groups(game, owner)
                .iter()
                .filter(|g| route_candidate(game, g, owner, pid))
                .map(|g| g.number)
                .collect();
            for number in numbers {
                let Some(idx) = find_group(game, owner, number) else {
                    continue;
                };
                match kind.cargo() {
                    None => send(game, idx, dest),
                    Some(c) => {
                        if !load_for_route(game, idx, pid, c) {
                            break;
                        }
                        if let Some(idx) = find_group(game, owner, number) {
                            send(game, idx, dest);
                        }
                    }
                }
            }
        }
    }
}

/// Loads a route group with as much of the stockpile as it can carry,
/// splitting off whole unused ships. Returns false when the stock is gone.
fn load_for_route(game: &mut Game, idx: usize, pid: PlanetId, c: Cargo) -> bool {
    let p = &game.planets[pid.0];
    let stock = match c {
        Cargo::Cap => p.cap,
        Cargo::Mat => p.mat,
        Cargo::Col => p.col,
    };
    let g = &game.groups[idx];
    let cap = game.group_type(g).capacity(g.tech.cargo);
    if stock < AMOUNTMIN || cap <= 0.0 {
        return false;
    }
    let needed = ((stock / cap).ceil() as u64).max(1);
    if needed < g.ships as u64 {
        let spare = g.ships - needed as u32;
        let owner = g.owner;
        let number = g.number;
        // The split-off ships stay; the original number carries the load.
        let _ = group::split(game, idx, spare);
        let Some(i) = find_group(game, owner, number) else {
            return false;
        };
        return cargo::load(game, i, pid, c, None).is_ok();
    }
    cargo::load(game, idx, pid, c, None).is_ok()
}

fn intercepts(game: &mut Game) {
    let watchers: Vec<(RaceId, u32)> = game
        .groups
        .iter()
        .filter(|g| g.intercept.is_some())
        .map(|g| (g.owner, g.number))
        .collect();
    for (owner, number) in watchers {
        let Some(i) = find_group(game, owner, number) else {
            continue;
        };
        let Some(target) = game.groups[i].intercept else {
            continue;
        };
        let Location::At(here) = location(game, &game.groups[i]) else {
            game.groups[i].intercept = None;
            continue;
        };
        let reach = 2.0 * moving_speed(game, &game.groups[i]);
        let mut mass: BTreeMap<PlanetId, f64> = BTreeMap::new();
        for g in &game.groups {
            let leaving = g.owner != owner
                && g.from == target
                && g.dist > 0.0
                && g.dist == game.distance(g.from, g.to);
            if leaving {
                let st = game.group_type(g);
                *mass.entry(g.to).or_default() +=
                    st.ship_mass(g.load, g.tech.cargo) * g.ships as f64;
            }
        }
        let best = mass
            .iter()
            .filter(|(d, _)| game.distance(here, **d) < reach)
            .fold(None::<(PlanetId, f64)>, |acc, (d, m)| match acc {
                Some((_, bm)) if bm >= *m => acc,
                _ => Some((*d, *m)),
            });
        let dest = best.map(|(d, _)| d).unwrap_or(target);
        send(game, i, dest);
    }
}

fn move_groups(game: &mut Game) {
    // Fleet speeds once, not once per member group (that would be quadratic).
    let fleets = group::fleet_speeds(game);
    let speeds: Vec<f64> = game
        .groups
        .iter()
        .map(|g| match (&g.fleet, g.dist > 0.0) {
            (_, false) => 0.0,
            (Some(f), true) => fleets.get(&(g.owner, f.as_str())).copied().unwrap_or(0.0),
            (None, true) => group::speed(game, g),
        })
        .collect();
    drop(fleets);
    for (g, s) in game.groups.iter_mut().zip(speeds) {
        if g.dist > 0.0 {
            g.dist -= s;
            if g.dist < 0.01 {
                g.dist = 0.0;
                g.from = g.to;
                g.arrived = true;
            }
        }
    }
}

fn unload_phase(game: &mut Game) {
    // AutoUnload: groups that arrived this turn.
    for i in 0..game.groups.len() {
        let g = &game.groups[i];
        let (Some(c), Some(p)) = (g.cargo, group::at_rest(g)) else {
            continue;
        };
        if g.arrived
            && g.load > 0.0
            && game.races[g.owner.0].auto_unload
            && cargo::may_unload(game, g.owner, p, c)
        {
            let _ = cargo::unload(game, i, p, None);
        }
    }
    // Route destinations.
    let mut dests: BTreeSet<(RaceId, Cargo, PlanetId)> = BTreeSet::new();
    for p in &game.planets {
        if let Some(o) = p.owner {
            for (k, d) in &p.routes {
                if let Some(c) = k.cargo() {
                    dests.insert((o, c, *d));
                }
            }
        }
    }
    for i in 0..game.groups.len() {
        let g = &game.groups[i];
        let (Some(c), Some(p)) = (g.cargo, group::at_rest(g)) else {
            continue;
        };
        if g.load > 0.0
            && dests.contains(&(g.owner, c, p))
            && cargo::may_unload(game, g.owner, p, c)
        {
            let _ = cargo::unload(game, i, p, None);
        }
    }
}

fn drop_idle(game: &mut Game) {
    if !game.settings.drop_idle {
        return;
    }
    let limit = if game.turn < 12 { 2 } else { 5 };
    let idle: Vec<RaceId> = game
        .races
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.dead && r.idle_turns > limit)
        .map(|(i, _)| RaceId(i))
        .collect();
    for r in idle {
        obliterate(game, r, "dropped for sending no orders");
        let text = format!(
            "{} was dropped for sending no orders.",
            game.races[r.0].name
        );
        game.log.messages.push(Message {
            from: None,
            to: None,
            text,
        });
    }
}

/// Obliterates a race: dead, groups deleted, planets emptied and unowned.
/// The global message is queued for the next reports by the caller.
pub fn obliterate(game: &mut Game, race: RaceId, _why: &str) {
    game.races[race.0].dead = true;
    let lost: u64 = game
        .groups
        .iter()
        .filter(|g| g.owner == race)
        .map(|g| g.ships as u64)
        .sum();
    game.log.ships_obliterated += lost;
    game.groups.retain(|g| g.owner != race);
    game.races[race.0].fleets.clear();
    for p in game.planets.iter_mut().filter(|p| p.owner == Some(race)) {
        p.owner = None;
        p.pop = 0.0;
        p.ind = 0.0;
        p.cap = 0.0;
        p.mat = 0.0;
        p.col = 0.0;
        p.inprogress = 0.0;
        p.spent = 0.0;
        p.product = Product::Cap;
        p.routes.clear();
    }
}

/// Banishes a race between turns (the platform's `banish`).
pub fn banish(game: &mut Game, race: RaceId) {
    obliterate(game, race, "banished");
    game.races[race.0].banished = true;
    let text = format!(
        "{} has been banished from the galaxy.",
        game.races[race.0].name
    );
    game.outbox.push(Message {
        from: None,
        to: None,
        text,
    });
}
