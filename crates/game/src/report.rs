//! Builds a race's structured report from the game state after a turn:
//! only what the race can see. A race sees a planet, and the groups resting
//! at it, when it owns the planet or has a group there at rest.

use crate::game::{Game, Group, PlanetId, RaceId};
use crate::group::{self, Location, location};
use crate::planet::{effective_industry, production_points};
use crate::ship::ShipType;
use galaxy_model::api::RaceState;
use galaxy_model::order::Product;
use galaxy_model::report::*;
use std::collections::{BTreeMap, BTreeSet};

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

fn type_view(game: &Game, owner: RaceId, t: &ShipType) -> ShipTypeView {
    ShipTypeView {
        race: game.races[owner.0].name.clone(),
        name: t.name.clone(),
        drive: t.drive,
        attacks: t.attacks,
        weapons: t.weapons,
        shields: t.shields,
        cargo: t.cargo,
        mass: t2(t.mass()),
    }
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

/// What every race's report shares, computed once per turn: per-race
/// planet totals and fleet speeds.
pub struct Shared<'g> {
    /// Per race: (population, effective industry, planets).
    totals: Vec<(f64, f64, u32)>,
    /// Every fleet's speed.
    fleet_speeds: BTreeMap<(RaceId, &'g str), f64>,
}

impl<'g> Shared<'g> {
    /// Computes the shared figures in one pass over planets and groups.
    pub fn new(game: &'g Game) -> Shared<'g> {
        let mut totals = vec![(0.0, 0.0, 0u32); game.races.len()];
        for p in &game.planets {
            if let Some(o) = p.owner {
                let t = &mut totals[o.0];
                t.0 += p.pop;
                t.1 += effective_industry(p);
                t.2 += 1;
            }
        }
        Shared {
            totals,
            fleet_speeds: group::fleet_speeds(game),
        }
    }

    fn moving_speed(&self, game: &Game, g: &Group) -> f64 {
        match &g.fleet {
            Some(f) => self
                .fleet_speeds
                .get(&(g.owner, f.as_str()))
                .copied()
                .unwrap_or(0.0),
            None => group::speed(game, g),
        }
    }
}

/// Builds race `r`'s report for the game's current turn.
pub fn build_report(game: &Game, r: RaceId) -> Report {
    build_report_with(game, &Shared::new(game), r)
}

/// Builds every race's report, keyed by race key.
pub fn build_reports(game: &Game) -> BTreeMap<String, Report> {
    let shared = Shared::new(game);
    (0..game.races.len())
        .map(|i| {
            (
                game.races[i].key.clone(),
                build_report_with(game, &shared, RaceId(i)),
            )
        })
        .collect()
}

/// Builds race `r`'s report with the turn's shared figures.
pub fn build_report_with(game: &Game, shared: &Shared<'_>, r: RaceId) -> Report {
    // Every section visits the groups, planets, the race's designs and fleets
    // and the turn's events once.
    crate::cost::add(
        game.groups.len() + game.planets.len() + game.log.messages.len() + game.log.battles.len(),
    );
    let race = &game.races[r.0];
    let vis = visible_planets(game, r);
    let mut seen_types: BTreeSet<(RaceId, String)> = BTreeSet::new();
    let battles = battles_view(game, r, &mut seen_types);
    let groups = groups_view(game, shared, r, &vis, &mut seen_types);
    let planets = planets_view(game, r, &vis);
    Report {
        game_id: game.game_id.clone(),
        turn: game.turn,
        race: race.key.clone(),
        race_name: race.name.clone(),
        galaxy_size: game.size,
        planet_count: game.planets.len() as u32,
        messages: messages_view(game, r),
        options: RaceOptionsView {
            auto_unload: race.auto_unload,
            battle_protocol: race.battle_protocol,
            prod_table: race.prod_table,
            sort_groups: race.sort_groups,
            anonymous: race.anonymous,
            map_window: race.map_window,
            real_name: race.real_name.clone(),
            email: race.email.clone(),
        },
        orders_received: game.log.orders.get(&r).cloned().unwrap_or_default(),
        mistakes: game.log.mistakes.get(&r).cloned().unwrap_or_default(),
        players: players_view(game, shared, r),
        ship_types: race
            .ship_types
            .iter()
            .map(|t| type_view(game, r, t))
            .collect(),
        alien_ship_types: seen_types
            .iter()
            .filter_map(|(o, n)| Some(type_view(game, *o, game.races[o.0].ship_type(n)?)))
            .collect(),
        battles,
        bombings: bombings_view(game, r),
        incoming: groups.incoming,
        planets: planets.own,
        production: if race.prod_table {
            planets.production
        } else {
            Vec::new()
        },
        routes: planets.routes,
        alien_planets: planets.alien,
        unidentified_planets: planets.unidentified,
        uninhabited_planets: planets.uninhabited,
        groups: groups.own,
        fleets: fleets_view(game, shared, r),
        alien_groups: groups.alien,
    }
}

fn name_of(game: &Game, r: RaceId) -> String {
    game.races[r.0].name.clone()
}

/// Messages addressed to the race (or to everybody), and its own.
fn messages_view(game: &Game, r: RaceId) -> Vec<MessageView> {
    game.log
        .messages
        .iter()
        .filter(|m| {
            m.to.as_ref()
                .is_none_or(|to| to.contains(&r) || m.from == Some(r))
        })
        .map(|m| MessageView {
            from: m.from.map(|o| name_of(game, o)),
            text: m.text.clone(),
        })
        .collect()
}

/// Status of players, ranked by effective industry.
fn players_view(game: &Game, shared: &Shared<'_>, r: RaceId) -> Vec<PlayerView> {
    let mut players: Vec<PlayerView> = game
        .races
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let oid = RaceId(i);
            let (pop, ind, planets) = shared.totals[i];
            PlayerView {
                rank: 0,
                name: o.name.clone(),
                drive: t2(o.tech.drive),
                weapons: t2(o.tech.weapons),
                shields: t2(o.tech.shields),
                cargo: t2(o.tech.cargo),
                population: t2(pop),
                industry: t2(ind),
                planets,
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
    order.iter().map(|&i| players[i].clone()).collect()
}

/// Battles the race took part in; the alien types met there are noted.
fn battles_view(
    game: &Game,
    r: RaceId,
    seen_types: &mut BTreeSet<(RaceId, String)>,
) -> Vec<BattleView> {
    let battles = game.log.battles.iter().filter(|b| b.races.contains(&r));
    battles
        .map(|b| {
            for g in b.groups.iter().filter(|g| g.owner != r) {
                seen_types.insert((g.owner, g.ship_type.clone()));
            }
            BattleView {
                planet: b.planet.number(),
                planet_name: pname(game, b.planet),
                phase: b.phase,
                races: b.races.iter().map(|&o| name_of(game, o)).collect(),
                groups: b
                    .groups
                    .iter()
                    .map(|g| BattleGroupView {
                        race: name_of(game, g.owner),
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
                protocol: if game.races[r.0].battle_protocol {
                    protocol_view(game, b)
                } else {
                    Vec::new()
                },
                unlisted_shots: if game.races[r.0].battle_protocol {
                    b.shots.saturating_sub(b.protocol.len() as u64)
                } else {
                    0
                },
            }
        })
        .collect()
}

/// A battle's recorded shots, by race and ship type.
fn protocol_view(game: &Game, b: &crate::game::Battle) -> Vec<ShotView> {
    let side = |i: u32| {
        let g = &b.groups[i as usize];
        (name_of(game, g.owner), g.ship_type.clone())
    };
    b.protocol
        .iter()
        .map(|&crate::game::Shot(from, to, destroyed)| {
            let (race, ship_type) = side(from);
            let (target_race, target_type) = side(to);
            ShotView {
                race,
                ship_type,
                target_race,
                target_type,
                destroyed,
            }
        })
        .collect()
}

/// Bombings the race saw (GalaxyNG: races that could see the planet), or
/// of its planets, or by it.
fn bombings_view(game: &Game, r: RaceId) -> Vec<BombingView> {
    game.log
        .bombings
        .iter()
        .filter(|b| {
            b.viewers.contains(&r)
                || b.old_owner == r
                || b.bombers.contains(&r)
                || b.new_owner == Some(r)
        })
        .map(|b| BombingView {
            planet: b.planet.number(),
            planet_name: b.planet_name.clone(),
            old_owner: name_of(game, b.old_owner),
            new_owner: b.new_owner.map(|o| name_of(game, o)),
            bombers: b.bombers.iter().map(|&o| name_of(game, o)).collect(),
            population: t2(b.pop),
            industry: t2(b.ind),
        })
        .collect()
}

/// The group sections of a report.
struct GroupSections {
    own: Vec<GroupView>,
    alien: Vec<GroupView>,
    incoming: Vec<IncomingView>,
}

/// Own groups, alien groups at visible planets (noting their types) and
/// alien groups heading for the race's planets.
fn groups_view(
    game: &Game,
    shared: &Shared<'_>,
    r: RaceId,
    vis: &[bool],
    seen_types: &mut BTreeSet<(RaceId, String)>,
) -> GroupSections {
    let mut out = GroupSections {
        own: Vec::new(),
        alien: Vec::new(),
        incoming: Vec::new(),
    };
    for g in &game.groups {
        if g.owner == r {
            out.own.push(group_view(game, g, true));
            continue;
        }
        let dest_own = game.planets[g.to.0].owner == Some(r);
        if dest_own && g.dist > 0.0 && location(game, g) == Location::Hyperspace {
            let st = game.group_type(g);
            out.incoming.push(IncomingView {
                origin: pname(game, g.from),
                destination: pname(game, g.to),
                distance: t2(g.dist),
                speed: t2(shared.moving_speed(game, g)),
                mass: t2(st.ship_mass(g.load, g.tech.cargo) * g.ships as f64),
            });
        }
        if let Some(p) = group::at_rest(g)
            && vis[p.0]
        {
            seen_types.insert((g.owner, g.ship_type.clone()));
            out.alien.push(group_view(game, g, false));
        }
    }
    out
}

/// The planet sections of a report.
#[derive(Default)]
struct PlanetSections {
    own: Vec<PlanetView>,
    production: Vec<ProductionView>,
    routes: Vec<RouteView>,
    alien: Vec<PlanetView>,
    unidentified: Vec<PlanetPosition>,
    uninhabited: Vec<UninhabitedView>,
}

/// Every planet, in the section the race's knowledge puts it.
fn planets_view(game: &Game, r: RaceId, vis: &[bool]) -> PlanetSections {
    let mut out = PlanetSections::default();
    for (i, p) in game.planets.iter().enumerate() {
        let pid = PlanetId(i);
        match p.owner {
            Some(o) if o == r => own_planet_view(game, r, pid, &mut out),
            Some(_) if vis[i] => out.alien.push(planet_view(game, pid)),
            Some(_) => out.unidentified.push(PlanetPosition {
                number: pid.number(),
                x: p.x,
                y: p.y,
            }),
            None => out.uninhabited.push(UninhabitedView {
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
    out
}

/// An own planet with its ship production and routes.
fn own_planet_view(game: &Game, r: RaceId, pid: PlanetId, out: &mut PlanetSections) {
    let p = &game.planets[pid.0];
    out.own.push(planet_view(game, pid));
    if let Product::Ship(t) = &p.product {
        let cost = game.races[r.0]
            .ship_type(t)
            .map(|s| s.cost_mass() * 10.0)
            .unwrap_or(0.0);
        out.production.push(ProductionView {
            planet: pid.number(),
            planet_name: p.name.clone(),
            ship_type: t.clone(),
            cost: t2(cost),
            in_progress: t2(p.inprogress),
            production: t2(production_points(p) - p.inprogress),
        });
    }
    for (k, d) in &p.routes {
        out.routes.push(RouteView {
            planet: p.name.clone(),
            cargo: *k,
            destination: pname(game, *d),
        });
    }
}

/// The race's fleets with their groups (one pass over the race's groups).
fn fleets_view(game: &Game, shared: &Shared<'_>, r: RaceId) -> Vec<FleetView> {
    let mut members: BTreeMap<&str, Vec<&Group>> = BTreeMap::new();
    let race = &game.races[r.0];
    crate::cost::add(race.fleets.len() + race.ship_types.len());
    for g in group::race_groups(game, r) {
        if let Some(f) = g.fleet.as_deref() {
            members.entry(f).or_default().push(g);
        }
    }
    game.races[r.0]
        .fleets
        .iter()
        .map(|f| {
            let m = members.get(f.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let first = m.first();
            FleetView {
                name: f.clone(),
                groups: m.iter().map(|g| g.number).collect(),
                speed: first.map_or(0.0, |g| t2(shared.moving_speed(game, g))),
                at: first.map(|g| match location(game, g) {
                    Location::At(p) => pname(game, p),
                    Location::Hyperspace => pname(game, g.from),
                }),
                destination: first.filter(|g| g.dist > 0.0).map(|g| pname(game, g.to)),
            }
        })
        .collect()
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
