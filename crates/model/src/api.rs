//! Request and response bodies of the engine's HTTP API (`/api/v1/...`) and
//! the single error shape. See `docs/engine-api.md` for the endpoints.

use crate::order::OrderLine;
use serde::{Deserialize, Serialize};

/// Game settings given at initialisation. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GameSettings {
    /// Side of the square galaxy; `None` picks ⌊42·⌈√N⌉/10⌋·10 for N races.
    pub size: Option<f64>,
    /// Wrap distances at the edges ("spherical" galaxy).
    pub spherical: bool,
    /// Home planet sizes; the first is the core home.
    pub home_planets: Vec<f64>,
    /// "Empty" growth planets per race near its core home.
    pub empty_planets: u32,
    /// "Stuff" planets per race anywhere.
    pub stuff_planets: u32,
    /// Empty planets lie within this distance of their race's core home.
    pub empty_radius: f64,
    /// Minimum distance between two races' core homes.
    pub race_spacing: f64,
    /// Turns of galactic peace at the start (nobody is at war before the
    /// turn after this one).
    pub peace_turns: u32,
    /// Drop races idle for too long (the rules' idle drop).
    pub drop_idle: bool,
}

/// Why a [`GameSettings`] is refused: the offending field (as a dotted path,
/// e.g. `settings.home_planets[1]`) and what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for SettingsError {}

impl SettingsError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        SettingsError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Whether `v` is a finite number within `lo..=hi` (NaN and infinities are
/// outside every range).
fn within(v: f64, (lo, hi): (f64, f64)) -> bool {
    v.is_finite() && (lo..=hi).contains(&v)
}

impl GameSettings {
    /// Checks every field against the engine's limits ([`crate::limits`]),
    /// naming the first one out of range (`settings.<field>`, in field
    /// order). The engine answers such an error with 422
    /// `invalid_settings`; the backend checks the same rules before it
    /// creates a game.
    pub fn validate(&self) -> Result<(), SettingsError> {
        use crate::limits::*;
        let homes = &self.home_planets;
        if homes.is_empty() || homes.len() > MAX_HOME_PLANETS {
            return Err(SettingsError::new(
                "settings.home_planets",
                format!("1 to {MAX_HOME_PLANETS} home planets"),
            ));
        }
        let (lo, hi) = HOME_PLANET_SIZE;
        if let Some(i) = homes.iter().position(|&s| !within(s, HOME_PLANET_SIZE)) {
            return Err(SettingsError::new(
                format!("settings.home_planets[{i}]"),
                format!("home planet sizes lie within {lo}..={hi}"),
            ));
        }
        if self.empty_planets > MAX_EMPTY_PLANETS {
            return Err(SettingsError::new(
                "settings.empty_planets",
                format!("at most {MAX_EMPTY_PLANETS}"),
            ));
        }
        if self.stuff_planets > MAX_STUFF_PLANETS {
            return Err(SettingsError::new(
                "settings.stuff_planets",
                format!("at most {MAX_STUFF_PLANETS}"),
            ));
        }
        let (lo, hi) = EMPTY_RADIUS;
        if !within(self.empty_radius, EMPTY_RADIUS) {
            return Err(SettingsError::new(
                "settings.empty_radius",
                format!("within {lo}..={hi}"),
            ));
        }
        let (lo, hi) = GALAXY_SIZE;
        if let Some(size) = self.size
            && !within(size, GALAXY_SIZE)
        {
            return Err(SettingsError::new(
                "settings.size",
                format!("within {lo}..={hi}"),
            ));
        }
        if !within(self.race_spacing, (0.0, MAX_RACE_SPACING)) {
            return Err(SettingsError::new(
                "settings.race_spacing",
                format!("within 0..={MAX_RACE_SPACING}"),
            ));
        }
        if self.peace_turns > MAX_PEACE_TURNS {
            return Err(SettingsError::new(
                "settings.peace_turns",
                format!("at most {MAX_PEACE_TURNS}"),
            ));
        }
        Ok(())
    }
}

impl Default for GameSettings {
    fn default() -> Self {
        GameSettings {
            size: None,
            spherical: false,
            home_planets: vec![1000.0, 400.0],
            empty_planets: 6,
            stuff_planets: 5,
            empty_radius: 30.0,
            race_spacing: 25.0,
            peace_turns: 0,
            drop_idle: true,
        }
    }
}

/// A race at initialisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitRace {
    /// The race's name: also its stable key in this API (an in-game rename
    /// with `c` changes only the displayed name).
    pub name: String,
}

/// `POST /api/v1/admin/init`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitRequest {
    /// The platform's game id (kept in reports).
    pub game_id: String,
    /// Seed of the game's random generator (map and every later turn).
    pub seed: u64,
    /// Settings; all optional.
    #[serde(default)]
    pub settings: GameSettings,
    /// The races, at least one, with unique names.
    pub races: Vec<InitRace>,
}

/// A race's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaceState {
    /// Playing.
    Alive,
    /// Quit, dropped as idle or wiped out.
    Dead,
    /// Obliterated by the platform (`/admin/race/banish`).
    Banished,
}

/// Whether the engine is running a turn right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenerationState {
    /// Waiting for orders.
    Idle,
    /// A turn is being generated.
    InProgress,
}

/// One race in [`StatusResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaceStatus {
    /// The race's key (its name at initialisation).
    pub race: String,
    /// Its current displayed name.
    pub name: String,
    /// Alive, dead or banished.
    pub state: RaceState,
    /// Whether the race has submitted orders for the current turn.
    pub orders_in: bool,
    /// Effective industry (the ranking measure).
    pub industry: f64,
    /// Planets owned.
    pub planets: u32,
}

/// `GET /api/v1/admin/status` (also returned by init, turn and banish).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// The game id.
    pub game_id: String,
    /// The current turn: the one orders are collected for.
    pub turn: u32,
    /// Turn generation state.
    pub generation: GenerationState,
    /// Every race, in initialisation order.
    pub races: Vec<RaceStatus>,
}

/// `PUT /api/v1/admin/turn`: run the turn named, which must be the current
/// one. Naming the turn just closed answers with the current status and
/// `ran: false`, so a retried call never runs two turns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTurnRequest {
    /// The turn expected to close.
    pub turn: u32,
}

/// Answer to [`RunTurnRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTurnResponse {
    /// Whether this call ran the turn (false for a retry of a turn already run).
    pub ran: bool,
    /// Milliseconds the turn took (0 when not run).
    pub elapsed_ms: u64,
    /// Status after the call.
    pub status: StatusResponse,
}

/// `POST /api/v1/admin/race/banish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanishRequest {
    /// The race's key.
    pub race: String,
}

/// `PUT /api/v1/order`: replace a race's whole order set for the current
/// turn. Give either `orders` (typed) or `text` (the classic form,
/// `#GALAXY … #END`), not both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PutOrdersRequest {
    /// The race's key.
    pub race: String,
    /// The turn the orders are for; must be the current turn.
    pub turn: u32,
    /// Typed order lines.
    #[serde(default)]
    pub orders: Vec<OrderLine>,
    /// Classic text orders; parsed into typed lines with ids `"1"`, `"2"`, ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A rejected order (or a warning about one that ran): the line, its text,
/// a stable code and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mistake {
    /// The order line's id (empty for a text line that did not parse).
    pub id: String,
    /// The order as text.
    pub order: String,
    /// Stable machine-readable code of the reason.
    #[serde(default)]
    pub code: MistakeCode,
    /// Why it was rejected (human-readable).
    pub reason: String,
}

/// Stable codes of order mistakes (the `code` of a [`Mistake`]). The
/// backend's player endpoints pass them through unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MistakeCode {
    /// The text line does not parse as an order.
    #[default]
    Syntax,
    /// The order ran, with a correction or a partial effect (`reason` says which).
    Warning,
    /// No race with that name.
    UnknownRace,
    /// No planet with that name or number.
    UnknownPlanet,
    /// The race has no group with that number.
    UnknownGroup,
    /// The race has no ship type or fleet with that name.
    UnknownName,
    /// Unknown option (`o`).
    UnknownOption,
    /// The planet is not the race's.
    NotOwner,
    /// A name that may not be used (empty, too long, a number, a keyword, …).
    InvalidName,
    /// The name is already used.
    NameTaken,
    /// The group or fleet is not where the order needs it (in hyperspace,
    /// not at rest, not at one planet, too close to reverse, …).
    WrongLocation,
    /// A ship count the group cannot give.
    ShipCount,
    /// Loading or unloading is not possible as ordered.
    Cargo,
    /// A number out of range (design masses, map window, amounts).
    InvalidValue,
    /// The order conflicts with the game state (a type still in use, no
    /// production left, the race itself, …).
    NotAllowed,
    /// A per-race limit would be exceeded (see `galaxy_model::limits`).
    LimitExceeded,
}

impl MistakeCode {
    /// The code as its snake_case string.
    pub fn as_str(self) -> &'static str {
        match self {
            MistakeCode::Syntax => "syntax",
            MistakeCode::Warning => "warning",
            MistakeCode::UnknownRace => "unknown_race",
            MistakeCode::UnknownPlanet => "unknown_planet",
            MistakeCode::UnknownGroup => "unknown_group",
            MistakeCode::UnknownName => "unknown_name",
            MistakeCode::UnknownOption => "unknown_option",
            MistakeCode::NotOwner => "not_owner",
            MistakeCode::InvalidName => "invalid_name",
            MistakeCode::NameTaken => "name_taken",
            MistakeCode::WrongLocation => "wrong_location",
            MistakeCode::ShipCount => "ship_count",
            MistakeCode::Cargo => "cargo",
            MistakeCode::InvalidValue => "invalid_value",
            MistakeCode::NotAllowed => "not_allowed",
            MistakeCode::LimitExceeded => "limit_exceeded",
        }
    }
}

/// Answer to [`PutOrdersRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PutOrdersResponse {
    /// The race.
    pub race: String,
    /// The turn.
    pub turn: u32,
    /// The stored set.
    pub orders: Vec<OrderLine>,
    /// Text lines that did not parse (they also appear in the turn's report).
    pub mistakes: Vec<Mistake>,
}

/// `PUT /api/v1/command`: add, replace or (with `order` absent) delete one
/// line of a race's order set by its client-side id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PutCommandRequest {
    /// The race's key.
    pub race: String,
    /// The turn; must be the current turn.
    pub turn: u32,
    /// The line's client-side id.
    pub id: String,
    /// The new order; `None` deletes the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<crate::order::Order>,
}

/// What [`PutCommandRequest`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandOutcome {
    /// A new line was appended.
    Added,
    /// An existing line was replaced in place.
    Replaced,
    /// The line was deleted.
    Deleted,
}

/// Answer to [`PutCommandRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PutCommandResponse {
    /// What happened.
    pub outcome: CommandOutcome,
    /// The race's whole set after the change.
    pub orders: Vec<OrderLine>,
}

/// `GET /api/v1/report` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// The race's key.
    pub race: String,
    /// The turn (default: the current one).
    #[serde(default)]
    pub turn: Option<u32>,
    /// `json` (default) or `text`.
    #[serde(default)]
    pub format: Option<String>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"`.
    pub status: String,
    /// The engine's version.
    pub version: String,
    /// Whether a game is initialised.
    pub initialised: bool,
}

/// Stable machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body or query is malformed or invalid (400).
    InvalidRequest,
    /// An init setting is out of its documented range (422; `field` names it).
    InvalidSettings,
    /// A documented limit would be exceeded (422; `field` names it, see
    /// [`crate::limits`]).
    LimitExceeded,
    /// The request body is larger than [`crate::limits::MAX_BODY_BYTES`] (413).
    PayloadTooLarge,
    /// No game initialised yet (409).
    NotInitialised,
    /// `init` on an initialised engine (409).
    AlreadyInitialised,
    /// The turn named is not the current turn (409).
    TurnMismatch,
    /// The race is unknown (404).
    UnknownRace,
    /// The race is dead or banished and cannot act (409).
    RaceNotAlive,
    /// No report for that race and turn (404).
    ReportNotFound,
    /// No order line with that id (404).
    OrderNotFound,
    /// Unknown route (404).
    NotFound,
    /// The route exists but not with this method (405).
    MethodNotAllowed,
    /// Something failed inside the engine (500).
    Internal,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::InvalidSettings | ErrorCode::LimitExceeded => 422,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::NotInitialised
            | ErrorCode::AlreadyInitialised
            | ErrorCode::TurnMismatch
            | ErrorCode::RaceNotAlive => 409,
            ErrorCode::UnknownRace
            | ErrorCode::ReportNotFound
            | ErrorCode::OrderNotFound
            | ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Internal => 500,
        }
    }
}

/// The error body: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Inside [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: String,
    /// For `turn_mismatch`: the engine's current turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_turn: Option<u32>,
    /// For `invalid_settings` and `limit_exceeded`: the field or limit at
    /// fault (for example `settings.home_planets[0]` or `orders`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The engine's endpoint paths, for clients.
pub mod paths {
    /// `GET`: liveness and version.
    pub const HEALTHZ: &str = "/healthz";
    /// `POST` [`super::InitRequest`].
    pub const INIT: &str = "/api/v1/admin/init";
    /// `GET` → [`super::StatusResponse`].
    pub const STATUS: &str = "/api/v1/admin/status";
    /// `PUT` [`super::RunTurnRequest`].
    pub const TURN: &str = "/api/v1/admin/turn";
    /// `POST` [`super::BanishRequest`].
    pub const BANISH: &str = "/api/v1/admin/race/banish";
    /// `PUT` [`super::PutOrdersRequest`]; `GET ?race=` the pending set.
    pub const ORDER: &str = "/api/v1/order";
    /// `PUT` [`super::PutCommandRequest`].
    pub const COMMAND: &str = "/api/v1/command";
    /// `GET ?race=&turn=&format=` → [`crate::report::Report`] or text.
    pub const REPORT: &str = "/api/v1/report";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(settings: GameSettings) -> String {
        settings.validate().expect_err("refused").field
    }

    #[test]
    fn the_default_settings_are_valid() {
        assert_eq!(GameSettings::default().validate(), Ok(()));
    }

    #[test]
    fn settings_at_every_limit_are_valid() {
        let (home_lo, home_hi) = crate::limits::HOME_PLANET_SIZE;
        let settings = GameSettings {
            size: Some(crate::limits::GALAXY_SIZE.1),
            home_planets: vec![home_lo; crate::limits::MAX_HOME_PLANETS - 1]
                .into_iter()
                .chain([home_hi])
                .collect(),
            empty_planets: crate::limits::MAX_EMPTY_PLANETS,
            stuff_planets: crate::limits::MAX_STUFF_PLANETS,
            empty_radius: crate::limits::EMPTY_RADIUS.0,
            race_spacing: 0.0,
            peace_turns: crate::limits::MAX_PEACE_TURNS,
            ..GameSettings::default()
        };
        assert_eq!(settings.validate(), Ok(()));
        let small = GameSettings {
            size: Some(crate::limits::GALAXY_SIZE.0),
            empty_radius: crate::limits::EMPTY_RADIUS.1,
            race_spacing: crate::limits::MAX_RACE_SPACING,
            ..GameSettings::default()
        };
        assert_eq!(small.validate(), Ok(()));
    }

    #[test]
    fn no_home_planets_or_too_many_are_refused() {
        for n in [0, crate::limits::MAX_HOME_PLANETS + 1] {
            let settings = GameSettings {
                home_planets: vec![500.0; n],
                ..GameSettings::default()
            };
            assert_eq!(field_of(settings), "settings.home_planets", "{n}");
        }
    }

    #[test]
    fn a_home_planet_size_out_of_range_names_its_index() {
        for bad in [0.5, 2_500.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let settings = GameSettings {
                home_planets: vec![1000.0, 400.0, bad],
                ..GameSettings::default()
            };
            let err = settings.validate().unwrap_err();
            assert_eq!(err.field, "settings.home_planets[2]", "{bad}");
            assert_eq!(err.message, "home planet sizes lie within 1..=2500");
        }
    }

    #[test]
    fn too_many_empty_or_stuff_planets_are_refused() {
        let settings = GameSettings {
            empty_planets: crate::limits::MAX_EMPTY_PLANETS + 1,
            ..GameSettings::default()
        };
        assert_eq!(field_of(settings), "settings.empty_planets");
        let settings = GameSettings {
            stuff_planets: crate::limits::MAX_STUFF_PLANETS + 1,
            ..GameSettings::default()
        };
        assert_eq!(field_of(settings), "settings.stuff_planets");
    }

    #[test]
    fn an_empty_radius_out_of_range_or_not_finite_is_refused() {
        for bad in [0.0, 100.5, f64::NAN, f64::INFINITY] {
            let settings = GameSettings {
                empty_radius: bad,
                ..GameSettings::default()
            };
            assert_eq!(field_of(settings), "settings.empty_radius", "{bad}");
        }
    }

    #[test]
    fn a_galaxy_size_out_of_range_or_not_finite_is_refused() {
        for bad in [19.0, 10_001.0, f64::NAN, f64::INFINITY, -50.0] {
            let settings = GameSettings {
                size: Some(bad),
                ..GameSettings::default()
            };
            assert_eq!(field_of(settings), "settings.size", "{bad}");
        }
    }

    #[test]
    fn a_race_spacing_out_of_range_or_not_finite_is_refused() {
        for bad in [-0.1, 10_000.1, f64::NAN, f64::NEG_INFINITY] {
            let settings = GameSettings {
                race_spacing: bad,
                ..GameSettings::default()
            };
            assert_eq!(field_of(settings), "settings.race_spacing", "{bad}");
        }
    }

    #[test]
    fn too_long_a_peace_is_refused() {
        let settings = GameSettings {
            peace_turns: crate::limits::MAX_PEACE_TURNS + 1,
            ..GameSettings::default()
        };
        let err = settings.validate().unwrap_err();
        assert_eq!(err.field, "settings.peace_turns");
        assert_eq!(err.to_string(), "settings.peace_turns: at most 1000");
    }

    #[test]
    fn the_first_field_out_of_range_is_named() {
        let settings = GameSettings {
            home_planets: vec![],
            peace_turns: u32::MAX,
            ..GameSettings::default()
        };
        assert_eq!(field_of(settings), "settings.home_planets");
    }
}
