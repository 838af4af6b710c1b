//! Fleets: the fleet phase of the turn, where empty fleets vanish.

use crate::game::Game;
use std::collections::BTreeSet;

/// Removes every fleet without groups.
pub fn fleet_phase(game: &mut Game) {
    crate::cost::add(game.groups.len() + game.races.iter().map(|r| r.fleets.len()).sum::<usize>());
    let used: BTreeSet<(usize, &str)> = game
        .groups
        .iter()
        .filter_map(|g| g.fleet.as_deref().map(|f| (g.owner.0, f)))
        .collect();
    let keep: Vec<Vec<String>> = game
        .races
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.fleets
                .iter()
                .filter(|f| used.contains(&(i, f.as_str())))
                .cloned()
                .collect()
        })
        .collect();
    for (r, k) in game.races.iter_mut().zip(keep) {
        if k.len() != r.fleets.len() {
            r.fleets = k.into();
        }
    }
}
