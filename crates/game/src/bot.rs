//! A simple scripted player used by tests and the benchmark: it designs a
//! fighter and a colony ship, builds fighters at its core home and colony
//! ships (then research) at its second home, ferries colonists to the
//! nearest free planets and sends its fighters at the nearest enemy planet.
//! It reads the game state directly and never touches the game's random
//! generator, so it cannot change a game's outcome except through orders.

use crate::game::{Game, Group, PlanetId, RaceId};
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
    if game.races[r.0].dead {
        return Vec::new();
    }
    let mut out: Vec<Order> = Vec::new();
    if game.turn == 0 {
        first_turn(&mut out);
    }
    let own = own_planets_by_size(game, r);
    production(game, &own, &mut out);
    let mut movers = Movers::new(game, r, own.first().copied());
    let parked = crate::group::race_groups(game, r)
        .iter()
        .filter(|g| g.dist == 0.0);
    for g in parked {
        let Location::At(here) = location(game, g) else {
            continue;
        };
        if g.ship_type == COLONY {
            movers.colony(g, here, &mut out);
        } else if g.ship_type == FIGHTER {
            movers.fighter(g, here, &mut out);
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

/// Turn 0: the two designs and AutoUnload.
fn first_turn(out: &mut Vec<Order>) {
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

/// The race's planets, largest first (ties by number).
fn own_planets_by_size(game: &Game, r: RaceId) -> Vec<PlanetId> {
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
    own
}

/// Fighters at the core, colony ships then research at the second planet,
/// CAP (or MAT once industry is full) elsewhere.
fn production(game: &Game, own: &[PlanetId], out: &mut Vec<Order>) {
    if let Some(&c) = own.first() {
        out.push(Order::Produce {
            planet: pref(c),
            product: Product::Ship(FIGHTER.into()),
        });
    }
    if let Some(&s) = own.get(1) {
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
}

/// What the bot knows while moving its groups.
struct Movers<'g> {
    game: &'g Game,
    r: RaceId,
    core: Option<PlanetId>,
    /// The number the next split-off group will get.
    next_number: u32,
    /// Planets already targeted by own colony ships.
    targeted: BTreeSet<PlanetId>,
}

impl<'g> Movers<'g> {
    fn new(game: &'g Game, r: RaceId, core: Option<PlanetId>) -> Movers<'g> {
        let groups = crate::group::race_groups(game, r);
        Movers {
            game,
            r,
            core,
            next_number: groups.last().map_or(1, |g| g.number + 1),
            targeted: groups
                .iter()
                .filter(|g| g.ship_type == COLONY && g.dist > 0.0)
                .map(|g| g.to)
                .collect(),
        }
    }

    /// The nearest planet other than `from` that `pred` accepts.
    fn nearest(&self, from: PlanetId, pred: &dyn Fn(PlanetId) -> bool) -> Option<PlanetId> {
        let game = self.game;
        (0..game.planets.len())
            .map(PlanetId)
            .filter(|&p| p != from && pred(p))
            .min_by(|&a, &b| {
                game.distance(from, a)
                    .total_cmp(&game.distance(from, b))
                    .then(a.cmp(&b))
            })
    }

    fn send_home(&self, g: &Group, out: &mut Vec<Order>) {
        if let Some(c) = self.core {
            out.push(Order::Send {
                unit: Unit::Group(g.number),
                planet: pref(c),
                ships: None,
            });
        }
    }

    /// Colony ships load colonists at own planets and take them to the
    /// nearest free planet nobody targets yet; elsewhere they go home.
    fn colony(&mut self, g: &Group, here: PlanetId, out: &mut Vec<Order>) {
        let game = self.game;
        let pl = &game.planets[here.0];
        if pl.owner != Some(self.r) {
            // Arrived somewhere not ours (taken by someone else): go home.
            self.send_home(g, out);
            return;
        }
        if g.load > 0.0 {
            return;
        }
        let per_ship = 3.0 * (1.0 + 0.3) * g.tech.cargo;
        let usable = (pl.col / per_ship).floor() as u32;
        if usable == 0 {
            if Some(here) != self.core {
                self.send_home(g, out);
            }
            return;
        }
        let targeted = &self.targeted;
        let free = |p: PlanetId| game.planets[p.0].owner.is_none() && !targeted.contains(&p);
        let Some(target) = self.nearest(here, &free) else {
            return;
        };
        self.targeted.insert(target);
        let n = usable.min(g.ships).min(4);
        let split = n < g.ships;
        out.push(Order::Load {
            group: g.number,
            cargo: Cargo::Col,
            ships: split.then_some(n),
            amount: None,
        });
        let number = if split {
            self.next_number += 1;
            self.next_number - 1
        } else {
            g.number
        };
        out.push(Order::Send {
            unit: Unit::Group(number),
            planet: pref(target),
            ships: None,
        });
    }

    /// Fighters gather at home (upgrading at the core) until there are
    /// enough, then attack the nearest living enemy planet.
    fn fighter(&mut self, g: &Group, here: PlanetId, out: &mut Vec<Order>) {
        let game = self.game;
        let r = self.r;
        let pl = &game.planets[here.0];
        let at_own = pl.owner == Some(r);
        // Only a group that stays is upgraded: upgrades run after sends, so a
        // group sent this turn cannot upgrade (the bot used to order both, a
        // mistake every turn).
        let stays = at_own && g.ships < ATTACK_SIZE;
        if stays && g.tech.weapons + 0.05 < game.races[r.0].tech.weapons && Some(here) == self.core
        {
            out.push(Order::Upgrade {
                group: g.number,
                ships: None,
            });
        }
        if stays || (!at_own && pl.owner.is_some()) {
            return; // gathering, or still fighting for this planet
        }
        let enemy = |p: PlanetId| {
            game.planets[p.0]
                .owner
                .is_some_and(|o| o != r && !game.races[o.0].dead)
        };
        if let Some(target) = self.nearest(here, &enemy) {
            out.push(Order::Send {
                unit: Unit::Group(g.number),
                planet: pref(target),
                ships: None,
            });
        }
    }
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
