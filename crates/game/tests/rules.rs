//! Rule scenarios on small hand-made galaxies: combat, bombing, movement,
//! cargo, routes, fleets, intercept, upgrade, scrap, idle drop, visibility.

use galaxy_game::game::{Game, PlanetId, RaceId};
use galaxy_game::order::RaceOrders;
use galaxy_game::report::build_report;
use galaxy_game::testkit::{design, place, scenario};
use galaxy_game::turn::run_turn;
use galaxy_model::order::{Cargo, Order, OrderLine, Product, RouteCargo, Unit};
use std::collections::BTreeMap;

fn orders(list: &[(&str, Vec<Order>)]) -> BTreeMap<String, RaceOrders> {
    list.iter()
        .map(|(race, os)| {
            let lines = os
                .iter()
                .enumerate()
                .map(|(i, o)| OrderLine {
                    id: (i + 1).to_string(),
                    order: o.clone(),
                })
                .collect();
            (
                race.to_string(),
                RaceOrders {
                    lines,
                    mistakes: Vec::new(),
                },
            )
        })
        .collect()
}

fn turn(g: &mut Game, list: &[(&str, Vec<Order>)]) {
    run_turn(g, &orders(list));
}

fn ships(g: &Game, race: usize) -> u32 {
    g.groups
        .iter()
        .filter(|x| x.owner == RaceId(race))
        .map(|x| x.ships)
        .sum()
}

fn mistakes(g: &Game, race: usize) -> Vec<String> {
    g.log
        .mistakes
        .get(&RaceId(race))
        .map(|m| m.iter().map(|x| x.reason.clone()).collect())
        .unwrap_or_default()
}

#[test]
fn an_undefended_planet_is_bombed_and_taken() {
    let mut g = scenario(&[(10.0, 10.0, 500.0, Some(1)), (50.0, 50.0, 500.0, Some(0))]);
    design(&mut g, 0, "Gun", 1.0, 1, 1.0, 0.0, 0.0);
    place(&mut g, 0, "Gun", 3, 0);
    g.planets[0].cap = 7.0;
    g.planets[0].mat = 9.0;
    g.planets[0].routes.insert(RouteCargo::Mat, PlanetId(1));
    turn(&mut g, &[]);
    assert!(g.log.battles.is_empty(), "nobody to fight");
    assert_eq!(g.log.bombings.len(), 1);
    let b = &g.log.bombings[0];
    assert_eq!((b.old_owner, b.new_owner), (RaceId(1), Some(RaceId(0))));
    let p = &g.planets[0];
    assert_eq!(p.owner, Some(RaceId(0)));
    // Bombed: pop and ind quartered (then grown), cap and mat kept, routes cleared, CAP.
    assert!(p.routes.is_empty());
    assert_eq!(p.product, Product::Cap);
    assert!(p.pop < 500.0 * 0.25 * 1.09);
}

#[test]
fn a_defended_planet_in_a_draw_becomes_unowned() {
    let mut g = scenario(&[(10.0, 10.0, 500.0, Some(1))]);
    design(&mut g, 0, "Pea", 1.0, 1, 1.0, 0.0, 0.0);
    design(&mut g, 1, "Wall", 1.0, 1, 1.0, 50.0, 0.0);
    place(&mut g, 0, "Pea", 5, 0);
    place(&mut g, 1, "Wall", 5, 0);
    // A's attack 1 cannot hurt B's defence; B's attack 1 vs A's defence 0 kills.
    turn(&mut g, &[]);
    assert_eq!(g.log.battles.len(), 1);
    assert_eq!(ships(&g, 0), 0, "A's defenceless ships die");
    assert_eq!(ships(&g, 1), 5);
    assert!(g.log.bombings.is_empty(), "A has nothing left to bomb with");

    // Now a true draw: both sides shielded beyond the other's reach.
    let mut g = scenario(&[(10.0, 10.0, 500.0, Some(1))]);
    design(&mut g, 0, "Wall", 1.0, 1, 1.0, 50.0, 0.0);
    design(&mut g, 1, "Wall", 1.0, 1, 1.0, 50.0, 0.0);
    place(&mut g, 0, "Wall", 5, 0);
    place(&mut g, 1, "Wall", 5, 0);
    turn(&mut g, &[]);
    assert_eq!(g.log.battles.len(), 2, "Fight I and Fight II");
    assert_eq!(g.log.battles[0].rounds, 0, "a draw from the start");
    assert_eq!((ships(&g, 0), ships(&g, 1)), (5, 5));
    assert_eq!(g.log.bombings.len(), 1);
    assert_eq!(
        g.log.bombings[0].new_owner, None,
        "the owner's armed group is still there"
    );
    assert_eq!(g.planets[0].owner, None);
}

#[test]
fn allies_do_not_fight_and_alliances_are_one_sided() {
    let mut g = scenario(&[(10.0, 10.0, 100.0, None)]);
    design(&mut g, 0, "Gun", 1.0, 1, 10.0, 1.0, 0.0);
    design(&mut g, 1, "Gun", 1.0, 1, 10.0, 1.0, 0.0);
    place(&mut g, 0, "Gun", 4, 0);
    place(&mut g, 1, "Gun", 4, 0);
    turn(
        &mut g,
        &[
            ("A", vec![Order::Ally { race: "B".into() }]),
            ("B", vec![Order::Ally { race: "A".into() }]),
        ],
    );
    assert!(g.log.battles.is_empty());
    // B declares war: A (allied with B) still shoots back.
    turn(&mut g, &[("B", vec![Order::War { race: "A".into() }])]);
    assert_eq!(g.log.battles.len(), 1);
    let shot_a = g.log.battles[0]
        .groups
        .iter()
        .any(|x| x.owner == RaceId(1) && x.after < x.before);
    let shot_b = g.log.battles[0]
        .groups
        .iter()
        .any(|x| x.owner == RaceId(0) && x.after < x.before);
    assert!(shot_a || shot_b);
    assert!(ships(&g, 0) == 0 || ships(&g, 1) == 0, "fight to the end");
}

#[test]
fn groups_move_by_their_speed_and_reverse_in_hyperspace() {
    let mut g = scenario(&[(0.0, 0.0, 100.0, Some(0)), (0.0, 150.0, 100.0, None)]);
    design(&mut g, 0, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    let n = place(&mut g, 0, "Drone", 2, 0);
    turn(
        &mut g,
        &[(
            "A",
            vec![Order::Send {
                unit: Unit::Group(n),
                planet: "#2".into(),
                ships: None,
            }],
        )],
    );
    let gr = &g.groups[0];
    assert_eq!(gr.dist, 130.0, "speed 20");
    turn(
        &mut g,
        &[(
            "A",
            vec![Order::Reverse {
                unit: Unit::Group(n),
            }],
        )],
    );
    // Reversed at 130 from #2 → 20 from #1, then moved 20: home.
    let gr = &g.groups[0];
    assert_eq!((gr.dist, gr.to), (0.0, PlanetId(0)));
    // Too close to reverse: 70 left < 4·20.
    turn(
        &mut g,
        &[(
            "A",
            vec![Order::Send {
                unit: Unit::Group(n),
                planet: "#2".into(),
                ships: None,
            }],
        )],
    );
    turn(&mut g, &[]);
    turn(&mut g, &[]);
    turn(&mut g, &[]);
    assert_eq!(g.groups[0].dist, 70.0);
    turn(
        &mut g,
        &[(
            "A",
            vec![Order::Reverse {
                unit: Unit::Group(n),
            }],
        )],
    );
    assert_eq!(mistakes(&g, 0).len(), 1);
    assert_eq!((g.groups[0].dist, g.groups[0].to), (50.0, PlanetId(1)));
}

#[test]
fn colonists_are_loaded_carried_and_unloaded_onto_a_free_planet() {
    // Loaded (mass 10 + 10 + 20/1) the ark makes 5 per turn.
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0)), (0.0, 5.0, 200.0, None)]);
    design(&mut g, 0, "Ark", 10.0, 0, 0.0, 0.0, 10.0);
    let n = place(&mut g, 0, "Ark", 1, 0);
    g.planets[0].col = 50.0;
    turn(
        &mut g,
        &[(
            "A",
            vec![
                Order::Load {
                    group: n,
                    cargo: Cargo::Col,
                    ships: None,
                    amount: None,
                },
                Order::Send {
                    unit: Unit::Group(n),
                    planet: "#2".into(),
                    ships: None,
                },
                Order::SetOption {
                    option: "AutoUnload".into(),
                    on: Some(true),
                },
            ],
        )],
    );
    assert!(mistakes(&g, 0).is_empty(), "{:?}", mistakes(&g, 0));
    // Capacity 10·(1+1) = 20 colonists → 160 people on the new colony.
    let p = &g.planets[1];
    assert_eq!(p.owner, Some(RaceId(0)));
    assert_eq!(p.pop, 160.0);
    assert!(
        (g.planets[0].col - (30.0 + 80.0 / 8.0)).abs() < 1e-9,
        "col left plus this turn's overflow"
    );
    assert_eq!(g.groups[0].load, 0.0);
}

#[test]
fn scrap_returns_mass_as_materials_and_upgrade_spends_production() {
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0))]);
    design(&mut g, 0, "Gun", 4.0, 2, 2.0, 4.0, 0.0);
    let a = place(&mut g, 0, "Gun", 5, 0);
    g.races[0].tech.weapons = 2.0;
    turn(
        &mut g,
        &[(
            "A",
            vec![
                Order::Scrap {
                    group: a,
                    ships: Some(2),
                },
                Order::Upgrade {
                    group: a,
                    ships: None,
                },
            ],
        )],
    );
    assert!(mistakes(&g, 0).is_empty(), "{:?}", mistakes(&g, 0));
    assert_eq!(ships(&g, 0), 3);
    assert_eq!(g.groups[0].tech.weapons, 2.0);
    assert_eq!(g.log.ships_scrapped, 2);
}

#[test]
fn partial_upgrade_when_production_is_short() {
    let mut g = scenario(&[(0.0, 0.0, 10.0, Some(0))]);
    design(&mut g, 0, "Gun", 4.0, 2, 2.0, 4.0, 0.0);
    let a = place(&mut g, 0, "Gun", 10, 0);
    g.races[0].tech.weapons = 2.0;
    // Cost 10·0.5·3 = 15 per ship, 150 in all; the planet has 10 production.
    turn(
        &mut g,
        &[(
            "A",
            vec![Order::Upgrade {
                group: a,
                ships: None,
            }],
        )],
    );
    let w = g.groups[0].tech.weapons;
    assert!(w > 1.0 && w < 2.0, "partial: {w}");
    assert!(mistakes(&g, 0)[0].starts_with("warning: partial upgrade"));
}

#[test]
fn routes_load_split_and_dispatch_cargo_ships() {
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0)), (0.0, 5.0, 500.0, Some(0))]);
    design(&mut g, 0, "Hauler", 10.0, 0, 0.0, 0.0, 10.0);
    place(&mut g, 0, "Hauler", 5, 0);
    g.planets[0].mat = 50.0;
    turn(
        &mut g,
        &[(
            "A",
            vec![
                Order::Route {
                    planet: "#1".into(),
                    cargo: RouteCargo::Mat,
                    destination: Some("#2".into()),
                },
                Order::Produce {
                    planet: "#1".into(),
                    product: Product::Drive,
                },
            ],
        )],
    );
    assert!(mistakes(&g, 0).is_empty(), "{:?}", mistakes(&g, 0));
    // 50 MAT at 20 per ship: 3 ships loaded and sent (and arrived, 5 away),
    // 2 ships split off and left at home.
    let home: u32 = g
        .groups
        .iter()
        .filter(|x| x.to == PlanetId(0) && x.dist == 0.0)
        .map(|x| x.ships)
        .sum();
    let away: u32 = g
        .groups
        .iter()
        .filter(|x| x.to == PlanetId(1))
        .map(|x| x.ships)
        .sum();
    assert_eq!((home, away), (2, 3));
    // Unloaded at the route's destination.
    assert!((g.planets[1].mat - 50.0).abs() < 1e-9);
    assert_eq!(g.planets[0].mat, 0.0);
}

#[test]
fn fleets_move_at_their_slowest_groups_speed() {
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0)), (0.0, 100.0, 10.0, None)]);
    design(&mut g, 0, "Fast", 1.0, 0, 0.0, 0.0, 0.0);
    design(&mut g, 0, "Slow", 1.0, 0, 0.0, 1.0, 0.0);
    let f = place(&mut g, 0, "Fast", 1, 0);
    let s = place(&mut g, 0, "Slow", 1, 0);
    turn(
        &mut g,
        &[(
            "A",
            vec![
                Order::DesignFleet {
                    name: "Navy".into(),
                },
                Order::Join {
                    unit: Unit::Group(f),
                    fleet: "Navy".into(),
                    ships: None,
                },
                Order::Join {
                    unit: Unit::Group(s),
                    fleet: "Navy".into(),
                    ships: None,
                },
                Order::Send {
                    unit: Unit::Fleet("Navy".into()),
                    planet: "#2".into(),
                    ships: None,
                },
            ],
        )],
    );
    assert!(mistakes(&g, 0).is_empty(), "{:?}", mistakes(&g, 0));
    assert!(
        g.groups.iter().all(|x| x.dist == 90.0),
        "both moved 10 (the slow speed)"
    );
    let rep = build_report(&g, RaceId(0));
    assert_eq!(rep.fleets.len(), 1);
    assert_eq!(rep.fleets[0].groups.len(), 2);
}

#[test]
fn intercept_follows_the_heaviest_departure_within_reach() {
    // A watches #2; B leaves #2 for #3 (close to A) with a heavy group.
    let mut g = scenario(&[
        (0.0, 0.0, 100.0, Some(0)),
        (50.0, 0.0, 100.0, Some(1)),
        (10.0, 0.0, 10.0, None),
        (90.0, 0.0, 10.0, None),
    ]);
    design(&mut g, 0, "Hunter", 10.0, 1, 1.0, 0.0, 0.0);
    design(&mut g, 1, "Brick", 5.0, 0, 0.0, 20.0, 0.0);
    let h = place(&mut g, 0, "Hunter", 1, 0);
    let b = place(&mut g, 1, "Brick", 3, 1);
    turn(
        &mut g,
        &[
            (
                "A",
                vec![Order::Intercept {
                    unit: Unit::Group(h),
                    planet: "#2".into(),
                }],
            ),
            (
                "B",
                vec![Order::Send {
                    unit: Unit::Group(b),
                    planet: "#3".into(),
                    ships: None,
                }],
            ),
        ],
    );
    let hunter = g.groups.iter().find(|x| x.owner == RaceId(0)).unwrap();
    assert_eq!(
        hunter.to,
        PlanetId(2),
        "re-targeted to where B's group is going"
    );
}

#[test]
fn idle_races_are_dropped_and_banish_obliterates() {
    let mut g = scenario(&[(0.0, 0.0, 100.0, Some(0)), (50.0, 0.0, 100.0, Some(1))]);
    g.settings.drop_idle = true;
    design(&mut g, 1, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 1, "Drone", 2, 1);
    for _ in 0..3 {
        assert!(!g.races[1].dead);
        turn(&mut g, &[("A", vec![]), ("C", vec![])]);
    }
    assert!(g.races[1].dead, "3 idle turns before turn 12 drop a race");
    assert_eq!(g.planets[1].owner, None);
    assert_eq!((g.planets[1].pop, g.planets[1].ind), (0.0, 0.0));
    assert_eq!(ships(&g, 1), 0);
    assert!(g.log.messages.iter().any(|m| m.text.contains("dropped")));
    galaxy_game::turn::banish(&mut g, RaceId(2));
    assert!(g.races[2].banished && g.races[2].dead);
}

#[test]
fn reports_show_only_what_the_race_can_see() {
    let mut g = scenario(&[
        (0.0, 0.0, 100.0, Some(0)),
        (50.0, 0.0, 100.0, Some(1)),
        (20.0, 0.0, 50.0, None),
        (30.0, 0.0, 50.0, None),
    ]);
    design(&mut g, 0, "Eye", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 0, "Eye", 1, 2);
    let r = build_report(&g, RaceId(0));
    assert_eq!(r.planets.len(), 1);
    assert!(r.alien_planets.is_empty());
    assert_eq!(r.unidentified_planets.len(), 1);
    let seen = r
        .uninhabited_planets
        .iter()
        .find(|p| p.number == 3)
        .unwrap();
    assert_eq!(seen.size, Some(50.0));
    let unseen = r
        .uninhabited_planets
        .iter()
        .find(|p| p.number == 4)
        .unwrap();
    assert_eq!(unseen.size, None);
    // With a group at B's planet, A sees it and B's groups there.
    place(&mut g, 0, "Eye", 1, 1);
    design(&mut g, 1, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 1, "Drone", 1, 1);
    let r = build_report(&g, RaceId(0));
    assert_eq!(r.alien_planets.len(), 1);
    assert_eq!(r.alien_groups.len(), 1);
    assert_eq!(r.alien_ship_types.len(), 1);
    assert_eq!(
        r.alien_groups[0].number, 0,
        "alien group numbers are hidden"
    );
}

#[test]
fn changing_production_away_from_ships_refunds_material() {
    let mut g = scenario(&[(0.0, 0.0, 100.0, Some(0))]);
    design(&mut g, 0, "Big", 60.0, 0, 0.0, 0.0, 0.0);
    turn(
        &mut g,
        &[(
            "A",
            vec![Order::Produce {
                planet: "#1".into(),
                product: Product::Ship("Big".into()),
            }],
        )],
    );
    // 100 production cannot build a 600-point ship: all of it is in progress.
    assert_eq!(g.planets[0].inprogress, 100.0);
    turn(
        &mut g,
        &[(
            "A",
            vec![Order::Produce {
                planet: "#1".into(),
                product: Product::Mat,
            }],
        )],
    );
    assert_eq!(g.planets[0].inprogress, 0.0);
    // Refund 59.99·100/(599.9 + 59.99/10) then MAT production adds P·resources.
    let refund = 59.99 * 100.0 / (599.9 + 59.99 / 10.0);
    let p = &g.planets[0];
    assert!(
        (p.mat - (refund + 100.0 * 10.0)).abs() < 1e-6,
        "mat {}",
        p.mat
    );
}

#[test]
fn every_rejected_order_gets_a_reason_and_the_others_still_run() {
    let mut g = scenario(&[(0.0, 0.0, 100.0, Some(0)), (50.0, 0.0, 100.0, Some(1))]);
    turn(
        &mut g,
        &[(
            "A",
            vec![
                Order::Produce {
                    planet: "#2".into(),
                    product: Product::Mat,
                },
                Order::Send {
                    unit: Unit::Group(9),
                    planet: "#2".into(),
                    ships: None,
                },
                Order::DesignShip {
                    name: "Cap".into(),
                    drive: 1.0,
                    attacks: 0,
                    weapons: 0.0,
                    shields: 0.0,
                    cargo: 0.0,
                },
                Order::Produce {
                    planet: "#1".into(),
                    product: Product::Mat,
                },
                Order::RenamePlanet {
                    planet: "#1".into(),
                    name: "Home".into(),
                },
                Order::Message {
                    to: vec!["Nobody".into()],
                    text: "hi".into(),
                },
            ],
        )],
    );
    let m = mistakes(&g, 0);
    assert_eq!(m.len(), 4, "{m:?}");
    assert_eq!(g.planets[0].product, Product::Mat);
    assert_eq!(g.planets[0].name, "Home");
    assert_eq!(g.find_planet("Home"), Some(PlanetId(0)));
}

#[test]
fn auto_unload_unloads_even_cargo_just_loaded_at_home() {
    // GalaxyNG's unloadphase unloads every loaded group at rest at an own
    // or unowned planet when AutoUnload is on, however it got its cargo.
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0))]);
    design(&mut g, 0, "Ark", 10.0, 0, 0.0, 0.0, 10.0);
    let n = place(&mut g, 0, "Ark", 1, 0);
    g.planets[0].col = 50.0;
    g.races[0].auto_unload = true;
    turn(
        &mut g,
        &[(
            "A",
            vec![Order::Load {
                group: n,
                cargo: Cargo::Col,
                ships: None,
                amount: Some(5.0),
            }],
        )],
    );
    assert_eq!((g.groups[0].cargo, g.groups[0].load), (None, 0.0));
}
