//! A race's turn report as structured data: the sections of the classic
//! report, holding only what that race can see. Quantities are truncated to
//! two decimals, as in the classic report.

use crate::api::{Mistake, RaceState};
use crate::order::{Cargo, RouteCargo};
use serde::{Deserialize, Serialize};

/// A race's report for one turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Game id.
    pub game_id: String,
    /// The turn this report describes (state after that turn ran).
    pub turn: u32,
    /// The race's key.
    pub race: String,
    /// The race's displayed name.
    pub race_name: String,
    /// Side of the galaxy.
    pub galaxy_size: f64,
    /// Number of planets in the galaxy.
    pub planet_count: u32,
    /// Messages addressed to the race (and global announcements).
    pub messages: Vec<MessageView>,
    /// The race's options.
    pub options: RaceOptionsView,
    /// Orders received for the turn that produced this report, as text.
    pub orders_received: Vec<String>,
    /// Rejected orders.
    pub mistakes: Vec<Mistake>,
    /// Status of players, ranked by effective industry.
    pub players: Vec<PlayerView>,
    /// The race's ship types.
    pub ship_types: Vec<ShipTypeView>,
    /// Other races' ship types seen this turn.
    pub alien_ship_types: Vec<ShipTypeView>,
    /// Battles the race took part in.
    pub battles: Vec<BattleView>,
    /// Bombings of planets the race owned or bombed.
    pub bombings: Vec<BombingView>,
    /// Other races' groups in hyperspace heading for the race's planets.
    pub incoming: Vec<IncomingView>,
    /// Own planets.
    pub planets: Vec<PlanetView>,
    /// Own planets building ships.
    pub production: Vec<ProductionView>,
    /// Own routes.
    pub routes: Vec<RouteView>,
    /// Other races' planets the race can see.
    pub alien_planets: Vec<PlanetView>,
    /// Other races' planets it cannot see (position only).
    pub unidentified_planets: Vec<PlanetPosition>,
    /// Unowned planets (size and resources only when visible).
    pub uninhabited_planets: Vec<UninhabitedView>,
    /// Own groups.
    pub groups: Vec<GroupView>,
    /// Own fleets.
    pub fleets: Vec<FleetView>,
    /// Other races' groups at planets the race can see.
    pub alien_groups: Vec<GroupView>,
}

/// A message in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// Sender's displayed name; `None` for the game itself.
    pub from: Option<String>,
    /// Text.
    pub text: String,
}

/// The race's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaceOptionsView {
    /// AutoUnload: groups at rest at own or unowned planets unload their
    /// cargo at the end of the turn.
    pub auto_unload: bool,
    /// BattleProtocol: battles list every shot.
    pub battle_protocol: bool,
    /// ProdTable: the report has the ships-in-production table.
    pub prod_table: bool,
    /// SortGroups: groups are renumbered by location after each turn.
    pub sort_groups: bool,
    /// Anonymous (no effect: the engine gives out no addresses).
    pub anonymous: bool,
    /// Map window `[x, y, size]` if set.
    pub map_window: Option<[f64; 3]>,
    /// Real (player) name.
    pub real_name: String,
    /// E-mail address.
    pub email: String,
}

/// A player's line in the status table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerView {
    /// Rank (1 = most effective industry).
    pub rank: u32,
    /// Displayed name.
    pub name: String,
    /// Drive tech.
    pub drive: f64,
    /// Weapons tech.
    pub weapons: f64,
    /// Shields tech.
    pub shields: f64,
    /// Cargo tech.
    pub cargo: f64,
    /// Total population.
    pub population: f64,
    /// Total effective industry.
    pub industry: f64,
    /// Planets owned.
    pub planets: u32,
    /// `"war"`, `"peace"` or `"-"` for the race itself.
    pub relation: String,
    /// Standing.
    pub state: RaceState,
}

/// A ship type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipTypeView {
    /// Owner's displayed name.
    pub race: String,
    /// Type name.
    pub name: String,
    /// Drive mass.
    pub drive: f64,
    /// Attacks.
    pub attacks: u32,
    /// Weapon mass.
    pub weapons: f64,
    /// Shield mass.
    pub shields: f64,
    /// Cargo mass.
    pub cargo: f64,
    /// Type mass.
    pub mass: f64,
}

/// A battle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BattleView {
    /// Planet number.
    pub planet: u32,
    /// Planet name.
    pub planet_name: String,
    /// `1` for Fight I (before movement), `2` for Fight II.
    pub phase: u8,
    /// Races taking part (displayed names).
    pub races: Vec<String>,
    /// Groups with their ship counts before and after.
    pub groups: Vec<BattleGroupView>,
    /// Rounds fought.
    pub rounds: u64,
    /// Shots fired.
    pub shots: u64,
    /// With the BattleProtocol option: every shot in firing order.
    #[serde(default)]
    pub protocol: Vec<ShotView>,
    /// With the BattleProtocol option: shots fired but not in `protocol`
    /// (beyond its cap, or in long stretches of rounds without a kill).
    #[serde(default)]
    pub unlisted_shots: u64,
}

/// One shot of a battle protocol: "race type fires on race type".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShotView {
    /// Firing race (displayed name).
    pub race: String,
    /// Firing ship type.
    pub ship_type: String,
    /// Race fired on.
    pub target_race: String,
    /// Ship type fired on.
    pub target_type: String,
    /// Whether the target was destroyed (else its shields held).
    pub destroyed: bool,
}

/// A group in a battle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BattleGroupView {
    /// Owner's displayed name.
    pub race: String,
    /// Ship type.
    pub ship_type: String,
    /// Drive tech.
    pub drive: f64,
    /// Weapons tech.
    pub weapons: f64,
    /// Shields tech.
    pub shields: f64,
    /// Cargo tech.
    pub cargo: f64,
    /// Ships at the start.
    pub before: u32,
    /// Ships left.
    pub after: u32,
}

/// A bombing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BombingView {
    /// Planet number.
    pub planet: u32,
    /// Planet name (before the bombing).
    pub planet_name: String,
    /// Owner before.
    pub old_owner: String,
    /// Owner after (`None`: unowned).
    pub new_owner: Option<String>,
    /// Races that bombed.
    pub bombers: Vec<String>,
    /// Population after.
    pub population: f64,
    /// Industry after.
    pub industry: f64,
}

/// An incoming alien group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingView {
    /// Origin planet name.
    pub origin: String,
    /// Destination planet name (own).
    pub destination: String,
    /// Distance left.
    pub distance: f64,
    /// Speed.
    pub speed: f64,
    /// Total mass.
    pub mass: f64,
}

/// A planet with everything known about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanetView {
    /// Planet number (`#N`).
    pub number: u32,
    /// Name.
    pub name: String,
    /// Owner's displayed name.
    pub owner: String,
    /// X.
    pub x: f64,
    /// Y.
    pub y: f64,
    /// Size.
    pub size: f64,
    /// Population.
    pub population: f64,
    /// Industry.
    pub industry: f64,
    /// Resources.
    pub resources: f64,
    /// Product keyword or ship type.
    pub product: String,
    /// Capital stockpile.
    pub cap: f64,
    /// Material stockpile.
    pub mat: f64,
    /// Colonists stockpile.
    pub col: f64,
    /// Effective industry `ind + (pop − ind)/4`.
    pub effective_industry: f64,
}

/// A ship production line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductionView {
    /// Planet number.
    pub planet: u32,
    /// Planet name.
    pub planet_name: String,
    /// Ship type.
    pub ship_type: String,
    /// Production per ship (mass × 10).
    pub cost: f64,
    /// Production carried over (in progress).
    pub in_progress: f64,
    /// Production points next turn (before carry-over).
    pub production: f64,
}

/// A route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteView {
    /// Origin planet name.
    pub planet: String,
    /// Cargo.
    pub cargo: RouteCargo,
    /// Destination planet name.
    pub destination: String,
}

/// A planet seen from afar: position only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanetPosition {
    /// Planet number.
    pub number: u32,
    /// X.
    pub x: f64,
    /// Y.
    pub y: f64,
}

/// An unowned planet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UninhabitedView {
    /// Planet number.
    pub number: u32,
    /// Name.
    pub name: String,
    /// X.
    pub x: f64,
    /// Y.
    pub y: f64,
    /// Size, when visible.
    pub size: Option<f64>,
    /// Resources, when visible.
    pub resources: Option<f64>,
    /// Capital stockpile, when visible.
    pub cap: Option<f64>,
    /// Material stockpile, when visible.
    pub mat: Option<f64>,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    /// Group number (own groups; 0 for alien groups).
    pub number: u32,
    /// Owner's displayed name.
    pub race: String,
    /// Ships.
    pub ships: u32,
    /// Ship type.
    pub ship_type: String,
    /// Drive tech.
    pub drive: f64,
    /// Weapons tech.
    pub weapons: f64,
    /// Shields tech.
    pub shields: f64,
    /// Cargo tech.
    pub cargo: f64,
    /// Cargo carried.
    pub cargo_kind: Option<Cargo>,
    /// Load per ship.
    pub load: f64,
    /// Planet where it is (or that it left).
    pub at: String,
    /// Destination when moving.
    pub destination: Option<String>,
    /// Distance left when moving.
    pub distance: f64,
    /// Speed.
    pub speed: f64,
    /// Mass of one ship including load.
    pub mass: f64,
    /// Fleet.
    pub fleet: Option<String>,
}

/// A fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetView {
    /// Name.
    pub name: String,
    /// Its groups' numbers.
    pub groups: Vec<u32>,
    /// Speed (the slowest group's).
    pub speed: f64,
    /// Where it is (first group's position).
    pub at: Option<String>,
    /// Destination when moving.
    pub destination: Option<String>,
}
