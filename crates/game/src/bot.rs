//! A simple scripted player used by tests and the benchmark: it designs a
//! fighter and a colony ship, builds fighters at its core home and colony
//! ships (then research) at its second home, ferries colonists to the
//! nearest free planets and sends its fighters at the nearest enemy planet.
//! It reads the game state directly and never touches the game's random
//! generator, so it cannot change a game's outcome except through orders.

use crate::game::{Game, PlanetId, RaceId};
use crate::group::{Location, location};
use galaxy_model::order::{Cargo, Order, OrderLine, Product, Unit};
use std::collections::BTreeSet;

/// The fighter design.
pub const FIGHTER: &str = "Fighter";
/// The colony ship design.
pub const COLONY: &str = "Colony";

/// Fighters gathered before an attack.
const ATTACK_SIZE: u32 = 20;

fn pref(p: PlanetId) -> String {
    format!("#{}", p.number())
}

/// The bot's orders for race `r` this turn.
pub fn orders(game: &Game, r: RaceId) -> Vec<OrderLine> {
    let mut out: Vec<Order> = Vec::new();
    let race = &game.races[r.0];
    if race.dead {
        return Vec::new();
    }
    if game.turn == 0 {
        out.push(Order::DesignShip {
            name: FIGHTER.into(),
            drive: 6.0,
            attacks: 1,
            weapons: 4.0,
            shields: 3.0,
            cargo: 0.0,
        });
        out.push(Order::DesignShip {
            name: COLONY.into(),
            drive: 2.0,
            attacks: 0,
            weapons: 0.0,
            shields: 0.0,
            cargo: 3.0,
        });
        out.push(Order::SetOption {
            option: "AutoUnload".into(),
            on: Some(true),
        });
    }
    let mut own: Vec<PlanetId> = (0..game.planets.len())
        .map(PlanetId)
        .filter(|p| game.planets[p.0].owner == Some(r))
        .collect();
    own.sort_by(|a, b| {
        game.planets[b.0]
            .size
            .total_cmp(&game.planets[a.0].size)
            .then(a.cmp(b))
    });
    let core = own.first().copied();
    let second = own.get(1).copied();
    if let Some(c) = core {
        out.push(Order::Produce {
            planet: pref(c),
            product: Product::Ship(FIGHTER.into()),
        });
    }
    if let Some(s) = second {
        let product = if game.turn < 4 {
            Product::Ship(COLONY.into())
        } else {
            match game.turn % 4 {
                0 => Product::Drive,
                1 => Product::Weapons,
                2 => Product::Shields,
                _ => Product::Cargo,
            }
        };
        out.push(Order::Produce {
            planet: pref(s),
            product,
        });
    }
    for &p in own.iter().skip(2) {
        let pl = &game.planets[p.0];
        let product = if pl.ind < pl.pop {
            Product::Cap
        } else {
            Product::Mat
        };
        out.push(Order::Produce {
            planet: pref(p),
            product,
        });
    }

    let mut next_number = game
        .groups
        .iter()
        .filter(|g| g.owner == r)
        .map(|g| g.number)
        .max()
        .unwrap_or(0)
        + 1;
    // Planets already targeted by own colony ships.
    let mut targeted: BTreeSet<PlanetId> = game
        .groups
        .iter()
        .filter(|g| g.owner == r && g.ship_type == COLONY && g.dist > 0.0)
        .map(|g| g.to)
        .collect();
    let nearest = |from: PlanetId, pred: &dyn Fn(PlanetId) -> bool| -> Option<PlanetId> {
        (0..game.planets.len())
            .map(PlanetId)
            .filter(|&p| p != from && pred(p))
            .min_by(|&a, &b| {
                game.distance(from, a)
                    .total_cmp(&game.distance(from, b))
                    .then(a.cmp(&b))
            })
    };
    for g in game.groups.iter().filter(|g| g.owner == r && g.dist == 0.0) {
        let Location::At(here) = location(game, g) else {
            continue;
        };
        let pl = &game.planets[here.0];
        if g.ship_type == COLONY {
            if pl.owner != Some(r) {
                // Arrived somewhere not ours (taken by someone else): go home.
                if let Some(c) = core {
                    out.push(Order::Send {
                        unit: Unit::Group(g.number),
                        planet: pref(c),
                        ships: None,
                    });
                }
                continue;
            }
            if g.load > 0.0 {
                continue;
            }
            let per_ship = 3.0 * (1.0 + 0.3) * g.tech.cargo;
            let usable = (pl.col / per_ship).floor() as u32;
            if usable == 0 {
                if Some(here) != core
                    && let Some(c) = core
                {
                    out.push(Order::Send {
                        unit: Unit::Group(g.number),
                        planet: pref(c),
                        ships: None,
                    });
                }
                continue;
            }
            let Some(target) = nearest(here, &|p| {
                game.planets[p.0].owner.is_none() && !targeted.contains(&p)
            }) else {
                continue;
            };
            targeted.insert(target);
            let n = usable.min(g.ships).min(4);
            let number = if n < g.ships {
                let id = next_number;
                next_number += 1;
                out.push(Order::Load {
                    group: g.number,
                    cargo: Cargo::Col,
                    ships: Some(n),
                    amount: None,
                });
                id
            } else {
                out.push(Order::Load {
                    group: g.number,
                    cargo: Cargo::Col,
                    ships: None,
                    amount: None,
                });
                g.number
            };
            out.push(Order::Send {
                unit: Unit::Group(number),
                planet: pref(target),
                ships: None,
            });
        } else if g.ship_type == FIGHTER {
            let at_own = pl.owner == Some(r);
            // Only a group that stays is upgraded: upgrades run after
            // sends, so a group sent this turn cannot upgrade (the bot used
            // to order both, a mistake every turn).
            let stays = at_own && g.ships < ATTACK_SIZE;
            if stays && g.tech.weapons + 0.05 < race.tech.weapons && Some(here) == core {
                out.push(Order::Upgrade {
                    group: g.number,
                    ships: None,
                });
            }
            if stays {
                continue;
            }
            let enemy = |p: PlanetId| {
                game.planets[p.0]
                    .owner
                    .is_some_and(|o| o != r && !game.races[o.0].dead)
            };
            if !at_own && pl.owner.is_some() {
                continue; // still fighting for this planet
            }
            if let Some(target) = nearest(here, &enemy) {
                out.push(Order::Send {
                    unit: Unit::Group(g.number),
                    planet: pref(target),
                    ships: None,
                });
            }
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, order)| OrderLine {
            id: (i + 1).to_string(),
            order,
        })
        .collect()
}

/// Every living race's bot orders, keyed by race key, ready for a turn.
pub fn all_orders(game: &Game) -> std::collections::BTreeMap<String, crate::order::RaceOrders> {
    game.races
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.dead)
        .map(|(i, r)| {
            (
                r.key.clone(),
                crate::order::RaceOrders {
                    lines: orders(game, RaceId(i)),
                    mistakes: Vec::new(),
                },
            )
        })
        .collect()
}
