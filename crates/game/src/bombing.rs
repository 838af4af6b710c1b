//! Bombing: after each fight phase every armed group at war with the owner
//! of the planet it is at bombs that planet, as GalaxyNG's `bombphase`
//! does: races in order, each race's groups in order, one bombing per
//! group that still must bomb when its turn comes. The planet goes to the
//! bomber (or to the single valid `v` claimant), or to nobody when the
//! owner still has an armed group there or several races claim it.
//!
//! Because ownership changes with each bombing, a planet can be bombed
//! more than once in one phase: a later race at war with the new owner
//! bombs it again (and, the new owner's bombers being armed and present,
//! it then becomes unowned).

use crate::game::{Bombing, Game, PlanetId, RaceId};
use crate::group::{Location, location};
use crate::planet::convertcap;
use galaxy_model::order::Product;

/// Bombs every planet where an armed group at war with the owner is
/// present. `claims` are this turn's `v` orders (race, planet).
pub fn bomb(game: &mut Game, claims: &[(RaceId, PlanetId)]) -> Vec<Bombing> {
    let mut out = Vec::new();
    // Groups are kept sorted by (owner, number): races in order, each
    // race's groups in order, as GalaxyNG walks them. Bombing changes no
    // group, so the indices stay valid.
    for i in 0..game.groups.len() {
        let Some(pid) = must_bomb(game, i) else {
            continue;
        };
        let bomber = game.groups[i].owner;
        let Some(old_owner) = game.planets[pid.0].owner else {
            continue;
        };
        let new_owner = new_owner(game, pid, bomber, claims);
        let name = game.planets[pid.0].name.clone();
        let viewers = viewers(game, pid);
        let p = &mut game.planets[pid.0];
        p.owner = new_owner;
        bomb_planet(p);
        out.push(Bombing {
            planet: pid,
            planet_name: name,
            old_owner,
            new_owner,
            bombers: vec![bomber],
            viewers,
            pop: p.pop,
            ind: p.ind,
        });
    }
    out
}

/// The planet group `i` must bomb now: it is at an owned planet, has ships
/// with guns, and its race is at war with the owner (GalaxyNG's
/// `mustBomb`).
fn must_bomb(game: &Game, i: usize) -> Option<PlanetId> {
    let g = &game.groups[i];
    let Location::At(pid) = location(game, g) else {
        return None;
    };
    let owner = game.planets[pid.0].owner?;
    (g.ships > 0 && game.group_type(g).armed() && game.at_war(g.owner, owner)).then_some(pid)
}

/// The races that can see planet `pid` now (GalaxyNG's `canseeplanet`):
/// its owner and every race with a group at rest there.
fn viewers(game: &Game, pid: PlanetId) -> Vec<RaceId> {
    let mut v: Vec<RaceId> = game
        .groups
        .iter()
        .filter(|g| g.ships > 0 && crate::group::at_rest(g) == Some(pid))
        .map(|g| g.owner)
        .chain(game.planets[pid.0].owner)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Who owns planet `pid` after `bomber` bombs it (GalaxyNG's
/// `determineOwnership`): nobody while the owner has an armed group there
/// (a standoff); otherwise the bomber, unless races that claimed the planet
/// with `v` and must bomb it themselves are there: one such claimant takes
/// it, several leave it unowned.
fn new_owner(
    game: &Game,
    pid: PlanetId,
    bomber: RaceId,
    claims: &[(RaceId, PlanetId)],
) -> Option<RaceId> {
    let owner = game.planets[pid.0].owner?;
    let standoff = game.groups.iter().any(|g| {
        g.owner == owner
            && g.ships > 0
            && game.group_type(g).armed()
            && location(game, g) == Location::At(pid)
    });
    if standoff {
        return None;
    }
    let mut claimant = bomber;
    let mut valid_claims = 0;
    for r in 0..game.races.len() {
        let race = RaceId(r);
        if !claims.iter().any(|&(c, p)| c == race && p == pid) {
            continue;
        }
        let can_bomb = game
            .groups
            .iter()
            .enumerate()
            .any(|(i, g)| g.owner == race && must_bomb(game, i) == Some(pid));
        if can_bomb {
            claimant = race;
            valid_claims += 1;
        }
    }
    (valid_claims <= 1).then_some(claimant)
}

/// The damage of one bombing (GalaxyNG's `bombPlanet`): population and
/// industry quartered, colonists, upgrades spent and work in progress lost,
/// routes cleared, production back to CAP; CAP and MAT stay.
fn bomb_planet(p: &mut crate::game::Planet) {
    p.pop *= 0.25;
    p.ind *= 0.25;
    p.col = 0.0;
    p.spent = 0.0;
    p.inprogress = 0.0;
    p.routes.clear();
    p.product = Product::Cap;
    convertcap(p);
}
