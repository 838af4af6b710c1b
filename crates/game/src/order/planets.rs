//! Orders about planets: names, production, routes.

use super::{OrderResult, check_name, ok, own_planet, planet_ref};
use crate::error::OrderError;
use crate::game::{Game, RaceId};
use crate::production::set_product;
use galaxy_model::order::{Product, RouteCargo};

/// `n planet name`: renames an own planet; names are unique and a number
/// may only be the planet's own.
pub(super) fn rename_planet(
    game: &mut Game,
    race: RaceId,
    planet: &str,
    name: &str,
) -> OrderResult {
    let pid = own_planet(game, race, planet)?;
    check_name(name)?;
    if name.chars().all(|c| c.is_ascii_digit()) && name != pid.number().to_string() {
        return Err(OrderError::InvalidName(
            "a planet name cannot be another planet's number".into(),
        ));
    }
    if game.find_planet(name).is_some_and(|other| other != pid) {
        return Err(OrderError::NameTaken(format!(
            "a planet is already named {name}"
        )));
    }
    game.rename_planet(pid, name);
    ok()
}

/// `p planet product`: what an own planet produces. Ship type names match
/// case-insensitively and are stored as designed.
pub(super) fn produce(
    game: &mut Game,
    race: RaceId,
    planet: &str,
    product: &Product,
) -> OrderResult {
    let pid = own_planet(game, race, planet)?;
    let product = match product {
        Product::Ship(name) => {
            let t = game.races[race.0]
                .ship_types
                .get_folded(name)
                .ok_or_else(|| OrderError::UnknownName(format!("no ship type {name}")))?;
            Product::Ship(t.name.clone())
        }
        other => other.clone(),
    };
    set_product(game, pid, product);
    ok()
}

/// `r planet cargo [destination]`: sets or (without destination) clears a
/// route from an own planet.
pub(super) fn route(
    game: &mut Game,
    race: RaceId,
    planet: &str,
    kind: RouteCargo,
    destination: Option<&str>,
) -> OrderResult {
    let pid = own_planet(game, race, planet)?;
    match destination {
        Some(d) => {
            let dest = planet_ref(game, d)?;
            if dest == pid {
                return Err(OrderError::InvalidValue(
                    "a route needs another planet".into(),
                ));
            }
            game.planets[pid.0].routes.insert(kind, dest);
        }
        None => {
            if game.planets[pid.0].routes.remove(&kind).is_none() {
                return Err(OrderError::not_allowed("no such route"));
            }
        }
    }
    ok()
}
