//! Map generation: per race home planets, "empty" growth planets around the
//! core home and "stuff" planets anywhere; deterministic for a seed.

use crate::game::{Game, Planet, PlanetId, Race, RaceId, TurnLog};
use crate::rng::GameRng;
use crate::ship::round2;
use galaxy_model::api::GameSettings;
use galaxy_model::limits::*;
use galaxy_model::order::Product;
use std::collections::BTreeSet;
use thiserror::Error;

/// Why a game could not be created.
#[derive(Debug, Error, PartialEq)]
pub enum MapError {
    /// A setting (or the race list) out of its documented range.
    #[error("{field}: {message}")]
    BadSettings {
        /// The request field at fault, e.g. `settings.home_planets[0]`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> MapError {
    MapError::BadSettings {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks the races against [`galaxy_model::limits`], then the settings
/// with [`GameSettings::validate`] (the rules the backend checks too),
/// naming the first field out of range.
pub fn check_settings(settings: &GameSettings, races: &[String]) -> Result<(), MapError> {
    if races.is_empty() || races.len() > MAX_RACES {
        return Err(bad("races", format!("a game has 1 to {MAX_RACES} races")));
    }
    for (i, r) in races.iter().enumerate() {
        let ok = !r.trim().is_empty()
            && r.len() <= MAX_NAME_BYTES
            && !r.starts_with('#')
            && !r.contains('"')
            && !races[..i].iter().any(|o| o.eq_ignore_ascii_case(r));
        if !ok {
            return Err(bad(
                format!("races[{i}].name"),
                format!(
                    "race names are unique, 1 to {MAX_NAME_BYTES} bytes, not starting with # nor containing \""
                ),
            ));
        }
    }
    settings.validate().map_err(|e| MapError::BadSettings {
        field: e.field,
        message: e.message,
    })
}

/// The galaxy side for `n` races: ⌊42·⌈√n⌉/10⌋·10.
pub fn default_size(n: usize) -> f64 {
    let root = (n as f64).sqrt().ceil();
    ((42.0 * root) / 10.0).floor() * 10.0
}

struct Draft {
    x: f64,
    y: f64,
    size: f64,
    resources: f64,
    owner: Option<RaceId>,
}

/// The planets drawn so far, with their (rounded) coordinates indexed so a
/// draw is checked against them in O(log n).
#[derive(Default)]
struct Drafts {
    list: Vec<Draft>,
    taken: BTreeSet<(i64, i64)>,
}

impl Drafts {
    fn key(x: f64, y: f64) -> (i64, i64) {
        ((x * 100.0).round() as i64, (y * 100.0).round() as i64)
    }

    /// Draws positions with `draw` until one lies inside the galaxy and is
    /// free. Every draw has a positive chance of success (the disc around a
    /// core home always reaches inside), so this ends with probability 1.
    fn free_spot(
        &self,
        rng: &mut GameRng,
        size: f64,
        mut draw: impl FnMut(&mut GameRng) -> (f64, f64),
    ) -> (f64, f64) {
        let in_map = |v: f64| (0.0..size).contains(&v);
        loop {
            let (x, y) = draw(rng);
            let (x, y) = (round2(x), round2(y));
            if in_map(x) && in_map(y) && !self.taken.contains(&Drafts::key(x, y)) {
                return (x, y);
            }
        }
    }

    fn push(&mut self, d: Draft) {
        self.taken.insert(Drafts::key(d.x, d.y));
        self.list.push(d);
    }
}

/// A point at distance U(lo, hi) in a uniform direction from (cx, cy).
fn around(rng: &mut GameRng, (cx, cy): (f64, f64), lo: f64, hi: f64) -> (f64, f64) {
    let r = rng.range(lo, hi);
    let a = rng.range(0.0, std::f64::consts::TAU);
    (cx + r * a.cos(), cy + r * a.sin())
}

/// Creates turn 0 of a new game.
pub fn new_game(
    game_id: &str,
    seed: u64,
    settings: GameSettings,
    races: &[String],
) -> Result<Game, MapError> {
    check_settings(&settings, races)?;
    let n = races.len();
    let size = settings.size.unwrap_or_else(|| default_size(n));
    let mut rng = GameRng::new(seed);
    let cores = place_cores(&mut rng, n, size, settings.race_spacing.max(0.0));
    let mut drafts = Drafts::default();
    for (ri, &core) in cores.iter().enumerate() {
        place_homes(&mut drafts, &mut rng, &settings, size, RaceId(ri), core);
        place_empty(&mut drafts, &mut rng, &settings, size, core);
    }
    for _ in 0..n * settings.stuff_planets as usize {
        place_stuff(&mut drafts, &mut rng, size);
    }
    let planets = number_planets(drafts.list, &mut rng);
    Ok(Game {
        game_id: game_id.to_string(),
        turn: 0,
        settings,
        size,
        rng,
        races: races.iter().map(|r| Race::new(r)).collect(),
        planets,
        groups: Vec::new(),
        log: TurnLog::default(),
        outbox: Vec::new(),
        planet_index: Default::default(),
        fleet_index: Default::default(),
    })
}

/// Core homes: inside the disc of radius size/2 − 4, more than `spacing`
/// apart. The spacing shrinks by 10 % after 2000 failed draws in a row, so
/// the loop ends however crowded the settings.
fn place_cores(rng: &mut GameRng, n: usize, size: f64, mut spacing: f64) -> Vec<(f64, f64)> {
    let centre = size / 2.0;
    let radius = (size / 2.0 - 4.0).max(1.0);
    let mut cores: Vec<(f64, f64)> = Vec::new();
    let mut attempts = 0u32;
    while cores.len() < n {
        let r = radius * rng.f64().sqrt();
        let a = rng.range(0.0, std::f64::consts::TAU);
        let x = round2(centre + r * a.cos());
        let y = round2(centre + r * a.sin());
        let ok = cores
            .iter()
            .all(|&(cx, cy)| ((cx - x).powi(2) + (cy - y).powi(2)).sqrt() > spacing);
        if ok && !cores.contains(&(x, y)) {
            cores.push((x, y));
            attempts = 0;
        } else {
            attempts += 1;
            if attempts > 2000 {
                spacing *= 0.9;
                attempts = 0;
            }
        }
    }
    cores
}

/// A race's home planets: the core, then the others at U(1, 3) from it.
fn place_homes(
    drafts: &mut Drafts,
    rng: &mut GameRng,
    settings: &GameSettings,
    size: f64,
    race: RaceId,
    core: (f64, f64),
) {
    for (hi, &hs) in settings.home_planets.iter().enumerate() {
        let (x, y) = if hi == 0 {
            core
        } else {
            drafts.free_spot(rng, size, |rng| around(rng, core, 1.0, 3.0))
        };
        drafts.push(Draft {
            x,
            y,
            size: hs,
            resources: 10.0,
            owner: Some(race),
        });
    }
}

/// A race's empty planets within `empty_radius` of its core, nudged so
/// their total size lies in [600k, 700k] for k planets.
fn place_empty(
    drafts: &mut Drafts,
    rng: &mut GameRng,
    settings: &GameSettings,
    size: f64,
    core: (f64, f64),
) {
    let first = drafts.list.len();
    for _ in 0..settings.empty_planets {
        let (x, y) = drafts.free_spot(rng, size, |rng| {
            around(rng, core, 0.2, settings.empty_radius)
        });
        let s = 80.0 + rng.below(920) as f64;
        let u = rng.range(-1.0, 1.0);
        drafts.push(Draft {
            x,
            y,
            size: s,
            resources: round2(0.3 + 8f64.powf(u)),
            owner: None,
        });
    }
    let k = settings.empty_planets as f64;
    if k > 0.0 {
        let total: f64 = drafts.list[first..].iter().map(|d| d.size).sum();
        let target = total.clamp(600.0 * k, 700.0 * k);
        if total > 0.0 && target != total {
            let f = target / total;
            for d in &mut drafts.list[first..] {
                d.size = round2(d.size * f);
            }
        }
    }
}

/// A "stuff" planet anywhere.
fn place_stuff(drafts: &mut Drafts, rng: &mut GameRng, size: f64) {
    let (x, y) = drafts.free_spot(rng, size, |rng| {
        (rng.range(0.0, size), rng.range(0.0, size))
    });
    let s = 2.0 + rng.below(170) as f64;
    let u = rng.range(-1.0, 1.0);
    drafts.push(Draft {
        x,
        y,
        size: s,
        resources: round2(2f64.powf(u)),
        owner: None,
    });
}

/// Shuffles the drafts (so numbers reveal nothing) and makes them planets:
/// homes full, producing DRIVE.
fn number_planets(mut drafts: Vec<Draft>, rng: &mut GameRng) -> Vec<Planet> {
    rng.shuffle(&mut drafts);
    drafts
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let mut p = Planet::new((i + 1).to_string(), d.x, d.y, d.size, d.resources);
            if let Some(o) = d.owner {
                p.owner = Some(o);
                p.pop = d.size;
                p.ind = d.size;
                p.product = Product::Drive;
            }
            p
        })
        .collect()
}

/// Planets owned by a race, in number order.
pub fn owned_planets(game: &Game, race: RaceId) -> Vec<PlanetId> {
    (0..game.planets.len())
        .filter(|&i| game.planets[i].owner == Some(race))
        .map(PlanetId)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("Race{i}")).collect()
    }

    #[test]
    fn same_seed_same_map() {
        let a = new_game("g", 42, GameSettings::default(), &names(5)).unwrap();
        let b = new_game("g", 42, GameSettings::default(), &names(5)).unwrap();
        assert_eq!(a, b);
        let c = new_game("g", 43, GameSettings::default(), &names(5)).unwrap();
        assert_ne!(a.planets, c.planets);
    }

    #[test]
    fn every_race_gets_its_planets() {
        let g = new_game("g", 1, GameSettings::default(), &names(10)).unwrap();
        assert_eq!(g.size, 160.0);
        assert_eq!(g.planets.len(), 10 * (2 + 6 + 5));
        for r in 0..10 {
            let own = owned_planets(&g, RaceId(r));
            assert_eq!(own.len(), 2);
            let sizes: Vec<f64> = own.iter().map(|p| g.planets[p.0].size).collect();
            assert!(sizes.contains(&1000.0) && sizes.contains(&400.0));
        }
        for p in &g.planets {
            assert!(p.x >= 0.0 && p.x < g.size && p.y >= 0.0 && p.y < g.size);
            assert!(p.pop <= p.size && p.ind <= p.pop);
        }
        let mut coords: Vec<(i64, i64)> = g
            .planets
            .iter()
            .map(|p| ((p.x * 100.0).round() as i64, (p.y * 100.0).round() as i64))
            .collect();
        coords.sort();
        coords.dedup();
        assert_eq!(coords.len(), g.planets.len());
    }

    #[test]
    fn default_sizes() {
        assert_eq!(default_size(1), 40.0);
        assert_eq!(default_size(10), 160.0);
        assert_eq!(default_size(30), 250.0);
    }

    #[test]
    fn bad_race_names_are_rejected() {
        assert!(new_game("g", 1, GameSettings::default(), &[]).is_err());
        assert!(new_game("g", 1, GameSettings::default(), &["A".into(), "a".into()]).is_err());
    }
}
