//! Groups: numbering, lookup, splitting, location, speed and merging.

use crate::error::OrderError;
use crate::game::{Game, Group, PlanetId, RaceId};
use crate::ship::Tech;
use galaxy_model::limits::MAX_GROUPS_PER_RACE;
use galaxy_model::order::Cargo;
use std::collections::BTreeMap;
use std::ops::Range;

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

/// Where a race's groups are in `game.groups` (sorted by owner, then
/// number): O(log n).
pub fn race_range(game: &Game, owner: RaceId) -> Range<usize> {
    crate::cost::add(1);
    let start = game.groups.partition_point(|g| g.owner < owner);
    let len = game.groups[start..].partition_point(|g| g.owner == owner);
    start..start + len
}

/// A race's groups, in number order.
pub fn race_groups(game: &Game, owner: RaceId) -> &[Group] {
    &game.groups[race_range(game, owner)]
}

/// The next free group number of a race: highest + 1 (saturating: numbers
/// grow by one per new group, so u32::MAX is out of reach in practice).
pub fn next_group_number(game: &Game, owner: RaceId) -> u32 {
    race_groups(game, owner)
        .last()
        .map_or(1, |g| g.number.saturating_add(1))
}

/// Inserts a group keeping the list sorted by (owner, number).
pub fn insert_group(game: &mut Game, g: Group) {
    let pos = game
        .groups
        .partition_point(|x| (x.owner, x.number) < (g.owner, g.number));
    // The groups after `pos` move: other races' groups (a race's new group
    // always goes at the end of its own block).
    crate::cost::add(1 + game.groups.len() - pos);
    game.groups.insert(pos, g);
}

/// Index of a race's group by number.
pub fn find_group(game: &Game, owner: RaceId, number: u32) -> Option<usize> {
    crate::cost::add(1);
    game.groups
        .binary_search_by(|x| (x.owner, x.number).cmp(&(owner, number)))
        .ok()
}

/// Splits `ships` ships off group `idx` into a new group (outside any
/// fleet) and returns the new group's index. Splitting all ships returns
/// the group itself.
pub fn split(game: &mut Game, idx: usize, ships: u32) -> Result<usize, OrderError> {
    let g = &game.groups[idx];
    if ships == 0 {
        return Err(OrderError::ShipCount(
            "a ship count must be positive".into(),
        ));
    }
    if ships > g.ships {
        return Err(OrderError::ShipCount(format!(
            "group {} has only {} ships",
            g.number, g.ships
        )));
    }
    if ships == g.ships {
        return Ok(idx);
    }
    if race_range(game, g.owner).len() >= MAX_GROUPS_PER_RACE {
        return Err(OrderError::LimitExceeded {
            what: "groups",
            limit: MAX_GROUPS_PER_RACE,
        });
    }
    let mut new = g.clone();
    let owner = g.owner;
    new.ships = ships;
    new.fleet = None;
    new.number = next_group_number(game, owner);
    game.groups[idx].ships -= ships;
    let number = new.number;
    insert_group(game, new);
    find_group(game, owner, number).ok_or_else(|| OrderError::not_allowed("no group number left"))
}

/// Speed of a group's ships.
pub fn speed(game: &Game, g: &Group) -> f64 {
    game.group_type(g).speed(&g.tech, g.load)
}

/// Speed of a fleet: its slowest group (O(the race's groups)).
pub fn fleet_speed(game: &Game, owner: RaceId, fleet: &str) -> f64 {
    let groups = race_groups(game, owner);
    crate::cost::add(groups.len());
    groups
        .iter()
        .filter(|g| g.fleet.as_deref() == Some(fleet))
        .map(|g| speed(game, g))
        .fold(f64::INFINITY, f64::min)
}

/// Every fleet's speed, computed in one pass over the groups.
pub fn fleet_speeds(game: &Game) -> BTreeMap<(RaceId, &str), f64> {
    crate::cost::add(game.groups.len());
    let mut out: BTreeMap<(RaceId, &str), f64> = BTreeMap::new();
    for g in &game.groups {
        if let Some(f) = g.fleet.as_deref() {
            let s = speed(game, g);
            out.entry((g.owner, f))
                .and_modify(|v| *v = v.min(s))
                .or_insert(s);
        }
    }
    out
}

/// The speed a group moves at (its fleet's when in one).
pub fn moving_speed(game: &Game, g: &Group) -> f64 {
    match &g.fleet {
        Some(f) => fleet_speed(game, g.owner, f),
        None => speed(game, g),
    }
}

/// Deletes empty groups and merges identical groups of one race at rest at
/// the same planet (the lower number survives). One pass with a map keyed by
/// everything that must match, so the cost is O(n log n).
pub fn merge(game: &mut Game) {
    crate::cost::add(game.groups.len());
    game.groups.retain(|g| g.ships > 0);
    let mut survivors: BTreeMap<MergeKey<'_>, usize> = BTreeMap::new();
    // (survivor, merged) pairs; groups are sorted, so the survivor is always
    // the lower number.
    let mut moves: Vec<(usize, usize)> = Vec::new();
    for (i, g) in game.groups.iter().enumerate() {
        if g.dist != 0.0 || g.intercept.is_some() {
            continue;
        }
        match survivors.entry(MergeKey::of(g)) {
            std::collections::btree_map::Entry::Occupied(e) => moves.push((*e.get(), i)),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(i);
            }
        }
    }
    drop(survivors);
    for &(into, from) in &moves {
        let ships = game.groups[from].ships;
        let g = &mut game.groups[into];
        g.ships = g.ships.saturating_add(ships);
        game.groups[from].ships = 0;
    }
    if !moves.is_empty() {
        game.groups.retain(|g| g.ships > 0);
    }
}

/// What two groups must share to merge.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct MergeKey<'a> {
    owner: RaceId,
    at: PlanetId,
    ship_type: &'a str,
    tech: [u64; 4],
    cargo: Option<Cargo>,
    load: u64,
    fleet: Option<&'a str>,
}

impl<'a> MergeKey<'a> {
    fn of(g: &'a Group) -> MergeKey<'a> {
        let Tech {
            drive,
            weapons,
            shields,
            cargo,
        } = g.tech;
        // Bit patterns: equal values (as the rule compares them) share one,
        // except 0.0 and -0.0, which the engine never produces.
        MergeKey {
            owner: g.owner,
            at: g.to,
            ship_type: &g.ship_type,
            tech: [drive, weapons, shields, cargo].map(f64::to_bits),
            cargo: g.cargo,
            load: g.load.to_bits(),
            fleet: g.fleet.as_deref(),
        }
    }
}
