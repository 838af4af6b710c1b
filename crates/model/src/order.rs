//! Typed orders: one [`Order`] variant per classic Galaxy order letter (the
//! `d` letter has two variants, ship type and fleet), with the arguments it
//! takes, plus [`Order::to_text`] that renders the classic text form the
//! engine's parser reads back into the same value.
//!
//! Planets are referred to by name or `#N` (the planet's number); groups by
//! their number; fleets and ship types by name.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A cargo kind a group can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cargo {
    /// Capital (industry in a box).
    Cap,
    /// Materials.
    Mat,
    /// Colonists (8 population each).
    Col,
}

impl Cargo {
    /// The classic keyword (`CAP`, `MAT`, `COL`).
    pub fn keyword(self) -> &'static str {
        match self {
            Cargo::Cap => "CAP",
            Cargo::Mat => "MAT",
            Cargo::Col => "COL",
        }
    }

    /// Parses a keyword case-insensitively.
    pub fn parse(s: &str) -> Option<Cargo> {
        match s.to_ascii_uppercase().as_str() {
            "CAP" => Some(Cargo::Cap),
            "MAT" => Some(Cargo::Mat),
            "COL" => Some(Cargo::Col),
            _ => None,
        }
    }
}

/// A route's cargo kind: the three cargoes plus `EMP` (empty ships).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteCargo {
    /// Colonists.
    Col,
    /// Capital.
    Cap,
    /// Materials.
    Mat,
    /// Empty cargo ships.
    Emp,
}

impl RouteCargo {
    /// All route kinds in the order the route phase handles them.
    pub const ALL: [RouteCargo; 4] = [
        RouteCargo::Col,
        RouteCargo::Cap,
        RouteCargo::Mat,
        RouteCargo::Emp,
    ];

    /// The classic keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RouteCargo::Cap => "CAP",
            RouteCargo::Mat => "MAT",
            RouteCargo::Col => "COL",
            RouteCargo::Emp => "EMP",
        }
    }

    /// Parses a keyword case-insensitively.
    pub fn parse(s: &str) -> Option<RouteCargo> {
        match s.to_ascii_uppercase().as_str() {
            "CAP" => Some(RouteCargo::Cap),
            "MAT" => Some(RouteCargo::Mat),
            "COL" => Some(RouteCargo::Col),
            "EMP" => Some(RouteCargo::Emp),
            _ => None,
        }
    }

    /// The cargo this route carries (`None` for `EMP`).
    pub fn cargo(self) -> Option<Cargo> {
        match self {
            RouteCargo::Cap => Some(Cargo::Cap),
            RouteCargo::Mat => Some(Cargo::Mat),
            RouteCargo::Col => Some(Cargo::Col),
            RouteCargo::Emp => None,
        }
    }
}

/// What a planet produces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    /// Capital.
    Cap,
    /// Materials.
    Mat,
    /// Drive research.
    Drive,
    /// Weapons research.
    Weapons,
    /// Shields research.
    Shields,
    /// Cargo research.
    Cargo,
    /// Ships of the named type.
    Ship(String),
}

impl Product {
    /// The classic keyword, or the ship type's name.
    pub fn keyword(&self) -> &str {
        match self {
            Product::Cap => "CAP",
            Product::Mat => "MAT",
            Product::Drive => "DRIVE",
            Product::Weapons => "WEAPONS",
            Product::Shields => "SHIELDS",
            Product::Cargo => "CARGO",
            Product::Ship(name) => name,
        }
    }

    /// Parses a product keyword case-insensitively; anything else is taken
    /// as a ship type name.
    pub fn parse(s: &str) -> Product {
        match s.to_ascii_uppercase().as_str() {
            "CAP" => Product::Cap,
            "MAT" => Product::Mat,
            "DRIVE" => Product::Drive,
            "WEAPONS" => Product::Weapons,
            "SHIELDS" => Product::Shields,
            "CARGO" => Product::Cargo,
            _ => Product::Ship(s.to_string()),
        }
    }

    /// Whether `name` is one of the reserved product keywords.
    pub fn is_keyword(name: &str) -> bool {
        !matches!(Product::parse(name), Product::Ship(_))
    }
}

/// A group (by number) or a fleet (by name): what send, reverse, intercept
/// and join act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A group by its number ([`MAX_GROUP`] for `max`).
    Group(#[serde(with = "group_number")] u32),
    /// A fleet by its name.
    Fleet(String),
}

impl Unit {
    /// Reads a token: a number (or `max`) is a group, anything else a fleet
    /// name.
    pub fn parse(s: &str) -> Unit {
        match parse_group(s) {
            Some(n) => Unit::Group(n),
            None => Unit::Fleet(s.to_string()),
        }
    }
}

/// The group number that stands for GalaxyNG's `max` alias in orders: the
/// race's highest-numbered group when the order runs (so `max` right after
/// a split or a `b` names the new group). Written `max` in text and JSON.
pub const MAX_GROUP: u32 = u32::MAX;

/// Reads a group token: a number, or `max` (any case) for [`MAX_GROUP`].
pub fn parse_group(s: &str) -> Option<u32> {
    if s.eq_ignore_ascii_case("max") {
        return Some(MAX_GROUP);
    }
    s.parse().ok()
}

/// A group number as order text: the number, or `max`.
pub fn group_text(n: u32) -> String {
    if n == MAX_GROUP {
        "max".to_string()
    } else {
        n.to_string()
    }
}

/// Serde for group numbers in orders: a JSON number, or the string `"max"`.
mod group_number {
    use super::{MAX_GROUP, parse_group};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(n: &u32, s: S) -> Result<S::Ok, S::Error> {
        if *n == MAX_GROUP {
            s.serialize_str("max")
        } else {
            s.serialize_u32(*n)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u32),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Number(n) if n != MAX_GROUP => Ok(n),
            Raw::Number(n) => Err(D::Error::custom(format!("group number {n} is too large"))),
            Raw::Text(t) => match parse_group(&t) {
                Some(MAX_GROUP) => Ok(MAX_GROUP),
                _ => Err(D::Error::custom(format!(
                    "a group is a number or \"max\", not {t:?}"
                ))),
            },
        }
    }
}

/// One order. The `kind` tag names the variant; the classic letter is in
/// each variant's documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Order {
    /// `@ [race…]` message to the named races (all races when empty).
    Message {
        /// Recipients (race names); empty means everybody.
        #[serde(default)]
        to: Vec<String>,
        /// The text; lines separated by `\n`.
        text: String,
    },
    /// `=` set the race's real (player) name.
    RealName {
        /// The name.
        name: String,
    },
    /// `a race`: stop being at war with a race (one-sided).
    Ally {
        /// The race.
        race: String,
    },
    /// `b group [ships]`: with a count, split that many ships off into a new
    /// group; without, take the group out of its fleet.
    Break {
        /// The group.
        #[serde(with = "group_number")]
        group: u32,
        /// Ships to split off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ships: Option<u32>,
    },
    /// `c name`: rename the race.
    RenameRace {
        /// The new name.
        name: String,
    },
    /// `d name D A W S C`: design a ship type.
    DesignShip {
        /// Type name.
        name: String,
        /// Drive mass.
        drive: f64,
        /// Number of attacks (guns).
        attacks: u32,
        /// Weapon mass per gun.
        weapons: f64,
        /// Shield mass.
        shields: f64,
        /// Cargo mass.
        cargo: f64,
    },
    /// `d fleet name`: create an (empty) fleet.
    DesignFleet {
        /// Fleet name.
        name: String,
    },
    /// `e name`: eliminate a ship type (unused) or a fleet.
    Eliminate {
        /// Type or fleet name.
        name: String,
    },
    /// `f`: request a race's address (kept for compatibility; no effect).
    RequestAddress {
        /// The race asked about.
        #[serde(default)]
        race: String,
    },
    /// `g group [ships]`: upgrade a group to the race's current techs.
    Upgrade {
        /// The group.
        #[serde(with = "group_number")]
        group: u32,
        /// Ships to split off first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ships: Option<u32>,
    },
    /// `h unit`: reverse a group or fleet in hyperspace.
    Reverse {
        /// Group or fleet.
        unit: Unit,
    },
    /// `i unit planet`: intercept groups leaving a planet.
    Intercept {
        /// Group or fleet.
        unit: Unit,
        /// The planet watched.
        planet: String,
    },
    /// `j unit fleet [ships]`: a group joins a fleet (created if missing), or
    /// a fleet merges into another.
    Join {
        /// Group (or fleet to merge).
        unit: Unit,
        /// The fleet joined.
        fleet: String,
        /// Ships to split off first (groups only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ships: Option<u32>,
    },
    /// `l group cargo [ships] [amount]`: load cargo at the group's planet.
    Load {
        /// The group.
        #[serde(with = "group_number")]
        group: u32,
        /// What to load.
        cargo: Cargo,
        /// Ships to split off first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ships: Option<u32>,
        /// Amount per ship (default: the free space).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<f64>,
    },
    /// `m x y size`: the report's map window.
    MapWindow {
        /// Left.
        x: f64,
        /// Top.
        y: f64,
        /// Side length.
        size: f64,
    },
    /// `n planet name`: rename an own planet.
    RenamePlanet {
        /// The planet.
        planet: String,
        /// The new name.
        name: String,
    },
    /// `o option [on|off]` (or GalaxyNG's `o [no|off] option`): set a race
    /// option.
    SetOption {
        /// Option name: `AutoUnload`, `BattleProtocol`, `ProdTable`,
        /// `SortGroups` or `Anonymous` (any case).
        option: String,
        /// New value; on when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on: Option<bool>,
    },
    /// `p planet product`: set a planet's production.
    Produce {
        /// The planet.
        planet: String,
        /// The product.
        product: Product,
    },
    /// `q`: quit the game. A struct variant with no fields (not a unit
    /// variant) so that `deny_unknown_fields` refuses `{"kind":"quit","x":1}`.
    Quit {},
    /// `r planet cargo [destination]`: set (or, without destination, clear)
    /// a route.
    Route {
        /// The origin planet (own).
        planet: String,
        /// The route's cargo.
        cargo: RouteCargo,
        /// Destination; `None` clears the route.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination: Option<String>,
    },
    /// `s unit planet [ships]`: send a group or fleet.
    Send {
        /// Group or fleet.
        unit: Unit,
        /// Destination planet.
        planet: String,
        /// Ships to split off first (groups only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ships: Option<u32>,
    },
    /// `t old new`: rename a ship type or a fleet.
    Rename {
        /// Current name.
        old: String,
        /// New name.
        new: String,
    },
    /// `u group [ships] [amount]`: unload cargo at the group's planet.
    Unload {
        /// The group.
        #[serde(with = "group_number")]
        group: u32,
        /// Ships to split off first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ships: Option<u32>,
        /// Amount per ship (default: everything).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<f64>,
    },
    /// `v planet`: claim a planet being bombed this turn.
    Claim {
        /// The planet.
        planet: String,
    },
    /// `w race`: declare war on a race.
    War {
        /// The race.
        race: String,
    },
    /// `x group [ships]`: scrap ships at an own planet.
    Scrap {
        /// The group.
        #[serde(with = "group_number")]
        group: u32,
        /// Ships to split off first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ships: Option<u32>,
    },
    /// `y password`: change the race's password (kept, not checked by the engine).
    Password {
        /// The password.
        password: String,
    },
    /// `z address`: change the race's e-mail address (kept for reports).
    Email {
        /// The address.
        address: String,
    },
}

/// One line of a race's order set: the client-side id and the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Client-side id of the line, unique within the set.
    pub id: String,
    /// The order.
    pub order: Order,
}

/// Quotes a name when the text parser would not read it back as one token.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| !c.is_whitespace() && c != '"' && c != ';');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "'"))
    }
}

/// Formats a number the way the parser reads it back exactly.
pub fn num(x: f64) -> String {
    format!("{x}")
}

fn unit_text(u: &Unit) -> String {
    match u {
        Unit::Group(n) => group_text(*n),
        Unit::Fleet(f) => quote(f),
    }
}

fn opt_u32(out: &mut String, v: Option<u32>) {
    if let Some(v) = v {
        let _ = write!(out, " {v}");
    }
}

impl Order {
    /// The classic order letter.
    pub fn letter(&self) -> char {
        match self {
            Order::Message { .. } => '@',
            Order::RealName { .. } => '=',
            Order::Ally { .. } => 'a',
            Order::Break { .. } => 'b',
            Order::RenameRace { .. } => 'c',
            Order::DesignShip { .. } | Order::DesignFleet { .. } => 'd',
            Order::Eliminate { .. } => 'e',
            Order::RequestAddress { .. } => 'f',
            Order::Upgrade { .. } => 'g',
            Order::Reverse { .. } => 'h',
            Order::Intercept { .. } => 'i',
            Order::Join { .. } => 'j',
            Order::Load { .. } => 'l',
            Order::MapWindow { .. } => 'm',
            Order::RenamePlanet { .. } => 'n',
            Order::SetOption { .. } => 'o',
            Order::Produce { .. } => 'p',
            Order::Quit {} => 'q',
            Order::Route { .. } => 'r',
            Order::Send { .. } => 's',
            Order::Rename { .. } => 't',
            Order::Unload { .. } => 'u',
            Order::Claim { .. } => 'v',
            Order::War { .. } => 'w',
            Order::Scrap { .. } => 'x',
            Order::Password { .. } => 'y',
            Order::Email { .. } => 'z',
        }
    }

    /// Renders the order in the classic text form (a message spans several
    /// lines and ends with a lone `@`).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        match self {
            Order::Message { to, text } => {
                s.push('@');
                for r in to {
                    s.push(' ');
                    s.push_str(&quote(r));
                }
                // `split`, not `lines`: a trailing empty line is text too
                // (the parser joins every line up to the lone `@`).
                if !text.is_empty() {
                    for line in text.split('\n') {
                        s.push('\n');
                        s.push_str(line);
                    }
                }
                s.push_str("\n@");
            }
            Order::RealName { name } => s = format!("= {}", quote(name)),
            Order::Ally { race } => s = format!("a {}", quote(race)),
            Order::Break { group, ships } => {
                s = format!("b {}", group_text(*group));
                opt_u32(&mut s, *ships);
            }
            Order::RenameRace { name } => s = format!("c {}", quote(name)),
            Order::DesignShip {
                name,
                drive,
                attacks,
                weapons,
                shields,
                cargo,
            } => {
                s = format!(
                    "d {} {} {} {} {} {}",
                    quote(name),
                    num(*drive),
                    attacks,
                    num(*weapons),
                    num(*shields),
                    num(*cargo)
                )
            }
            Order::DesignFleet { name } => s = format!("d fleet {}", quote(name)),
            Order::Eliminate { name } => s = format!("e {}", quote(name)),
            Order::RequestAddress { race } => {
                s = "f".to_string();
                if !race.is_empty() {
                    s = format!("f {}", quote(race));
                }
            }
            Order::Upgrade { group, ships } => {
                s = format!("g {}", group_text(*group));
                opt_u32(&mut s, *ships);
            }
            Order::Reverse { unit } => s = format!("h {}", unit_text(unit)),
            Order::Intercept { unit, planet } => {
                s = format!("i {} {}", unit_text(unit), quote(planet))
            }
            Order::Join { unit, fleet, ships } => {
                s = format!("j {} {}", unit_text(unit), quote(fleet));
                opt_u32(&mut s, *ships);
            }
            Order::Load {
                group,
                cargo,
                ships,
                amount,
            } => {
                s = format!("l {} {}", group_text(*group), cargo.keyword());
                // The amount is positional after the ship count.
                match (ships, amount) {
                    (Some(n), Some(a)) => {
                        let _ = write!(s, " {n} {}", num(*a));
                    }
                    (Some(n), None) => {
                        let _ = write!(s, " {n}");
                    }
                    (None, Some(a)) => {
                        let _ = write!(s, " 0 {}", num(*a));
                    }
                    (None, None) => {}
                }
            }
            Order::MapWindow { x, y, size } => {
                s = format!("m {} {} {}", num(*x), num(*y), num(*size))
            }
            Order::RenamePlanet { planet, name } => {
                s = format!("n {} {}", quote(planet), quote(name))
            }
            Order::SetOption { option, on } => {
                s = format!("o {}", quote(option));
                if let Some(on) = on {
                    s.push_str(if *on { " on" } else { " off" });
                }
            }
            Order::Produce { planet, product } => {
                s = format!("p {} {}", quote(planet), quote(product.keyword()))
            }
            Order::Quit {} => s = "q".to_string(),
            Order::Route {
                planet,
                cargo,
                destination,
            } => {
                s = format!("r {} {}", quote(planet), cargo.keyword());
                if let Some(d) = destination {
                    let _ = write!(s, " {}", quote(d));
                }
            }
            Order::Send {
                unit,
                planet,
                ships,
            } => {
                s = format!("s {} {}", unit_text(unit), quote(planet));
                opt_u32(&mut s, *ships);
            }
            Order::Rename { old, new } => s = format!("t {} {}", quote(old), quote(new)),
            Order::Unload {
                group,
                ships,
                amount,
            } => {
                s = format!("u {}", group_text(*group));
                match (ships, amount) {
                    (Some(n), Some(a)) => {
                        let _ = write!(s, " {n} {}", num(*a));
                    }
                    (Some(n), None) => {
                        let _ = write!(s, " {n}");
                    }
                    (None, Some(a)) => {
                        let _ = write!(s, " 0 {}", num(*a));
                    }
                    (None, None) => {}
                }
            }
            Order::Claim { planet } => s = format!("v {}", quote(planet)),
            Order::War { race } => s = format!("w {}", quote(race)),
            Order::Scrap { group, ships } => {
                s = format!("x {}", group_text(*group));
                opt_u32(&mut s, *ships);
            }
            Order::Password { password } => s = format!("y {}", quote(password)),
            Order::Email { address } => s = format!("z {}", quote(address)),
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_serialise_with_a_kind_tag() {
        let o = Order::Send {
            unit: Unit::Group(3),
            planet: "#12".into(),
            ships: Some(2),
        };
        let j = serde_json::to_string(&o).unwrap();
        assert_eq!(
            j,
            r##"{"kind":"send","unit":{"group":3},"planet":"#12","ships":2}"##
        );
        let back: Order = serde_json::from_str(&j).unwrap();
        assert_eq!(back, o);
        let p = Order::Produce {
            planet: "1".into(),
            product: Product::Ship("Drone".into()),
        };
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(
            j,
            r#"{"kind":"produce","planet":"1","product":{"ship":"Drone"}}"#
        );
    }

    #[test]
    fn max_is_a_group_in_json_and_text() {
        let o = Order::Upgrade {
            group: MAX_GROUP,
            ships: Some(0),
        };
        let j = serde_json::to_string(&o).unwrap();
        assert_eq!(j, r#"{"kind":"upgrade","group":"max","ships":0}"#);
        assert_eq!(serde_json::from_str::<Order>(&j).unwrap(), o);
        assert_eq!(o.to_text(), "g max 0");
        let u: Order =
            serde_json::from_str(r#"{"kind":"send","unit":{"group":"MAX"},"planet":"1"}"#).unwrap();
        assert_eq!(u.to_text(), "s max 1");
        assert!(serde_json::from_str::<Order>(r#"{"kind":"scrap","group":"most"}"#).is_err());
        assert!(serde_json::from_str::<Order>(r#"{"kind":"scrap","group":4294967295}"#).is_err());
        assert_eq!(Unit::parse("Max"), Unit::Group(MAX_GROUP));
    }

    #[test]
    fn a_message_keeps_its_empty_lines_in_text() {
        // Found by fuzzing (crates/fuzz, order_text): `lines()` dropped a
        // trailing empty line, so "\n" came back from the parser as "".
        let message = |text: &str| Order::Message {
            to: vec!["Vulcans".into()],
            text: text.into(),
        };
        assert_eq!(message("").to_text(), "@ Vulcans\n@");
        assert_eq!(message("\n").to_text(), "@ Vulcans\n\n\n@");
        assert_eq!(message("hi\n\n").to_text(), "@ Vulcans\nhi\n\n\n@");
    }

    #[test]
    fn unknown_fields_are_refused_on_every_variant() {
        assert_eq!(
            serde_json::from_str::<Order>(r#"{"kind":"quit"}"#).unwrap(),
            Order::Quit {}
        );
        assert_eq!(
            serde_json::to_string(&Order::Quit {}).unwrap(),
            r#"{"kind":"quit"}"#
        );
        assert!(serde_json::from_str::<Order>(r#"{"kind":"quit","x":1}"#).is_err());
        assert!(serde_json::from_str::<Order>(r#"{"kind":"war","race":"A","x":1}"#).is_err());
    }

    #[test]
    fn names_with_spaces_are_quoted() {
        assert_eq!(quote("Big Ship"), "\"Big Ship\"");
        assert_eq!(quote("Drone"), "Drone");
        assert_eq!(quote("#3"), "#3");
    }
}
