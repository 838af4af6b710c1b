//! Bombing: armed groups at war with a planet's owner bomb it after each
//! fight phase; ownership passes to the bomber, a single valid claimant, or
//! nobody.

use crate::game::{Bombing, Game, PlanetId, RaceId};
use crate::group::{Location, location};
use crate::planet::convertcap;
use galaxy_model::order::Product;
use std::collections::{BTreeMap, BTreeSet};

/// Bombs every planet where an armed group at war with the owner is
/// present. `claims` are this turn's `v` orders (race, planet).
pub fn bomb(game: &mut Game, claims: &[(RaceId, PlanetId)]) -> Vec<Bombing> {
    let mut present: BTreeMap<PlanetId, Vec<usize>> = BTreeMap::new();
    for (i, g) in game.groups.iter().enumerate() {
        if let Location::At(p) = location(game, g)
            && game.planets[p.0].owner.is_some()
            && game.group_type(g).armed()
        {
            present.entry(p).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (pid, idxs) in present {
        let Some(owner) = game.planets[pid.0].owner else {
            continue;
        };
        let bombers: BTreeSet<RaceId> = idxs
            .iter()
            .map(|&i| game.groups[i].owner)
            .filter(|&r| r != owner && game.at_war(r, owner))
            .collect();
        if bombers.is_empty() {
            continue;
        }
        let defended = idxs.iter().any(|&i| game.groups[i].owner == owner);
        let new_owner = if defended {
            None
        } else if bombers.len() == 1 {
            bombers.first().copied()
        } else {
            let claimants: BTreeSet<RaceId> = claims
                .iter()
                .filter(|(r, p)| *p == pid && bombers.contains(r))
                .map(|(r, _)| *r)
                .collect();
            if claimants.len() == 1 {
                claimants.first().copied()
            } else {
                None
            }
        };
        let name = game.planets[pid.0].name.clone();
        let p = &mut game.planets[pid.0];
        p.pop *= 0.25;
        p.ind *= 0.25;
        p.col = 0.0;
        p.spent = 0.0;
        p.inprogress = 0.0;
        p.routes.clear();
        p.product = Product::Cap;
        p.owner = new_owner;
        convertcap(p);
        out.push(Bombing {
            planet: pid,
            planet_name: name,
            old_owner: owner,
            new_owner,
            bombers: bombers.into_iter().collect(),
            pop: p.pop,
            ind: p.ind,
        });
    }
    out
}
