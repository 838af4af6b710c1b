//! Combat: where battles happen, rounds with a random firing order across
//! all sides, random targets, `p_kill`, and the draw / win end conditions.

use crate::game::{Battle, BattleGroup, Game, PlanetId, RaceId};
use crate::group::{Location, location};
use crate::ship::p_kill;
use std::collections::BTreeMap;

/// A safety bound on rounds; a battle that is not a draw ends long before.
const MAX_ROUNDS: u32 = 10_000;

struct Fighter {
    idx: usize,
    owner: RaceId,
    attacks: u32,
    attack: f64,
    defence: f64,
    alive: u32,
    unfired: u32,
}

/// Runs every battle of a fight phase, removes destroyed ships and returns
/// the battles.
pub fn fight(game: &mut Game, phase: u8) -> Vec<Battle> {
    // Groups by the planet they are at (groups sent this turn are still at
    // their origin).
    let mut by_planet: BTreeMap<PlanetId, Vec<usize>> = BTreeMap::new();
    for (i, g) in game.groups.iter().enumerate() {
        if g.ships == 0 {
            continue;
        }
        if let Location::At(p) = location(game, g) {
            by_planet.entry(p).or_default().push(i);
        }
    }
    let mut battles = Vec::new();
    for (pid, idxs) in by_planet {
        if let Some(b) = battle_at(game, pid, &idxs, phase) {
            battles.push(b);
        }
    }
    game.groups.retain(|g| g.ships > 0);
    battles
}

fn battle_at(game: &mut Game, pid: PlanetId, idxs: &[usize], phase: u8) -> Option<Battle> {
    let mut races: Vec<RaceId> = idxs.iter().map(|&i| game.groups[i].owner).collect();
    races.sort();
    races.dedup();
    if races.len() < 2 {
        return None;
    }
    let armed = |r: RaceId| {
        idxs.iter()
            .any(|&i| game.groups[i].owner == r && game.group_type(&game.groups[i]).armed())
    };
    // Enemies: at war either way (a side always shoots back).
    let enemy = |a: RaceId, b: RaceId| game.at_war(a, b) || game.at_war(b, a);
    let starts = races
        .iter()
        .any(|&a| armed(a) && races.iter().any(|&b| game.at_war(a, b)));
    if !starts {
        return None;
    }
    // Races involved: those with an enemy present.
    let involved: Vec<RaceId> = races
        .iter()
        .copied()
        .filter(|&a| races.iter().any(|&b| enemy(a, b)))
        .collect();
    let mut fighters: Vec<Fighter> = idxs
        .iter()
        .filter(|&&i| involved.contains(&game.groups[i].owner))
        .map(|&i| {
            let g = &game.groups[i];
            let st = game.group_type(g);
            Fighter {
                idx: i,
                owner: g.owner,
                attacks: if st.armed() { st.attacks } else { 0 },
                attack: st.attack(&g.tech),
                defence: st.defence(&g.tech, g.load),
                alive: g.ships,
                unfired: 0,
            }
        })
        .collect();
    let n = involved.len();
    let pos = |r: RaceId| involved.iter().position(|&x| x == r).unwrap_or(0);
    let mut hostile = vec![vec![false; n]; n];
    for (a, &ra) in involved.iter().enumerate() {
        for (b, &rb) in involved.iter().enumerate() {
            hostile[a][b] = enemy(ra, rb);
        }
    }
    let before: Vec<u32> = fighters.iter().map(|f| f.alive).collect();
    let mut rounds = 0;
    let mut shots = 0u32;
    while rounds < MAX_ROUNDS && !finished(&fighters, &hostile, &pos) {
        rounds += 1;
        let mut order: Vec<usize> = Vec::new();
        for (fi, f) in fighters.iter_mut().enumerate() {
            f.unfired = f.alive;
            if f.attacks > 0 {
                order.extend(std::iter::repeat_n(fi, f.alive as usize));
            }
        }
        game.rng.shuffle(&mut order);
        for fi in order {
            if fighters[fi].unfired == 0 {
                continue; // destroyed before its turn
            }
            fighters[fi].unfired -= 1;
            let me = pos(fighters[fi].owner);
            for _ in 0..fighters[fi].attacks {
                let targets: u64 = fighters
                    .iter()
                    .filter(|t| hostile[me][pos(t.owner)])
                    .map(|t| t.alive as u64)
                    .sum();
                if targets == 0 {
                    break;
                }
                let mut k = game.rng.below(targets);
                let mut ti = 0;
                for (j, t) in fighters.iter().enumerate() {
                    if !hostile[me][pos(t.owner)] {
                        continue;
                    }
                    if k < t.alive as u64 {
                        ti = j;
                        break;
                    }
                    k -= t.alive as u64;
                }
                shots += 1;
                let (a, d) = (fighters[fi].attack, fighters[ti].defence);
                let killed = d <= 0.0 || {
                    let u = game.rng.range(-1.0, 1.0);
                    a / d > 4f64.powf(u)
                };
                if killed {
                    let t = &mut fighters[ti];
                    // The victim is a uniformly random ship of the group:
                    // it may or may not have fired already this round.
                    if t.unfired > 0 && game.rng.below(t.alive as u64) < t.unfired as u64 {
                        t.unfired -= 1;
                    }
                    t.alive -= 1;
                }
            }
        }
    }
    let mut groups = Vec::new();
    for (f, b) in fighters.iter().zip(before) {
        let g = &mut game.groups[f.idx];
        groups.push(BattleGroup {
            owner: g.owner,
            ship_type: g.ship_type.clone(),
            tech: g.tech,
            before: b,
            after: f.alive,
        });
        game.log.ships_destroyed += (b - f.alive) as u64;
        g.ships = f.alive;
    }
    Some(Battle {
        planet: pid,
        phase,
        races: involved,
        groups,
        rounds,
        shots,
    })
}

/// Whether a battle is over: no armed ship has a living enemy, or a draw
/// (for every side and enemy, `E.minDefence/4 ≥ S.maxAttack`).
fn finished(fighters: &[Fighter], hostile: &[Vec<bool>], pos: &dyn Fn(RaceId) -> usize) -> bool {
    let mut any_target = false;
    for s in fighters.iter().filter(|f| f.alive > 0 && f.attacks > 0) {
        for e in fighters.iter().filter(|f| f.alive > 0) {
            if hostile[pos(s.owner)][pos(e.owner)] {
                any_target = true;
                // p_kill > 0 exactly when attack/defence > 1/4.
                if p_kill(s.attack, e.defence) > 0.0 {
                    return false;
                }
            }
        }
    }
    let _ = any_target;
    true
}
