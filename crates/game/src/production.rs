//! Production: CAP, MAT, research and ships with carry-over, and the refund
//! when a planet stops building ships.

use crate::game::{Game, Group, PlanetId, RaceId};
use crate::planet::{grow, production_points};
use crate::ship::ShipType;
use galaxy_model::order::Product;

/// Production per unit of ship mass.
pub const INDPERSHIP: f64 = 10.0;
/// Production per unit of capital.
pub const INDPERCAP: f64 = 5.0;

/// Result of producing capital: `(cap made, mat left, production left)`.
pub fn produce_cap(points: f64, mat: f64, resources: f64) -> (f64, f64) {
    let m = (points / INDPERCAP).min(mat).max(0.0);
    let mut cap = m;
    let mat_left = mat - m;
    let p = points - INDPERCAP * m;
    if p > 0.0 && resources > 0.0 {
        cap += p / (INDPERCAP + 1.0 / resources);
    }
    (cap, mat_left)
}

/// Number of ships of cost mass `tm` buildable with `points` production,
/// `mat` materials and `resources`; and the production that costs.
pub fn ships_buildable(tm: f64, points: f64, mat: f64, resources: f64) -> (u32, f64) {
    if tm <= 0.0 || points <= 0.0 {
        return (0, 0.0);
    }
    let cost = |n: f64| {
        let short = (n * tm - mat).max(0.0);
        let extra = if short > 0.0 {
            if resources > 0.0 {
                short / resources
            } else {
                f64::INFINITY
            }
        } else {
            0.0
        };
        n * tm * INDPERSHIP + extra
    };
    // Closed-form estimate, clamped to the u32 range so every count below is
    // an exact integer in f64 (n + 1 != n), then corrected for rounding.
    let by_points = (points / (tm * INDPERSHIP)).floor();
    let estimate = if by_points * tm <= mat || resources <= 0.0 {
        by_points
    } else {
        ((points + mat / resources) / (tm * (INDPERSHIP + 1.0 / resources))).floor()
    };
    let max = u64::from(u32::MAX);
    let mut n = if estimate.is_finite() {
        estimate.clamp(0.0, max as f64) as u64
    } else {
        0
    };
    // Termination: n only decreases towards 0 in the first loop and only
    // increases towards `max` in the second; the estimate is within a few
    // units of the answer, so each runs a handful of times.
    while n > 0 && cost(n as f64) > points {
        n -= 1;
    }
    while n < max && cost((n + 1) as f64) <= points {
        n += 1;
    }
    let n = n as u32;
    (n, if n == 0 { 0.0 } else { cost(f64::from(n)) })
}

/// Refund for leaving ship production:
/// `tm·inprogress / (10·tm + max(0, tm − mat)/resources)`.
pub fn ship_refund(tm: f64, inprogress: f64, mat: f64, resources: f64) -> f64 {
    if inprogress <= 0.0 || tm <= 0.0 {
        return 0.0;
    }
    let short = (tm - mat).max(0.0);
    let denom = INDPERSHIP * tm
        + if short > 0.0 && resources > 0.0 {
            short / resources
        } else {
            0.0
        };
    tm * inprogress / denom
}

/// Sets a planet's product, refunding ship production in progress when it
/// changes away from a ship type.
pub fn set_product(game: &mut Game, pid: PlanetId, product: Product) {
    let p = &game.planets[pid.0];
    if p.product == product {
        return;
    }
    if let (Product::Ship(name), Some(owner)) = (&p.product, p.owner) {
        let tm = game.races[owner.0]
            .ship_type(name)
            .map(ShipType::cost_mass)
            .unwrap_or(0.0);
        let refund = ship_refund(tm, p.inprogress, p.mat, p.resources);
        let p = &mut game.planets[pid.0];
        p.mat += refund;
    }
    let p = &mut game.planets[pid.0];
    p.inprogress = 0.0;
    p.product = product;
}

/// First pass: ships, CAP and MAT on every owned planet.
pub fn produce_goods(game: &mut Game) {
    for i in 0..game.planets.len() {
        let Some(owner) = game.planets[i].owner else {
            continue;
        };
        let points = production_points(&game.planets[i]);
        match game.planets[i].product.clone() {
            Product::Mat => {
                let p = &mut game.planets[i];
                p.mat += points.max(0.0) * p.resources;
                p.inprogress = 0.0;
            }
            Product::Cap => {
                let p = &mut game.planets[i];
                let (cap, mat) = produce_cap(points.max(0.0), p.mat, p.resources);
                p.cap += cap;
                p.mat = mat;
                p.inprogress = 0.0;
            }
            Product::Ship(name) => build_ships(game, PlanetId(i), owner, &name, points),
            Product::Drive | Product::Weapons | Product::Shields | Product::Cargo => {}
        }
    }
}

fn build_ships(game: &mut Game, pid: PlanetId, owner: RaceId, name: &str, points: f64) {
    let Some(st) = game.races[owner.0].ship_type(name).cloned() else {
        game.planets[pid.0].inprogress = 0.0;
        return;
    };
    let tm = st.cost_mass();
    let p = &game.planets[pid.0];
    let (n, cost) = ships_buildable(tm, points, p.mat, p.resources);
    let p = &mut game.planets[pid.0];
    if n == 0 {
        p.inprogress = points.max(0.0);
        return;
    }
    let need = n as f64 * tm;
    p.mat = if p.mat >= need { p.mat - need } else { 0.0 };
    p.inprogress = points - cost;
    let tech = st.build_tech(&game.races[owner.0].tech);
    let number = crate::group::next_group_number(game, owner);
    crate::group::insert_group(
        game,
        Group {
            owner,
            number,
            ships: n,
            ship_type: st.name.clone(),
            tech,
            cargo: None,
            load: 0.0,
            from: pid,
            to: pid,
            dist: 0.0,
            fleet: None,
            intercept: None,
        },
    );
    game.log.ships_built += n as u64;
}

/// Second pass: research, then growth, on every owned planet; `spent`
/// resets.
pub fn research_and_grow(game: &mut Game) {
    for i in 0..game.planets.len() {
        let Some(owner) = game.planets[i].owner else {
            continue;
        };
        let points = production_points(&game.planets[i]).max(0.0);
        let tech = &mut game.races[owner.0].tech;
        let researched = match game.planets[i].product {
            Product::Drive => {
                tech.drive += points / 5000.0;
                true
            }
            Product::Weapons => {
                tech.weapons += points / 5000.0;
                true
            }
            Product::Shields => {
                tech.shields += points / 5000.0;
                true
            }
            Product::Cargo => {
                tech.cargo += points / 2500.0;
                true
            }
            _ => false,
        };
        let p = &mut game.planets[i];
        if researched {
            p.inprogress = 0.0;
        }
        p.spent = 0.0;
        grow(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ship::round2;

    #[test]
    fn example_7_cap() {
        assert_eq!(round2(produce_cap(1000.0, 0.0, 10.0).0), 196.08);
        let (c, m) = produce_cap(1000.0, 200.0, 10.0);
        assert_eq!((round2(c), m), (200.0, 0.0));
        assert_eq!(round2(produce_cap(1000.0, 100.0, 10.0).0), 198.04);
        assert_eq!(round2(produce_cap(1000.0, 0.0, 0.1).0), 66.67);
    }

    #[test]
    fn example_8_mat() {
        // mat += P·resources
        let mut g = crate::testkit::one_planet_game(400.0, 0.0, 5.0);
        g.planets[0].product = Product::Mat;
        produce_goods(&mut g);
        assert_eq!(g.planets[0].mat, 500.0);
    }

    #[test]
    fn example_9_drones() {
        let (n, cost) = ships_buildable(1.0, 1000.0, 0.0, 10.0);
        assert_eq!(n, 99);
        assert_eq!(round2(1000.0 - cost), 0.10);
        assert_eq!(ships_buildable(1.0, 1000.0, 0.0, 0.1).0, 50);
    }

    #[test]
    fn example_10_carry_over_of_49_5_mass_ships() {
        let mut g = crate::testkit::one_planet_game(1000.0, 1000.0, 10.0);
        // 750 production: pop = ind = 1000 → 0.75·1000 + 0.25·0 ... use pop=ind=750
        g.planets[0].pop = 750.0;
        g.planets[0].ind = 750.0;
        g.planets[0].size = 750.0;
        let (st, _) = ShipType::design("Hauler", 30.0, 0, 0.0, 9.5, 10.0).unwrap();
        g.races[0].ship_types.push(st);
        g.planets[0].product = Product::Ship("Hauler".into());
        produce_goods(&mut g);
        assert_eq!(g.total_ships(), 1);
        assert_eq!(round2(g.planets[0].inprogress), 250.05);
        produce_goods(&mut g);
        assert_eq!(g.total_ships(), 3);
        assert_eq!(round2(g.planets[0].inprogress), 0.15);
    }

    #[test]
    fn example_11_research() {
        let mut g = crate::testkit::one_planet_game(500.0, 500.0, 10.0);
        g.planets[0].pop = 500.0;
        g.planets[0].ind = 500.0;
        g.planets[0].product = Product::Weapons;
        research_and_grow(&mut g);
        assert_eq!(round2(g.races[0].tech.weapons), 1.10);
        g.planets[0].pop = 500.0;
        g.planets[0].ind = 500.0;
        g.planets[0].product = Product::Cargo;
        research_and_grow(&mut g);
        assert_eq!(round2(g.races[0].tech.cargo), 1.20);
        g.planets[0].pop = 5000.0;
        g.planets[0].ind = 5000.0;
        g.planets[0].size = 5000.0;
        g.planets[0].product = Product::Drive;
        research_and_grow(&mut g);
        assert_eq!(round2(g.races[0].tech.drive), 2.00);
    }

    #[test]
    fn refund_when_leaving_ship_production() {
        let mut g = crate::testkit::one_planet_game(1000.0, 1000.0, 10.0);
        let (st, _) = ShipType::design("Drone", 1.0, 0, 0.0, 0.0, 0.0).unwrap();
        g.races[0].ship_types.push(st);
        g.planets[0].product = Product::Ship("Drone".into());
        g.planets[0].inprogress = 5.0;
        set_product(&mut g, PlanetId(0), Product::Ship("Drone".into()));
        assert_eq!(g.planets[0].inprogress, 5.0);
        set_product(&mut g, PlanetId(0), Product::Cap);
        // 1·5 / (10 + 1/10)
        assert!((g.planets[0].mat - 5.0 / 10.1).abs() < 1e-12);
        assert_eq!(g.planets[0].inprogress, 0.0);
    }
}
