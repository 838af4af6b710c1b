//! Executing orders: each typed order is checked against the game state and
//! either applied or turned into a mistake with a stable code and a reason.
//! One bad order never stops the others. This module dispatches and holds
//! the shared lookups; one handler per order lives in [`race`] (the race's
//! own settings and diplomacy), [`design`] (ship types and fleets),
//! [`planets`] (production, names, routes) and [`groups`] (what groups do).
//!
//! Every lookup is indexed (planets by name, types and fleets by name,
//! groups by race and number), so a turn costs O(orders · log(state)).

mod design;
mod groups;
mod planets;
mod race;

use crate::error::OrderError;
use crate::game::{Game, PlanetId, RaceId};
use crate::group::{self, Location, find_group, location, split};
use galaxy_model::api::{Mistake, MistakeCode};
use galaxy_model::limits::MAX_NAME_BYTES;
use galaxy_model::order::{Order, OrderLine, Product, Unit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use groups::send;

/// A race's pending order set for the current turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RaceOrders {
    /// The typed lines in order.
    pub lines: Vec<OrderLine>,
    /// Text lines that did not parse.
    pub mistakes: Vec<Mistake>,
}

/// Which phase of the turn an order runs in (1, 2 or 3).
pub fn phase(order: &Order) -> u8 {
    match order.letter() {
        'g' | 'n' | 't' => 2,
        'c' => 3,
        _ => 1,
    }
}

/// Per-turn context shared by the order handlers.
#[derive(Debug, Default)]
pub struct OrderContext {
    /// `v` claims made this turn.
    pub claims: Vec<(RaceId, PlanetId)>,
}

/// What an order handler returns: warnings (the order took effect), or why
/// it was refused.
pub type OrderResult = Result<Vec<String>, OrderError>;

fn ok() -> OrderResult {
    Ok(Vec::new())
}

/// Applies one order for a race. `Ok` carries warnings (the order still
/// took effect); `Err` is the reason it was rejected.
pub fn apply(game: &mut Game, ctx: &mut OrderContext, race: RaceId, order: &Order) -> OrderResult {
    match order {
        Order::Message { to, text } => race::message(game, race, to, text),
        Order::RealName { name } => race::real_name(game, race, name),
        Order::Ally { race: other } => race::ally(game, race, other, true),
        Order::War { race: other } => race::ally(game, race, other, false),
        Order::RenameRace { name } => race::rename_race(game, race, name),
        Order::SetOption { option, on } => race::set_option(game, race, option, *on),
        Order::MapWindow { x, y, size } => race::map_window(game, race, [*x, *y, *size]),
        Order::Quit {} => race::quit(game, race),
        Order::Password { password } => race::password(game, race, password),
        Order::Email { address } => race::email(game, race, address),
        Order::RequestAddress { .. } => ok(),
        Order::Claim { planet } => race::claim(game, ctx, race, planet),
        Order::DesignShip {
            name,
            drive,
            attacks,
            weapons,
            shields,
            cargo,
        } => design::design_ship(
            game,
            race,
            name,
            [*drive, *weapons, *shields, *cargo],
            *attacks,
        ),
        Order::DesignFleet { name } => design::design_fleet(game, race, name),
        Order::Eliminate { name } => design::eliminate(game, race, name),
        Order::Rename { old, new } => design::rename(game, race, old, new),
        Order::RenamePlanet { planet, name } => planets::rename_planet(game, race, planet, name),
        Order::Produce { planet, product } => planets::produce(game, race, planet, product),
        Order::Route {
            planet,
            cargo,
            destination,
        } => planets::route(game, race, planet, *cargo, destination.as_deref()),
        Order::Break { group, ships } => groups::break_group(game, race, *group, *ships),
        Order::Upgrade { group, ships } => groups::upgrade(game, race, *group, *ships),
        Order::Reverse { unit } => groups::reverse(game, race, unit),
        Order::Intercept { unit, planet } => groups::intercept(game, race, unit, planet),
        Order::Join { unit, fleet, ships } => groups::join(game, race, unit, fleet, *ships),
        Order::Load {
            group,
            cargo,
            ships,
            amount,
        } => groups::load(game, race, *group, *cargo, *ships, *amount),
        Order::Unload {
            group,
            ships,
            amount,
        } => groups::unload(game, race, *group, *ships, *amount),
        Order::Scrap { group, ships } => groups::scrap(game, race, *group, *ships),
        Order::Send {
            unit,
            planet,
            ships,
        } => groups::send_unit(game, race, unit, planet, *ships),
    }
}

fn other_race(game: &Game, race: RaceId, name: &str) -> Result<RaceId, OrderError> {
    let o = game
        .find_race(name)
        .ok_or_else(|| OrderError::UnknownRace(name.to_string()))?;
    if o == race {
        return Err(OrderError::not_allowed("that is the race itself"));
    }
    Ok(o)
}

fn check_name(name: &str) -> Result<(), OrderError> {
    if name.trim().is_empty()
        || name.starts_with('#')
        || name.contains('"')
        || name.len() > MAX_NAME_BYTES
    {
        return Err(OrderError::InvalidName(format!("invalid name {name:?}")));
    }
    Ok(())
}

/// Names of ship types and fleets: unique within the race (ignoring case),
/// not numbers, not product keywords.
fn check_unit_name(game: &Game, race: RaceId, name: &str) -> Result<(), OrderError> {
    check_name(name)?;
    if name.parse::<u32>().is_ok() {
        return Err(OrderError::InvalidName(
            "a type or fleet name cannot be a number".into(),
        ));
    }
    if Product::is_keyword(name) {
        return Err(OrderError::InvalidName(format!(
            "{name} is a reserved word"
        )));
    }
    let r = &game.races[race.0];
    if r.ship_types.contains_folded(name) || r.fleets.contains_folded(name) {
        return Err(OrderError::NameTaken(format!(
            "a ship type or fleet is already named {name}"
        )));
    }
    Ok(())
}

fn planet_ref(game: &Game, name: &str) -> Result<PlanetId, OrderError> {
    game.find_planet(name)
        .ok_or_else(|| OrderError::UnknownPlanet(name.to_string()))
}

fn own_planet(game: &Game, race: RaceId, name: &str) -> Result<PlanetId, OrderError> {
    let pid = planet_ref(game, name)?;
    if game.planets[pid.0].owner != Some(race) {
        return Err(OrderError::NotOwner(name.to_string()));
    }
    Ok(pid)
}

fn own_group(game: &Game, race: RaceId, number: u32) -> Result<usize, OrderError> {
    find_group(game, race, number).ok_or(OrderError::UnknownGroup(number))
}

/// Splits off `ships` first when given.
fn take(game: &mut Game, idx: usize, ships: Option<u32>) -> Result<usize, OrderError> {
    match ships {
        Some(n) => split(game, idx, n),
        None => Ok(idx),
    }
}

/// Indices of a race's groups in a fleet.
fn fleet_members(game: &Game, race: RaceId, fleet: &str) -> Vec<usize> {
    game.fleet_members(race, fleet)
}

fn unit_groups(game: &Game, race: RaceId, unit: &Unit) -> Result<Vec<usize>, OrderError> {
    match unit {
        Unit::Group(n) => Ok(vec![own_group(game, race, *n)?]),
        Unit::Fleet(f) => {
            if !game.races[race.0].fleets.contains(f) {
                return Err(OrderError::UnknownName(format!("no fleet {f}")));
            }
            let m = fleet_members(game, race, f);
            if m.is_empty() {
                return Err(OrderError::location(format!("fleet {f} is empty")));
            }
            Ok(m)
        }
    }
}

/// Groups of a unit that can be sent: with drives, at one planet.
fn movable(
    game: &Game,
    race: RaceId,
    unit: &Unit,
    ships: Option<u32>,
) -> Result<Vec<usize>, OrderError> {
    if ships.is_some() && matches!(unit, Unit::Fleet(_)) {
        return Err(OrderError::ShipCount(
            "a ship count applies to groups only".into(),
        ));
    }
    let idxs = unit_groups(game, race, unit)?;
    let mut here = None;
    for &i in &idxs {
        let g = &game.groups[i];
        let Location::At(p) = location(game, g) else {
            return Err(OrderError::location("the group is in hyperspace"));
        };
        if here.is_some_and(|h| h != p) {
            return Err(OrderError::location(
                "the fleet's groups are not at one planet",
            ));
        }
        here = Some(p);
        if group::speed(game, g) <= 0.0 {
            return Err(OrderError::not_allowed(format!(
                "group {} has no drive",
                g.number
            )));
        }
        if let Some(n) = ships
            && (n == 0 || n > g.ships)
        {
            return Err(OrderError::ShipCount(format!(
                "group {} has {} ships",
                g.number, g.ships
            )));
        }
    }
    Ok(idxs)
}

/// Runs all orders of one phase for every race in race order.
pub fn run_phase(
    game: &mut Game,
    ctx: &mut OrderContext,
    orders: &[(RaceId, Vec<OrderLine>)],
    which: u8,
    mistakes: &mut BTreeMap<RaceId, Vec<Mistake>>,
) {
    for (race, lines) in orders {
        crate::cost::add(lines.len());
        for line in lines.iter().filter(|l| phase(&l.order) == which) {
            if game.races[race.0].dead {
                break;
            }
            let list = mistakes.entry(*race).or_default();
            let (order, warnings) = crate::shorthand::resolve(game, *race, &line.order);
            match apply(game, ctx, *race, &order) {
                Ok(more) => list.extend(warnings.into_iter().chain(more).map(|w| Mistake {
                    id: line.id.clone(),
                    order: line.order.to_text(),
                    code: MistakeCode::Warning,
                    reason: format!("warning: {w}"),
                })),
                Err(e) => list.push(Mistake {
                    id: line.id.clone(),
                    order: line.order.to_text(),
                    code: e.code(),
                    reason: e.to_string(),
                }),
            }
        }
    }
    mistakes.retain(|_, list| !list.is_empty());
}
