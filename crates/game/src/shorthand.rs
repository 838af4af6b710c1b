//! GalaxyNG's order shorthands, resolved just before an order runs (so they
//! see the effect of the race's earlier orders):
//!
//! - the group `max` ([`MAX_GROUP`]) is the race's highest-numbered group
//!   (GalaxyNG's `findgroup`: the last group of the race's list, which is
//!   the one created last); a fleet named `max` wins for orders that take a
//!   group or a fleet, as GalaxyNG looks fleets up first;
//! - a ship count of 0 means all ships (`g`, `s`, `j`, `l`, `u`, `x`);
//! - a ship count above the group's ships uses all of them, with a warning
//!   ("Not enough ships, all available used.").
//!
//! `b` is left alone: GalaxyNG's `b` with 0 ships or too many does nothing.

use crate::game::{Game, RaceId};
use crate::group::find_group;
use galaxy_model::order::{MAX_GROUP, Order, Unit};

/// The order with its shorthands replaced, and the warnings they raise.
pub fn resolve(game: &Game, race: RaceId, order: &Order) -> (Order, Vec<String>) {
    let mut order = order.clone();
    let mut warnings = Vec::new();
    let max = highest_group(game, race);
    match &mut order {
        Order::Break { group, .. } => resolve_group(group, max),
        Order::Upgrade { group, ships }
        | Order::Load { group, ships, .. }
        | Order::Unload { group, ships, .. }
        | Order::Scrap { group, ships } => {
            resolve_group(group, max);
            resolve_ships(game, race, *group, ships, &mut warnings);
        }
        Order::Send { unit, ships, .. } | Order::Join { unit, ships, .. } => {
            resolve_unit(game, race, unit, max);
            if let Unit::Group(n) = unit {
                resolve_ships(game, race, *n, ships, &mut warnings);
            }
        }
        Order::Reverse { unit } | Order::Intercept { unit, .. } => {
            resolve_unit(game, race, unit, max)
        }
        _ => {}
    }
    (order, warnings)
}

/// The race's highest group number, if it has groups.
fn highest_group(game: &Game, race: RaceId) -> Option<u32> {
    let end = game.groups.partition_point(|g| g.owner <= race);
    game.groups[..end]
        .last()
        .filter(|g| g.owner == race)
        .map(|g| g.number)
}

fn resolve_group(group: &mut u32, max: Option<u32>) {
    if *group == MAX_GROUP
        && let Some(m) = max
    {
        *group = m;
    }
}

fn resolve_unit(game: &Game, race: RaceId, unit: &mut Unit, max: Option<u32>) {
    let Unit::Group(n) = unit else {
        return;
    };
    if *n != MAX_GROUP {
        return;
    }
    let fleet = game.races[race.0]
        .fleets
        .iter()
        .find(|f| f.eq_ignore_ascii_case("max"));
    match fleet {
        Some(f) => *unit = Unit::Fleet(f.clone()),
        None => resolve_group(n, max),
    }
}

fn resolve_ships(
    game: &Game,
    race: RaceId,
    group: u32,
    ships: &mut Option<u32>,
    warnings: &mut Vec<String>,
) {
    let Some(n) = *ships else {
        return;
    };
    if n == 0 {
        *ships = None;
        return;
    }
    let Some(i) = find_group(game, race, group) else {
        return;
    };
    let have = game.groups[i].ships;
    if n > have {
        *ships = None;
        warnings.push(format!(
            "group {group} has only {have} ships; all of them used"
        ));
    }
}
