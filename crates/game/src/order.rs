//! Executing orders: each typed order is checked against the game state and
//! either applied or turned into a mistake with a reason. One bad order
//! never stops the others.

use crate::cargo;
use crate::game::{Game, Group, Message, PlanetId, RaceId};
use crate::group::{self, Location, at_rest, find_group, location, split};
use crate::planet::upgrade_points;
use crate::production::set_product;
use crate::ship::{ShipType, round2};
use galaxy_model::api::Mistake;
use galaxy_model::order::{Order, OrderLine, Product, Unit};
use serde::{Deserialize, Serialize};

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

type R = Result<Vec<String>, String>;

fn ok() -> R {
    Ok(Vec::new())
}

/// Applies one order for a race. `Ok` carries warnings (the order still
/// took effect); `Err` is the reason it was rejected.
pub fn apply(game: &mut Game, ctx: &mut OrderContext, race: RaceId, order: &Order) -> R {
    match order {
        Order::Message { to, text } => {
            let mut ids = Vec::new();
            for name in to {
                ids.push(
                    game.find_race(name)
                        .ok_or_else(|| format!("unknown race {name}"))?,
                );
            }
            if text.trim().is_empty() {
                return Err("empty message".into());
            }
            game.log.messages.push(Message {
                from: Some(race),
                to: if ids.is_empty() { None } else { Some(ids) },
                text: text.clone(),
            });
            ok()
        }
        Order::RealName { name } => {
            game.races[race.0].real_name = name.clone();
            ok()
        }
        Order::Ally { race: other } => {
            let o = other_race(game, race, other)?;
            game.races[race.0].allies.insert(o);
            ok()
        }
        Order::War { race: other } => {
            let o = other_race(game, race, other)?;
            game.races[race.0].allies.remove(&o);
            ok()
        }
        Order::Break { group, ships } => {
            let idx = own_group(game, race, *group)?;
            match ships {
                Some(n) => {
                    if location(game, &game.groups[idx]) == Location::Hyperspace {
                        return Err("cannot split a group in hyperspace".into());
                    }
                    split(game, idx, *n)?;
                }
                None => {
                    if game.groups[idx].fleet.is_none() {
                        return Err(format!("group {group} is not in a fleet"));
                    }
                    game.groups[idx].fleet = None;
                }
            }
            ok()
        }
        Order::RenameRace { name } => {
            check_name(name)?;
            if game.races.iter().enumerate().any(|(i, r)| {
                i != race.0
                    && (r.name.eq_ignore_ascii_case(name) || r.key.eq_ignore_ascii_case(name))
            }) {
                return Err(format!("the name {name} is taken"));
            }
            game.races[race.0].name = name.clone();
            ok()
        }
        Order::DesignShip {
            name,
            drive,
            attacks,
            weapons,
            shields,
            cargo,
        } => {
            check_unit_name(game, race, name)?;
            let (st, warnings) =
                ShipType::design(name, *drive, *attacks, *weapons, *shields, *cargo)?;
            game.races[race.0].ship_types.push(st);
            Ok(warnings)
        }
        Order::DesignFleet { name } => {
            check_unit_name(game, race, name)?;
            game.races[race.0].fleets.push(name.clone());
            ok()
        }
        Order::Eliminate { name } => {
            let r = &game.races[race.0];
            if r.fleets.contains(name) {
                for g in game
                    .groups
                    .iter_mut()
                    .filter(|g| g.owner == race && g.fleet.as_ref() == Some(name))
                {
                    g.fleet = None;
                }
                game.races[race.0].fleets.retain(|f| f != name);
                return ok();
            }
            if r.ship_type(name).is_none() {
                return Err(format!("no ship type or fleet {name}"));
            }
            if game
                .groups
                .iter()
                .any(|g| g.owner == race && &g.ship_type == name)
            {
                return Err(format!("ships of type {name} still exist"));
            }
            let product = Product::Ship(name.clone());
            if game
                .planets
                .iter()
                .any(|p| p.owner == Some(race) && p.product == product)
            {
                return Err(format!("a planet is producing {name}"));
            }
            game.races[race.0].ship_types.retain(|t| &t.name != name);
            ok()
        }
        Order::RequestAddress { .. } => ok(),
        Order::Upgrade { group, ships } => upgrade(game, race, *group, *ships),
        Order::Reverse { unit } => {
            let idxs = unit_groups(game, race, unit)?;
            for &i in &idxs {
                let g = &game.groups[i];
                if location(game, g) != Location::Hyperspace {
                    return Err("only groups in hyperspace can reverse".into());
                }
                let speed = group::moving_speed(game, g);
                if g.dist < 4.0 * speed {
                    return Err("too close to the destination to reverse".into());
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
        Order::Intercept { unit, planet } => {
            let target = planet_ref(game, planet)?;
            let idxs = movable(game, race, unit, None)?;
            for i in idxs {
                game.groups[i].intercept = Some(target);
            }
            ok()
        }
        Order::Join { unit, fleet, ships } => join(game, race, unit, fleet, *ships),
        Order::Load {
            group,
            cargo: kind,
            ships,
            amount,
        } => {
            let idx = own_group(game, race, *group)?;
            let Some(p) = at_rest(&game.groups[idx]) else {
                return Err("the group is in hyperspace".into());
            };
            if game
                .group_type(&game.groups[idx])
                .capacity(game.groups[idx].tech.cargo)
                <= 0.0
            {
                return Err("the group's ships carry no cargo".into());
            }
            let idx = take(game, idx, *ships)?;
            cargo::load(game, idx, p, *kind, *amount)?;
            ok()
        }
        Order::Unload {
            group,
            ships,
            amount,
        } => {
            let idx = own_group(game, race, *group)?;
            let Some(p) = at_rest(&game.groups[idx]) else {
                return Err("the group is in hyperspace".into());
            };
            let g = &game.groups[idx];
            match g.cargo {
                Some(c) if g.load > 0.0 => {
                    if !cargo::may_unload(game, race, p, c) {
                        return Err("cannot unload at a planet the race does not own".into());
                    }
                }
                _ => return Err("the group carries nothing".into()),
            }
            let idx = take(game, idx, *ships)?;
            cargo::unload(game, idx, p, *amount)?;
            ok()
        }
        Order::Scrap { group, ships } => {
            let idx = own_group(game, race, *group)?;
            let Some(p) = at_rest(&game.groups[idx]) else {
                return Err("the group is in hyperspace".into());
            };
            if game.planets[p.0].owner != Some(race) {
                return Err("ships are scrapped only at own planets".into());
            }
            let idx = take(game, idx, *ships)?;
            if game.groups[idx].cargo.is_some() && game.groups[idx].load > 0.0 {
                cargo::unload(game, idx, p, None)?;
            }
            let g = &game.groups[idx];
            let mass = game.group_type(g).mass() * g.ships as f64;
            game.log.ships_scrapped += g.ships as u64;
            game.planets[p.0].mat += mass;
            game.groups.remove(idx);
            ok()
        }
        Order::MapWindow { x, y, size } => {
            if ![*x, *y, *size].iter().all(|v| v.is_finite()) || *size <= 0.0 {
                return Err("the map window needs x, y and a positive size".into());
            }
            game.races[race.0].map_window = Some([*x, *y, *size]);
            ok()
        }
        Order::RenamePlanet { planet, name } => {
            let pid = own_planet(game, race, planet)?;
            check_name(name)?;
            if name.chars().all(|c| c.is_ascii_digit()) && name != &pid.number().to_string() {
                return Err("a planet name cannot be another planet's number".into());
            }
            if game
                .planets
                .iter()
                .enumerate()
                .any(|(i, p)| i != pid.0 && p.name == *name)
            {
                return Err(format!("a planet is already named {name}"));
            }
            game.planets[pid.0].name = name.clone();
            ok()
        }
        Order::SetOption { option, on } => {
            let r = &mut game.races[race.0];
            match option.to_ascii_lowercase().as_str() {
                "autounload" | "auto_unload" => {
                    r.auto_unload = on.unwrap_or(!r.auto_unload);
                    ok()
                }
                _ => Err(format!("unknown option {option}")),
            }
        }
        Order::Produce { planet, product } => {
            let pid = own_planet(game, race, planet)?;
            let product = match product {
                Product::Ship(name) => {
                    // Ship type names match case-insensitively, stored as designed.
                    let t = game.races[race.0]
                        .ship_types
                        .iter()
                        .find(|t| t.name.eq_ignore_ascii_case(name))
                        .ok_or_else(|| format!("no ship type {name}"))?;
                    Product::Ship(t.name.clone())
                }
                other => other.clone(),
            };
            set_product(game, pid, product);
            ok()
        }
        Order::Quit => {
            game.races[race.0].dead = true;
            ok()
        }
        Order::Route {
            planet,
            cargo: kind,
            destination,
        } => {
            let pid = own_planet(game, race, planet)?;
            match destination {
                Some(d) => {
                    let dest = planet_ref(game, d)?;
                    if dest == pid {
                        return Err("a route needs another planet".into());
                    }
                    game.planets[pid.0].routes.insert(*kind, dest);
                }
                None => {
                    if game.planets[pid.0].routes.remove(kind).is_none() {
                        return Err("no such route".into());
                    }
                }
            }
            ok()
        }
        Order::Send {
            unit,
            planet,
            ships,
        } => {
            let dest = planet_ref(game, planet)?;
            let idxs = movable(game, race, unit, *ships)?;
            let mut keys: Vec<u32> = idxs.iter().map(|&i| game.groups[i].number).collect();
            // Splitting shifts indices: re-find by number.
            if let (Unit::Group(_), Some(n)) = (unit, ships) {
                let idx = take(game, idxs[0], Some(*n))?;
                let g = &mut game.groups[idx];
                if g.fleet.is_some() {
                    g.fleet = None;
                }
                keys = vec![g.number];
            } else if let Unit::Group(_) = unit {
                game.groups[idxs[0]].fleet = None;
            }
            for number in keys {
                if let Some(i) = find_group(game, race, number) {
                    send(game, i, dest);
                }
            }
            ok()
        }
        Order::Rename { old, new } => {
            check_unit_name(game, race, new)?;
            let r = &mut game.races[race.0];
            if let Some(pos) = r.fleets.iter().position(|f| f == old) {
                r.fleets[pos] = new.clone();
                for g in game
                    .groups
                    .iter_mut()
                    .filter(|g| g.owner == race && g.fleet.as_ref() == Some(old))
                {
                    g.fleet = Some(new.clone());
                }
                return ok();
            }
            let Some(t) = r.ship_types.iter_mut().find(|t| &t.name == old) else {
                return Err(format!("no ship type or fleet {old}"));
            };
            t.name = new.clone();
            for g in game
                .groups
                .iter_mut()
                .filter(|g| g.owner == race && &g.ship_type == old)
            {
                g.ship_type = new.clone();
            }
            let before = Product::Ship(old.clone());
            for p in game
                .planets
                .iter_mut()
                .filter(|p| p.owner == Some(race) && p.product == before)
            {
                p.product = Product::Ship(new.clone());
            }
            ok()
        }
        Order::Claim { planet } => {
            let pid = planet_ref(game, planet)?;
            ctx.claims.push((race, pid));
            ok()
        }
        Order::Password { password } => {
            game.races[race.0].password = password.clone();
            ok()
        }
        Order::Email { address } => {
            game.races[race.0].email = address.clone();
            ok()
        }
    }
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

fn other_race(game: &Game, race: RaceId, name: &str) -> Result<RaceId, String> {
    let o = game
        .find_race(name)
        .ok_or_else(|| format!("unknown race {name}"))?;
    if o == race {
        return Err("that is the race itself".into());
    }
    Ok(o)
}

fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.starts_with('#') || name.contains('"') || name.len() > 40 {
        return Err(format!("invalid name {name:?}"));
    }
    Ok(())
}

/// Names of ship types and fleets: unique within the race, not numbers, not
/// product keywords.
fn check_unit_name(game: &Game, race: RaceId, name: &str) -> Result<(), String> {
    check_name(name)?;
    if name.parse::<u32>().is_ok() {
        return Err("a type or fleet name cannot be a number".into());
    }
    if Product::is_keyword(name) {
        return Err(format!("{name} is a reserved word"));
    }
    let r = &game.races[race.0];
    if r.ship_types
        .iter()
        .any(|t| t.name.eq_ignore_ascii_case(name))
        || r.fleets.iter().any(|f| f.eq_ignore_ascii_case(name))
    {
        return Err(format!("a ship type or fleet is already named {name}"));
    }
    Ok(())
}

fn planet_ref(game: &Game, name: &str) -> Result<PlanetId, String> {
    game.find_planet(name)
        .ok_or_else(|| format!("unknown planet {name}"))
}

fn own_planet(game: &Game, race: RaceId, name: &str) -> Result<PlanetId, String> {
    let pid = planet_ref(game, name)?;
    if game.planets[pid.0].owner != Some(race) {
        return Err(format!("planet {name} is not the race's"));
    }
    Ok(pid)
}

fn own_group(game: &Game, race: RaceId, number: u32) -> Result<usize, String> {
    find_group(game, race, number)
        .ok_or_else(|| format!("no group {}", galaxy_model::order::group_text(number)))
}

/// Splits off `ships` first when given.
fn take(game: &mut Game, idx: usize, ships: Option<u32>) -> Result<usize, String> {
    match ships {
        Some(n) => split(game, idx, n),
        None => Ok(idx),
    }
}

fn fleet_members(game: &Game, race: RaceId, fleet: &str) -> Vec<usize> {
    game.groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.owner == race && g.fleet.as_deref() == Some(fleet))
        .map(|(i, _)| i)
        .collect()
}

fn unit_groups(game: &Game, race: RaceId, unit: &Unit) -> Result<Vec<usize>, String> {
    match unit {
        Unit::Group(n) => Ok(vec![own_group(game, race, *n)?]),
        Unit::Fleet(f) => {
            if !game.races[race.0].fleets.contains(f) {
                return Err(format!("no fleet {f}"));
            }
            let m = fleet_members(game, race, f);
            if m.is_empty() {
                return Err(format!("fleet {f} is empty"));
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
) -> Result<Vec<usize>, String> {
    if ships.is_some() && matches!(unit, Unit::Fleet(_)) {
        return Err("a ship count applies to groups only".into());
    }
    let idxs = unit_groups(game, race, unit)?;
    let mut here = None;
    for &i in &idxs {
        let g = &game.groups[i];
        let Location::At(p) = location(game, g) else {
            return Err("the group is in hyperspace".into());
        };
        if here.is_some_and(|h| h != p) {
            return Err("the fleet's groups are not at one planet".into());
        }
        here = Some(p);
        if group::speed(game, g) <= 0.0 {
            return Err(format!("group {} has no drive", g.number));
        }
        if let Some(n) = ships
            && (n == 0 || n > g.ships)
        {
            return Err(format!("group {} has {} ships", g.number, g.ships));
        }
    }
    Ok(idxs)
}

fn join(game: &mut Game, race: RaceId, unit: &Unit, fleet: &str, ships: Option<u32>) -> R {
    let members = fleet_members(game, race, fleet);
    let fleet_at = members.first().map(|&i| location(game, &game.groups[i]));
    if let Some(Location::Hyperspace) = fleet_at {
        return Err(format!("fleet {fleet} is in hyperspace"));
    }
    match unit {
        Unit::Fleet(src) => {
            if src == fleet {
                return Err("a fleet cannot join itself".into());
            }
            if !game.races[race.0].fleets.iter().any(|f| f == fleet) {
                return Err(format!("no fleet {fleet}"));
            }
            let idxs = unit_groups(game, race, unit)?;
            for &i in &idxs {
                let l = location(game, &game.groups[i]);
                if l == Location::Hyperspace || fleet_at.is_some_and(|f| f != l) {
                    return Err("the fleets are not at one planet".into());
                }
            }
            for i in idxs {
                game.groups[i].fleet = Some(fleet.to_string());
            }
            game.races[race.0].fleets.retain(|f| f != src);
            ok()
        }
        Unit::Group(n) => {
            let idx = own_group(game, race, *n)?;
            let l = location(game, &game.groups[idx]);
            if l == Location::Hyperspace {
                return Err("the group is in hyperspace".into());
            }
            if fleet_at.is_some_and(|f| f != l) {
                return Err(format!("fleet {fleet} is elsewhere"));
            }
            if !game.races[race.0].fleets.iter().any(|f| f == fleet) {
                check_unit_name(game, race, fleet)?;
                game.races[race.0].fleets.push(fleet.to_string());
            }
            let idx = take(game, idx, ships)?;
            game.groups[idx].fleet = Some(fleet.to_string());
            ok()
        }
    }
}

fn upgrade(game: &mut Game, race: RaceId, number: u32, ships: Option<u32>) -> R {
    let idx = own_group(game, race, number)?;
    let Some(p) = at_rest(&game.groups[idx]) else {
        return Err("only groups at rest at a planet can upgrade".into());
    };
    if game.planets[p.0].owner != Some(race) {
        return Err("upgrades happen only at own planets".into());
    }
    let idx = take(game, idx, ships)?;
    let rtech = game.races[race.0].tech;
    let g: &Group = &game.groups[idx];
    let st = game.group_type(g);
    let per_ship = st.upgrade_cost(&g.tech, &rtech);
    if per_ship <= 0.0 {
        return Err("the group already has the race's techs".into());
    }
    let cost = per_ship * g.ships as f64;
    if !cost.is_finite() {
        return Err("the upgrade cost is out of range".into());
    }
    let avail = upgrade_points(&game.planets[p.0]);
    if avail <= 0.0 {
        return Err("no production left on the planet for upgrades".into());
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

/// Runs all orders of one phase for every race in race order.
pub fn run_phase(
    game: &mut Game,
    ctx: &mut OrderContext,
    orders: &[(RaceId, Vec<OrderLine>)],
    which: u8,
    mistakes: &mut std::collections::BTreeMap<RaceId, Vec<Mistake>>,
) {
    for (race, lines) in orders {
        for line in lines.iter().filter(|l| phase(&l.order) == which) {
            if game.races[race.0].dead {
                break;
            }
            let (order, mut warnings) = crate::shorthand::resolve(game, *race, &line.order);
            match apply(game, ctx, *race, &order) {
                Ok(more) => {
                    warnings.extend(more);
                    for w in warnings {
                        mistakes.entry(*race).or_default().push(Mistake {
                            id: line.id.clone(),
                            order: line.order.to_text(),
                            reason: format!("warning: {w}"),
                        });
                    }
                }
                Err(reason) => mistakes.entry(*race).or_default().push(Mistake {
                    id: line.id.clone(),
                    order: line.order.to_text(),
                    reason,
                }),
            }
        }
    }
}
