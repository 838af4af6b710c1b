//! Property tests of the text order form: any text parses without panicking,
//! and every typed order rendered with `to_text` parses back to itself.

use galaxy_game::parser::parse_orders;
use galaxy_model::order::{Cargo, Order, Product, RouteCargo, Unit};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "N[A-Za-z0-9 _#]{0,10}"
}

fn planet() -> impl Strategy<Value = String> {
    prop_oneof![(1u32..500).prop_map(|n| format!("#{n}")), name()]
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        (1u32..1000).prop_map(Unit::Group),
        name().prop_map(Unit::Fleet)
    ]
}

fn ships() -> impl Strategy<Value = Option<u32>> {
    prop::option::of(1u32..1000)
}

fn amount() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(0.01f64..1.0e6)
}

fn order() -> impl Strategy<Value = Order> {
    prop_oneof![
        (prop::collection::vec(name(), 0..3), "[a-z][a-z ,.!]{0,30}")
            .prop_map(|(to, text)| Order::Message { to, text }),
        name().prop_map(|name| Order::RealName { name }),
        name().prop_map(|race| Order::Ally { race }),
        (1u32..100, ships()).prop_map(|(group, ships)| Order::Break { group, ships }),
        (
            name(),
            0.0f64..100.0,
            0u32..50,
            0.0f64..100.0,
            0.0f64..100.0,
            0.0f64..100.0
        )
            .prop_map(|(name, drive, attacks, weapons, shields, cargo)| {
                Order::DesignShip {
                    name,
                    drive,
                    attacks,
                    weapons,
                    shields,
                    cargo,
                }
            }),
        name().prop_map(|name| Order::DesignFleet { name }),
        name().prop_map(|name| Order::Eliminate { name }),
        (1u32..100, ships()).prop_map(|(group, ships)| Order::Upgrade { group, ships }),
        unit().prop_map(|unit| Order::Reverse { unit }),
        (unit(), planet()).prop_map(|(unit, planet)| Order::Intercept { unit, planet }),
        (unit(), name(), ships()).prop_map(|(unit, fleet, ships)| Order::Join {
            unit,
            fleet,
            ships
        }),
        (
            1u32..100,
            prop_oneof![Just(Cargo::Cap), Just(Cargo::Mat), Just(Cargo::Col)],
            ships(),
            amount()
        )
            .prop_map(|(group, cargo, ships, amount)| Order::Load {
                group,
                cargo,
                ships,
                amount
            }),
        (-1.0e3f64..1.0e3, -1.0e3f64..1.0e3, 0.1f64..1.0e3)
            .prop_map(|(x, y, size)| Order::MapWindow { x, y, size }),
        (planet(), name()).prop_map(|(planet, name)| Order::RenamePlanet { planet, name }),
        (name(), prop::option::of(any::<bool>()))
            .prop_map(|(option, on)| Order::SetOption { option, on }),
        (
            planet(),
            prop_oneof![
                Just(Product::Cap),
                Just(Product::Drive),
                Just(Product::Cargo),
                name().prop_map(Product::Ship)
            ]
        )
            .prop_map(|(planet, product)| Order::Produce { planet, product }),
        Just(Order::Quit {}),
        (
            planet(),
            prop_oneof![Just(RouteCargo::Col), Just(RouteCargo::Emp)],
            prop::option::of(planet())
        )
            .prop_map(|(planet, cargo, destination)| Order::Route {
                planet,
                cargo,
                destination
            }),
        (unit(), planet(), ships()).prop_map(|(unit, planet, ships)| Order::Send {
            ships: if matches!(unit, Unit::Group(_)) {
                ships
            } else {
                None
            },
            unit,
            planet
        }),
        (name(), name()).prop_map(|(old, new)| Order::Rename { old, new }),
        (1u32..100, ships(), amount()).prop_map(|(group, ships, amount)| Order::Unload {
            group,
            ships,
            amount
        }),
        planet().prop_map(|planet| Order::Claim { planet }),
        name().prop_map(|race| Order::War { race }),
        (1u32..100, ships()).prop_map(|(group, ships)| Order::Scrap { group, ships }),
        name().prop_map(|password| Order::Password { password }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_parses_without_panicking(text in "(?s).{0,400}") {
        let p = parse_orders(&text);
        for (i, l) in p.lines.iter().enumerate() {
            prop_assert_eq!(&l.id, &(i + 1).to_string());
        }
    }

    #[test]
    fn rendered_orders_parse_back_to_themselves(orders in prop::collection::vec(order(), 1..20)) {
        let text: String = orders.iter().map(|o| o.to_text() + "\n").collect();
        let parsed = parse_orders(&format!("#GALAXY g r pw 1\n{text}#END\n"));
        prop_assert!(parsed.mistakes.is_empty(), "{:?}\n{}", parsed.mistakes, text);
        let back: Vec<Order> = parsed.lines.into_iter().map(|l| l.order).collect();
        prop_assert_eq!(back, orders);
    }
}
