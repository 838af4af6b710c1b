//! Builds a race's structured report from the game state after a turn:
//! only what the race can see. A race sees a planet, and the groups resting
//! at it, when it owns the planet or has a group there at rest.

use crate::game::{Game, Group, PlanetId, RaceId};
use crate::group::{self, Location, location};
use crate::planet::{effective_industry, production_points};
use galaxy_model::api::RaceState;
use galaxy_model::order::Product;
use galaxy_model::report::*;
use std::collections::BTreeSet;

/// Truncates to two decimals, as the classic report shows numbers.
pub fn t2(x: f64) -> f64 {
    let v = ((x * 100.0) + if x >= 0.0 { 1e-7 } else { -1e-7 }).trunc() / 100.0;
    if v == 0.0 { 0.0 } else { v }
}

/// The state of a race for status tables.
pub fn race_state(game: &Game, r: RaceId) -> RaceState {
    let race = &game.races[r.0];
    if race.banished {
        RaceState::Banished
    } else if race.dead {
        RaceState::Dead
    } else {
        RaceState::Alive
    }
}

/// Planets race `r` can see.
pub fn visible_planets(game: &Game, r: RaceId) -> Vec<bool> {
    let mut vis: Vec<bool> = game.planets.iter().map(|p| p.owner == Some(r)).collect();
    for g in game.groups.iter().filter(|g| g.owner == r) {
        if let Some(p) = group::at_rest(g) {
            vis[p.0] = true;
        }
    }
    vis
}

fn pname(game: &Game, p: PlanetId) -> String {
    game.planets[p.0].name.clone()
}

fn planet_view(game: &Game, p: PlanetId) -> PlanetView {
    let pl = &game.planets[p.0];
    PlanetView {
        number: p.number(),
        name: pl.name.clone(),
        owner: pl
            .owner
            .map(|o| game.races[o.0].name.clone())
            .unwrap_or_default(),
        x: pl.x,
        y: pl.y,
        size: t2(pl.size),
        population: t2(pl.pop),
        industry: t2(pl.ind),
        resources: t2(pl.resources),
        product: pl.product.keyword().to_string(),
        cap: t2(pl.cap),
        mat: t2(pl.mat),
        col: t2(pl.col),
        effective_industry: t2(effective_industry(pl)),
    }
}

fn type_view(game: &Game, owner: RaceId, name: &str) -> Option<ShipTypeView> {
    let t = game.races[owner.0].ship_type(name)?;
    Some(ShipTypeView {
        race: game.races[owner.0].name.clone(),
        name: t.name.clone(),
        drive: t.drive,
        attacks: t.attacks,
        weapons: t.weapons,
        shields: t.shields,
        cargo: t.cargo,
        mass: t2(t.mass()),
    })
}

fn group_view(game: &Game, g: &Group, own: bool) -> GroupView {
    let st = game.group_type(g);
    let (at, destination) = match location(game, g) {
        Location::At(p) if g.dist == 0.0 => (pname(game, p), None),
        Location::At(p) => (pname(game, p), Some(pname(game, g.to))),
        Location::Hyperspace => (pname(game, g.from), Some(pname(game, g.to))),
    };
    GroupView {
        number: if own { g.number } else { 0 },
        race: game.races[g.owner.0].name.clone(),
        ships: g.ships,
        ship_type: g.ship_type.clone(),
        drive: t2(g.tech.drive),
        weapons: t2(g.tech.weapons),
        shields: t2(g.tech.shields),
        cargo: t2(g.tech.cargo),
        cargo_kind: if g.load > 0.0 { g.cargo } else { None },
        load: t2(g.load),
        at,
        destination,
        distance: t2(g.dist),
        speed: t2(group::speed(game, g)),
        mass: t2(st.ship_mass(g.load, g.tech.cargo)),
        fleet: if own { g.fleet.clone() } else { None },
    }
}

/// Builds race `r`'s report for the game's current turn.
pub fn build_report(game: &Game, r: RaceId) -> Report {
    let race = &game.races[r.0];
    let vis = visible_planets(game, r);
    let name_of = |o: RaceId| game.races[o.0].name.clone();

    let messages = game
        .log
        .messages
        .iter()
        .filter(|m| {
            m.to.as_ref()
                .is_none_or(|to| to.contains(&r) || m.from == Some(r))
        })
        .map(|m| MessageView {
            from: m.from.map(name_of),
            text: m.text.clone(),
        })
        .collect();

    // Status of players, ranked by effective industry.
    let mut players: Vec<PlayerView> = game
        .races
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let oid = RaceId(i);
            let owned: Vec<&crate::game::Planet> = game
                .planets
                .iter()
                .filter(|p| p.owner == Some(oid))
                .collect();
            PlayerView {
                rank: 0,
                name: o.name.clone(),
                drive: t2(o.tech.drive),
                weapons: t2(o.tech.weapons),
                shields: t2(o.tech.shields),
                cargo: t2(o.tech.cargo),
                population: t2(owned.iter().map(|p| p.pop).sum()),
                industry: t2(owned.iter().map(|p| effective_industry(p)).sum()),
                planets: owned.len() as u32,
                relation: if oid == r {
                    "-".into()
                } else if game.at_war(r, oid) {
                    "war".into()
                } else {
                    "peace".into()
                },
                state: race_state(game, oid),
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..players.len()).collect();
    order.sort_by(|&a, &b| {
        players[b]
            .industry
            .total_cmp(&players[a].industry)
            .then(a.cmp(&b))
    });
    for (rank, &i) in order.iter().enumerate() {
        players[i].rank = rank as u32 + 1;
    }
    let players = order.iter().map(|&i| players[i].clone()).collect();

    let ship_types = race
        .ship_types
        .iter()
        .filter_map(|t| type_view(game, r, &t.name))
        .collect();

    // Battles the race took part in; alien types seen there or at visible planets.
    let mut seen_types: BTreeSet<(RaceId, String)> = BTreeSet::new();
    let battles: Vec<BattleView> = game
        .log
        .battles
        .iter()
        .filter(|b| b.races.contains(&r))
        .map(|b| {
            for g in &b.groups {
                if g.owner != r {
                    seen_types.insert((g.owner, g.ship_type.clone()));
                }
            }
            BattleView {
                planet: b.planet.number(),
                planet_name: pname(game, b.planet),
                phase: b.phase,
                races: b.races.iter().map(|&o| name_of(o)).collect(),
                groups: b
                    .groups
                    .iter()
                    .map(|g| BattleGroupView {
                        race: name_of(g.owner),
                        ship_type: g.ship_type.clone(),
                        drive: t2(g.tech.drive),
                        weapons: t2(g.tech.weapons),
                        shields: t2(g.tech.shields),
                        cargo: t2(g.tech.cargo),
                        before: g.before,
                        after: g.after,
                    })
                    .collect(),
                rounds: b.rounds,
                shots: b.shots,
            }
        })
        .collect();
    let bombings = game
        .log
        .bombings
        .iter()
        .filter(|b| b.old_owner == r || b.bombers.contains(&r) || b.new_owner == Some(r))
        .map(|b| BombingView {
            planet: b.planet.number(),
            planet_name: b.planet_name.clone(),
            old_owner: name_of(b.old_owner),
            new_owner: b.new_owner.map(name_of),
            bombers: b.bombers.iter().map(|&o| name_of(o)).collect(),
            population: t2(b.pop),
            industry: t2(b.ind),
        })
        .collect();

    let mut incoming = Vec::new();
    let mut alien_groups = Vec::new();
    let mut groups = Vec::new();
    for g in &game.groups {
        if g.owner == r {
            groups.push(group_view(game, g, true));
            continue;
        }
        let dest_own = game.planets[g.to.0].owner == Some(r);
        if dest_own && g.dist > 0.0 && location(game, g) == Location::Hyperspace {
            let st = game.group_type(g);
            incoming.push(IncomingView {
                origin: pname(game, g.from),
                destination: pname(game, g.to),
                distance: t2(g.dist),
                speed: t2(group::moving_speed(game, g)),
                mass: t2(st.ship_mass(g.load, g.tech.cargo) * g.ships as f64),
            });
        }
        if let Some(p) = group::at_rest(g)
            && vis[p.0]
        {
            seen_types.insert((g.owner, g.ship_type.clone()));
            alien_groups.push(group_view(game, g, false));
        }
    }
    let alien_ship_types = seen_types
        .iter()
        .filter_map(|(o, n)| type_view(game, *o, n))
        .collect();

    let mut planets = Vec::new();
    let mut production = Vec::new();
    let mut routes = Vec::new();
    let mut alien_planets = Vec::new();
    let mut unidentified_planets = Vec::new();
    let mut uninhabited_planets = Vec::new();
    for (i, p) in game.planets.iter().enumerate() {
        let pid = PlanetId(i);
        match p.owner {
            Some(o) if o == r => {
                planets.push(planet_view(game, pid));
                if let Product::Ship(t) = &p.product {
                    let cost = race
                        .ship_type(t)
                        .map(|s| s.cost_mass() * 10.0)
                        .unwrap_or(0.0);
                    production.push(ProductionView {
                        planet: pid.number(),
                        planet_name: p.name.clone(),
                        ship_type: t.clone(),
                        cost: t2(cost),
                        in_progress: t2(p.inprogress),
                        production: t2(production_points(p) - p.inprogress),
                    });
                }
                for (k, d) in &p.routes {
                    routes.push(RouteView {
                        planet: p.name.clone(),
                        cargo: *k,
                        destination: pname(game, *d),
                    });
                }
            }
            Some(_) if vis[i] => alien_planets.push(planet_view(game, pid)),
            Some(_) => unidentified_planets.push(PlanetPosition {
                number: pid.number(),
                x: p.x,
                y: p.y,
            }),
            None => uninhabited_planets.push(UninhabitedView {
                number: pid.number(),
                name: p.name.clone(),
                x: p.x,
                y: p.y,
                size: vis[i].then(|| t2(p.size)),
                resources: vis[i].then(|| t2(p.resources)),
                cap: vis[i].then(|| t2(p.cap)),
                mat: vis[i].then(|| t2(p.mat)),
            }),
        }
    }
    let fleets = race
        .fleets
        .iter()
        .map(|f| {
            let members: Vec<&Group> = game
                .groups
                .iter()
                .filter(|g| g.owner == r && g.fleet.as_ref() == Some(f))
                .collect();
            let first = members.first();
            FleetView {
                name: f.clone(),
                groups: members.iter().map(|g| g.number).collect(),
                speed: if members.is_empty() {
                    0.0
                } else {
                    t2(group::fleet_speed(game, r, f))
                },
                at: first.map(|g| match location(game, g) {
                    Location::At(p) => pname(game, p),
                    Location::Hyperspace => pname(game, g.from),
                }),
                destination: first.filter(|g| g.dist > 0.0).map(|g| pname(game, g.to)),
            }
        })
        .collect();

    Report {
        game_id: game.game_id.clone(),
        turn: game.turn,
        race: race.key.clone(),
        race_name: race.name.clone(),
        galaxy_size: game.size,
        planet_count: game.planets.len() as u32,
        messages,
        options: RaceOptionsView {
            auto_unload: race.auto_unload,
            map_window: race.map_window,
            real_name: race.real_name.clone(),
            email: race.email.clone(),
        },
        orders_received: game.log.orders.get(&r).cloned().unwrap_or_default(),
        mistakes: game.log.mistakes.get(&r).cloned().unwrap_or_default(),
        players,
        ship_types,
        alien_ship_types,
        battles,
        bombings,
        incoming,
        planets,
        production,
        routes,
        alien_planets,
        unidentified_planets,
        uninhabited_planets,
        groups,
        fleets,
        alien_groups,
    }
}

#[cfg(test)]
mod tests {
    use super::t2;

    #[test]
    fn truncation_is_exact_for_two_decimal_values() {
        assert_eq!(t2(0.29), 0.29);
        assert_eq!(t2(196.0784), 196.07);
        assert_eq!(t2(-1.239), -1.23);
    }
}
