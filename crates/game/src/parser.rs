//! The classic text order form: `#GALAXY <game> <race> <password> <turn>` …
//! `#END`, one order per line, first letter significant (case-insensitive),
//! `;` starts a comment, `"..."` quotes names with spaces. A message is
//! `@ [race…]`, its text lines, then a lone `@`. Produces the same typed
//! [`Order`]s as the JSON form; lines that do not parse become mistakes.

use crate::error::OrderError;
use galaxy_model::api::Mistake;
use galaxy_model::order::{Cargo, Order, OrderLine, Product, RouteCargo, Unit, parse_group};

/// The `#GALAXY` header line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// Game name.
    pub game: String,
    /// Race name.
    pub race: String,
    /// Password (not checked by the engine).
    pub password: String,
    /// Turn number, if given and numeric.
    pub turn: Option<u32>,
}

/// Result of parsing a text order set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    /// The header, if present.
    pub header: Option<Header>,
    /// Orders with ids `"1"`, `"2"`, … in order.
    pub lines: Vec<OrderLine>,
    /// Lines that did not parse.
    pub mistakes: Vec<Mistake>,
}

/// Splits a line into tokens: whitespace-separated, `"..."` quoted, `;`
/// comment to the end of line.
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut has = false;
    for c in line.chars() {
        if in_quote {
            if c == '"' {
                in_quote = false;
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                in_quote = true;
                has = true;
            }
            ';' => break,
            c if c.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}

/// Parses a whole text order set.
pub fn parse_orders(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let lines: Vec<&str> = text.lines().collect();
    let has_header = lines.iter().any(|l| {
        tokenize(l)
            .first()
            .is_some_and(|t| t.eq_ignore_ascii_case("#galaxy"))
    });
    let mut inside = !has_header;
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        i += 1;
        let toks = tokenize(raw);
        let Some(first) = toks.first() else { continue };
        if first.starts_with('#') {
            let word = first.to_ascii_lowercase();
            if word == "#galaxy" && parsed.header.is_none() {
                parsed.header = Some(Header {
                    game: toks.get(1).cloned().unwrap_or_default(),
                    race: toks.get(2).cloned().unwrap_or_default(),
                    password: toks.get(3).cloned().unwrap_or_default(),
                    turn: toks.get(4).and_then(|t| t.parse().ok()),
                });
                inside = true;
            } else if word == "#end" && inside {
                break;
            }
            continue;
        }
        if !inside {
            continue;
        }
        let result = if first.starts_with('@') {
            // A message block: recipients on this line, text until a lone "@".
            let mut to: Vec<String> = toks[1..].to_vec();
            if let Some(name) = first.strip_prefix('@').filter(|n| !n.is_empty()) {
                to.insert(0, name.to_string());
            }
            let mut text = Vec::new();
            let mut closed = false;
            while i < lines.len() {
                let l = lines[i];
                i += 1;
                if l.trim() == "@" {
                    closed = true;
                    break;
                }
                text.push(l.to_string());
            }
            if closed {
                Ok(Order::Message {
                    to,
                    text: text.join("\n"),
                })
            } else {
                Err(syntax("message not ended by a lone @"))
            }
        } else {
            parse_line(&toks)
        };
        match result {
            Ok(order) => {
                let id = (parsed.lines.len() + 1).to_string();
                parsed.lines.push(OrderLine { id, order });
            }
            Err(e) => parsed.mistakes.push(Mistake {
                id: String::new(),
                order: raw.trim().to_string(),
                code: e.code(),
                reason: e.to_string(),
            }),
        }
    }
    parsed
}

fn syntax(msg: impl Into<String>) -> OrderError {
    OrderError::Syntax(msg.into())
}

fn arg<'a>(t: &'a [String], i: usize, what: &str) -> Result<&'a str, OrderError> {
    t.get(i)
        .map(String::as_str)
        .ok_or_else(|| syntax(format!("missing {what}")))
}

fn num(t: &[String], i: usize, what: &str) -> Result<f64, OrderError> {
    let s = arg(t, i, what)?;
    let v: f64 = s
        .parse()
        .map_err(|_| syntax(format!("{what} must be a number, not {s:?}")))?;
    if !v.is_finite() {
        return Err(syntax(format!("{what} must be a finite number")));
    }
    Ok(v)
}

fn int(t: &[String], i: usize, what: &str) -> Result<u32, OrderError> {
    let s = arg(t, i, what)?;
    s.parse()
        .map_err(|_| syntax(format!("{what} must be a whole number, not {s:?}")))
}

/// A group: its number, or `max` (the race's highest-numbered group).
fn group(t: &[String], i: usize) -> Result<u32, OrderError> {
    let s = arg(t, i, "group")?;
    parse_group(s).ok_or_else(|| syntax(format!("group must be a number or max, not {s:?}")))
}

fn opt_int(t: &[String], i: usize, what: &str) -> Result<Option<u32>, OrderError> {
    if t.len() > i {
        int(t, i, what).map(Some)
    } else {
        Ok(None)
    }
}

fn opt_num(t: &[String], i: usize, what: &str) -> Result<Option<f64>, OrderError> {
    if t.len() > i {
        num(t, i, what).map(Some)
    } else {
        Ok(None)
    }
}

/// `[ships] [[amount] per-ship-amount]` where a ship count of 0 means
/// "all" and the GalaxyNG keyword `amount` is optional.
fn ships_amount(t: &[String], i: usize) -> Result<(Option<u32>, Option<f64>), OrderError> {
    let rest: Vec<String> = t[i.min(t.len())..].to_vec();
    let (ships_tok, amount_toks): (Option<&String>, &[String]) = match rest.first() {
        Some(w) if w.eq_ignore_ascii_case("amount") => (None, &rest[1..]),
        Some(w) => (Some(w), &rest[1..]),
        None => (None, &[]),
    };
    let ships = match ships_tok {
        Some(s) => Some(
            s.parse::<u32>()
                .map_err(|_| syntax(format!("ship count must be a whole number, not {s:?}")))?,
        ),
        None => None,
    }
    .filter(|&n| n > 0);
    let amount_toks = match amount_toks.first() {
        Some(w) if w.eq_ignore_ascii_case("amount") => &amount_toks[1..],
        _ => amount_toks,
    };
    if amount_toks.len() > 1 {
        return Err(syntax("too many arguments"));
    }
    let amount = opt_num(amount_toks, 0, "amount")?;
    Ok((ships, amount))
}

fn too_many(t: &[String], max: usize) -> Result<(), OrderError> {
    if t.len() > max {
        Err(syntax(format!("too many arguments ({})", t.len() - 1)))
    } else {
        Ok(())
    }
}

/// Parses one (non-message) order line already split into tokens.
/// Parses one (non-message) order line already split into tokens.
pub fn parse_line(t: &[String]) -> Result<Order, OrderError> {
    let Some(letter) = t
        .first()
        .and_then(|w| w.chars().next())
        .map(|c| c.to_ascii_lowercase())
    else {
        return Err(syntax("empty order"));
    };
    match letter {
        '=' | 'a' | 'c' | 'f' | 'q' | 'w' | 'y' | 'z' => race_order(letter, t),
        'd' | 'e' | 't' => design_order(letter, t),
        'b' | 'g' | 'h' | 'i' | 'j' | 's' | 'x' => group_order(letter, t),
        'l' | 'u' | 'r' => cargo_order(letter, t),
        'm' | 'n' | 'o' | 'p' | 'v' => planet_order(letter, t),
        other => Err(syntax(format!("unknown order {other:?}"))),
    }
}

/// The race's own orders: `=`, `a`, `c`, `f`, `q`, `w`, `y`, `z`.
fn race_order(letter: char, t: &[String]) -> Result<Order, OrderError> {
    let rest_text = || t[1..].join(" ");
    let order = match letter {
        '=' => Order::RealName { name: rest_text() },
        'a' => {
            too_many(t, 2)?;
            Order::Ally {
                race: arg(t, 1, "race")?.into(),
            }
        }
        'c' => {
            too_many(t, 2)?;
            Order::RenameRace {
                name: arg(t, 1, "name")?.into(),
            }
        }
        'f' => Order::RequestAddress {
            race: t.get(1).cloned().unwrap_or_default(),
        },
        'q' => Order::Quit {},
        'w' => {
            too_many(t, 2)?;
            Order::War {
                race: arg(t, 1, "race")?.into(),
            }
        }
        'y' => Order::Password {
            password: arg(t, 1, "password")?.into(),
        },
        'z' => Order::Email {
            address: arg(t, 1, "address")?.into(),
        },
        other => return Err(syntax(format!("unknown order {other:?}"))),
    };
    Ok(order)
}

/// Design orders: `d`, `e`, `t`.
fn design_order(letter: char, t: &[String]) -> Result<Order, OrderError> {
    let order = match letter {
        'd' => match t.len() {
            2 => Order::DesignFleet { name: t[1].clone() },
            3 if t[1].eq_ignore_ascii_case("fleet") || t[1].eq_ignore_ascii_case("f") => {
                Order::DesignFleet { name: t[2].clone() }
            }
            7 => Order::DesignShip {
                name: t[1].clone(),
                drive: num(t, 2, "drive")?,
                attacks: int(t, 3, "attacks")?,
                weapons: num(t, 4, "weapons")?,
                shields: num(t, 5, "shields")?,
                cargo: num(t, 6, "cargo")?,
            },
            _ => {
                return Err(syntax(
                    "design needs: name drive attacks weapons shields cargo (or a fleet name)",
                ));
            }
        },
        'e' => {
            too_many(t, 2)?;
            Order::Eliminate {
                name: arg(t, 1, "name")?.into(),
            }
        }
        't' => {
            too_many(t, 3)?;
            Order::Rename {
                old: arg(t, 1, "name")?.into(),
                new: arg(t, 2, "new name")?.into(),
            }
        }
        other => return Err(syntax(format!("unknown order {other:?}"))),
    };
    Ok(order)
}

/// Orders to groups and fleets: `b`, `g`, `h`, `i`, `j`, `s`, `x`.
fn group_order(letter: char, t: &[String]) -> Result<Order, OrderError> {
    let order = match letter {
        'b' => {
            too_many(t, 3)?;
            Order::Break {
                group: group(t, 1)?,
                ships: opt_int(t, 2, "ship count")?,
            }
        }
        'g' => {
            too_many(t, 3)?;
            Order::Upgrade {
                group: group(t, 1)?,
                ships: opt_int(t, 2, "ship count")?,
            }
        }
        'h' => {
            too_many(t, 2)?;
            Order::Reverse {
                unit: Unit::parse(arg(t, 1, "group or fleet")?),
            }
        }
        'i' => {
            too_many(t, 3)?;
            Order::Intercept {
                unit: Unit::parse(arg(t, 1, "group or fleet")?),
                planet: arg(t, 2, "planet")?.into(),
            }
        }
        'j' => {
            too_many(t, 4)?;
            Order::Join {
                unit: Unit::parse(arg(t, 1, "group or fleet")?),
                fleet: arg(t, 2, "fleet")?.into(),
                ships: opt_int(t, 3, "ship count")?,
            }
        }
        's' => {
            too_many(t, 4)?;
            Order::Send {
                unit: Unit::parse(arg(t, 1, "group or fleet")?),
                planet: arg(t, 2, "planet")?.into(),
                ships: opt_int(t, 3, "ship count")?,
            }
        }
        'x' => {
            too_many(t, 3)?;
            Order::Scrap {
                group: group(t, 1)?,
                ships: opt_int(t, 2, "ship count")?,
            }
        }
        other => return Err(syntax(format!("unknown order {other:?}"))),
    };
    Ok(order)
}

/// Cargo orders: `l`, `u`, `r`.
fn cargo_order(letter: char, t: &[String]) -> Result<Order, OrderError> {
    let order = match letter {
        'l' => {
            too_many(t, 6)?;
            let group = group(t, 1)?;
            let c = arg(t, 2, "cargo type")?;
            let cargo = Cargo::parse(c).ok_or_else(|| syntax(format!("unknown cargo {c}")))?;
            let (ships, amount) = ships_amount(t, 3)?;
            Order::Load {
                group,
                cargo,
                ships,
                amount,
            }
        }
        'u' => {
            too_many(t, 5)?;
            let group = group(t, 1)?;
            let (ships, amount) = ships_amount(t, 2)?;
            Order::Unload {
                group,
                ships,
                amount,
            }
        }
        'r' => {
            too_many(t, 4)?;
            let c = arg(t, 2, "cargo type")?;
            Order::Route {
                planet: arg(t, 1, "planet")?.into(),
                cargo: RouteCargo::parse(c)
                    .ok_or_else(|| syntax(format!("unknown route cargo {c}")))?,
                destination: t.get(3).cloned(),
            }
        }
        other => return Err(syntax(format!("unknown order {other:?}"))),
    };
    Ok(order)
}

/// Planet and report orders: `m`, `n`, `o`, `p`, `v`.
fn planet_order(letter: char, t: &[String]) -> Result<Order, OrderError> {
    let order = match letter {
        'm' => {
            too_many(t, 4)?;
            Order::MapWindow {
                x: num(t, 1, "x")?,
                y: num(t, 2, "y")?,
                size: num(t, 3, "size")?,
            }
        }
        'n' => {
            too_many(t, 3)?;
            Order::RenamePlanet {
                planet: arg(t, 1, "planet")?.into(),
                name: arg(t, 2, "name")?.into(),
            }
        }
        'o' => {
            too_many(t, 3)?;
            let switch = |s: &str| match s.to_ascii_lowercase().as_str() {
                "on" | "yes" | "1" => Some(true),
                "off" | "no" | "0" => Some(false),
                _ => None,
            };
            // GalaxyNG's `o [no|off] Option`, or `o Option [on|off]` (which
            // wins when both read: `o no off` sets an option named `no`).
            let first = arg(t, 1, "option")?;
            let value = t.get(2).and_then(|v| switch(v));
            match (switch(first), t.get(2)) {
                (Some(false), Some(option)) if value.is_none() => Order::SetOption {
                    option: option.clone(),
                    on: Some(false),
                },
                (_, Some(v)) => Order::SetOption {
                    option: first.into(),
                    on: Some(switch(v).ok_or_else(|| {
                        syntax(format!("option value must be on or off, not {v}"))
                    })?),
                },
                (_, None) => Order::SetOption {
                    option: first.into(),
                    on: None,
                },
            }
        }
        'p' => {
            too_many(t, 3)?;
            Order::Produce {
                planet: arg(t, 1, "planet")?.into(),
                product: Product::parse(arg(t, 2, "product")?),
            }
        }
        'v' => {
            too_many(t, 2)?;
            Order::Claim {
                planet: arg(t, 1, "planet")?.into(),
            }
        }
        other => return Err(syntax(format!("unknown order {other:?}"))),
    };
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_comments_quotes_and_end() {
        let text = "junk before\n#GALAXY g1 Zorg pw 3\nsend 5 #12 2 ; comment\nP 1 \"Big Ship\"\nd Drone 1 0 0 0 0\n@ Vogons\nhello\nthere\n@\nk\n#END\ns 1 2\n";
        let p = parse_orders(text);
        let h = p.header.unwrap();
        assert_eq!(
            (h.game.as_str(), h.race.as_str(), h.turn),
            ("g1", "Zorg", Some(3))
        );
        assert_eq!(p.lines.len(), 4);
        assert_eq!(
            p.lines[0].order,
            Order::Send {
                unit: Unit::Group(5),
                planet: "#12".into(),
                ships: Some(2)
            }
        );
        assert_eq!(
            p.lines[1].order,
            Order::Produce {
                planet: "1".into(),
                product: Product::Ship("Big Ship".into())
            }
        );
        assert_eq!(
            p.lines[3].order,
            Order::Message {
                to: vec!["Vogons".into()],
                text: "hello\nthere".into()
            }
        );
        assert_eq!(p.lines[3].id, "4");
        assert_eq!(p.mistakes.len(), 1);
        assert_eq!(p.mistakes[0].order, "k");
    }

    #[test]
    fn load_and_unload_take_the_galaxyng_amount_keyword() {
        let p =
            parse_orders("l 4 COL amount 2.5\nl 4 cap 3 AMOUNT 1\nu 4 0 0.5\nu 4 2\nl 4 mat 1 2 3");
        let orders: Vec<Order> = p.lines.into_iter().map(|l| l.order).collect();
        assert_eq!(
            orders[0],
            Order::Load {
                group: 4,
                cargo: Cargo::Col,
                ships: None,
                amount: Some(2.5)
            }
        );
        assert_eq!(
            orders[1],
            Order::Load {
                group: 4,
                cargo: Cargo::Cap,
                ships: Some(3),
                amount: Some(1.0)
            }
        );
        assert_eq!(
            orders[2],
            Order::Unload {
                group: 4,
                ships: None,
                amount: Some(0.5)
            }
        );
        assert_eq!(
            orders[3],
            Order::Unload {
                group: 4,
                ships: Some(2),
                amount: None
            }
        );
        assert_eq!(p.mistakes.len(), 1);
    }

    #[test]
    fn every_order_round_trips_through_text() {
        let orders = vec![
            Order::Message {
                to: vec![],
                text: "to all".into(),
            },
            Order::RealName {
                name: "Jane Doe".into(),
            },
            Order::Ally { race: "B".into() },
            Order::Break {
                group: 3,
                ships: Some(2),
            },
            Order::Break {
                group: 3,
                ships: None,
            },
            Order::RenameRace {
                name: "Zorgons".into(),
            },
            Order::DesignShip {
                name: "Gun Ship".into(),
                drive: 4.0,
                attacks: 2,
                weapons: 2.0,
                shields: 4.0,
                cargo: 0.0,
            },
            Order::DesignFleet {
                name: "Alpha".into(),
            },
            Order::Eliminate {
                name: "Alpha".into(),
            },
            Order::RequestAddress {
                race: String::new(),
            },
            Order::Upgrade {
                group: 1,
                ships: None,
            },
            Order::Reverse {
                unit: Unit::Fleet("Alpha".into()),
            },
            Order::Intercept {
                unit: Unit::Group(2),
                planet: "#7".into(),
            },
            Order::Join {
                unit: Unit::Group(2),
                fleet: "Alpha".into(),
                ships: Some(1),
            },
            Order::Load {
                group: 4,
                cargo: Cargo::Col,
                ships: None,
                amount: Some(2.5),
            },
            Order::Load {
                group: 4,
                cargo: Cargo::Cap,
                ships: Some(3),
                amount: None,
            },
            Order::MapWindow {
                x: 1.5,
                y: 2.0,
                size: 50.0,
            },
            Order::RenamePlanet {
                planet: "#3".into(),
                name: "New Home".into(),
            },
            Order::SetOption {
                option: "AutoUnload".into(),
                on: Some(true),
            },
            Order::Produce {
                planet: "Home".into(),
                product: Product::Weapons,
            },
            Order::Quit {},
            Order::Route {
                planet: "#1".into(),
                cargo: RouteCargo::Emp,
                destination: Some("#4".into()),
            },
            Order::Route {
                planet: "#1".into(),
                cargo: RouteCargo::Mat,
                destination: None,
            },
            Order::Send {
                unit: Unit::Group(9),
                planet: "17".into(),
                ships: None,
            },
            Order::Rename {
                old: "A".into(),
                new: "B".into(),
            },
            Order::Unload {
                group: 4,
                ships: Some(1),
                amount: Some(0.5),
            },
            Order::Claim {
                planet: "#9".into(),
            },
            Order::War {
                race: "Vogon Empire".into(),
            },
            Order::Scrap {
                group: 5,
                ships: Some(1),
            },
            Order::Password {
                password: "secret".into(),
            },
            Order::Email {
                address: "a@b.c".into(),
            },
        ];
        let text: String = orders.iter().map(|o| o.to_text() + "\n").collect();
        let parsed = parse_orders(&text);
        assert!(parsed.mistakes.is_empty(), "{:?}", parsed.mistakes);
        let back: Vec<Order> = parsed.lines.into_iter().map(|l| l.order).collect();
        assert_eq!(back, orders);
    }
}
