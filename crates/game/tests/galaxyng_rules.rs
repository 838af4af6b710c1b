//! The places where the engine once differed from GalaxyNG's C code
//! (`scumola/GalaxyNG`: `Source/phase.c`, `battle.c`, `process.c`,
//! `report.c`, `lib/util.c`). Each test states what the C code does.

use galaxy_game::bombing::bomb;
use galaxy_game::combat::fight;
use galaxy_game::game::{Game, PlanetId, RaceId};
use galaxy_game::rng::GameRng;
use galaxy_game::testkit::{design, place, scenario};
use galaxy_game::turn::run_turn;
use galaxy_model::order::{Cargo, Product, RouteCargo};

/// A planet owned by race C (index 2) with pop = ind = 1000, races A and B
/// each with an armed group there that neither can hurt (so the fight
/// phases are draws) — ready for a bomb phase at turn 1.
fn contested_planet() -> Game {
    let mut g = scenario(&[(10.0, 10.0, 1000.0, Some(2))]);
    g.turn = 1;
    for r in 0..2 {
        design(&mut g, r, "Wall", 1.0, 1, 1.0, 50.0, 0.0);
        place(&mut g, r, "Wall", 2, 0);
    }
    g
}

#[test]
fn several_bombers_without_claims_the_first_takes_the_planet_and_the_next_bombs_again() {
    // phase.c bombphase: races in order; A's group bombs first and
    // determineOwnership gives A the planet (no standoff, no claims). B is
    // at war with the new owner A and bombs again; A's armed group is there,
    // a standoff, so the planet ends unowned, bombed twice (pop × 1/16).
    let mut g = contested_planet();
    let bombings = bomb(&mut g, &[]);
    assert_eq!(bombings.len(), 2);
    assert_eq!(
        (bombings[0].old_owner, bombings[0].new_owner),
        (RaceId(2), Some(RaceId(0)))
    );
    assert_eq!(
        (bombings[1].old_owner, bombings[1].new_owner),
        (RaceId(0), None)
    );
    assert_eq!(bombings[1].bombers, vec![RaceId(1)]);
    assert_eq!(g.planets[0].owner, None);
    assert_eq!(g.planets[0].pop, 1000.0 / 16.0);
}

#[test]
fn a_later_bomber_allied_to_the_first_leaves_it_the_planet() {
    // B lists A as an ally: mustBomb(B) is false once A owns the planet.
    let mut g = contested_planet();
    g.races[1].allies.insert(RaceId(0));
    let bombings = bomb(&mut g, &[]);
    assert_eq!(bombings.len(), 1);
    assert_eq!(g.planets[0].owner, Some(RaceId(0)));
    assert_eq!(g.planets[0].pop, 250.0);
}

#[test]
fn one_valid_claimant_takes_the_planet_several_leave_it_unowned() {
    // determineOwnership: a race that claimed the planet (`v`) and must bomb
    // it itself takes it; with two such claims nobody does.
    let mut g = contested_planet();
    let bombings = bomb(&mut g, &[(RaceId(1), PlanetId(0))]);
    assert_eq!(bombings.len(), 1, "B owns it now and does not bomb itself");
    assert_eq!(g.planets[0].owner, Some(RaceId(1)));

    let mut g = contested_planet();
    let claims = [(RaceId(0), PlanetId(0)), (RaceId(1), PlanetId(0))];
    let bombings = bomb(&mut g, &claims);
    assert_eq!(bombings.len(), 1);
    assert_eq!(bombings[0].new_owner, None);
    assert_eq!(g.planets[0].owner, None);
}

/// One `Pea` of race A (1 gun) against `targets` unarmed `Rock`s of race B,
/// the Pea's weapons tech tuned so each shot kills with chance `p`.
fn duel(p: f64, targets: u32, seed: u64) -> Game {
    let mut g = scenario(&[(10.0, 10.0, 100.0, None)]);
    g.turn = 1;
    g.rng = GameRng::new(seed);
    design(&mut g, 0, "Pea", 1.0, 1, 1.0, 0.0, 0.0);
    design(&mut g, 1, "Rock", 0.0, 0, 0.0, 10.0, 0.0);
    place(&mut g, 0, "Pea", 1, 0);
    place(&mut g, 1, "Rock", targets, 0);
    let rock = g.races[1].ship_type("Rock").unwrap().clone();
    let defence = rock.defence(&g.groups[1].tech, 0.0);
    // p_kill = (log4(a/d) + 1)/2  ⇒  a = d·4^(2p − 1); weapon mass is 1.
    g.groups[0].tech.weapons = defence * 4f64.powf(2.0 * p - 1.0);
    g
}

#[test]
fn a_battle_with_a_tiny_kill_chance_runs_until_it_is_won() {
    // battle.c doBattle loops `while (!isDraw && !isWon)` with no round cap:
    // one gun killing with chance 1e-6 per shot destroys all 10 targets
    // (about ten million rounds), where a 10 000-round cap left 9 alive.
    let mut g = duel(1e-6, 10, 7);
    let battles = fight(&mut g, 1);
    assert_eq!(battles.len(), 1);
    let b = &battles[0];
    assert_eq!(b.groups[1].after, 0, "every target destroyed");
    assert_eq!(b.groups[0].after, 1);
    assert!(b.rounds > 100_000, "{} rounds", b.rounds);
    assert_eq!(b.shots, b.rounds, "one shot per round");
    // Deterministic for a seed.
    let again = fight(&mut duel(1e-6, 10, 7), 1);
    assert_eq!(again[0].rounds, b.rounds);
}

#[test]
fn rounds_without_kills_follow_the_shot_by_shot_distribution() {
    // One gun, one target, kill chance p per round: the battle lasts a
    // geometric number of rounds with mean 1/p, whether each round is
    // fought (p = 1/20, above the skip threshold) or quiet stretches are
    // skipped (p = 1/500).
    for (p, samples) in [(0.05, 4000u64), (0.002, 4000)] {
        let total: u64 = (0..samples)
            .map(|seed| fight(&mut duel(p, 1, seed), 1)[0].rounds)
            .sum();
        let mean = total as f64 / samples as f64;
        let expected = 1.0 / p;
        assert!(
            (mean - expected).abs() < 0.06 * expected,
            "p = {p}: mean {mean} rounds, expected {expected}"
        );
    }
}

#[test]
fn a_race_does_not_fire_on_an_unarmed_race_it_is_allied_with() {
    // battle.c allocEnemies: B is A's enemy when A is at war with B, or B is
    // at war with A *and B can shoot*. A lists B as an ally; B (at war with
    // A) is unarmed: A fires only on C, its enemy.
    let mut g = scenario(&[(10.0, 10.0, 100.0, None)]);
    g.turn = 1;
    design(&mut g, 0, "Gun", 1.0, 1, 10.0, 0.0, 0.0);
    design(&mut g, 1, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    design(&mut g, 2, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 0, "Gun", 5, 0);
    place(&mut g, 1, "Drone", 5, 0);
    place(&mut g, 2, "Drone", 5, 0);
    g.races[0].allies.insert(RaceId(1));
    let battles = fight(&mut g, 1);
    assert_eq!(battles.len(), 1);
    let left = |r: usize| -> u32 {
        g.groups
            .iter()
            .filter(|x| x.owner == RaceId(r))
            .map(|x| x.ships)
            .sum()
    };
    assert_eq!((left(0), left(1), left(2)), (5, 5, 0));
}

#[test]
fn a_whole_turn_still_runs_with_the_new_bombing() {
    let mut g = contested_planet();
    g.turn = 0;
    run_turn(&mut g, &Default::default());
    assert_eq!(g.planets[0].owner, None);
    assert_eq!(g.log.bombings.len(), 2);
}

/// Puts `load` per ship of `cargo` on a race's group.
fn load(g: &mut Game, race: usize, number: u32, cargo: Cargo, load: f64) {
    let i = galaxy_game::group::find_group(g, RaceId(race), number).unwrap();
    g.groups[i].cargo = Some(cargo);
    g.groups[i].load = load;
}

#[test]
fn auto_unload_empties_every_group_at_rest_at_own_or_unowned_planets() {
    // phase.c unloadphase: with F_AUTOUNLOAD, every group at rest at a
    // planet the race owns or nobody owns unloads its whole load, whatever
    // the cargo and whether or not it arrived this turn; alien planets get
    // nothing.
    let mut g = scenario(&[
        (0.0, 0.0, 1000.0, Some(0)),
        (50.0, 0.0, 100.0, None),
        (0.0, 50.0, 100.0, Some(1)),
    ]);
    design(&mut g, 0, "Hauler", 1.0, 0, 0.0, 0.0, 10.0);
    let home = place(&mut g, 0, "Hauler", 2, 0);
    let free = place(&mut g, 0, "Hauler", 2, 1);
    let alien = place(&mut g, 0, "Hauler", 2, 2);
    load(&mut g, 0, home, Cargo::Mat, 3.0);
    load(&mut g, 0, free, Cargo::Cap, 4.0);
    load(&mut g, 0, alien, Cargo::Mat, 5.0);
    g.races[0].auto_unload = true;
    g.planets[0].product = Product::Drive; // keeps the home's MAT untouched
    run_turn(&mut g, &Default::default());
    assert_eq!(g.planets[0].mat, 6.0);
    assert_eq!(
        (g.planets[1].cap, g.planets[1].owner),
        (8.0, None),
        "CAP stays on the unowned planet"
    );
    let carried = |n: u32| {
        let i = galaxy_game::group::find_group(&g, RaceId(0), n).unwrap();
        (g.groups[i].cargo, g.groups[i].load)
    };
    assert_eq!(carried(home), (None, 0.0));
    assert_eq!(carried(free), (None, 0.0));
    assert_eq!(carried(alien), (Some(Cargo::Mat), 5.0));
}

#[test]
fn routes_send_groups_already_carrying_the_cargo_and_unload_on_any_owners_planet() {
    // phase.c loadphase sends every group at the origin whose load type is
    // the route's cargo (loading only the empty ones); unloadphase unloads
    // the route's cargo at the destination whoever owns it.
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0)), (0.0, 5.0, 500.0, Some(1))]);
    design(&mut g, 0, "Hauler", 10.0, 0, 0.0, 0.0, 10.0);
    let n = place(&mut g, 0, "Hauler", 3, 0);
    load(&mut g, 0, n, Cargo::Mat, 10.0);
    g.planets[0].routes.insert(RouteCargo::Mat, PlanetId(1));
    run_turn(&mut g, &Default::default());
    let i = galaxy_game::group::find_group(&g, RaceId(0), n).unwrap();
    assert_eq!(g.groups[i].to, PlanetId(1), "sent along the route");
    assert_eq!((g.groups[i].cargo, g.groups[i].load), (None, 0.0));
    assert_eq!(g.planets[1].mat, 30.0, "unloaded on B's planet");
}

#[test]
fn a_route_loads_any_stock_above_zero() {
    // loadphase loads whenever the stockpile is non-zero, however small.
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0)), (0.0, 5.0, 500.0, Some(0))]);
    design(&mut g, 0, "Hauler", 10.0, 0, 0.0, 0.0, 10.0);
    place(&mut g, 0, "Hauler", 4, 0);
    g.planets[0].col = 0.004;
    g.planets[0].product = Product::Drive;
    g.planets[0].pop = 500.0; // no colonists grow this turn
    g.planets[0].ind = 500.0;
    g.planets[0].routes.insert(RouteCargo::Col, PlanetId(1));
    run_turn(&mut g, &Default::default());
    assert_eq!(g.planets[0].col, 0.0);
    let at_dest: u32 = g
        .groups
        .iter()
        .filter(|x| x.to == PlanetId(1))
        .map(|x| x.ships)
        .sum();
    assert_eq!(at_dest, 1, "one ship carries it, three stay");
}

#[test]
fn an_idle_race_is_warned_in_its_report_before_it_is_dropped() {
    // process.c removeDeadPlayer: idle turns below the allowed gap get a
    // NOTE with the turns left, the last allowed one a WARNING, the next
    // drops the race (gap 2 before turn 12).
    let mut g = scenario(&[(0.0, 0.0, 100.0, Some(0)), (50.0, 0.0, 100.0, Some(1))]);
    g.settings.drop_idle = true;
    let active = || {
        let mut m = std::collections::BTreeMap::new();
        m.insert("A".to_string(), Default::default());
        m.insert("C".to_string(), Default::default());
        m
    };
    let texts = |g: &Game, r: usize| -> Vec<String> {
        galaxy_game::report::build_report(g, RaceId(r))
            .messages
            .into_iter()
            .map(|m| m.text)
            .collect()
    };
    run_turn(&mut g, &active());
    let b = texts(&g, 1);
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(
        b[0].contains("NOTE") && b[0].contains("1 more turn "),
        "{b:?}"
    );
    assert!(texts(&g, 0).is_empty(), "A sent orders");
    run_turn(&mut g, &active());
    let b = texts(&g, 1);
    assert!(
        b[0].contains("WARNING") && b[0].contains("forfeit"),
        "{b:?}"
    );
    assert!(!g.races[1].dead);
    run_turn(&mut g, &active());
    assert!(g.races[1].dead, "the third idle turn drops B");
}

/// Runs a turn with race A's orders given as classic text.
fn text_turn(g: &mut Game, text: &str) {
    let parsed = galaxy_game::parser::parse_orders(text);
    assert!(parsed.mistakes.is_empty(), "{:?}", parsed.mistakes);
    let mut m = std::collections::BTreeMap::new();
    m.insert(
        "A".to_string(),
        galaxy_game::order::RaceOrders {
            lines: parsed.lines,
            mistakes: parsed.mistakes,
        },
    );
    run_turn(g, &m);
}

fn reasons(g: &Game) -> Vec<String> {
    g.log
        .mistakes
        .get(&RaceId(0))
        .map(|m| m.iter().map(|x| x.reason.clone()).collect())
        .unwrap_or_default()
}

/// Race A's home (#1) and a planet #2 100 away; 5 Scouts of A at home.
fn two_planets() -> Game {
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0)), (0.0, 100.0, 500.0, None)]);
    design(&mut g, 0, "Scout", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 0, "Scout", 5, 0);
    g
}

#[test]
fn a_ship_count_of_zero_means_all_ships() {
    // process.c g_order: `i = atoi(ns); if (i == 0) i = g->ships;` — and
    // s, j, l, u, x treat 0 the same way.
    let mut g = two_planets();
    g.races[0].tech.drive = 2.0;
    text_turn(&mut g, "g 1 0");
    assert!(reasons(&g).is_empty(), "{:?}", reasons(&g));
    text_turn(&mut g, "s 1 #2 0");
    assert!(reasons(&g).is_empty(), "{:?}", reasons(&g));
    assert_eq!(g.groups.len(), 1, "no split");
    assert_eq!(g.groups[0].ships, 5);
    assert_eq!(g.groups[0].tech.drive, 2.0, "all five upgraded");
    assert_eq!(g.groups[0].to, PlanetId(1), "all five sent");
}

#[test]
fn too_large_a_ship_count_uses_all_ships_with_a_warning() {
    // s_order: "Not enough ships, all available used." — the order runs.
    let mut g = two_planets();
    text_turn(&mut g, "s 1 #2 9");
    assert_eq!((g.groups.len(), g.groups[0].to), (1, PlanetId(1)));
    let r = reasons(&g);
    assert_eq!(r.len(), 1);
    assert!(r[0].starts_with("warning:"), "{r:?}");
}

#[test]
fn max_names_the_races_highest_numbered_group() {
    // lib/util.c findgroup: "MAX" is the last group of the race's list, the
    // one created last — here the 2 ships just broken off group 1.
    let mut g = two_planets();
    text_turn(&mut g, "b 1 2\ns MAX #2");
    assert!(reasons(&g).is_empty(), "{:?}", reasons(&g));
    let sent: Vec<(u32, u32)> = g
        .groups
        .iter()
        .filter(|x| x.to == PlanetId(1))
        .map(|x| (x.number, x.ships))
        .collect();
    assert_eq!(sent, vec![(2, 2)]);
    let mut g = two_planets();
    g.groups.clear();
    text_turn(&mut g, "x max");
    assert_eq!(reasons(&g), vec!["no group max".to_string()]);
}

#[test]
fn options_are_set_as_by_galaxyngs_o_order() {
    // process.c o_order: `o Option` turns it on, `o no Option` / `o off
    // Option` off; unknown or unsupported names are mistakes.
    let mut g = two_planets();
    g.races[0].auto_unload = true;
    text_turn(
        &mut g,
        "o BattleProtocol\no no AutoUnload\no SortGroups on\no ProdTable off\no GroupForecast",
    );
    let r = &g.races[0];
    assert!(r.battle_protocol && r.sort_groups);
    assert!(!r.auto_unload && !r.prod_table);
    let reasons = reasons(&g);
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].contains("forecast"), "{reasons:?}");
    let report = galaxy_game::report::build_report(&g, RaceId(0));
    assert!(report.options.battle_protocol && !report.options.auto_unload);
    let text = galaxy_game::text_report::render(&report);
    assert!(text.contains("BattleProtocol ON") && text.contains("ProdTable OFF"));
}

#[test]
fn prod_table_off_leaves_out_the_ships_in_production_table() {
    // report.c reportProdTable prints only with F_PRODTABLE.
    let mut g = two_planets();
    g.planets[0].product = Product::Ship("Scout".into());
    let shown = |g: &Game| {
        galaxy_game::report::build_report(g, RaceId(0))
            .production
            .len()
    };
    assert_eq!(shown(&g), 1);
    g.races[0].prod_table = false;
    assert_eq!(shown(&g), 0);
}

#[test]
fn sort_groups_renumbers_groups_by_where_they_are() {
    // phase.c sortphase: own planets first, then other races', then
    // unowned ones, then fleets.
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0)), (0.0, 100.0, 500.0, None)]);
    design(&mut g, 0, "Scout", 1.0, 0, 0.0, 0.0, 0.0);
    design(&mut g, 0, "Probe", 2.0, 0, 0.0, 0.0, 0.0);
    let away = place(&mut g, 0, "Scout", 1, 1);
    let fleet = place(&mut g, 0, "Scout", 2, 0);
    let home = place(&mut g, 0, "Probe", 3, 0);
    assert_eq!((away, fleet, home), (1, 2, 3));
    g.races[0].fleets.push("F".to_string());
    g.groups[1].fleet = Some("F".to_string());
    g.races[0].sort_groups = true;
    text_turn(&mut g, "s F #1"); // looks the fleet up before the renumbering
    let numbers: Vec<(u32, u32, PlanetId, bool)> = g
        .groups
        .iter()
        .map(|x| (x.number, x.ships, x.to, x.fleet.is_some()))
        .collect();
    assert_eq!(
        numbers,
        vec![
            (1, 3, PlanetId(0), false),
            (2, 1, PlanetId(1), false),
            (3, 2, PlanetId(0), true),
        ]
    );
    // The fleet still finds its (renumbered) group.
    text_turn(&mut g, "s F #2");
    assert!(reasons(&g).is_empty(), "{:?}", reasons(&g));
    let fleet_group = g.groups.iter().find(|x| x.fleet.is_some()).unwrap();
    assert_eq!(fleet_group.to, PlanetId(1));
}

#[test]
fn the_battle_protocol_lists_every_shot_without_changing_the_battle() {
    // battle.c records every shot (addShot); report.c prints it to races
    // with F_BATTLEPROTOCOL as "race type fires on race type : Destroyed".
    let run = |protocol: bool| {
        let mut g = duel(0.5, 3, 11);
        g.races[0].battle_protocol = protocol;
        run_turn(&mut g, &Default::default());
        g
    };
    let (with, without) = (run(true), run(false));
    let b = &with.log.battles[0];
    assert_eq!(b.protocol.len() as u64, b.shots);
    assert_eq!(b.protocol.iter().filter(|s| s.2).count(), 3);
    let plain = &without.log.battles[0];
    assert!(plain.protocol.is_empty());
    assert_eq!((plain.rounds, plain.shots), (b.rounds, b.shots));
    assert_eq!(with.rng, without.rng, "recording draws nothing");

    let report = galaxy_game::report::build_report(&with, RaceId(0));
    let view = &report.battles[0];
    assert_eq!(view.protocol.len() as u64, view.shots);
    assert_eq!(view.unlisted_shots, 0);
    let text = galaxy_game::text_report::render(&report);
    assert!(text.contains("Battle Protocol"));
    assert!(text.contains("A Pea fires on B Rock : Destroyed"), "{text}");
    // B did not ask for it.
    let theirs = galaxy_game::report::build_report(&with, RaceId(1));
    assert!(theirs.battles[0].protocol.is_empty());
}

#[test]
fn unload_and_scrap_work_at_any_planet() {
    // process.c u_order checks no owner: cargo goes onto whichever planet
    // the group is at. x_order scraps anywhere (only colonists may not be
    // put onto another race's planet); the mass becomes MAT there.
    let mut g = scenario(&[(0.0, 0.0, 1000.0, Some(0)), (0.0, 50.0, 500.0, Some(1))]);
    design(&mut g, 0, "Hauler", 1.0, 0, 0.0, 0.0, 10.0);
    let n = place(&mut g, 0, "Hauler", 2, 1);
    load(&mut g, 0, n, Cargo::Cap, 2.0);
    let colonists = place(&mut g, 0, "Hauler", 1, 1);
    load(&mut g, 0, colonists, Cargo::Col, 1.0);
    g.planets[1].product = Product::Drive;
    text_turn(&mut g, &format!("u {n}\nx {colonists}\nx {n} 1"));
    let r = reasons(&g);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].contains("colonists"), "{r:?}");
    // 4 CAP onto B's planet (pop = ind there, so it stays CAP), then one
    // empty Hauler (mass 11) scrapped into B's MAT.
    assert_eq!(g.planets[1].cap, 4.0);
    assert_eq!(g.planets[1].mat, 11.0);
}

#[test]
fn a_bombing_is_reported_to_every_race_that_can_see_the_planet() {
    // phase.c bombphase records as viewers the races for which
    // canseeplanet() holds: B, allied to the bomber A, does not bomb but
    // has ships there and sees it.
    let mut g = contested_planet();
    g.races[1].allies.insert(RaceId(0));
    g.log.bombings = bomb(&mut g, &[]);
    let seen = |r: usize| {
        galaxy_game::report::build_report(&g, RaceId(r))
            .bombings
            .len()
    };
    assert_eq!((seen(0), seen(1), seen(2)), (1, 1, 1));
}

#[test]
fn a_protocol_counts_the_shots_of_skipped_quiet_rounds() {
    let mut g = duel(1e-4, 2, 5);
    g.races[0].battle_protocol = true;
    let b = &fight(&mut g, 1)[0];
    assert_eq!(b.groups[1].after, 0);
    assert!(b.shots > b.protocol.len() as u64, "quiet rounds not listed");
    assert_eq!(
        b.protocol.iter().filter(|s| s.2).count(),
        2,
        "both kills listed"
    );
}

#[test]
fn every_race_present_takes_part_in_a_battle_even_at_peace() {
    // battle.c isBattle makes every race with groups at the planet a
    // participant; reportBattles shows the battle to each of them. B is at
    // peace with A and C and nobody fires on it.
    let mut g = scenario(&[(10.0, 10.0, 100.0, None)]);
    design(&mut g, 0, "Gun", 1.0, 1, 10.0, 0.0, 0.0);
    design(&mut g, 1, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    design(&mut g, 2, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 0, "Gun", 5, 0);
    place(&mut g, 1, "Drone", 5, 0);
    place(&mut g, 2, "Drone", 5, 0);
    g.races[0].allies.insert(RaceId(1));
    g.races[1].allies.insert(RaceId(0));
    g.races[1].allies.insert(RaceId(2));
    g.races[2].allies.insert(RaceId(1));
    run_turn(&mut g, &Default::default());
    let b = &g.log.battles[0];
    assert_eq!(b.races, vec![RaceId(0), RaceId(1), RaceId(2)]);
    let after: Vec<u32> = b.groups.iter().map(|x| x.after).collect();
    assert_eq!(after, vec![5, 5, 0]);
    let report = galaxy_game::report::build_report(&g, RaceId(1));
    assert_eq!(report.battles.len(), 1);
}
