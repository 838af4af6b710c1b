//! Property tests: whatever orders the races give (the bot's plus random,
//! mostly invalid ones), every turn keeps the game's invariants, and the
//! engine never panics.

use galaxy_game::bot;
use galaxy_game::engine::Engine;
use galaxy_game::game::Game;
use galaxy_model::api::{GameSettings, InitRace, InitRequest};
use galaxy_model::order::{Cargo, Order, OrderLine, Product, RouteCargo, Unit};
use proptest::prelude::*;

fn check_invariants(g: &Game, ships_before: u64) {
    for p in &g.planets {
        assert!(p.pop <= p.size + 1e-9, "pop {} > size {}", p.pop, p.size);
        assert!(p.ind <= p.pop + 1e-9, "ind {} > pop {}", p.ind, p.pop);
        for v in [p.pop, p.ind, p.cap, p.mat, p.col, p.inprogress, p.spent] {
            assert!(
                v >= -1e-9 && v.is_finite(),
                "negative or non-finite planet quantity {v}"
            );
        }
    }
    for gr in &g.groups {
        assert!(gr.ships > 0);
        assert!(gr.load >= 0.0 && gr.dist >= 0.0);
        assert!(gr.load <= g.group_type(gr).capacity(gr.tech.cargo) + 1e-9);
    }
    let l = &g.log;
    assert_eq!(
        g.total_ships(),
        ships_before + l.ships_built - l.ships_destroyed - l.ships_scrapped - l.ships_obliterated
    );
}

fn planet() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..40).prop_map(|n| format!("#{n}")),
        (1u32..40).prop_map(|n| n.to_string()),
        Just("Nowhere".to_string())
    ]
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        (0u32..12).prop_map(Unit::Group),
        Just(Unit::Fleet("F".into())),
        Just(Unit::Fleet("G".into()))
    ]
}

fn ships() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![Just(None), (0u32..30).prop_map(Some)]
}

fn cargo() -> impl Strategy<Value = Cargo> {
    prop_oneof![Just(Cargo::Cap), Just(Cargo::Mat), Just(Cargo::Col)]
}

fn order() -> impl Strategy<Value = Order> {
    prop_oneof![
        (unit(), planet(), ships()).prop_map(|(unit, planet, ships)| Order::Send {
            unit,
            planet,
            ships
        }),
        (0u32..12, cargo(), ships(), prop::option::of(-1.0f64..50.0)).prop_map(
            |(group, cargo, ships, amount)| Order::Load {
                group,
                cargo,
                ships,
                amount
            }
        ),
        (0u32..12, ships(), prop::option::of(-1.0f64..50.0)).prop_map(|(group, ships, amount)| {
            Order::Unload {
                group,
                ships,
                amount,
            }
        }),
        (0u32..12, ships()).prop_map(|(group, ships)| Order::Scrap { group, ships }),
        (0u32..12, ships()).prop_map(|(group, ships)| Order::Upgrade { group, ships }),
        (0u32..12, ships()).prop_map(|(group, ships)| Order::Break { group, ships }),
        (
            unit(),
            prop_oneof![Just("F".to_string()), Just("G".to_string())],
            ships()
        )
            .prop_map(|(unit, fleet, ships)| Order::Join { unit, fleet, ships }),
        unit().prop_map(|unit| Order::Reverse { unit }),
        (unit(), planet()).prop_map(|(unit, planet)| Order::Intercept { unit, planet }),
        (
            planet(),
            prop_oneof![
                Just(Product::Cap),
                Just(Product::Mat),
                Just(Product::Drive),
                Just(Product::Ship("Fighter".into())),
                Just(Product::Ship("Colony".into())),
                Just(Product::Ship("Nope".into()))
            ]
        )
            .prop_map(|(planet, product)| Order::Produce { planet, product }),
        (
            planet(),
            prop_oneof![
                Just(RouteCargo::Col),
                Just(RouteCargo::Cap),
                Just(RouteCargo::Mat),
                Just(RouteCargo::Emp)
            ],
            prop::option::of(planet())
        )
            .prop_map(|(planet, cargo, destination)| Order::Route {
                planet,
                cargo,
                destination
            }),
        planet().prop_map(|planet| Order::Claim { planet }),
        prop_oneof![Just("Race0"), Just("Race1"), Just("Race2")]
            .prop_map(|r| Order::Ally { race: r.into() }),
        prop_oneof![Just("Race0"), Just("Race1")].prop_map(|r| Order::War { race: r.into() }),
        prop_oneof![Just("F"), Just("G"), Just("Fighter")]
            .prop_map(|n| Order::DesignFleet { name: n.into() }),
        prop_oneof![Just("F"), Just("Fighter"), Just("Colony")]
            .prop_map(|n| Order::Eliminate { name: n.into() }),
        (
            0.0f64..20.0,
            0u32..4,
            0.0f64..10.0,
            0.0f64..10.0,
            0.0f64..10.0
        )
            .prop_map(
                |(drive, attacks, weapons, shields, cargo)| Order::DesignShip {
                    name: "Rnd".into(),
                    drive,
                    attacks,
                    weapons,
                    shields,
                    cargo
                }
            ),
        (planet(), prop_oneof![Just("Home"), Just("#3"), Just("12")]).prop_map(|(planet, n)| {
            Order::RenamePlanet {
                planet,
                name: n.into(),
            }
        }),
        Just(Order::SetOption {
            option: "AutoUnload".into(),
            on: None
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_turn(seed in 0u64..1000, extra in prop::collection::vec((0usize..3, order()), 0..60)) {
        let mut e = Engine::init(&InitRequest {
            game_id: "prop".into(),
            seed,
            settings: GameSettings { empty_planets: 3, stuff_planets: 2, ..GameSettings::default() },
            races: (0..3).map(|i| InitRace { name: format!("Race{i}") }).collect(),
        }).unwrap();
        for turn in 0..12 {
            let mut sets = bot::all_orders(&e.game);
            for (k, (race, order)) in extra.iter().enumerate() {
                if k % 12 == turn
                    && let Some(set) = sets.get_mut(&format!("Race{race}")) {
                        let id = format!("x{k}");
                        set.lines.push(OrderLine { id, order: order.clone() });
                    }
            }
            e.pending = sets;
            let before = e.game.total_ships();
            e.run_turn();
            check_invariants(&e.game, before);
        }
    }
}
