//! Renders a structured [`Report`] as plain text in the classic GalaxyNG
//! layout: a header, then one titled table per section.

use galaxy_model::report::Report;
use std::fmt::Write as _;

/// A number as the classic report prints it: truncated to two decimals,
/// shown with two. Formats into a stack buffer (no allocation per number)
/// and honours the width and alignment of the surrounding format.
#[derive(Clone, Copy)]
struct N(f64);

impl std::fmt::Display for N {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = StackStr::default();
        let v = crate::report::t2(self.0);
        if write!(buf, "{v:.2}").is_ok() {
            f.pad(buf.as_str())
        } else {
            f.pad(&format!("{v:.2}"))
        }
    }
}

/// A small string on the stack; writing past its end fails.
#[derive(Default)]
struct StackStr {
    buf: [u8; 32],
    len: usize,
}

impl StackStr {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn n(x: f64) -> N {
    N(x)
}

fn title(out: &mut String, t: &str) {
    let _ = write!(out, "\n\t\t{t}\n\n");
}

/// The plain-text report: one function per section, in the classic order.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(32 * 1024);
    header(&mut o, r);
    messages(&mut o, r);
    options_section(&mut o, r);
    orders_received(&mut o, r);
    players(&mut o, r);
    ship_types(&mut o, "Your Ship Types", &r.ship_types, false);
    ship_types(&mut o, "Alien Ship Types", &r.alien_ship_types, true);
    battles(&mut o, r);
    bombings(&mut o, r);
    map(&mut o, r);
    incoming(&mut o, r);
    planet_table(&mut o, "Your Planets", &r.planets, false);
    production(&mut o, r);
    routes(&mut o, r);
    planet_table(&mut o, "Alien Planets", &r.alien_planets, true);
    unidentified(&mut o, r);
    uninhabited(&mut o, r);
    group_table(&mut o, "Your Groups", &r.groups, true);
    fleets(&mut o, r);
    group_table(&mut o, "Alien Groups", &r.alien_groups, false);
    o
}

/// The title lines.
fn header(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\t\t{} Report for Galaxy Game {} Turn {}",
        r.race_name, r.game_id, r.turn
    );
    let _ = writeln!(
        o,
        "\t\tGalaxy size {} with {} planets",
        n(r.galaxy_size),
        r.planet_count
    );
}

/// Messages to the race.
fn messages(o: &mut String, r: &Report) {
    if !r.messages.is_empty() {
        title(o, "Messages");
        for m in &r.messages {
            let _ = writeln!(o, "-message from {}-", m.from.as_deref().unwrap_or("GM"));
            let _ = writeln!(o, "{}\n", m.text);
        }
    }
}

/// The race's options and map window.
fn options_section(o: &mut String, r: &Report) {
    title(o, "Options");
    options(o, &r.options);
    if let Some([x, y, s]) = r.options.map_window {
        let _ = writeln!(o, "Map window {} {} {}", n(x), n(y), n(s));
    }
}

/// The orders received and their mistakes.
fn orders_received(o: &mut String, r: &Report) {
    if !r.orders_received.is_empty() {
        title(o, "Orders Received");
        for l in &r.orders_received {
            let _ = writeln!(o, "{l}");
        }
    }
    if !r.mistakes.is_empty() {
        title(o, "Mistakes");
        for m in &r.mistakes {
            let _ = writeln!(o, "{}\n  -> {}", m.order, m.reason);
        }
    }
}

/// Status of players.
fn players(o: &mut String, r: &Report) {
    title(o, "Status of Players");
    let _ = writeln!(
        o,
        "{:<4} {:<20} {:>7} {:>7} {:>7} {:>7} {:>10} {:>10} {:>4} {:<6} ",
        "#", "N", "D", "W", "S", "C", "P", "I", "#", "R"
    );
    for p in &r.players {
        let state = match p.state {
            galaxy_model::api::RaceState::Alive => "",
            galaxy_model::api::RaceState::Dead => "dead",
            galaxy_model::api::RaceState::Banished => "banished",
        };
        let _ = writeln!(
            o,
            "{:<4} {:<20} {:>7} {:>7} {:>7} {:>7} {:>10} {:>10} {:>4} {:<6} {}",
            p.rank,
            p.name,
            n(p.drive),
            n(p.weapons),
            n(p.shields),
            n(p.cargo),
            n(p.population),
            n(p.industry),
            p.planets,
            p.relation,
            state
        );
    }
}

/// A table of ship types (with their race for alien ones).
fn ship_types(o: &mut String, t: &str, list: &[galaxy_model::report::ShipTypeView], race: bool) {
    if list.is_empty() {
        return;
    }
    title(o, t);
    let _ = writeln!(
        o,
        "{:<20} {:>7} {:>4} {:>7} {:>7} {:>7} {:>8}{}",
        "N",
        "D",
        "A",
        "W",
        "S",
        "C",
        "M",
        if race { "  R" } else { "" }
    );
    for s in list {
        let _ = write!(
            o,
            "{:<20} {:>7} {:>4} {:>7} {:>7} {:>7} {:>8}",
            s.name,
            n(s.drive),
            s.attacks,
            n(s.weapons),
            n(s.shields),
            n(s.cargo),
            n(s.mass)
        );
        if race {
            let _ = write!(o, "  {}", s.race);
        }
        o.push('\n');
    }
}

/// Each battle the race was in, with its protocol.
fn battles(o: &mut String, r: &Report) {
    for b in &r.battles {
        title(
            o,
            &format!(
                "Battle at {} (#{}), phase {}",
                b.planet_name, b.planet, b.phase
            ),
        );
        let _ = writeln!(
            o,
            "{:<20} {:<20} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
            "R", "T", "D", "W", "S", "C", "#", "L"
        );
        for g in &b.groups {
            let _ = writeln!(
                o,
                "{:<20} {:<20} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
                g.race,
                g.ship_type,
                n(g.drive),
                n(g.weapons),
                n(g.shields),
                n(g.cargo),
                g.before,
                g.after
            );
        }
        let _ = writeln!(o, "{} rounds, {} shots", b.rounds, b.shots);
        protocol(o, b);
    }
}

/// Bombings the race saw.
fn bombings(o: &mut String, r: &Report) {
    if !r.bombings.is_empty() {
        title(o, "Bombings");
        let _ = writeln!(
            o,
            "{:<20} {:<10} {:<20} {:<20} {:>10} {:>10}",
            "W", "#", "N", "O", "P", "I"
        );
        for b in &r.bombings {
            let _ = writeln!(
                o,
                "{:<20} {:<10} {:<20} {:<20} {:>10} {:>10}",
                b.bombers.join(","),
                format!("#{}", b.planet),
                b.planet_name,
                b.new_owner.as_deref().unwrap_or("-"),
                n(b.population),
                n(b.industry)
            );
        }
    }
}

/// Alien groups heading for the race's planets.
fn incoming(o: &mut String, r: &Report) {
    if !r.incoming.is_empty() {
        title(o, "Incoming Groups");
        let _ = writeln!(
            o,
            "{:<12} {:<12} {:>8} {:>8} {:>10}",
            "O", "D", "R", "S", "M"
        );
        for g in &r.incoming {
            let _ = writeln!(
                o,
                "{:<12} {:<12} {:>8} {:>8} {:>10}",
                g.origin,
                g.destination,
                n(g.distance),
                n(g.speed),
                n(g.mass)
            );
        }
    }
}

/// A table of planets (with their owner for alien ones).
fn planet_table(o: &mut String, t: &str, list: &[galaxy_model::report::PlanetView], owner: bool) {
    if list.is_empty() {
        return;
    }
    title(o, t);
    let _ = writeln!(
        o,
        "{:<6} {:<12} {:>7} {:>7} {:>8} {:>8} {:>8} {:>6} {:<12} {:>8} {:>8} {:>8} {:>8}{}",
        "#",
        "N",
        "X",
        "Y",
        "S",
        "P",
        "I",
        "R",
        "P",
        "$",
        "M",
        "C",
        "L",
        if owner { "  O" } else { "" }
    );
    for p in list {
        let _ = write!(
            o,
            "{:<6} {:<12} {:>7} {:>7} {:>8} {:>8} {:>8} {:>6} {:<12} {:>8} {:>8} {:>8} {:>8}",
            p.number,
            p.name,
            n(p.x),
            n(p.y),
            n(p.size),
            n(p.population),
            n(p.industry),
            n(p.resources),
            p.product,
            n(p.cap),
            n(p.mat),
            n(p.col),
            n(p.effective_industry)
        );
        if owner {
            let _ = write!(o, "  {}", p.owner);
        }
        o.push('\n');
    }
}

/// Ships in production.
fn production(o: &mut String, r: &Report) {
    if !r.production.is_empty() {
        title(o, "Ships In Production");
        let _ = writeln!(
            o,
            "{:<6} {:<12} {:<20} {:>8} {:>10} {:>10}",
            "#", "N", "T", "C", "S", "P"
        );
        for p in &r.production {
            let _ = writeln!(
                o,
                "{:<6} {:<12} {:<20} {:>8} {:>10} {:>10}",
                p.planet,
                p.planet_name,
                p.ship_type,
                n(p.cost),
                n(p.in_progress),
                n(p.production)
            );
        }
    }
}

/// The race's routes.
fn routes(o: &mut String, r: &Report) {
    if !r.routes.is_empty() {
        title(o, "Your Routes");
        for rt in &r.routes {
            let _ = writeln!(
                o,
                "{:<12} {:<4} {}",
                rt.planet,
                rt.cargo.keyword(),
                rt.destination
            );
        }
    }
}

/// Planets owned by races the race cannot see.
fn unidentified(o: &mut String, r: &Report) {
    if !r.unidentified_planets.is_empty() {
        title(o, "Unidentified Planets");
        let _ = writeln!(o, "{:<6} {:>7} {:>7}", "#", "X", "Y");
        for p in &r.unidentified_planets {
            let _ = writeln!(o, "{:<6} {:>7} {:>7}", p.number, n(p.x), n(p.y));
        }
    }
}

/// Uninhabited planets.
fn uninhabited(o: &mut String, r: &Report) {
    if !r.uninhabited_planets.is_empty() {
        title(o, "Uninhabited Planets");
        let _ = writeln!(
            o,
            "{:<6} {:<12} {:>7} {:>7} {:>8} {:>6} {:>8} {:>8}",
            "#", "N", "X", "Y", "S", "R", "$", "M"
        );
        for p in &r.uninhabited_planets {
            let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| n(x).to_string());
            let _ = writeln!(
                o,
                "{:<6} {:<12} {:>7} {:>7} {:>8} {:>6} {:>8} {:>8}",
                p.number,
                p.name,
                n(p.x),
                n(p.y),
                opt(p.size),
                opt(p.resources),
                opt(p.cap),
                opt(p.mat)
            );
        }
    }
}

/// A table of groups (numbered for own ones).
fn group_table(o: &mut String, t: &str, list: &[galaxy_model::report::GroupView], own: bool) {
    if list.is_empty() {
        return;
    }
    title(o, t);
    let _ = writeln!(
        o,
        "{:<5} {:<16} {:>5} {:<16} {:>6} {:>6} {:>6} {:>6} {:<4} {:>7} {:<10} {:<10} {:>7} {:>7} {:>8} F",
        "G", "R", "#", "T", "D", "W", "S", "C", "T", "Q", "P", "D", "R", "S", "M"
    );
    for g in list {
        let _ = writeln!(
            o,
            "{:<5} {:<16} {:>5} {:<16} {:>6} {:>6} {:>6} {:>6} {:<4} {:>7} {:<10} {:<10} {:>7} {:>7} {:>8} {}",
            if own {
                g.number.to_string()
            } else {
                "-".into()
            },
            g.race,
            g.ships,
            g.ship_type,
            n(g.drive),
            n(g.weapons),
            n(g.shields),
            n(g.cargo),
            g.cargo_kind.map(|c| c.keyword()).unwrap_or("-"),
            n(g.load),
            g.at,
            g.destination.as_deref().unwrap_or("-"),
            n(g.distance),
            n(g.speed),
            n(g.mass),
            g.fleet.as_deref().unwrap_or("-")
        );
    }
}

/// The race's fleets.
fn fleets(o: &mut String, r: &Report) {
    if !r.fleets.is_empty() {
        title(o, "Your Fleets");
        for f in &r.fleets {
            let groups: Vec<String> = f.groups.iter().map(u32::to_string).collect();
            let _ = writeln!(
                o,
                "{:<16} groups {:<20} speed {:>7} at {} {}",
                f.name,
                groups.join(","),
                n(f.speed),
                f.at.as_deref().unwrap_or("-"),
                f.destination
                    .as_deref()
                    .map(|d| format!("-> {d}"))
                    .unwrap_or_default()
            );
        }
    }
}

/// The shot-by-shot protocol of a battle, in GalaxyNG's words.
fn protocol(o: &mut String, b: &galaxy_model::report::BattleView) {
    if b.protocol.is_empty() && b.unlisted_shots == 0 {
        return;
    }
    title(o, "Battle Protocol");
    for s in &b.protocol {
        let _ = writeln!(
            o,
            "{} {} fires on {} {} : {}",
            s.race,
            s.ship_type,
            s.target_race,
            s.target_type,
            if s.destroyed { "Destroyed" } else { "Shields" }
        );
    }
    if b.unlisted_shots > 0 {
        let _ = writeln!(o, "({} more shots, not listed)", b.unlisted_shots);
    }
}

/// The race's options, ON or OFF.
fn options(o: &mut String, opts: &galaxy_model::report::RaceOptionsView) {
    let on = |b: bool| if b { "ON" } else { "OFF" };
    for (name, value) in [
        ("AutoUnload", opts.auto_unload),
        ("BattleProtocol", opts.battle_protocol),
        ("ProdTable", opts.prod_table),
        ("SortGroups", opts.sort_groups),
        ("Anonymous", opts.anonymous),
    ] {
        let _ = writeln!(o, "{name} {}", on(value));
    }
}

/// Draws the map window (default: the whole galaxy) as characters:
/// `*` own planet, `+` alien planet seen, `o` unidentified, `.` uninhabited.
fn map(o: &mut String, r: &Report) {
    const W: usize = 64;
    const H: usize = 32;
    let [wx, wy, ws] = r.options.map_window.unwrap_or([0.0, 0.0, r.galaxy_size]);
    if ws <= 0.0 {
        return;
    }
    let mut grid = vec![vec![' '; W]; H];
    let rank = |c: char| match c {
        '*' => 4,
        '+' => 3,
        'o' => 2,
        '.' => 1,
        _ => 0,
    };
    let mut put = |x: f64, y: f64, c: char| {
        let (fx, fy) = ((x - wx) / ws, (y - wy) / ws);
        if !(0.0..1.0).contains(&fx) || !(0.0..1.0).contains(&fy) {
            return;
        }
        let (col, row) = ((fx * W as f64) as usize, (fy * H as f64) as usize);
        if rank(c) > rank(grid[row][col]) {
            grid[row][col] = c;
        }
    };
    for p in &r.uninhabited_planets {
        put(p.x, p.y, '.');
    }
    for p in &r.unidentified_planets {
        put(p.x, p.y, 'o');
    }
    for p in &r.alien_planets {
        put(p.x, p.y, '+');
    }
    for p in &r.planets {
        put(p.x, p.y, '*');
    }
    title(o, &format!("Map ({} {} {})", n(wx), n(wy), n(ws)));
    let border: String = std::iter::repeat_n('-', W).collect();
    let _ = writeln!(o, "+{border}+");
    for row in grid {
        let line: String = row.into_iter().collect();
        let _ = writeln!(o, "|{line}|");
    }
    let _ = writeln!(o, "+{border}+");
}

#[cfg(test)]
mod tests {
    use crate::map::new_game;
    use crate::report::build_report;
    use galaxy_model::api::GameSettings;

    #[test]
    fn text_report_has_the_classic_sections_in_order() {
        let g = new_game(
            "g",
            3,
            GameSettings::default(),
            &["Alpha".into(), "Beta".into()],
        )
        .unwrap();
        let text = super::render(&build_report(&g, crate::game::RaceId(0)));
        let order = [
            "Alpha Report for Galaxy Game g Turn 0",
            "Status of Players",
            "Map (",
            "Your Planets",
            "Unidentified Planets",
            "Uninhabited Planets",
        ];
        let mut at = 0;
        for s in order {
            let pos = text[at..]
                .find(s)
                .unwrap_or_else(|| panic!("missing or out of order: {s}\n{text}"));
            at += pos;
        }
        assert_eq!(text.matches('*').count(), 2, "two own planets on the map");
    }
}
