//! Hostile input (issue 15 §1): floods of orders, out-of-range init
//! settings, overflowing counts. Each is refused with a stable code, or runs
//! within the documented limits.

use galaxy_game::engine::{Engine, EngineError};
use galaxy_game::game::RaceId;
use galaxy_game::group::merge;
use galaxy_game::production::ships_buildable;
use galaxy_game::testkit::{design, place, scenario};
use galaxy_model::api::{GameSettings, InitRace, InitRequest, MistakeCode, PutOrdersRequest};
use galaxy_model::limits::*;
use galaxy_model::order::{Order, OrderLine, Unit};

fn init(settings: GameSettings) -> Result<Engine, EngineError> {
    Engine::init(&InitRequest {
        game_id: "g".into(),
        seed: 7,
        settings,
        races: vec![InitRace { name: "A".into() }, InitRace { name: "B".into() }],
    })
}

fn lines(orders: impl IntoIterator<Item = Order>) -> Vec<OrderLine> {
    orders
        .into_iter()
        .enumerate()
        .map(|(i, order)| OrderLine {
            id: (i + 1).to_string(),
            order,
        })
        .collect()
}

fn put(e: &mut Engine, orders: Vec<OrderLine>, text: Option<String>) -> Result<(), EngineError> {
    let turn = e.game.turn;
    e.put_orders(&PutOrdersRequest {
        race: "A".into(),
        turn,
        orders,
        text,
    })
    .map(|_| ())
}

fn codes(e: &Engine, race: usize) -> Vec<MistakeCode> {
    e.game
        .log
        .mistakes
        .get(&RaceId(race))
        .map(|m| m.iter().map(|x| x.code).collect())
        .unwrap_or_default()
}

fn drone(i: usize) -> Order {
    Order::DesignShip {
        name: format!("T{i}"),
        drive: 1.0,
        attacks: 0,
        weapons: 0.0,
        shields: 0.0,
        cargo: 0.0,
    }
}

#[test]
fn a_flood_of_designs_is_refused_whole_or_capped_per_race() {
    let mut e = init(GameSettings::default()).unwrap();
    // The 1.9 MB text order of 100,000 designs.
    let text: String = (0..100_000)
        .map(|i| format!("d T{i} 1 0 0 0 0\n"))
        .collect();
    let err = put(&mut e, Vec::new(), Some(text)).unwrap_err();
    assert!(
        matches!(err, EngineError::LimitExceeded { field: "text", .. }),
        "{err:?}"
    );
    // More typed lines than a set may hold.
    let err = put(&mut e, lines((0..=MAX_ORDERS_PER_SET).map(drone)), None).unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::LimitExceeded {
                field: "orders",
                ..
            }
        ),
        "{err:?}"
    );
    // Within the set limit, designs beyond the per-race limit are mistakes.
    let extra = 50;
    put(
        &mut e,
        lines((0..MAX_SHIP_TYPES_PER_RACE + extra).map(drone)),
        None,
    )
    .unwrap();
    e.run_turn();
    assert_eq!(e.game.races[0].ship_types.len(), MAX_SHIP_TYPES_PER_RACE);
    let limited = codes(&e, 0)
        .iter()
        .filter(|c| **c == MistakeCode::LimitExceeded)
        .count();
    assert_eq!(limited, extra);
}

#[test]
fn too_much_message_text_in_one_set_is_refused() {
    let mut e = init(GameSettings::default()).unwrap();
    let big = Order::Message {
        to: Vec::new(),
        text: "x".repeat(MAX_MESSAGE_BYTES_PER_SET + 1),
    };
    let err = put(&mut e, lines([big]), None).unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::LimitExceeded {
                field: "orders",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn out_of_range_init_settings_are_refused_naming_the_field() {
    let homes = |h: Vec<f64>| GameSettings {
        home_planets: h,
        ..GameSettings::default()
    };
    let cases = [
        (homes(vec![1e17]), "settings.home_planets[0]"),
        (homes(vec![1000.0, 1e10]), "settings.home_planets[1]"),
        (homes(vec![1e12]), "settings.home_planets[0]"),
        (homes(vec![0.0]), "settings.home_planets[0]"),
        (homes(vec![]), "settings.home_planets"),
        (
            homes(vec![100.0; MAX_HOME_PLANETS + 1]),
            "settings.home_planets",
        ),
        (
            GameSettings {
                size: Some(5.0),
                ..GameSettings::default()
            },
            "settings.size",
        ),
        (
            GameSettings {
                race_spacing: -1.0,
                ..GameSettings::default()
            },
            "settings.race_spacing",
        ),
        (
            GameSettings {
                empty_planets: MAX_EMPTY_PLANETS + 1,
                ..GameSettings::default()
            },
            "settings.empty_planets",
        ),
        (
            GameSettings {
                peace_turns: MAX_PEACE_TURNS + 1,
                ..GameSettings::default()
            },
            "settings.peace_turns",
        ),
    ];
    for (settings, field) in cases {
        let err = init(settings).unwrap_err();
        assert_eq!(err.field().as_deref(), Some(field), "{err}");
        assert_eq!(err.code(), galaxy_model::api::ErrorCode::InvalidSettings);
    }
    let many = InitRequest {
        game_id: "g".into(),
        seed: 1,
        settings: GameSettings::default(),
        races: (0..=MAX_RACES)
            .map(|i| InitRace {
                name: format!("R{i}"),
            })
            .collect(),
    };
    assert_eq!(
        Engine::init(&many).unwrap_err().field().as_deref(),
        Some("races")
    );
}

#[test]
fn the_largest_home_planets_produce_for_many_turns_without_overflow() {
    // The hang came with size 1e17; the largest allowed size runs.
    let mut e = init(GameSettings {
        home_planets: vec![HOME_PLANET_SIZE.1; MAX_HOME_PLANETS],
        drop_idle: false,
        ..GameSettings::default()
    })
    .unwrap();
    let own: Vec<String> = (0..e.game.planets.len())
        .filter(|&i| e.game.planets[i].owner == Some(RaceId(0)))
        .map(|i| format!("#{}", i + 1))
        .collect();
    let mut orders = vec![drone(0)];
    orders.extend(own.iter().map(|p| Order::Produce {
        planet: p.clone(),
        product: galaxy_model::order::Product::Ship("T0".into()),
    }));
    put(&mut e, lines(orders), None).unwrap();
    for _ in 0..6 {
        e.run_turn();
    }
    assert!(e.game.total_ships() > 0);
}

#[test]
fn ship_counting_terminates_where_f64_stops_counting() {
    // Above 2^53, n + 1 == n: the old loop never ended.
    let (n, _) = ships_buildable(1.0, 1e17, 0.0, 10.0);
    assert_eq!(n, u32::MAX);
    let (n, _) = ships_buildable(1.0, f64::MAX, 0.0, 10.0);
    assert_eq!(n, u32::MAX);
    assert_eq!(ships_buildable(1.0, f64::NAN, 0.0, 10.0).0, 0);
}

#[test]
fn merging_saturates_instead_of_wrapping() {
    let mut g = scenario(&[(10.0, 10.0, 1000.0, Some(0))]);
    design(&mut g, 0, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 0, "Drone", u32::MAX - 1, 0);
    place(&mut g, 0, "Drone", 5, 0);
    merge(&mut g);
    assert_eq!(g.groups.len(), 1);
    assert_eq!(g.groups[0].ships, u32::MAX);
}

#[test]
fn groups_and_fleets_beyond_the_per_race_limits_are_mistakes() {
    let mut g = scenario(&[(10.0, 10.0, 1000.0, Some(0)), (20.0, 20.0, 100.0, None)]);
    design(&mut g, 0, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 0, "Drone", 10_000, 0);
    let mut e = Engine::resume(g, Default::default());
    let extra = 30;
    let splits = (0..MAX_GROUPS_PER_RACE - 1 + extra).map(|_| Order::Break {
        group: 1,
        ships: Some(1),
    });
    let fleets = (0..MAX_FLEETS_PER_RACE + extra).map(|i| Order::DesignFleet {
        name: format!("F{i}"),
    });
    put(&mut e, lines(splits.chain(fleets)), None).unwrap();
    e.run_turn();
    let limited = codes(&e, 0)
        .iter()
        .filter(|c| **c == MistakeCode::LimitExceeded)
        .count();
    assert_eq!(limited, 2 * extra);
    // The split-off ships are identical and merge back at the turn's end.
    assert_eq!(e.game.groups.len(), 1);
    assert_eq!(e.game.groups[0].ships, 10_000);
}

#[test]
fn a_join_that_would_create_a_fleet_beyond_the_limit_is_a_mistake() {
    let mut g = scenario(&[(10.0, 10.0, 1000.0, Some(0))]);
    design(&mut g, 0, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 0, "Drone", 10, 0);
    for i in 0..MAX_FLEETS_PER_RACE {
        g.races[0].fleets.push(format!("F{i}"));
    }
    let mut e = Engine::resume(g, Default::default());
    let join = Order::Join {
        unit: Unit::Group(1),
        fleet: "New".into(),
        ships: None,
    };
    put(&mut e, lines([join]), None).unwrap();
    e.run_turn();
    assert_eq!(codes(&e, 0), vec![MistakeCode::LimitExceeded]);
}
