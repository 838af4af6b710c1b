//! Groups: numbering, lookup, splitting, location, speed and merging.

use crate::game::{Game, Group, PlanetId, RaceId};

/// Where a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// At rest at (or just leaving) a planet.
    At(PlanetId),
    /// Between planets.
    Hyperspace,
}

/// The group's location: `dist == 0` → at `to`; `dist == |from→to|` → still
/// at `from` (sent this turn); otherwise in hyperspace.
pub fn location(game: &Game, g: &Group) -> Location {
    if g.dist == 0.0 {
        Location::At(g.to)
    } else if g.dist == game.distance(g.from, g.to) {
        Location::At(g.from)
    } else {
        Location::Hyperspace
    }
}

/// Whether the group is at rest at a planet (not sent this turn).
pub fn at_rest(g: &Group) -> Option<PlanetId> {
    (g.dist == 0.0).then_some(g.to)
}

/// The next free group number of a race: highest + 1.
pub fn next_group_number(game: &Game, owner: RaceId) -> u32 {
    game.groups
        .iter()
        .filter(|g| g.owner == owner)
        .map(|g| g.number)
        .max()
        .unwrap_or(0)
        + 1
}

/// Inserts a group keeping the list sorted by (owner, number).
pub fn insert_group(game: &mut Game, g: Group) {
    let pos = game
        .groups
        .partition_point(|x| (x.owner, x.number) < (g.owner, g.number));
    game.groups.insert(pos, g);
}

/// Index of a race's group by number.
pub fn find_group(game: &Game, owner: RaceId, number: u32) -> Option<usize> {
    game.groups
        .binary_search_by(|x| (x.owner, x.number).cmp(&(owner, number)))
        .ok()
}

/// Splits `ships` ships off group `idx` into a new group (outside any
/// fleet) and returns the new group's index. Splitting all ships returns
/// the group itself.
pub fn split(game: &mut Game, idx: usize, ships: u32) -> Result<usize, String> {
    let g = &game.groups[idx];
    if ships == 0 {
        return Err("a ship count must be positive".into());
    }
    if ships > g.ships {
        return Err(format!("group {} has only {} ships", g.number, g.ships));
    }
    if ships == g.ships {
        return Ok(idx);
    }
    let mut new = g.clone();
    let owner = g.owner;
    new.ships = ships;
    new.fleet = None;
    new.number = next_group_number(game, owner);
    game.groups[idx].ships -= ships;
    let number = new.number;
    insert_group(game, new);
    find_group(game, owner, number).ok_or_else(|| "split group vanished".to_string())
}

/// Speed of a group's ships.
pub fn speed(game: &Game, g: &Group) -> f64 {
    game.group_type(g).speed(&g.tech, g.load)
}

/// Speed of a fleet: its slowest group.
pub fn fleet_speed(game: &Game, owner: RaceId, fleet: &str) -> f64 {
    game.groups
        .iter()
        .filter(|g| g.owner == owner && g.fleet.as_deref() == Some(fleet))
        .map(|g| speed(game, g))
        .fold(f64::INFINITY, f64::min)
}

/// The speed a group moves at (its fleet's when in one).
pub fn moving_speed(game: &Game, g: &Group) -> f64 {
    match &g.fleet {
        Some(f) => fleet_speed(game, g.owner, f),
        None => speed(game, g),
    }
}

/// Deletes empty groups and merges identical groups of one race at rest at
/// the same planet (the lower number survives).
pub fn merge(game: &mut Game) {
    game.groups.retain(|g| g.ships > 0);
    let mut i = 0;
    while i < game.groups.len() {
        if game.groups[i].dist == 0.0 {
            let mut j = i + 1;
            while j < game.groups.len() && game.groups[j].owner == game.groups[i].owner {
                if same_kind(&game.groups[i], &game.groups[j]) {
                    let extra = game.groups[j].ships;
                    game.groups[i].ships += extra;
                    game.groups.remove(j);
                } else {
                    j += 1;
                }
            }
        }
        i += 1;
    }
}

fn same_kind(a: &Group, b: &Group) -> bool {
    b.dist == 0.0
        && a.to == b.to
        && a.ship_type == b.ship_type
        && a.tech == b.tech
        && a.cargo == b.cargo
        && a.load == b.load
        && a.fleet == b.fleet
        && a.intercept.is_none()
        && b.intercept.is_none()
}
