//! Orders about designs: ship types and fleets (create, eliminate, rename),
//! within the per-race limits.

use super::{OrderResult, check_unit_name, fleet_members, ok};
use crate::error::OrderError;
use crate::game::{Game, RaceId};
use crate::group::race_range;
use crate::ship::ShipType;
use galaxy_model::limits::{MAX_FLEETS_PER_RACE, MAX_SHIP_TYPES_PER_RACE};
use galaxy_model::order::Product;

/// `d name D A W S C`: a new ship type. `masses` are drive, weapons,
/// shields, cargo.
pub(super) fn design_ship(
    game: &mut Game,
    race: RaceId,
    name: &str,
    masses: [f64; 4],
    attacks: u32,
) -> OrderResult {
    check_unit_name(game, race, name)?;
    if game.races[race.0].ship_types.len() >= MAX_SHIP_TYPES_PER_RACE {
        return Err(OrderError::LimitExceeded {
            what: "ship types",
            limit: MAX_SHIP_TYPES_PER_RACE,
        });
    }
    let [drive, weapons, shields, cargo] = masses;
    let (st, warnings) = ShipType::design(name, drive, attacks, weapons, shields, cargo)?;
    game.races[race.0].ship_types.push(st);
    Ok(warnings)
}

/// Adds a fleet name, within the limit.
pub(super) fn add_fleet(game: &mut Game, race: RaceId, name: &str) -> OrderResult {
    check_unit_name(game, race, name)?;
    let fleets = &mut game.races[race.0].fleets;
    if fleets.len() >= MAX_FLEETS_PER_RACE {
        return Err(OrderError::LimitExceeded {
            what: "fleets",
            limit: MAX_FLEETS_PER_RACE,
        });
    }
    fleets.push(name.to_string());
    ok()
}

/// `d fleet name`: an empty fleet (it vanishes at the end of the turn
/// unless a group joins it).
pub(super) fn design_fleet(game: &mut Game, race: RaceId, name: &str) -> OrderResult {
    add_fleet(game, race, name)
}

/// `e name`: eliminates a fleet (its groups leave it) or an unused type.
pub(super) fn eliminate(game: &mut Game, race: RaceId, name: &str) -> OrderResult {
    if game.races[race.0].fleets.contains(name) {
        for i in fleet_members(game, race, name) {
            game.set_fleet(i, None);
        }
        game.races[race.0].fleets.remove(name);
        return ok();
    }
    if game.races[race.0].ship_type(name).is_none() {
        return Err(OrderError::UnknownName(format!(
            "no ship type or fleet {name}"
        )));
    }
    let range = race_range(game, race);
    crate::cost::add(range.len() + game.planets.len());
    if game.groups[range].iter().any(|g| g.ship_type == name) {
        return Err(OrderError::not_allowed(format!(
            "ships of type {name} still exist"
        )));
    }
    let product = Product::Ship(name.to_string());
    if game
        .planets
        .iter()
        .any(|p| p.owner == Some(race) && p.product == product)
    {
        return Err(OrderError::not_allowed(format!(
            "a planet is producing {name}"
        )));
    }
    game.races[race.0].ship_types.remove(name);
    ok()
}

/// `t old new`: renames a fleet or a ship type (with its groups and the
/// planets building it).
pub(super) fn rename(game: &mut Game, race: RaceId, old: &str, new: &str) -> OrderResult {
    check_unit_name(game, race, new)?;
    if game.races[race.0].fleets.rename(old, new) {
        for i in fleet_members(game, race, old) {
            game.set_fleet(i, Some(new));
        }
        return ok();
    }
    if !game.races[race.0].ship_types.rename(old, new) {
        return Err(OrderError::UnknownName(format!(
            "no ship type or fleet {old}"
        )));
    }
    let range = race_range(game, race);
    crate::cost::add(range.len() + game.planets.len());
    for g in &mut game.groups[range] {
        if g.ship_type == old {
            g.ship_type = new.to_string();
        }
    }
    let before = Product::Ship(old.to_string());
    for p in game
        .planets
        .iter_mut()
        .filter(|p| p.owner == Some(race) && p.product == before)
    {
        p.product = Product::Ship(new.to_string());
    }
    ok()
}
