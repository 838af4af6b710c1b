//! Map generation: per race home planets, "empty" growth planets around the
//! core home and "stuff" planets anywhere; deterministic for a seed.

use crate::game::{Game, Planet, PlanetId, Race, RaceId, TurnLog};
use crate::rng::GameRng;
use crate::ship::round2;
use galaxy_model::api::GameSettings;
use galaxy_model::limits::*;
use galaxy_model::order::Product;
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

/// Checks the races and every setting against [`galaxy_model::limits`],
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
    let homes = &settings.home_planets;
    if homes.is_empty() || homes.len() > MAX_HOME_PLANETS {
        return Err(bad(
            "settings.home_planets",
            format!("1 to {MAX_HOME_PLANETS} home planets"),
        ));
    }
    let (lo, hi) = HOME_PLANET_SIZE;
    if let Some(i) = homes.iter().position(|s| !(lo..=hi).contains(s)) {
        return Err(bad(
            format!("settings.home_planets[{i}]"),
            format!("home planet sizes lie within {lo}..={hi}"),
        ));
    }
    if settings.empty_planets > MAX_EMPTY_PLANETS {
        return Err(bad(
            "settings.empty_planets",
            format!("at most {MAX_EMPTY_PLANETS}"),
        ));
    }
    if settings.stuff_planets > MAX_STUFF_PLANETS {
        return Err(bad(
            "settings.stuff_planets",
            format!("at most {MAX_STUFF_PLANETS}"),
        ));
    }
    let (lo, hi) = GALAXY_SIZE;
    if let Some(size) = settings.size
        && !(lo..=hi).contains(&size)
    {
        return Err(bad("settings.size", format!("within {lo}..={hi}")));
    }
    if !(0.0..=MAX_RACE_SPACING).contains(&settings.race_spacing) {
        return Err(bad(
            "settings.race_spacing",
            format!("within 0..={MAX_RACE_SPACING}"),
        ));
    }
    if settings.peace_turns > MAX_PEACE_TURNS {
        return Err(bad(
            "settings.peace_turns",
            format!("at most {MAX_PEACE_TURNS}"),
        ));
    }
    Ok(())
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

fn taken(drafts: &[Draft], x: f64, y: f64) -> bool {
    drafts.iter().any(|d| d.x == x && d.y == y)
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
    let mut drafts: Vec<Draft> = Vec::new();
    let centre = size / 2.0;
    let radius = (size / 2.0 - 4.0).max(1.0);
    let mut spacing = settings.race_spacing.max(0.0);
    let mut cores: Vec<(f64, f64)> = Vec::new();
    // Core homes: inside the disc, more than `spacing` apart. The spacing
    // shrinks if the disc cannot hold them all.
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
    let in_map = |v: f64| (0.0..size).contains(&v);
    for (ri, &(cx, cy)) in cores.iter().enumerate() {
        let owner = Some(RaceId(ri));
        for (hi, &hs) in settings.home_planets.iter().enumerate() {
            let (x, y) = if hi == 0 {
                (cx, cy)
            } else {
                loop {
                    let r = rng.range(1.0, 3.0);
                    let a = rng.range(0.0, std::f64::consts::TAU);
                    let (x, y) = (round2(cx + r * a.cos()), round2(cy + r * a.sin()));
                    if in_map(x) && in_map(y) && !taken(&drafts, x, y) {
                        break (x, y);
                    }
                }
            };
            drafts.push(Draft {
                x,
                y,
                size: hs,
                resources: 10.0,
                owner,
            });
        }
        // Empty planets, nudged so the race's total lies in [600n, 700n].
        let first_empty = drafts.len();
        for _ in 0..settings.empty_planets {
            let (x, y) = loop {
                let r = rng.range(0.2, 30.0);
                let a = rng.range(0.0, std::f64::consts::TAU);
                let (x, y) = (round2(cx + r * a.cos()), round2(cy + r * a.sin()));
                if in_map(x) && in_map(y) && !taken(&drafts, x, y) {
                    break (x, y);
                }
            };
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
            let total: f64 = drafts[first_empty..].iter().map(|d| d.size).sum();
            let target = total.clamp(600.0 * k, 700.0 * k);
            if total > 0.0 && target != total {
                let f = target / total;
                for d in &mut drafts[first_empty..] {
                    d.size = round2(d.size * f);
                }
            }
        }
    }
    for _ in 0..n {
        for _ in 0..settings.stuff_planets {
            let (x, y) = loop {
                let (x, y) = (round2(rng.range(0.0, size)), round2(rng.range(0.0, size)));
                if in_map(x) && in_map(y) && !taken(&drafts, x, y) {
                    break (x, y);
                }
            };
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
    }
    // Numbers are shuffled so they reveal nothing.
    rng.shuffle(&mut drafts);
    let planets = drafts
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
        .collect();
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
