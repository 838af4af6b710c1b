//! Combat: where battles happen, rounds with a random firing order across
//! all sides, random targets, `p_kill`, and the draw / win end conditions.
//!
//! A battle runs, as in GalaxyNG, until it is a draw or won; there is no cap
//! on rounds. Stretches of rounds in which nobody can be expected to die
//! (a round's kill chance below [`QUIET_ROUND_CHANCE`]) are not fought shot
//! by shot: the number of rounds without a kill is drawn from its exact
//! (geometric) distribution and the round with the first kill is fought
//! conditioned on having one. The outcome has the same distribution as
//! fighting every round, and however small the kill chance a battle fights
//! on average at most 64 rounds shot by shot per ship lost.

use crate::game::{Battle, BattleGroup, Game, PROTOCOL_MAX_SHOTS, PlanetId, RaceId, Shot};
use crate::group::{Location, location};
use crate::rng::GameRng;
use crate::ship::p_kill;
use std::collections::BTreeMap;

/// Rounds whose chance of at least one kill is below this are skipped over
/// (see the module documentation); rounds at or above it are fought shot by
/// shot, so a battle fights at most about 64 rounds per kill one by one.
const QUIET_ROUND_CHANCE: f64 = 1.0 / 64.0;

struct Fighter {
    idx: usize,
    /// Index of the owner in the battle's `involved` races.
    side: usize,
    attacks: u32,
    attack: f64,
    defence: f64,
    alive: u32,
    unfired: u32,
}

/// The fighters of one battle and who is hostile to whom (by side).
struct Field {
    fighters: Vec<Fighter>,
    hostile: Vec<Vec<bool>>,
}

impl Field {
    fn hostile(&self, shooter: usize, target: usize) -> bool {
        self.hostile[self.fighters[shooter].side][self.fighters[target].side]
    }

    /// Living enemy ships `shooter` can aim at.
    fn targets(&self, shooter: usize) -> u64 {
        (0..self.fighters.len())
            .filter(|&t| self.hostile(shooter, t))
            .map(|t| self.fighters[t].alive as u64)
            .sum()
    }

    /// The chance that one gun of `shooter` kills, its target drawn
    /// uniformly among living enemy ships.
    fn gun_kill_chance(&self, shooter: usize) -> f64 {
        let total = self.targets(shooter);
        if total == 0 {
            return 0.0;
        }
        let s = &self.fighters[shooter];
        let weighted: f64 = (0..self.fighters.len())
            .filter(|&t| self.hostile(shooter, t))
            .map(|t| {
                let f = &self.fighters[t];
                f.alive as f64 * p_kill(s.attack, f.defence)
            })
            .sum();
        (weighted / total as f64).min(1.0)
    }

    /// Shots in a round without kills, and the log of the chance that none
    /// of them kills.
    fn quiet_round(&self) -> (u64, f64) {
        let mut shots = 0u64;
        let mut log_none = 0.0;
        for (i, f) in self.fighters.iter().enumerate() {
            if f.attacks == 0 || f.alive == 0 || self.targets(i) == 0 {
                continue;
            }
            let guns = f.alive as u64 * f.attacks as u64;
            shots = shots.saturating_add(guns);
            log_none += guns as f64 * (-self.gun_kill_chance(i)).ln_1p();
        }
        (shots, log_none)
    }
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

/// Whether race `a` fires on race `b` in a battle (GalaxyNG's
/// `allocEnemies`): `a` is at war with `b`, or `b` is at war with `a` and
/// has armed ships there (a side shoots back at an attacker that can
/// shoot).
fn hostile(game: &Game, idxs: &[usize], a: RaceId, b: RaceId) -> bool {
    game.at_war(a, b) || (game.at_war(b, a) && armed(game, idxs, b))
}

fn armed(game: &Game, idxs: &[usize], r: RaceId) -> bool {
    idxs.iter()
        .any(|&i| game.groups[i].owner == r && game.group_type(&game.groups[i]).armed())
}

/// The races in a battle at a planet, if one happens there: it does when a
/// race with armed ships is at war with another present (GalaxyNG's
/// `mustBattle`), and then every race present takes part, as in
/// GalaxyNG's `isBattle` (one with no enemy there fires on nobody and is
/// fired on by nobody, but it is in the battle and its report).
fn involved_races(game: &Game, idxs: &[usize]) -> Option<Vec<RaceId>> {
    let mut races: Vec<RaceId> = idxs.iter().map(|&i| game.groups[i].owner).collect();
    races.sort();
    races.dedup();
    if races.len() < 2 {
        return None;
    }
    let starts = races
        .iter()
        .any(|&a| armed(game, idxs, a) && races.iter().any(|&b| game.at_war(a, b)));
    starts.then_some(races)
}

fn battle_at(game: &mut Game, pid: PlanetId, idxs: &[usize], phase: u8) -> Option<Battle> {
    let involved = involved_races(game, idxs)?;
    let fighters: Vec<Fighter> = idxs
        .iter()
        .filter_map(|&i| {
            let g = &game.groups[i];
            let side = involved.iter().position(|&r| r == g.owner)?;
            let st = game.group_type(g);
            Some(Fighter {
                idx: i,
                side,
                attacks: if st.armed() { st.attacks } else { 0 },
                attack: st.attack(&g.tech),
                defence: st.defence(&g.tech, g.load),
                alive: g.ships,
                unfired: 0,
            })
        })
        .collect();
    let hostile = involved
        .iter()
        .map(|&a| {
            involved
                .iter()
                .map(|&b| hostile(game, idxs, a, b))
                .collect()
        })
        .collect();
    let mut field = Field { fighters, hostile };
    // The protocol only records: it draws nothing, so it changes no outcome.
    let mut protocol = involved
        .iter()
        .any(|r| game.races[r.0].battle_protocol)
        .then(Vec::new);
    let before: Vec<u32> = field.fighters.iter().map(|f| f.alive).collect();
    let (rounds, shots) = fight_until_over(&mut game.rng, &mut field, protocol.as_mut());
    let mut groups = Vec::new();
    for (f, b) in field.fighters.iter().zip(before) {
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
        protocol: protocol.unwrap_or_default(),
    })
}

/// Fights rounds until the battle is won or drawn; returns the rounds and
/// shots. After a round without a kill, the chance of a kill in the next
/// one is worked out; below [`QUIET_ROUND_CHANCE`] the quiet rounds are
/// skipped over (see the module documentation). Either way the next round
/// has the same distribution, so which way is taken biases nothing.
fn fight_until_over(
    rng: &mut GameRng,
    field: &mut Field,
    mut protocol: Option<&mut Vec<Shot>>,
) -> (u64, u64) {
    let (mut rounds, mut shots) = (0u64, 0u64);
    let mut last_round_killed = true;
    while !finished(field) {
        let mut one_kill = false;
        if !last_round_killed {
            let (round_shots, log_none) = field.quiet_round();
            let kill_chance = -log_none.exp_m1();
            if kill_chance <= 0.0 {
                // Unreachable: a battle not finished has a shot with a
                // positive kill chance (at least about 1e-17), which no sum
                // underflows.
                break;
            }
            if kill_chance < QUIET_ROUND_CHANCE {
                let quiet = quiet_rounds(rng, log_none);
                rounds = rounds.saturating_add(quiet);
                shots = shots.saturating_add(quiet.saturating_mul(round_shots));
                one_kill = true;
            }
        }
        let (fired, killed) = fire_round(rng, field, one_kill, protocol.as_deref_mut());
        rounds = rounds.saturating_add(1);
        shots = shots.saturating_add(fired);
        last_round_killed = killed;
    }
    (rounds, shots)
}

/// Draws how many rounds pass without a kill before the next round that has
/// one, each round being quiet with probability `exp(log_none)`
/// (geometric distribution, by inversion).
fn quiet_rounds(rng: &mut GameRng, log_none: f64) -> u64 {
    let u = 1.0 - rng.f64(); // (0, 1]
    // `as` saturates: an astronomically long stalemate counts u64::MAX rounds.
    (u.ln() / log_none).floor() as u64
}

/// Fights one round: every armed ship fires once, in a random order across
/// all sides; a ship destroyed before its turn does not fire. With
/// `one_kill`, the round is drawn conditioned on at least one kill (each
/// shot before the first kill kills with its conditional chance). Returns
/// the shots fired (each is added to `protocol` when one is kept) and
/// whether any ship was destroyed.
fn fire_round(
    rng: &mut GameRng,
    field: &mut Field,
    one_kill: bool,
    mut protocol: Option<&mut Vec<Shot>>,
) -> (u64, bool) {
    let mut order: Vec<usize> = Vec::new();
    for (fi, f) in field.fighters.iter_mut().enumerate() {
        f.unfired = f.alive;
        if f.attacks > 0 {
            order.extend(std::iter::repeat_n(fi, f.alive as usize));
        }
    }
    rng.shuffle(&mut order);
    let mut pending = one_kill.then(|| PendingKill::new(field, &order));
    let mut shots = 0u64;
    let mut any_kill = false;
    for (slot, &fi) in order.iter().enumerate() {
        if field.fighters[fi].unfired == 0 {
            continue; // destroyed before its turn
        }
        field.fighters[fi].unfired -= 1;
        for gun in 0..field.fighters[fi].attacks {
            if field.targets(fi) == 0 {
                break;
            }
            shots += 1;
            let killed = match &pending {
                Some(p) => {
                    let chance = p.chance(slot, field.fighters[fi].attacks - gun);
                    let kill = chance >= 1.0 || rng.f64() < chance;
                    let ti = pick_weighted_target(rng, field, fi, kill);
                    (kill, ti)
                }
                None => {
                    let ti = pick_target(rng, field, fi);
                    let (a, d) = (field.fighters[fi].attack, field.fighters[ti].defence);
                    let kill = d <= 0.0 || a / d > 4f64.powf(rng.range(-1.0, 1.0));
                    (kill, ti)
                }
            };
            if let Some(p) = protocol.as_deref_mut()
                && p.len() < PROTOCOL_MAX_SHOTS
            {
                p.push(Shot(fi as u32, killed.1 as u32, killed.0));
            }
            if let (true, ti) = killed {
                pending = None;
                any_kill = true;
                destroy_one(rng, &mut field.fighters[ti]);
            }
        }
    }
    (shots, any_kill)
}

/// Before the first kill of a round drawn with at least one kill: the log
/// chance that the remaining shots of the round all miss, by order slot.
struct PendingKill {
    /// `gun_log[slot]`: log of one gun of that slot's ship missing.
    gun_log: Vec<f64>,
    /// `after[slot]`: log of every shot after that slot missing.
    after: Vec<f64>,
    /// `gun_chance[slot]`: kill chance of one gun of that slot's ship.
    gun_chance: Vec<f64>,
    /// The last slot with a positive kill chance.
    last: usize,
}

impl PendingKill {
    fn new(field: &Field, order: &[usize]) -> PendingKill {
        let chance: Vec<f64> = (0..field.fighters.len())
            .map(|i| field.gun_kill_chance(i))
            .collect();
        let gun_chance: Vec<f64> = order.iter().map(|&fi| chance[fi]).collect();
        let gun_log: Vec<f64> = gun_chance.iter().map(|q| (-q).ln_1p()).collect();
        let mut after = vec![0.0; order.len()];
        let mut acc = 0.0;
        for slot in (0..order.len()).rev() {
            after[slot] = acc;
            acc += gun_log[slot] * field.fighters[order[slot]].attacks as f64;
        }
        let last = gun_chance.iter().rposition(|&q| q > 0.0).unwrap_or(0);
        PendingKill {
            gun_log,
            after,
            gun_chance,
            last,
        }
    }

    /// The chance that this shot kills given that no earlier shot did and
    /// one of this and the later shots will: `q / (1 − P(all miss))`.
    fn chance(&self, slot: usize, guns_left: u32) -> f64 {
        let q = self.gun_chance[slot];
        if q <= 0.0 {
            return 0.0;
        }
        if slot == self.last && guns_left == 1 {
            return 1.0;
        }
        let log_miss = self.gun_log[slot] * guns_left as f64 + self.after[slot];
        q / -log_miss.exp_m1()
    }
}

/// A living enemy ship of `shooter`, uniformly; returns its fighter.
fn pick_target(rng: &mut GameRng, field: &Field, shooter: usize) -> usize {
    let mut k = rng.below(field.targets(shooter));
    for (j, t) in field.fighters.iter().enumerate() {
        if !field.hostile(shooter, j) {
            continue;
        }
        if k < t.alive as u64 {
            return j;
        }
        k -= t.alive as u64;
    }
    unreachable!("k is below the number of targets")
}

/// A living enemy ship of `shooter`, drawn with weight `p_kill` (for a
/// kill) or `1 − p_kill` (for a miss) per ship: the target's distribution
/// given the shot's result.
fn pick_weighted_target(rng: &mut GameRng, field: &Field, shooter: usize, kill: bool) -> usize {
    let a = field.fighters[shooter].attack;
    let weight = |t: &Fighter| {
        let p = p_kill(a, t.defence);
        t.alive as f64 * if kill { p } else { 1.0 - p }
    };
    let enemies = || {
        field
            .fighters
            .iter()
            .enumerate()
            .filter(|(j, t)| field.hostile(shooter, *j) && t.alive > 0)
    };
    let total: f64 = enemies().map(|(_, t)| weight(t)).sum();
    if total <= 0.0 {
        return pick_target(rng, field, shooter);
    }
    let mut x = rng.f64() * total;
    let mut chosen = None;
    for (j, t) in enemies() {
        let w = weight(t);
        if w > 0.0 {
            chosen = Some(j);
            if x < w {
                break;
            }
            x -= w;
        }
    }
    chosen.unwrap_or_else(|| pick_target(rng, field, shooter))
}

/// Destroys one ship of a fighter: a uniformly random one, which may or may
/// not have fired already this round.
fn destroy_one(rng: &mut GameRng, t: &mut Fighter) {
    if t.unfired > 0 && rng.below(t.alive as u64) < t.unfired as u64 {
        t.unfired -= 1;
    }
    t.alive -= 1;
}

/// Whether a battle is over: no armed ship has a living enemy, or a draw
/// (for every side and enemy, `E.minDefence/4 ≥ S.maxAttack`, which holds
/// exactly when no armed ship has a positive kill chance on any enemy).
fn finished(field: &Field) -> bool {
    let f = &field.fighters;
    for (s, shooter) in f.iter().enumerate() {
        if shooter.alive == 0 || shooter.attacks == 0 {
            continue;
        }
        for (e, target) in f.iter().enumerate() {
            if target.alive > 0
                && field.hostile(s, e)
                && p_kill(shooter.attack, target.defence) > 0.0
            {
                return false;
            }
        }
    }
    true
}
