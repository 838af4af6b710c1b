//! The game state: races, planets, groups, the random generator and the
//! last turn's events. One [`Game`] value is everything a turn needs; it is
//! what the store persists per turn.

use crate::names::NameList;
use crate::rng::GameRng;
use crate::ship::{ShipType, Tech};
use galaxy_model::api::{GameSettings, Mistake};
use galaxy_model::order::{Cargo, Product, RouteCargo};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Index of a race in [`Game::races`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RaceId(pub usize);

/// Index of a planet in [`Game::planets`]; the planet's number is index + 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PlanetId(pub usize);

impl PlanetId {
    /// The planet's public number (`#N`).
    pub fn number(self) -> u32 {
        self.0 as u32 + 1
    }
}

/// A race.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Race {
    /// Stable key (the name at initialisation); the API's race id.
    pub key: String,
    /// Displayed name (`c` renames it).
    pub name: String,
    /// Player's real name (`=`).
    pub real_name: String,
    /// E-mail (`z`).
    pub email: String,
    /// Password (`y`); kept, not checked by the engine.
    pub password: String,
    /// Dead (quit, dropped, wiped out or banished).
    pub dead: bool,
    /// Banished by the platform.
    pub banished: bool,
    /// Current techs.
    pub tech: Tech,
    /// Ship types in design order, indexed by name.
    pub ship_types: NameList<ShipType>,
    /// Fleet names in creation order, indexed.
    pub fleets: NameList<String>,
    /// Races this race is not at war with (one-sided).
    pub allies: BTreeSet<RaceId>,
    /// AutoUnload option.
    pub auto_unload: bool,
    /// BattleProtocol option: the report lists every shot of its battles.
    #[serde(default)]
    pub battle_protocol: bool,
    /// ProdTable option: the report has the ships-in-production table.
    #[serde(default = "yes")]
    pub prod_table: bool,
    /// SortGroups option: groups are renumbered by where they are at the
    /// end of each turn.
    #[serde(default)]
    pub sort_groups: bool,
    /// Anonymous option (kept; the engine never gives out addresses).
    #[serde(default = "yes")]
    pub anonymous: bool,
    /// Map window.
    pub map_window: Option<[f64; 3]>,
    /// Consecutive turns closed without orders.
    pub idle_turns: u32,
}

fn yes() -> bool {
    true
}

impl Race {
    /// A new race with starting techs.
    pub fn new(name: &str) -> Race {
        Race {
            key: name.to_string(),
            name: name.to_string(),
            real_name: String::new(),
            email: String::new(),
            password: String::new(),
            dead: false,
            banished: false,
            tech: Tech::START,
            ship_types: NameList::default(),
            fleets: NameList::default(),
            allies: BTreeSet::new(),
            auto_unload: false,
            battle_protocol: false,
            prod_table: true,
            sort_groups: false,
            anonymous: true,
            map_window: None,
            idle_turns: 0,
        }
    }

    /// The race's type with that name.
    pub fn ship_type(&self, name: &str) -> Option<&ShipType> {
        self.ship_types.get(name)
    }
}

/// A planet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planet {
    /// Name (initially its number).
    pub name: String,
    /// Owner.
    pub owner: Option<RaceId>,
    /// X.
    pub x: f64,
    /// Y.
    pub y: f64,
    /// Size.
    pub size: f64,
    /// Resources.
    pub resources: f64,
    /// Population.
    pub pop: f64,
    /// Industry.
    pub ind: f64,
    /// What it produces.
    pub product: Product,
    /// Capital stockpile.
    pub cap: f64,
    /// Material stockpile.
    pub mat: f64,
    /// Colonist stockpile.
    pub col: f64,
    /// Production carried over to the next ship.
    pub inprogress: f64,
    /// Production spent this turn on upgrades.
    pub spent: f64,
    /// Routes by cargo.
    pub routes: BTreeMap<RouteCargo, PlanetId>,
}

impl Planet {
    /// An unowned planet.
    pub fn new(name: String, x: f64, y: f64, size: f64, resources: f64) -> Planet {
        Planet {
            name,
            owner: None,
            x,
            y,
            size,
            resources,
            pop: 0.0,
            ind: 0.0,
            product: Product::Cap,
            cap: 0.0,
            mat: 0.0,
            col: 0.0,
            inprogress: 0.0,
            spent: 0.0,
            routes: BTreeMap::new(),
        }
    }
}

/// A group of identical ships.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Owner.
    pub owner: RaceId,
    /// Number, unique within the owner's groups.
    pub number: u32,
    /// Ships.
    pub ships: u32,
    /// Ship type name (one of the owner's types).
    pub ship_type: String,
    /// Techs the ships carry.
    pub tech: Tech,
    /// Cargo kind, if loaded.
    pub cargo: Option<Cargo>,
    /// Load per ship.
    pub load: f64,
    /// Origin planet.
    pub from: PlanetId,
    /// Destination (or location when at rest).
    pub to: PlanetId,
    /// Distance left; 0 at rest.
    pub dist: f64,
    /// Fleet name.
    pub fleet: Option<String>,
    /// Pending intercept watch (set by `i`, resolved in the turn).
    pub intercept: Option<PlanetId>,
}

/// A planet-related event for reports: a battle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Battle {
    /// Where.
    pub planet: PlanetId,
    /// 1 or 2.
    pub phase: u8,
    /// Races involved.
    pub races: Vec<RaceId>,
    /// (owner, type, tech, before, after) per group.
    pub groups: Vec<BattleGroup>,
    /// Rounds.
    pub rounds: u64,
    /// Shots.
    pub shots: u64,
    /// Every shot in firing order, recorded when a race in the battle has
    /// the BattleProtocol option on (at most [`PROTOCOL_MAX_SHOTS`]; shots
    /// of quiet stretches drawn in one step are not listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocol: Vec<Shot>,
}

/// The most shots a battle protocol lists (GalaxyNG lists all): a report
/// stays readable and the stored turn small however big the battle.
pub const PROTOCOL_MAX_SHOTS: usize = 20_000;

/// One shot of a battle protocol: the firing group and the group fired on
/// (indices into [`Battle::groups`]), and whether the target was destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shot(pub u32, pub u32, pub bool);

/// A group in a [`Battle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BattleGroup {
    /// Owner.
    pub owner: RaceId,
    /// Type.
    pub ship_type: String,
    /// Techs.
    pub tech: Tech,
    /// Ships before.
    pub before: u32,
    /// Ships after.
    pub after: u32,
}

/// A bombing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bombing {
    /// Where.
    pub planet: PlanetId,
    /// Planet name at the time.
    pub planet_name: String,
    /// Owner before.
    pub old_owner: RaceId,
    /// Owner after.
    pub new_owner: Option<RaceId>,
    /// Bombing races.
    pub bombers: Vec<RaceId>,
    /// Races that could see the planet when it was bombed (its owner and
    /// races with a group at rest there); they see the bombing reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub viewers: Vec<RaceId>,
    /// Population after.
    pub pop: f64,
    /// Industry after.
    pub ind: f64,
}

/// A message waiting for the next report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Sender (`None`: the game).
    pub from: Option<RaceId>,
    /// Recipients (`None`: everybody).
    pub to: Option<Vec<RaceId>>,
    /// Text.
    pub text: String,
}

/// What happened in the last turn, for its reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnLog {
    /// Battles.
    pub battles: Vec<Battle>,
    /// Bombings.
    pub bombings: Vec<Bombing>,
    /// Messages delivered with this turn's reports.
    pub messages: Vec<Message>,
    /// Orders received per race, as text.
    pub orders: BTreeMap<RaceId, Vec<String>>,
    /// Mistakes per race.
    pub mistakes: BTreeMap<RaceId, Vec<Mistake>>,
    /// Ships built, destroyed in combat and scrapped (for invariant checks).
    pub ships_built: u64,
    /// Ships destroyed in battle.
    pub ships_destroyed: u64,
    /// Ships scrapped.
    pub ships_scrapped: u64,
    /// Ships removed with obliterated races.
    pub ships_obliterated: u64,
}

/// The whole game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Game {
    /// Platform game id.
    pub game_id: String,
    /// Current turn.
    pub turn: u32,
    /// Settings.
    pub settings: GameSettings,
    /// Side of the galaxy.
    pub size: f64,
    /// The random generator.
    pub rng: GameRng,
    /// Races.
    pub races: Vec<Race>,
    /// Planets; index + 1 is the number.
    pub planets: Vec<Planet>,
    /// Groups, kept sorted by (owner, number).
    pub groups: Vec<Group>,
    /// The last turn's events.
    pub log: TurnLog,
    /// Messages for the next turn's reports.
    pub outbox: Vec<Message>,
    /// Planet names → planets, built on first use (not stored).
    #[serde(skip)]
    pub planet_index: PlanetIndex,
    /// Fleets → their groups' numbers, built on first use (not stored).
    #[serde(skip)]
    pub fleet_index: FleetIndex,
}

/// The fleet membership index of a [`Game`]: (race, fleet) → group
/// numbers. Built on first lookup; [`Game::set_fleet`] keeps it current.
/// Lookups re-check each member, so groups removed elsewhere (battles,
/// merging) simply drop out.
#[derive(Debug, Clone, Default)]
pub struct FleetIndex(std::sync::OnceLock<BTreeMap<(RaceId, String), BTreeSet<u32>>>);

impl PartialEq for FleetIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The planet name index of a [`Game`]: built on first lookup, kept up to
/// date by [`Game::rename_planet`], never stored (so it never makes two
/// games compare unequal).
#[derive(Debug, Clone, Default)]
pub struct PlanetIndex(std::sync::OnceLock<BTreeMap<String, PlanetId>>);

impl PartialEq for PlanetIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Game {
    /// Distance between two planets (wrapping when spherical).
    pub fn distance(&self, a: PlanetId, b: PlanetId) -> f64 {
        let (p, q) = (&self.planets[a.0], &self.planets[b.0]);
        let mut dx = (p.x - q.x).abs();
        let mut dy = (p.y - q.y).abs();
        if self.settings.spherical {
            if dx > self.size / 2.0 {
                dx = self.size - dx;
            }
            if dy > self.size / 2.0 {
                dy = self.size - dy;
            }
        }
        (dx * dx + dy * dy).sqrt()
    }

    /// Whether `a` is at war with `b` (not allied, no galactic peace).
    pub fn at_war(&self, a: RaceId, b: RaceId) -> bool {
        a != b && self.turn > self.settings.peace_turns && !self.races[a.0].allies.contains(&b)
    }

    /// Finds a race by key or displayed name (case-insensitive).
    pub fn find_race(&self, name: &str) -> Option<RaceId> {
        crate::cost::add(self.races.len());
        self.races
            .iter()
            .position(|r| r.key.eq_ignore_ascii_case(name) || r.name.eq_ignore_ascii_case(name))
            .map(RaceId)
    }

    /// Finds a planet by name or `#N`.
    pub fn find_planet(&self, name: &str) -> Option<PlanetId> {
        if let Some(n) = name.strip_prefix('#') {
            let n: usize = n.parse().ok()?;
            return (n >= 1 && n <= self.planets.len()).then(|| PlanetId(n - 1));
        }
        crate::cost::add(1);
        let index = self.planet_index.0.get_or_init(|| {
            crate::cost::add(self.planets.len());
            self.planets
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.clone(), PlanetId(i)))
                .collect()
        });
        index.get(name).copied()
    }

    /// Renames a planet (the caller checked the name is free).
    pub fn rename_planet(&mut self, pid: PlanetId, name: &str) {
        let old = std::mem::replace(&mut self.planets[pid.0].name, name.to_string());
        if let Some(index) = self.planet_index.0.get_mut() {
            index.remove(&old);
            index.insert(name.to_string(), pid);
        }
    }

    /// Indices of a race's groups in a fleet, in number order
    /// (O(members · log groups)).
    pub fn fleet_members(&self, race: RaceId, fleet: &str) -> Vec<usize> {
        let index = self.fleet_index.0.get_or_init(|| {
            crate::cost::add(self.groups.len());
            let mut index: BTreeMap<(RaceId, String), BTreeSet<u32>> = BTreeMap::new();
            for g in &self.groups {
                if let Some(f) = &g.fleet {
                    index
                        .entry((g.owner, f.clone()))
                        .or_default()
                        .insert(g.number);
                }
            }
            index
        });
        let Some(numbers) = index.get(&(race, fleet.to_string())) else {
            return Vec::new();
        };
        crate::cost::add(numbers.len());
        numbers
            .iter()
            .filter_map(|&n| crate::group::find_group(self, race, n))
            .filter(|&i| self.groups[i].fleet.as_deref() == Some(fleet))
            .collect()
    }

    /// Puts group `idx` into `fleet` (or out of any), keeping the fleet
    /// index current. Every change of a group's fleet goes through here.
    pub fn set_fleet(&mut self, idx: usize, fleet: Option<&str>) {
        let g = &mut self.groups[idx];
        let old = std::mem::replace(&mut g.fleet, fleet.map(str::to_string));
        let (owner, number) = (g.owner, g.number);
        if let Some(index) = self.fleet_index.0.get_mut() {
            if let Some(old) = old
                && let Some(set) = index.get_mut(&(owner, old))
            {
                set.remove(&number);
            }
            if let Some(f) = fleet {
                index
                    .entry((owner, f.to_string()))
                    .or_default()
                    .insert(number);
            }
        }
    }

    /// The ship type of a group.
    pub fn group_type(&self, g: &Group) -> &ShipType {
        // Types in use can be neither eliminated nor lost, so this holds.
        self.races[g.owner.0]
            .ship_type(&g.ship_type)
            .expect("a group's ship type exists while the group does")
    }

    /// Effective industry of a race.
    pub fn effective_industry(&self, r: RaceId) -> f64 {
        self.planets
            .iter()
            .filter(|p| p.owner == Some(r))
            .map(|p| p.ind + (p.pop - p.ind) / 4.0)
            .sum()
    }

    /// Total ships of all groups.
    pub fn total_ships(&self) -> u64 {
        self.groups.iter().map(|g| g.ships as u64).sum()
    }
}
