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
    }
}
