//! Whole games driven by the built-in bot: a 10-race, 50-turn game that must
//! see combat and bombing; determinism; text and JSON orders giving
//! identical turns; invariants after every turn.

use galaxy_game::bot;
use galaxy_game::engine::Engine;
use galaxy_game::game::Game;
use galaxy_game::order::RaceOrders;
use galaxy_game::parser::parse_orders;
use galaxy_model::api::{GameSettings, InitRace, InitRequest};
use std::collections::BTreeMap;

fn init(races: usize, seed: u64) -> Engine {
    Engine::init(&InitRequest {
        game_id: "bot-game".into(),
        seed,
        settings: GameSettings::default(),
        races: (0..races)
            .map(|i| InitRace {
                name: format!("Race{i}"),
            })
            .collect(),
    })
    .expect("init")
}

/// Checks the invariants that hold after any turn.
pub fn check_invariants(g: &Game, ships_before: u64) {
    for p in &g.planets {
        assert!(p.pop <= p.size + 1e-9, "pop {} > size {}", p.pop, p.size);
        assert!(p.ind <= p.pop + 1e-9, "ind {} > pop {}", p.ind, p.pop);
        for v in [p.pop, p.ind, p.cap, p.mat, p.col, p.inprogress, p.spent] {
            assert!(
                v >= -1e-9 && v.is_finite(),
                "negative or non-finite planet quantity {v}"
            );
        }
        if p.owner.is_none() {
            assert_eq!(
                (p.pop, p.ind, p.col),
                (0.0, 0.0, 0.0),
                "unowned planet with people"
            );
        }
    }
    for gr in &g.groups {
        assert!(gr.ships > 0);
        assert!(gr.load >= 0.0 && gr.dist >= 0.0);
        let cap = g.group_type(gr).capacity(gr.tech.cargo);
        assert!(
            gr.load <= cap + 1e-9,
            "load {} above capacity {}",
            gr.load,
            cap
        );
    }
    let l = &g.log;
    assert_eq!(
        g.total_ships(),
        ships_before + l.ships_built - l.ships_destroyed - l.ships_scrapped - l.ships_obliterated,
        "ships are conserved except through building, combat, scrapping and obliteration"
    );
}

fn play(e: &mut Engine, turns: u32) -> (usize, usize) {
    let (mut battles, mut bombings) = (0, 0);
    for _ in 0..turns {
        e.pending = bot::all_orders(&e.game);
        let before = e.game.total_ships();
        e.run_turn();
        check_invariants(&e.game, before);
        battles += e.game.log.battles.len();
        bombings += e.game.log.bombings.len();
    }
    (battles, bombings)
}

#[test]
fn ten_races_fifty_turns_end_with_combat_and_bombing() {
    let mut e = init(10, 2026);
    let (battles, bombings) = play(&mut e, 50);
    assert_eq!(e.game.turn, 50);
    assert!(battles > 0, "no battles in 50 turns");
    assert!(bombings > 0, "no bombings in 50 turns");
    // Colonisation happened: some race owns more than its two homes.
    assert!(e.game.races.iter().enumerate().any(|(i, _)| {
        e.game
            .planets
            .iter()
            .filter(|p| p.owner == Some(galaxy_game::game::RaceId(i)))
            .count()
            > 2
    }));
    // Bot orders are (nearly) always valid; in particular it never orders
    // an upgrade for a group it sends in the same turn.
    let upgrades_of_sent = e
        .reports
        .values()
        .flat_map(|r| &r.mistakes)
        .filter(|m| m.order.starts_with("g ") && m.reason.contains("at rest"))
        .count();
    assert_eq!(upgrades_of_sent, 0);
    let mistakes: usize = e.reports.values().map(|r| r.mistakes.len()).sum();
    assert!(
        mistakes < 10,
        "bot made {mistakes} mistakes: {:?}",
        e.reports
            .values()
            .flat_map(|r| r.mistakes.clone())
            .take(5)
            .collect::<Vec<_>>()
    );
}

#[test]
fn same_state_and_orders_give_byte_identical_reports() {
    let mut a = init(4, 7);
    let mut b = init(4, 7);
    play(&mut a, 15);
    play(&mut b, 15);
    let ja = serde_json::to_string(&a.reports).unwrap();
    let jb = serde_json::to_string(&b.reports).unwrap();
    assert_eq!(ja, jb);
    assert_eq!(
        serde_json::to_string(&a.game).unwrap(),
        serde_json::to_string(&b.game).unwrap()
    );
    // A state restored from JSON continues identically.
    let restored: Game = serde_json::from_str(&serde_json::to_string(&a.game).unwrap()).unwrap();
    let mut c = Engine::resume(restored, BTreeMap::new());
    play(&mut a, 5);
    play(&mut c, 5);
    assert_eq!(
        serde_json::to_string(&a.reports).unwrap(),
        serde_json::to_string(&c.reports).unwrap()
    );
}

#[test]
fn text_and_json_orders_give_identical_turns() {
    let mut a = init(4, 99);
    let mut b = init(4, 99);
    for _ in 0..20 {
        let json = bot::all_orders(&a.game);
        let mut text_sets = BTreeMap::new();
        for (race, set) in &json {
            let mut text = format!("#GALAXY bot-game {race} pw {}\n", b.game.turn);
            for l in &set.lines {
                text.push_str(&l.order.to_text());
                text.push('\n');
            }
            text.push_str("#END\n");
            let parsed = parse_orders(&text);
            assert!(parsed.mistakes.is_empty(), "{:?}", parsed.mistakes);
            text_sets.insert(
                race.clone(),
                RaceOrders {
                    lines: parsed.lines,
                    mistakes: parsed.mistakes,
                },
            );
        }
        a.pending = json;
        b.pending = text_sets;
        a.run_turn();
        b.run_turn();
        assert_eq!(
            serde_json::to_string(&a.game).unwrap(),
            serde_json::to_string(&b.game).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&a.reports).unwrap(),
            serde_json::to_string(&b.reports).unwrap()
        );
    }
}
