//! Cargo: loading from and unloading onto planets, colonising with COL.

use crate::error::OrderError;
use crate::game::{Game, PlanetId, RaceId};
use crate::planet::{POPPERCOL, convertcap};
use galaxy_model::order::Cargo;

/// Smallest cargo amount.
pub const AMOUNTMIN: f64 = 0.01;

/// Loads group `idx` at planet `pid` with `amount` per ship (default: the
/// free space) of `cargo`; a short stockpile is shared evenly. Returns the
/// total loaded.
pub fn load(
    game: &mut Game,
    idx: usize,
    pid: PlanetId,
    cargo: Cargo,
    amount: Option<f64>,
) -> Result<f64, OrderError> {
    let g = &game.groups[idx];
    let st = game.group_type(g);
    let cap = st.capacity(g.tech.cargo);
    if cap <= 0.0 {
        return Err(OrderError::Cargo("the group's ships carry no cargo".into()));
    }
    if let Some(c) = g.cargo
        && c != cargo
        && g.load > 0.0
    {
        return Err(OrderError::Cargo(format!(
            "the group already carries {}",
            c.keyword()
        )));
    }
    let ships = g.ships as f64;
    let free_per_ship = (cap - g.load).max(0.0);
    let mut per_ship = free_per_ship;
    if let Some(a) = amount {
        if !(a.is_finite() && a > 0.0) {
            return Err(OrderError::InvalidValue(
                "the amount must be positive".into(),
            ));
        }
        if a > free_per_ship + 1e-9 {
            return Err(OrderError::Cargo(format!(
                "not enough cargo space for {a} per ship ({free_per_ship:.2} free)"
            )));
        }
        per_ship = a;
    }
    let p = &game.planets[pid.0];
    let stock = match cargo {
        Cargo::Cap => p.cap,
        Cargo::Mat => p.mat,
        Cargo::Col => p.col,
    };
    let total = (per_ship * ships).min(stock);
    if total / ships < AMOUNTMIN {
        return Err(OrderError::Cargo(
            "nothing to load (less than 0.01 per ship)".into(),
        ));
    }
    let p = &mut game.planets[pid.0];
    match cargo {
        Cargo::Cap => p.cap -= total,
        Cargo::Mat => p.mat -= total,
        Cargo::Col => p.col -= total,
    }
    let g = &mut game.groups[idx];
    g.cargo = Some(cargo);
    g.load += total / ships;
    Ok(total)
}

/// Unloads `amount` per ship (default: all; at most the load) from group
/// `idx` onto planet `pid`, whoever owns it (GalaxyNG's `u` order checks no
/// owner). Returns the total unloaded.
pub fn unload(
    game: &mut Game,
    idx: usize,
    pid: PlanetId,
    amount: Option<f64>,
) -> Result<f64, OrderError> {
    let g = &game.groups[idx];
    let Some(cargo) = g.cargo else {
        return Err(OrderError::Cargo("the group carries nothing".into()));
    };
    if g.load <= 0.0 {
        return Err(OrderError::Cargo("the group carries nothing".into()));
    }
    let ships = g.ships as f64;
    let mut total = g.load * ships;
    if let Some(a) = amount {
        if !(a.is_finite() && a >= AMOUNTMIN) {
            return Err(OrderError::InvalidValue(
                "unload at least 0.01 per ship".into(),
            ));
        }
        total = total.min(a * ships);
    }
    let owner = g.owner;
    let g = &mut game.groups[idx];
    g.load -= total / ships;
    if g.load < AMOUNTMIN / 100.0 {
        g.load = 0.0;
        g.cargo = None;
    }
    deliver(game, owner, pid, cargo, total);
    Ok(total)
}

/// Puts `total` of `cargo` onto a planet: CAP → cap then convertcap; MAT →
/// mat; COL → ×8 onto pop up to size, surplus to col, taking an unowned
/// planet.
pub fn deliver(game: &mut Game, owner: RaceId, pid: PlanetId, cargo: Cargo, total: f64) {
    let p = &mut game.planets[pid.0];
    match cargo {
        Cargo::Cap => {
            p.cap += total;
            convertcap(p);
        }
        Cargo::Mat => p.mat += total,
        Cargo::Col => {
            if p.owner.is_none() {
                p.owner = Some(owner);
            }
            let people = total * POPPERCOL;
            let room = (p.size - p.pop).max(0.0).min(people);
            p.pop += room;
            p.col += (people - room) / POPPERCOL;
            convertcap(p);
        }
    }
}
