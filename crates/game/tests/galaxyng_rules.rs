//! The places where the engine once differed from GalaxyNG's C code
//! (`scumola/GalaxyNG`: `Source/phase.c`, `battle.c`, `process.c`,
//! `report.c`, `lib/util.c`). Each test states what the C code does.

use galaxy_game::bombing::bomb;
use galaxy_game::game::{Game, PlanetId, RaceId};
use galaxy_game::testkit::{design, place, scenario};
use galaxy_game::turn::run_turn;

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

#[test]
fn a_whole_turn_still_runs_with_the_new_bombing() {
    let mut g = contested_planet();
    g.turn = 0;
    run_turn(&mut g, &Default::default());
    assert_eq!(g.planets[0].owner, None);
    assert_eq!(g.log.bombings.len(), 2);
}

