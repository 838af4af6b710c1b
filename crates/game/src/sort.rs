//! The SortGroups option (GalaxyNG's `sortphase`): at the end of the turn
//! the groups of a race with the option on are renumbered from 1 by where
//! they are: groups at (then heading for) the race's own planets, then at
//! other races' planets, then at unowned planets, planet by planet; groups
//! in fleets come last, fleet by fleet.

use crate::game::{Game, PlanetId, RaceId};
use crate::group::{Location, location, race_range};
use std::collections::BTreeMap;

/// Renumbers the groups of every race with SortGroups on.
pub fn sort_phase(game: &mut Game) {
    let mut changed = false;
    for r in 0..game.races.len() {
        if game.races[r].sort_groups {
            changed |= renumber(game, RaceId(r));
        }
    }
    if changed {
        game.groups.sort_by_key(|g| (g.owner, g.number));
        // The fleet index is keyed by group number: rebuild it on next use.
        game.fleet_index = Default::default();
    }
}

/// Gives race `r`'s groups their sorted numbers; whether any changed.
fn renumber(game: &mut Game, r: RaceId) -> bool {
    let range = race_range(game, r);
    let fleet_rank: BTreeMap<&str, usize> = game.races[r.0]
        .fleets
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    // Sort key per group: (class, planet, at-or-heading, fleet, old number).
    let keys: Vec<(u8, usize, u8, usize, u32)> = range
        .clone()
        .map(|i| {
            let g = &game.groups[i];
            let fleet = g
                .fleet
                .as_deref()
                .map(|f| fleet_rank.get(f).copied().unwrap_or(usize::MAX));
            if let Some(f) = fleet {
                return (3, 0, 0, f, g.number);
            }
            let (p, heading) = match location(game, g) {
                Location::At(p) => (p, 0),
                Location::Hyperspace => (g.to, 1),
            };
            (class(game, r, p), p.0, heading, 0, g.number)
        })
        .collect();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&k| keys[k]);
    let mut changed = false;
    for (n, &k) in order.iter().enumerate() {
        let g = &mut game.groups[range.start + k];
        let number = n as u32 + 1;
        changed |= g.number != number;
        g.number = number;
    }
    changed
}

/// 0: the race's own planet, 1: another race's, 2: unowned.
fn class(game: &Game, r: RaceId, p: PlanetId) -> u8 {
    match game.planets[p.0].owner {
        Some(o) if o == r => 0,
        Some(_) => 1,
        None => 2,
    }
}
