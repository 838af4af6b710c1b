//! The turn sequence, in the code's order: orders in three phases, merge,
//! Fight I and Bomb I, routes, fleets and intercepts, movement, Fight II and
//! Bomb II, production, unloading, idle drop. Also obliteration.

use crate::bombing::bomb;
use crate::cargo;
use crate::combat::fight;
use crate::fleet::fleet_phase;
use crate::game::{Game, Message, PlanetId, RaceId, TurnLog};
use crate::group::{self, Location, find_group, location, merge, moving_speed};
use crate::order::{OrderContext, RaceOrders, run_phase, send};
use crate::production::{produce_goods, research_and_grow};
use galaxy_model::order::{Cargo, Product, RouteCargo};
use std::collections::BTreeMap;

/// Runs one turn: `game.turn` advances by one. `orders` maps race keys to
/// their order sets; unknown keys are ignored.
pub fn run_turn(game: &mut Game, orders: &BTreeMap<String, RaceOrders>) {
    // 1. turn += 1
    game.turn += 1;
    game.log = TurnLog {
        messages: std::mem::take(&mut game.outbox),
        ..TurnLog::default()
    };
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
    crate::sort::sort_phase(game);
    // 12. idle races
    drop_idle(game);
}

/// Whether group `g` of the planet's owner takes part in the route phase at
/// planet `pid` (GalaxyNG's `loadphase`): at rest there, cargo-capable,
/// with a drive, not in a fleet (nor about to intercept).
fn route_candidate(game: &Game, g: &crate::game::Group, owner: RaceId, pid: PlanetId) -> bool {
    g.owner == owner
        && g.ships > 0
        && g.dist == 0.0
        && g.to == pid
        && g.fleet.is_none()
        && g.intercept.is_none()
        && game.group_type(g).capacity(g.tech.cargo) > 0.0
        && group::speed(game, g) > 0.0
}

fn is_empty(g: &crate::game::Group) -> bool {
    g.cargo.is_none() || g.load <= 0.0
}

/// The route phase: per owned planet with routes, in the order COL, CAP,
/// MAT, EMP, the owner's idle cargo groups there load the stockpile (empty
/// ones) and every group carrying the route's cargo is sent, whatever it
/// carries already; on EMP the empty ones are sent.
fn route_dispatch(game: &mut Game) {
    for pi in 0..game.planets.len() {
        let pid = PlanetId(pi);
        let Some(owner) = game.planets[pi].owner else {
            continue;
        };
        for kind in RouteCargo::ALL {
            let Some(&dest) = game.planets[pi].routes.get(&kind) else {
                continue;
            };
            // New groups split off while loading get higher numbers and are
            // looked at too (they stay empty: the stock went to the loader).
            let mut number = 0;
            while let Some(idx) = next_route_group(game, owner, pid, number) {
                number = game.groups[idx].number;
                match kind.cargo() {
                    None if is_empty(&game.groups[idx]) => send(game, idx, dest),
                    None => {}
                    Some(c) => {
                        if is_empty(&game.groups[idx]) {
                            load_for_route(game, idx, pid, c);
                        }
                        if let Some(i) = find_group(game, owner, number)
                            && game.groups[i].cargo == Some(c)
                            && game.groups[i].load > 0.0
                        {
                            send(game, i, dest);
                        }
                    }
                }
            }
        }
    }
}

/// The race's next route candidate at `pid` numbered above `after`.
fn next_route_group(game: &Game, owner: RaceId, pid: PlanetId, after: u32) -> Option<usize> {
    let start = game
        .groups
        .partition_point(|g| (g.owner, g.number) <= (owner, after));
    (start..game.groups.len())
        .take_while(|&i| game.groups[i].owner == owner)
        .find(|&i| route_candidate(game, &game.groups[i], owner, pid))
}

/// Loads an empty route group with as much of the stockpile as it can
/// carry; whole ships left unused are split off into a new group that stays
/// (GalaxyNG loads any stock above zero).
fn load_for_route(game: &mut Game, idx: usize, pid: PlanetId, c: Cargo) {
    let p = &game.planets[pid.0];
    let stock = match c {
        Cargo::Cap => p.cap,
        Cargo::Mat => p.mat,
        Cargo::Col => p.col,
    };
    let g = &game.groups[idx];
    let space = game.group_type(g).capacity(g.tech.cargo);
    if stock <= 0.0 || space <= 0.0 {
        return;
    }
    let (owner, number, ships) = (g.owner, g.number, g.ships);
    let qty = stock.min(ships as f64 * space);
    let unused = ((ships as f64 * space - qty) / space).floor() as u32;
    if unused > 0 && unused < ships {
        // The split-off ships stay; the original number carries the load.
        let _ = group::split(game, idx, unused);
    }
    let Some(i) = find_group(game, owner, number) else {
        return;
    };
    let p = &mut game.planets[pid.0];
    match c {
        Cargo::Cap => p.cap -= qty,
        Cargo::Mat => p.mat -= qty,
        Cargo::Col => p.col -= qty,
    }
    let g = &mut game.groups[i];
    g.cargo = Some(c);
    g.load = qty / g.ships as f64;
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
            }
        }
    }
}

fn unload_phase(game: &mut Game) {
    auto_unload(game);
    route_unload(game);
}

/// AutoUnload (GalaxyNG's `unloadphase`): every loaded group at rest of a
/// race with the option on unloads all its cargo at an own or unowned
/// planet, whatever the cargo and however it got there.
fn auto_unload(game: &mut Game) {
    for i in 0..game.groups.len() {
        let g = &game.groups[i];
        let (Some(c), Some(p)) = (g.cargo, group::at_rest(g)) else {
            continue;
        };
        let owner = game.planets[p.0].owner;
        if g.ships > 0
            && g.load > 0.0
            && game.races[g.owner.0].auto_unload
            && owner.is_none_or(|o| o == g.owner)
        {
            unload_all(game, i, p, c);
        }
    }
}

/// Route unloading (GalaxyNG's `unloadphase`): per planet the race owns,
/// for each of its CAP, MAT and COL routes, the race's groups at rest at
/// the destination carrying that cargo unload it all, whoever owns the
/// destination.
fn route_unload(game: &mut Game) {
    for pi in 0..game.planets.len() {
        let Some(owner) = game.planets[pi].owner else {
            continue;
        };
        for c in [Cargo::Cap, Cargo::Mat, Cargo::Col] {
            let kind = match c {
                Cargo::Cap => RouteCargo::Cap,
                Cargo::Mat => RouteCargo::Mat,
                Cargo::Col => RouteCargo::Col,
            };
            let Some(&dest) = game.planets[pi].routes.get(&kind) else {
                continue;
            };
            for i in 0..game.groups.len() {
                let g = &game.groups[i];
                if g.owner == owner
                    && g.ships > 0
                    && g.cargo == Some(c)
                    && g.load > 0.0
                    && group::at_rest(g) == Some(dest)
                {
                    unload_all(game, i, dest, c);
                }
            }
        }
    }
}

/// Puts a group's whole load onto planet `p` and empties the group.
fn unload_all(game: &mut Game, i: usize, p: PlanetId, c: Cargo) {
    let g = &mut game.groups[i];
    let total = g.load * g.ships as f64;
    let owner = g.owner;
    g.load = 0.0;
    g.cargo = None;
    cargo::deliver(game, owner, p, c, total);
}

fn drop_idle(game: &mut Game) {
    if !game.settings.drop_idle {
        return;
    }
    let limit = if game.turn < 12 { 2 } else { 5 };
    warn_idle(game, limit);
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

/// Warns each race that sent no orders this turn, in its report, before
/// the idle rule drops it (GalaxyNG's `removeDeadPlayer`): how many more
/// idle turns it has, or that the next idle turn is its last.
fn warn_idle(game: &mut Game, limit: u32) {
    for (i, race) in game.races.iter().enumerate() {
        if race.dead || race.idle_turns == 0 || race.idle_turns > limit {
            continue;
        }
        let left = limit - race.idle_turns;
        let text = if left == 0 {
            "*** WARNING: you sent no orders this turn. If you send none for the next \
             turn either, you forfeit your position in the game."
                .to_string()
        } else {
            format!(
                "*** NOTE: you sent no orders this turn. You may stay idle {left} more \
                 turn{} before you forfeit your position.",
                if left == 1 { "" } else { "s" }
            )
        };
        game.log.messages.push(Message {
            from: None,
            to: Some(vec![RaceId(i)]),
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
