//! Small game fixtures for tests.

use crate::game::{Game, Planet, Race, RaceId, TurnLog};
use crate::rng::GameRng;
use galaxy_model::api::GameSettings;
use galaxy_model::order::Product;

/// A one-race, one-planet game: the planet (size 1000) owned by race 0.
pub fn one_planet_game(pop: f64, ind: f64, resources: f64) -> Game {
    let mut p = Planet::new("1".into(), 10.0, 10.0, 1000.0, resources);
    p.owner = Some(RaceId(0));
    p.pop = pop;
    p.ind = ind;
    p.product = Product::Cap;
    Game {
        game_id: "test".into(),
        turn: 0,
        settings: GameSettings::default(),
        size: 100.0,
        rng: GameRng::new(1),
        races: vec![Race::new("A")],
        planets: vec![p],
        groups: Vec::new(),
        log: TurnLog::default(),
        outbox: Vec::new(),
        planet_index: Default::default(),
        fleet_index: Default::default(),
    }
}

/// A small hand-made galaxy for rule tests: races `A`, `B`, `C` and
/// planets at the given `(x, y, size, owner)`; owned planets start with
/// pop = ind = size and produce CAP.
pub fn scenario(planets: &[(f64, f64, f64, Option<usize>)]) -> Game {
    let planets = planets
        .iter()
        .enumerate()
        .map(|(i, &(x, y, size, owner))| {
            let mut p = Planet::new((i + 1).to_string(), x, y, size, 10.0);
            if let Some(o) = owner {
                p.owner = Some(RaceId(o));
                p.pop = size;
                p.ind = size;
            }
            p
        })
        .collect();
    Game {
        game_id: "scenario".into(),
        turn: 0,
        settings: GameSettings {
            drop_idle: false,
            ..GameSettings::default()
        },
        size: 100.0,
        rng: GameRng::new(3),
        races: vec![Race::new("A"), Race::new("B"), Race::new("C")],
        planets,
        groups: Vec::new(),
        log: TurnLog::default(),
        outbox: Vec::new(),
        planet_index: Default::default(),
        fleet_index: Default::default(),
    }
}

/// Adds a ship type to a race.
#[allow(clippy::too_many_arguments)]
pub fn design(game: &mut Game, race: usize, name: &str, d: f64, a: u32, w: f64, s: f64, c: f64) {
    let (t, _) = crate::ship::ShipType::design(name, d, a, w, s, c).expect("valid design");
    game.races[race].ship_types.push(t);
}

/// Puts a group of `ships` ships of `ty` at rest at planet index `at`.
pub fn place(game: &mut Game, race: usize, ty: &str, ships: u32, at: usize) -> u32 {
    let owner = RaceId(race);
    let st = game.races[race].ship_type(ty).expect("type exists").clone();
    let number = crate::group::next_group_number(game, owner);
    let tech = st.build_tech(&game.races[race].tech);
    crate::group::insert_group(
        game,
        crate::game::Group {
            owner,
            number,
            ships,
            ship_type: ty.to_string(),
            tech,
            cargo: None,
            load: 0.0,
            from: crate::game::PlanetId(at),
            to: crate::game::PlanetId(at),
            dist: 0.0,
            fleet: None,
            intercept: None,
        },
    );
    number
}
