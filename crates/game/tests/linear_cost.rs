//! A turn's cost is linear in the number of orders: measured as operation
//! counts (`galaxy_game::cost`), never as wall time. For a random mix of
//! order kinds, K and 2K orders are given on the same state; the extra work
//! of 2K orders (over none) must stay within 2.2× that of K orders, in the
//! turn itself and in the quiet turn after it (the state it left behind).

use galaxy_game::cost;
use galaxy_game::engine::Engine;
use galaxy_game::order::RaceOrders;
use galaxy_game::testkit::{design, place, scenario};
use galaxy_model::order::{Order, OrderLine, Product, Unit};
use proptest::prelude::*;

fn base() -> Engine {
    let mut g = scenario(&[
        (10.0, 10.0, 1000.0, Some(0)),
        (30.0, 10.0, 500.0, None),
        (50.0, 50.0, 1000.0, Some(1)),
    ]);
    design(&mut g, 0, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    design(&mut g, 1, "Drone", 1.0, 0, 0.0, 0.0, 0.0);
    place(&mut g, 0, "Drone", 100_000, 0);
    place(&mut g, 1, "Drone", 500, 2);
    Engine::resume(g, Default::default())
}

/// Order `i` of kind `kind`.
fn order(kind: usize, i: usize) -> Order {
    match kind {
        0 => Order::DesignShip {
            name: format!("T{i}"),
            drive: 1.0,
            attacks: 0,
            weapons: 0.0,
            shields: 0.0,
            cargo: 0.0,
        },
        1 => Order::DesignFleet {
            name: format!("F{i}"),
        },
        2 => Order::Break {
            group: 1,
            ships: Some(1),
        },
        3 => Order::Join {
            unit: Unit::Group(1),
            fleet: format!("J{i}"),
            ships: Some(1),
        },
        4 => Order::Send {
            unit: Unit::Group(1),
            planet: "#2".into(),
            ships: Some(1),
        },
        5 => Order::RenamePlanet {
            planet: "#1".into(),
            name: format!("P{i}"),
        },
        6 => Order::Produce {
            planet: "#1".into(),
            product: Product::Ship(format!("T{}", i / 2)),
        },
        7 => Order::Message {
            to: vec!["B".into()],
            text: "hello".into(),
        },
        _ => Order::Rename {
            old: format!("T{i}"),
            new: format!("U{i}"),
        },
    }
}

/// Operations of the turn with `k` orders, and of the quiet turn after it.
fn ops(mix: &[usize], k: usize) -> (u64, u64) {
    let mut e = base();
    let lines = (0..k)
        .map(|i| OrderLine {
            id: (i + 1).to_string(),
            order: order(mix[i % mix.len()], i),
        })
        .collect();
    e.pending.insert(
        "A".into(),
        RaceOrders {
            lines,
            mistakes: Vec::new(),
        },
    );
    cost::take();
    e.run_turn();
    let turn = cost::take();
    e.run_turn();
    (turn, cost::take())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn turn_cost_is_linear_in_the_number_of_orders(
        mix in prop::collection::vec(0usize..9, 1..4),
        k in 50usize..300,
    ) {
        let (t0, n0) = ops(&mix, 0);
        let (t1, n1) = ops(&mix, k);
        let (t2, n2) = ops(&mix, 2 * k);
        prop_assert!(t1 > t0, "orders cost something");
        let linear = |zero: u64, one: u64, two: u64| {
            two.saturating_sub(zero) as f64 <= 2.2 * one.saturating_sub(zero) as f64 + 64.0
        };
        prop_assert!(linear(t0, t1, t2), "turn: {t0} / {t1} / {t2} for 0 / {k} / {}", 2 * k);
        prop_assert!(linear(n0, n1, n2), "next turn: {n0} / {n1} / {n2} for 0 / {k} / {}", 2 * k);
    }
}
