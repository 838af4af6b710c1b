//! Orders groups and fleets carry out: break, upgrade, reverse, intercept,
//! join, load, unload, scrap and send.

use super::design::add_fleet;
use super::{OrderResult, fleet_members, movable, ok, own_group, planet_ref, take, unit_groups};
use crate::cargo;
use crate::error::OrderError;
use crate::game::{Game, PlanetId, RaceId};
use crate::group::{self, Location, at_rest, find_group, location, split};
use crate::planet::upgrade_points;
use crate::ship::round2;
use galaxy_model::order::{Cargo, Unit};

/// `b group [ships]`: splits ships off, or (without a count) leaves the fleet.
pub(super) fn break_group(
    game: &mut Game,
    race: RaceId,
    group: u32,
    ships: Option<u32>,
) -> OrderResult {
    let idx = own_group(game, race, group)?;
    match ships {
        Some(n) => {
            if location(game, &game.groups[idx]) == Location::Hyperspace {
                return Err(OrderError::location("cannot split a group in hyperspace"));
            }
            split(game, idx, n)?;
        }
        None => {
            if game.groups[idx].fleet.is_none() {
                return Err(OrderError::not_allowed(format!(
                    "group {group} is not in a fleet"
                )));
            }
            game.set_fleet(idx, None);
        }
    }
    ok()
}

/// `h unit`: reverses a group or fleet in hyperspace.
pub(super) fn reverse(game: &mut Game, race: RaceId, unit: &Unit) -> OrderResult {
    let idxs = unit_groups(game, race, unit)?;
    for &i in &idxs {
        let g = &game.groups[i];
        if location(game, g) != Location::Hyperspace {
            return Err(OrderError::location(
                "only groups in hyperspace can reverse",
            ));
        }
        if g.dist < 4.0 * group::moving_speed(game, g) {
            return Err(OrderError::location(
                "too close to the destination to reverse",
            ));
        }
    }
    for i in idxs {
        let total = game.distance(game.groups[i].from, game.groups[i].to);
        let g = &mut game.groups[i];
        g.dist = total - g.dist;
        std::mem::swap(&mut g.from, &mut g.to);
        g.intercept = None;
    }
    ok()
}

/// `i unit planet`: watches a planet for departures (resolved in the turn).
pub(super) fn intercept(game: &mut Game, race: RaceId, unit: &Unit, planet: &str) -> OrderResult {
    let target = planet_ref(game, planet)?;
    for i in movable(game, race, unit, None)? {
        game.groups[i].intercept = Some(target);
    }
    ok()
}

/// `j unit fleet [ships]`: a group joins a fleet (created when missing), or a
/// fleet merges into another; everything at one planet.
pub(super) fn join(
    game: &mut Game,
    race: RaceId,
    unit: &Unit,
    fleet: &str,
    ships: Option<u32>,
) -> OrderResult {
    let members = fleet_members(game, race, fleet);
    let fleet_at = members.first().map(|&i| location(game, &game.groups[i]));
    if let Some(Location::Hyperspace) = fleet_at {
        return Err(OrderError::location(format!(
            "fleet {fleet} is in hyperspace"
        )));
    }
    match unit {
        Unit::Fleet(src) => merge_fleets(game, race, unit, src, fleet, fleet_at),
        Unit::Group(n) => {
            let idx = own_group(game, race, *n)?;
            let l = location(game, &game.groups[idx]);
            if l == Location::Hyperspace {
                return Err(OrderError::location("the group is in hyperspace"));
            }
            if fleet_at.is_some_and(|f| f != l) {
                return Err(OrderError::location(format!("fleet {fleet} is elsewhere")));
            }
            if !game.races[race.0].fleets.contains(fleet) {
                add_fleet(game, race, fleet)?;
            }
            let idx = take(game, idx, ships)?;
            game.set_fleet(idx, Some(fleet));
            ok()
        }
    }
}

fn merge_fleets(
    game: &mut Game,
    race: RaceId,
    unit: &Unit,
    src: &str,
    fleet: &str,
    fleet_at: Option<Location>,
) -> OrderResult {
    if src == fleet {
        return Err(OrderError::not_allowed("a fleet cannot join itself"));
    }
    if !game.races[race.0].fleets.contains(fleet) {
        return Err(OrderError::UnknownName(format!("no fleet {fleet}")));
    }
    let idxs = unit_groups(game, race, unit)?;
    for &i in &idxs {
        let l = location(game, &game.groups[i]);
        if l == Location::Hyperspace || fleet_at.is_some_and(|f| f != l) {
            return Err(OrderError::location("the fleets are not at one planet"));
        }
    }
    for i in idxs {
        game.set_fleet(i, Some(fleet));
    }
    game.races[race.0].fleets.remove(src);
    ok()
}

/// The planet a group rests at, or a location error.
fn resting(game: &Game, idx: usize) -> Result<PlanetId, OrderError> {
    at_rest(&game.groups[idx]).ok_or_else(|| OrderError::location("the group is in hyperspace"))
}

/// `l group cargo [ships] [amount]`: loads at the group's planet.
pub(super) fn load(
    game: &mut Game,
    race: RaceId,
    group: u32,
    kind: Cargo,
    ships: Option<u32>,
    amount: Option<f64>,
) -> OrderResult {
    let idx = own_group(game, race, group)?;
    let p = resting(game, idx)?;
    let g = &game.groups[idx];
    if game.group_type(g).capacity(g.tech.cargo) <= 0.0 {
        return Err(OrderError::Cargo("the group's ships carry no cargo".into()));
    }
    let idx = take(game, idx, ships)?;
    cargo::load(game, idx, p, kind, amount)?;
    ok()
}

/// `u group [ships] [amount]`: unloads at the group's planet.
pub(super) fn unload(
    game: &mut Game,
    race: RaceId,
    group: u32,
    ships: Option<u32>,
    amount: Option<f64>,
) -> OrderResult {
    let idx = own_group(game, race, group)?;
    let p = resting(game, idx)?;
    let g = &game.groups[idx];
    if g.cargo.is_none() || g.load <= 0.0 {
        return Err(OrderError::Cargo("the group carries nothing".into()));
    }
    let idx = take(game, idx, ships)?;
    cargo::unload(game, idx, p, amount)?;
    ok()
}

/// `x group [ships]`: scraps ships at the planet where they are (any
/// planet, as GalaxyNG's `x`); their cargo is unloaded there and their mass
/// becomes MAT. Colonists cannot be put onto another race's planet.
pub(super) fn scrap(game: &mut Game, race: RaceId, group: u32, ships: Option<u32>) -> OrderResult {
    let idx = own_group(game, race, group)?;
    let p = resting(game, idx)?;
    let g = &game.groups[idx];
    let alien = game.planets[p.0].owner.is_some_and(|o| o != race);
    if alien && g.cargo == Some(galaxy_model::order::Cargo::Col) && g.load > 0.0 {
        return Err(OrderError::not_allowed(
            "colonists cannot be unloaded onto another race's planet",
        ));
    }
    let idx = take(game, idx, ships)?;
    if game.groups[idx].cargo.is_some() && game.groups[idx].load > 0.0 {
        cargo::unload(game, idx, p, None)?;
    }
    let g = &game.groups[idx];
    let mass = game.group_type(g).mass() * g.ships as f64;
    game.log.ships_scrapped += g.ships as u64;
    game.planets[p.0].mat += mass;
    crate::cost::add(game.groups.len() - idx);
    game.set_fleet(idx, None);
    game.groups.remove(idx);
    ok()
}

/// `s unit planet [ships]`: sends a group (out of its fleet) or a fleet.
pub(super) fn send_unit(
    game: &mut Game,
    race: RaceId,
    unit: &Unit,
    planet: &str,
    ships: Option<u32>,
) -> OrderResult {
    let dest = planet_ref(game, planet)?;
    let idxs = movable(game, race, unit, ships)?;
    let mut keys: Vec<u32> = idxs.iter().map(|&i| game.groups[i].number).collect();
    if let Unit::Group(_) = unit {
        // Splitting shifts indices: re-find by number.
        let idx = take(game, idxs[0], ships)?;
        game.set_fleet(idx, None);
        keys = vec![game.groups[idx].number];
    }
    for number in keys {
        if let Some(i) = find_group(game, race, number) {
            send(game, i, dest);
        }
    }
    ok()
}

/// Sends group `i` from where it is to `dest`.
pub fn send(game: &mut Game, i: usize, dest: PlanetId) {
    let Location::At(here) = location(game, &game.groups[i]) else {
        return;
    };
    let d = game.distance(here, dest);
    let g = &mut game.groups[i];
    g.intercept = None;
    g.from = here;
    g.to = dest;
    g.dist = if here == dest { 0.0 } else { d };
    if g.dist == 0.0 {
        g.to = here;
        g.from = here;
    }
}

/// `g group [ships]`: moves the group's techs towards the race's, paid from
/// the planet's production (a partial upgrade when short).
pub(super) fn upgrade(
    game: &mut Game,
    race: RaceId,
    number: u32,
    ships: Option<u32>,
) -> OrderResult {
    let idx = own_group(game, race, number)?;
    let Some(p) = at_rest(&game.groups[idx]) else {
        return Err(OrderError::location(
            "only groups at rest at a planet can upgrade",
        ));
    };
    if game.planets[p.0].owner != Some(race) {
        return Err(OrderError::NotOwner(game.planets[p.0].name.clone()));
    }
    let idx = take(game, idx, ships)?;
    let rtech = game.races[race.0].tech;
    let g = &game.groups[idx];
    let st = game.group_type(g);
    let per_ship = st.upgrade_cost(&g.tech, &rtech);
    if per_ship <= 0.0 {
        return Err(OrderError::not_allowed(
            "the group already has the race's techs",
        ));
    }
    let cost = per_ship * g.ships as f64;
    if !cost.is_finite() {
        return Err(OrderError::InvalidValue(
            "the upgrade cost is out of range".into(),
        ));
    }
    let avail = upgrade_points(&game.planets[p.0]);
    if avail <= 0.0 {
        return Err(OrderError::not_allowed(
            "no production left on the planet for upgrades",
        ));
    }
    let f = (avail / cost).min(1.0);
    let target = st.build_tech(&rtech);
    let mut warnings = Vec::new();
    if f < 1.0 {
        warnings.push(format!("partial upgrade: {:.0}% affordable", f * 100.0));
    }
    let lift = |s: f64, t: f64| if t > s { round2(s + (t - s) * f) } else { s };
    let g = &mut game.groups[idx];
    g.tech.drive = lift(g.tech.drive, target.drive);
    g.tech.weapons = lift(g.tech.weapons, target.weapons);
    g.tech.shields = lift(g.tech.shields, target.shields);
    g.tech.cargo = lift(g.tech.cargo, target.cargo);
    game.planets[p.0].spent += cost * f;
    Ok(warnings)
}
