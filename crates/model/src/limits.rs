//! The engine's documented limits: every input a player or the platform
//! gives is bounded, so no order set or init request can make a turn
//! superlinear, hang or overflow. Exceeding one is answered with the stable
//! code `limit_exceeded` (or `invalid_settings` / `payload_too_large`), see
//! `docs/engine-api.md`.

/// Largest request body the engine reads (413 `payload_too_large` above).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Order lines in one race's set (a `PUT /order` or the set a `PUT /command`
/// grows).
pub const MAX_ORDERS_PER_SET: usize = 5_000;
/// Bytes of a classic text order set.
pub const MAX_ORDER_TEXT_BYTES: usize = 256 * 1024;
/// Bytes of message text (`@` orders) in one race's set.
pub const MAX_MESSAGE_BYTES_PER_SET: usize = 16 * 1024;
/// Ship types a race may have designed at once.
pub const MAX_SHIP_TYPES_PER_RACE: usize = 1_000;
/// Fleets a race may have at once.
pub const MAX_FLEETS_PER_RACE: usize = 1_000;
/// Groups a race may have before orders that create groups (split off
/// ships) are refused; production always delivers its ships.
pub const MAX_GROUPS_PER_RACE: usize = 2_000;
/// Length in bytes of a name (race, ship type, fleet, planet).
pub const MAX_NAME_BYTES: usize = 40;
/// Length in bytes of the game id.
pub const MAX_GAME_ID_BYTES: usize = 64;
/// Races in a game.
pub const MAX_RACES: usize = 100;
/// Home planets per race.
pub const MAX_HOME_PLANETS: usize = 10;
/// Smallest and largest home planet size.
pub const HOME_PLANET_SIZE: (f64, f64) = (1.0, 2_500.0);
/// "Empty" planets per race.
pub const MAX_EMPTY_PLANETS: u32 = 50;
/// "Stuff" planets per race.
pub const MAX_STUFF_PLANETS: u32 = 50;
/// Smallest and largest radius around the core home for "empty" planets.
pub const EMPTY_RADIUS: (f64, f64) = (1.0, 100.0);
/// Smallest and largest galaxy side.
pub const GALAXY_SIZE: (f64, f64) = (20.0, 10_000.0);
/// Largest race spacing (it shrinks when the galaxy cannot hold the races).
pub const MAX_RACE_SPACING: f64 = 10_000.0;
/// Longest galactic peace at the start.
pub const MAX_PEACE_TURNS: u32 = 1_000;
